import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { suite, test, type TestContext } from 'node:test';

import { readConfigProtoFile, sessionConfigFromFlags } from '../../src/cli/session-flags.js';
import { encodeSessionConfig } from '../../src/model/session-config.js';
import { ConfigProto } from '../../src/proto/messages.js';

const NO_FLAGS = {
  tensorflow_session_config_file: '',
  per_process_gpu_memory_fraction: 0,
  tensorflow_session_parallelism: 0,
  tensorflow_intra_op_parallelism: 0,
  tensorflow_inter_op_parallelism: 0,
};

function configFile(t: TestContext, text: string): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tfserve-session-flags-'));
  t.after(() => fs.rmSync(dir, { recursive: true, force: true }));
  const file = path.join(dir, 'session.pbtxt');
  fs.writeFileSync(file, text);
  return file;
}

/** The ConfigProto TensorFlow gets for these flags, and the warnings logged on the way. */
function sent(flags: Partial<typeof NO_FLAGS>): { proto: Record<string, unknown>; warnings: string[]; execution: unknown } {
  const warnings: string[] = [];
  const config = sessionConfigFromFlags({ ...NO_FLAGS, ...flags }, (message) => warnings.push(message));
  return { proto: ConfigProto.toObject(ConfigProto.decode(encodeSessionConfig(config))), warnings, execution: config.interOpExecution };
}

suite('session-flags', () => {
  test('without a file: the flags as before, soft placement on', () => {
    assert.deepEqual(sent({}).proto, { allow_soft_placement: true });
    assert.deepEqual(sent({ tensorflow_session_parallelism: 4, per_process_gpu_memory_fraction: 0.5 }).proto, {
      intra_op_parallelism_threads: 4,
      inter_op_parallelism_threads: 4,
      allow_soft_placement: true,
      gpu_options: { per_process_gpu_memory_fraction: 0.5 },
    });
  });

  test("a file is the session config as written: other fields kept, no soft placement it does not ask for, 'caller' runs", (t) => {
    const file = configFile(t, 'device_count { key: "GPU" value: 0 }\ngraph_options { infer_shapes: true }\ngpu_options { allow_growth: true }\n');
    const { proto, warnings, execution } = sent({ tensorflow_session_config_file: file });
    assert.deepEqual(proto, { device_count: { GPU: 0 }, graph_options: { infer_shapes: true }, gpu_options: { allow_growth: true } });
    assert.deepEqual(warnings, []);
    assert.equal(execution, 'caller');
  });

  test("TF Serving's order: the flags then set the GPU fraction and both thread counts, their default 0 clearing the file's, with a warning", (t) => {
    const file = configFile(t, 'intra_op_parallelism_threads: 4\ninter_op_parallelism_threads: 2\ngpu_options { per_process_gpu_memory_fraction: 0.25 }\n');
    const cleared = sent({ tensorflow_session_config_file: file });
    assert.deepEqual(cleared.proto, { gpu_options: {} });
    assert.deepEqual(cleared.warnings, [
      '--tensorflow_session_config_file: per_process_gpu_memory_fraction: 0.25 is replaced by --per_process_gpu_memory_fraction=0, as tensorflow_model_server does; set the flag instead',
      '--tensorflow_session_config_file: intra_op_parallelism_threads: 4 is replaced by --tensorflow_session_parallelism=0, as tensorflow_model_server does; set the flag instead',
      '--tensorflow_session_config_file: inter_op_parallelism_threads: 2 is replaced by --tensorflow_session_parallelism=0, as tensorflow_model_server does; set the flag instead',
    ]);
    // Either separate flag set: both come from the separate flags, session_parallelism ignored.
    const separate = sent({ tensorflow_session_config_file: file, tensorflow_intra_op_parallelism: 4, tensorflow_session_parallelism: 8, per_process_gpu_memory_fraction: 0.25 });
    assert.deepEqual(separate.proto, { intra_op_parallelism_threads: 4, gpu_options: { per_process_gpu_memory_fraction: 0.25 } });
    assert.deepEqual(separate.warnings, [
      '--tensorflow_session_config_file: inter_op_parallelism_threads: 2 is replaced by --tensorflow_inter_op_parallelism=0, as tensorflow_model_server does; set the flag instead',
    ]);
  });

  test("runs use TensorFlow's inter-op pool when the file configures it", (t) => {
    const pools = configFile(t, 'session_inter_op_thread_pool { num_threads: 2 global_name: "serving" }\n');
    assert.equal(sent({ tensorflow_session_config_file: pools }).execution, 'pool');
    const perSession = configFile(t, 'use_per_session_threads: true\n');
    assert.equal(sent({ tensorflow_session_config_file: perSession }).execution, 'pool');
  });

  test("EXPECTED FAILURE - a missing file, a directory and a file that does not parse: ParseProtoTextFile's statuses", (t) => {
    const missing = path.join(os.tmpdir(), 'tfserve-no-such-session.pbtxt');
    assert.throws(() => readConfigProtoFile(missing), { code: 'NOT_FOUND', message: `${missing}; No such file or directory` });
    const bad = configFile(t, 'gpu_options {\n  allow_growth: maybe\n}\n');
    assert.throws(() => readConfigProtoFile(path.dirname(bad)), { code: 'FAILED_PRECONDITION', message: `${path.dirname(bad)}; Is a directory` });
    assert.throws(() => readConfigProtoFile(bad), {
      code: 'INVALID_ARGUMENT',
      message: `Invalid protobuf file: '${bad}': Error parsing text-format tensorflow.ConfigProto: 3:1: Invalid value for boolean field "allow_growth". Value: "maybe".`,
    });
  });

  test("EXPECTED FAILURE - all three parallelism flags: TF Serving's error, after the file is read", (t) => {
    const all = { tensorflow_session_parallelism: 1, tensorflow_intra_op_parallelism: 1, tensorflow_inter_op_parallelism: 1 };
    const message =
      'Either configure server_options.tensorflow_session_parallelism or (server_options.tensorflow_intra_op_parallelism, server_options.tensorflow_inter_op_parallelism) separately. You cannot configure all.';
    assert.throws(() => sent(all), { code: 'INVALID_ARGUMENT', message });
    assert.throws(() => sent({ ...all, tensorflow_session_config_file: configFile(t, '') }), { message });
    assert.throws(() => sent({ ...all, tensorflow_session_config_file: configFile(t, 'bogus: 1') }), { message: /Invalid protobuf file/ });
  });
});

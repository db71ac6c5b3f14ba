import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { suite, test } from 'node:test';

import { parseConfigProto } from '../../src/proto/config-proto.js';
import { ConfigProto, RunOptions } from '../../src/proto/messages.js';
import { encodeRunOptions, encodeSessionConfig, interOpExecution } from '../../src/model/session-config.js';
import { REPO_ROOT } from '../helpers.js';

// ConfigProto text files and what TensorFlow serializes for them (scripts/make-config-proto-goldens.py).
const GOLDENS = path.join(REPO_ROOT, 'test', 'fixtures', 'config-proto');

suite('session-config', () => {
  test('encodes thread counts, soft placement and GPU options by field number', () => {
    const bytes = encodeSessionConfig({
      intraOpThreads: 2,
      interOpThreads: 3,
      gpu: { allowGrowth: true, memoryFraction: 0.5, visibleDevices: '0,1' },
    });
    // field 2 varint 2, field 5 varint 3, field 6 (GPUOptions), field 7 varint 1
    assert.deepEqual([...bytes.subarray(0, 4)], [0x10, 2, 0x28, 3]);
    const decoded = ConfigProto.toObject(ConfigProto.decode(bytes)) as Record<string, unknown>;
    assert.deepEqual(decoded, {
      intra_op_parallelism_threads: 2,
      inter_op_parallelism_threads: 3,
      allow_soft_placement: true,
      gpu_options: { allow_growth: true, per_process_gpu_memory_fraction: 0.5, visible_device_list: '0,1' },
    });
  });

  test('defaults to soft placement only', () => {
    assert.deepEqual([...encodeSessionConfig()], [0x38, 1]);
    assert.deepEqual([...encodeSessionConfig({ allowSoftPlacement: false })], [0x38, 0]);
  });

  test('BAD CALL - invalid values are rejected with the field name', () => {
    assert.throws(() => encodeSessionConfig({ intraOpThreads: -1 }), { code: 'INVALID_ARGUMENT', message: /config\.intraOpThreads/ });
    assert.throws(() => encodeSessionConfig({ interOpThreads: 1.5 }), { message: /config\.interOpThreads/ });
    assert.throws(() => encodeSessionConfig({ gpu: { memoryFraction: 2 } }), { message: /memoryFraction/ });
    assert.throws(() => encodeSessionConfig({ gpu: { visibleDevices: 'gpu0' } }), { message: /visibleDevices/ });
    assert.throws(() => encodeSessionConfig(null as never), { message: /Expected object for config/ });
  });

  test('run options carry timeout_in_ms', () => {
    assert.equal(encodeRunOptions(undefined), undefined);
    const bytes = encodeRunOptions(1500)!;
    assert.equal(Number((RunOptions.toObject(RunOptions.decode(bytes), { longs: Number }) as { timeoutInMs: number }).timeoutInMs), 1500);
    assert.throws(() => encodeRunOptions(0), { code: 'INVALID_ARGUMENT' });
  });

  test("'caller' execution is inter_op_thread_pool = -1; a timeout keeps TensorFlow's pool, where it is enforced", () => {
    const caller = encodeRunOptions(undefined, 'caller')!;
    assert.equal((RunOptions.toObject(RunOptions.decode(caller)) as { interOpThreadPool: number }).interOpThreadPool, -1);
    assert.equal(encodeRunOptions(undefined, 'pool'), undefined);
    const timed = RunOptions.toObject(RunOptions.decode(encodeRunOptions(2 ** 40, 'caller')!), { longs: Number }) as Record<string, number>;
    assert.deepEqual(timed, { timeoutInMs: 2 ** 40 });
    assert.equal(interOpExecution(), 'caller');
    assert.equal(interOpExecution({ interOpExecution: 'pool' }), 'pool');
  });

  test('deviceCount is ConfigProto.device_count: { GPU: 0 } keeps one session on the CPU', () => {
    const decoded = ConfigProto.toObject(ConfigProto.decode(encodeSessionConfig({ deviceCount: { GPU: 0, CPU: 1 } }))) as Record<string, unknown>;
    assert.deepEqual(decoded, { device_count: { GPU: 0, CPU: 1 }, allow_soft_placement: true });
    // field 1, a map entry of key "GPU" (field 1) and value 0 (field 2)
    assert.deepEqual([...encodeSessionConfig({ deviceCount: { GPU: 0 } }).subarray(0, 9)], [0x0a, 7, 0x0a, 3, 0x47, 0x50, 0x55, 0x10, 0]);
  });

  test('BAD CALL - a deviceCount that is not { TYPE: count } is rejected', () => {
    assert.throws(() => encodeSessionConfig({ deviceCount: { gpu: 1 } }), { code: 'INVALID_ARGUMENT', message: /config\.deviceCount/ });
    assert.throws(() => encodeSessionConfig({ deviceCount: { GPU: -1 } }), { message: /config\.deviceCount/ });
    assert.throws(() => encodeSessionConfig({ deviceCount: { GPU: 0.5 } }), { message: /config\.deviceCount/ });
    assert.throws(() => encodeSessionConfig({ deviceCount: [] as never }), { message: /config\.deviceCount/ });
  });

  test('a traced run asks for SOFTWARE_TRACE, keeping the execution and the timeout', () => {
    const decode = (bytes: Uint8Array | undefined) => RunOptions.toObject(RunOptions.decode(bytes!), { longs: Number }) as Record<string, number>;
    assert.deepEqual(decode(encodeRunOptions(undefined, 'caller', true)), { traceLevel: 1, interOpThreadPool: -1 });
    assert.deepEqual(decode(encodeRunOptions(undefined, 'pool', true)), { traceLevel: 1 });
    assert.deepEqual(decode(encodeRunOptions(250, 'caller', true)), { traceLevel: 1, timeoutInMs: 250 });
  });

  test('BAD CALL - an unknown interOpExecution names the field', () => {
    assert.throws(() => encodeSessionConfig({ interOpExecution: 'inline' as never }), { code: 'INVALID_ARGUMENT', message: /config\.interOpExecution/ });
  });

  test("a configProto encodes to TensorFlow's own bytes: byte for byte, or decoded alike where a map's order is upb's", () => {
    // upb (TF's Python protobuf) writes int-keyed map entries in reverse text order even when
    // deterministic; we write every map in key order, as C++'s deterministic serialization does.
    const decodedOnly = new Set(['experimental.pbtxt']);
    const names = fs.readdirSync(GOLDENS).filter((name) => name.endsWith('.pbtxt'));
    assert.equal(names.length, 6);
    for (const name of names) {
      const configProto = parseConfigProto(fs.readFileSync(path.join(GOLDENS, name)));
      const ours = Buffer.from(encodeSessionConfig({ configProto }));
      const golden = fs.readFileSync(path.join(GOLDENS, name.replace(/\.pbtxt$/, '.bin')));
      if (!decodedOnly.has(name)) {
        assert.deepEqual(ours, golden, name);
        continue;
      }
      const decode = (bytes: Uint8Array): unknown => ConfigProto.toObject(ConfigProto.decode(bytes), { longs: String });
      assert.notDeepEqual(ours, golden, `${name}: its int-keyed map is no longer in an order of its own`);
      assert.equal(ours.length, golden.length, name);
      assert.deepEqual(decode(ours), decode(golden), name);
    }
  });

  test('the typed fields given replace their ConfigProto fields; the rest of the configProto stays, soft placement included', () => {
    const configProto = parseConfigProto(fs.readFileSync(path.join(GOLDENS, 'threads.pbtxt')));
    const decoded = ConfigProto.toObject(
      ConfigProto.decode(encodeSessionConfig({ configProto, intraOpThreads: 8, deviceCount: { GPU: 1 }, gpu: { allowGrowth: true } })),
      { longs: String },
    ) as Record<string, unknown>;
    assert.equal(decoded['intra_op_parallelism_threads'], 8);
    assert.equal(decoded['inter_op_parallelism_threads'], 3);
    assert.deepEqual(decoded['device_count'], { GPU: 1 });
    assert.deepEqual(decoded['gpu_options'], { allow_growth: true });
    assert.equal(decoded['operation_timeout_in_ms'], '9000000000');
    assert.equal(Object.hasOwn(decoded, 'allow_soft_placement'), false, "the file's (proto default false), not tfserve's true");
    const gpu = parseConfigProto(fs.readFileSync(path.join(GOLDENS, 'gpu.pbtxt')));
    const merged = ConfigProto.toObject(ConfigProto.decode(encodeSessionConfig({ configProto: gpu, gpu: { memoryFraction: 0.5 }, allowSoftPlacement: true })));
    assert.equal((merged['gpu_options'] as Record<string, unknown>)['per_process_gpu_memory_fraction'], 0.5);
    assert.equal((merged['gpu_options'] as Record<string, unknown>)['visible_device_list'], '0');
    assert.equal(merged['allow_soft_placement'], true);
  });

  test('BAD CALL - a configProto that is not a ConfigProto names the field', () => {
    assert.throws(() => encodeSessionConfig({ configProto: { gpu_options: 1 } }), {
      code: 'INVALID_ARGUMENT',
      message: 'Expected a tensorflow.GPUOptions message for config.configProto.gpu_options but received 1 of type number',
    });
  });
});

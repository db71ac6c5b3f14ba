// Request logging (src/serving/request-logging.ts): the model config's logging_config, sampled
// PredictionLogs in TFRecord files, read back with protobuf's decoder. Real models, real calls.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, suite, test } from 'node:test';

import type { Example } from '../../src/proto/example.js';
import { PredictionLog } from '../../src/proto/serving-protos.js';
import { parseTfRecords } from '../../src/proto/tfrecord.js';
import { CLASSIFY_METHOD, Inference, REGRESS_METHOD } from '../../src/serving/inference.js';
import { ModelManager } from '../../src/serving/manager.js';
import { parseModelServerConfig } from '../../src/serving/model-config.js';
import { RequestLogging } from '../../src/serving/request-logging.js';
import { loadServable, modelPath, REPO_ROOT } from '../helpers.js';

const x = (value: number): Example => ({ features: { feature: { x: { floatList: { value: [value] } } } } });
const floats = (...values: number[]) => ({ dtype: 'float32' as const, shape: [values.length], data: Float32Array.from(values) });
const GRPC = (api: string) => ({ entrypoint: 'GRPC', api });

let manager: ModelManager;
let dir: string;

before(async () => {
  manager = new ModelManager({ load: loadServable, maxLoadRetries: 0 });
  manager.setAspiredVersions('half_plus_two', [{ version: 1, path: path.join(REPO_ROOT, 'models', 'half_plus_two', '1') }]);
  manager.setAspiredVersions('tf1', [{ version: 7, path: modelPath('tf1_methods') }]);
  await manager.settled();
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tfserve-request-log-'));
});

after(async () => {
  await manager.close();
  fs.rmSync(dir, { recursive: true, force: true });
});

/** A model config list where each model logs with `logging` (text format) or not at all. */
function configs(models: Record<string, string | null>) {
  const entries = Object.entries(models).map(
    ([name, logging]) => `config { name: "${name}" base_path: "/m/${name}" model_platform: "tensorflow" ${logging === null ? '' : `logging_config { ${logging} }`} }`,
  );
  return parseModelServerConfig(`model_config_list { ${entries.join(' ')} }`);
}

const tfrecord = (prefix: string, rate = 1) => `log_collector_config { type: "tfrecord" filename_prefix: "${prefix}" } sampling_config { sampling_rate: ${rate} }`;

/** Logging with draws from `draws` (in turn) instead of Math.random, and what it reports. */
function logging(draws: number[] = []) {
  const logged: Array<[string, string]> = [];
  let i = 0;
  const requestLogging = new RequestLogging({
    savedModelTags: ['serve'],
    id: 'test',
    random: () => draws[i++ % draws.length] ?? 0,
    onLogged: (model, status) => logged.push([model, status]),
  });
  return { requestLogging, logged, inference: new Inference({ manager, observer: requestLogging }) };
}

const read = (file: string) => parseTfRecords(fs.readFileSync(file)).map((record) => PredictionLog.decode(record));

suite('request logging', () => {
  test('every kind of call, REST-style or gRPC-style, as PredictionLogs with TF Serving\'s log_metadata', async () => {
    const prefix = path.join(dir, 'all', 'tf1');
    const { requestLogging, inference, logged } = logging();
    requestLogging.update(configs({ tf1: tfrecord(prefix) }));
    await inference.predict({ modelSpec: { name: 'tf1', signatureName: 'predict' }, inputs: { x: floats(1, 2) } }, GRPC('Predict'));
    const observation = inference.startCall({ entrypoint: 'REST', api: 'classify', model: 'tf1' })!;
    await inference.classify({ modelSpec: { name: 'tf1', signatureName: 'classify' }, input: { examples: [x(1)], context: x(0) } }, { observation });
    observation.end(null);
    await inference.regress({ modelSpec: { name: 'tf1', version: 7, signatureName: 'regress' }, input: { examples: [x(2)] } }, GRPC('Regress'));
    await inference.multiInference(
      {
        tasks: [
          { modelSpec: { name: 'tf1', signatureName: 'classify' }, methodName: CLASSIFY_METHOD },
          { modelSpec: { name: 'tf1', signatureName: 'regress' }, methodName: REGRESS_METHOD },
        ],
        input: { examples: [x(3)] },
      },
      GRPC('MultiInference'),
    );
    await requestLogging.close();
    assert.deepEqual(logged, [['tf1', 'OK'], ['tf1', 'OK'], ['tf1', 'OK'], ['tf1', 'OK']]);
    const logs = read(`${prefix}.test.tfrecord`);
    const metadata = (signature: string) => ({
      model_spec: { name: 'tf1', version: { value: '7' }, signature_name: signature },
      sampling_config: { sampling_rate: 1 },
      saved_model_tags: ['serve'],
    });
    assert.deepEqual(logs.map((log) => log['log_metadata']), [metadata('predict'), metadata('classify'), metadata('regress'), metadata('classify')]);
    assert.deepEqual(logs.map((log) => Object.keys(log).filter((k) => k !== 'log_metadata')), [['predict_log'], ['classify_log'], ['regress_log'], ['multi_inference_log']]);
    const predict = logs[0]!['predict_log'] as { request: Record<string, unknown>; response: Record<string, unknown> };
    assert.deepEqual(predict.request, {
      model_spec: { name: 'tf1', signature_name: 'predict' },
      inputs: { x: { dtype: 'DT_FLOAT', tensor_shape: { dim: [{ size: '2' }] }, float_val: [1, 2] } },
    });
    assert.deepEqual(predict.response, {
      outputs: { y: { dtype: 'DT_FLOAT', tensor_shape: { dim: [{ size: '2' }] }, float_val: [2.5, 3] } },
      model_spec: { name: 'tf1', version: { value: '7' }, signature_name: 'predict' },
    });
    const classify = logs[1]!['classify_log'] as { request: { input: Record<string, unknown> }; response: { result: unknown } };
    assert.ok('example_list_with_context' in classify.request.input, 'a context stays a context');
    const [classes] = (classify.response.result as { classifications: { classes: { label: string; score: number }[] }[] }).classifications;
    assert.deepEqual(classes!.classes.map((c) => c.label), ['negative', 'positive']);
    // tf1_methods scores sigmoid(x) for x = 1 (the example's own x wins over the context's 0).
    assert.ok(Math.abs(classes!.classes[1]!.score - 1 / (1 + Math.exp(-1))) < 1e-6);
    const regress = logs[2]!['regress_log'] as { request: Record<string, unknown>; response: { result: unknown } };
    assert.deepEqual(regress.request['model_spec'], { name: 'tf1', version: { value: '7' }, signature_name: 'regress' });
    assert.deepEqual(regress.response.result, { regressions: [{ value: 3 }] });
    const multi = logs[3]!['multi_inference_log'] as { request: { tasks: unknown[] }; response: { results: unknown[] } };
    assert.equal(multi.request.tasks.length, 2);
    assert.equal(multi.response.results.length, 2);
  });

  test('sampling_rate: a call is logged when the draw is below it; 0 logs nothing', async () => {
    const prefix = path.join(dir, 'sampled', 'h');
    const { requestLogging, inference, logged } = logging([0.1, 0.6, 0.49, 0.5]);
    requestLogging.update(configs({ half_plus_two: tfrecord(prefix, 0.5), tf1: tfrecord(path.join(dir, 'sampled', 'never'), 0) }));
    for (let i = 0; i < 4; i++) await inference.predict({ modelSpec: { name: 'half_plus_two' }, inputs: { x: floats(i) } }, GRPC('Predict'));
    await inference.predict({ modelSpec: { name: 'tf1' }, inputs: { x: floats(1) } }, GRPC('Predict'));
    await requestLogging.close();
    assert.equal(logged.length, 2);
    const inputs = read(`${prefix}.test.tfrecord`).map((log) => ((log['predict_log'] as { request: { inputs: { x: { float_val: number[] } } } }).request.inputs.x.float_val));
    assert.deepEqual(inputs, [[0], [2]]);
    assert.deepEqual(read(path.join(dir, 'sampled', 'never.test.tfrecord')), []);
  });

  test('failed calls, unobserved calls and models without a logging_config are never logged', async () => {
    const prefix = path.join(dir, 'failed', 'h');
    const { requestLogging, inference, logged } = logging();
    requestLogging.update(configs({ half_plus_two: tfrecord(prefix), tf1: null }));
    await assert.rejects(inference.predict({ modelSpec: { name: 'half_plus_two', signatureName: 'nope' }, inputs: {} }, GRPC('Predict')));
    await inference.predict({ modelSpec: { name: 'half_plus_two' }, inputs: { x: floats(1) } });
    await inference.predict({ modelSpec: { name: 'tf1' }, inputs: { x: floats(1) } }, GRPC('Predict'));
    await requestLogging.close();
    assert.deepEqual(logged, []);
    assert.equal(fs.statSync(`${prefix}.test.tfrecord`).size, 0);
  });

  test('models with the same logging_config share one file; a reload keeps the files of unchanged configs', async () => {
    const shared = path.join(dir, 'shared', 'both');
    const { requestLogging, inference } = logging();
    requestLogging.update(configs({ half_plus_two: tfrecord(shared), tf1: tfrecord(shared) }));
    await inference.predict({ modelSpec: { name: 'half_plus_two' }, inputs: { x: floats(1) } }, GRPC('Predict'));
    await inference.predict({ modelSpec: { name: 'tf1' }, inputs: { x: floats(1) } }, GRPC('Predict'));
    // tf1 moves to a file of its own; half_plus_two keeps its logger and its open file.
    const own = path.join(dir, 'shared', 'tf1');
    const update = requestLogging.prepare(configs({ half_plus_two: tfrecord(shared), tf1: tfrecord(own) }));
    await inference.predict({ modelSpec: { name: 'tf1' }, inputs: { x: floats(2) } }, GRPC('Predict'));
    update.apply();
    await inference.predict({ modelSpec: { name: 'tf1' }, inputs: { x: floats(3) } }, GRPC('Predict'));
    await inference.predict({ modelSpec: { name: 'half_plus_two' }, inputs: { x: floats(4) } }, GRPC('Predict'));
    assert.equal(requestLogging.active, true);
    await requestLogging.close();
    assert.equal(requestLogging.active, false);
    const names = (file: string) => read(file).map((log) => `${(log['log_metadata'] as { model_spec: { name: string } }).model_spec.name}`);
    assert.deepEqual(names(`${shared}.test.tfrecord`), ['half_plus_two', 'tf1', 'tf1', 'half_plus_two']);
    assert.deepEqual(names(`${own}.test.tfrecord`), ['tf1']);
  });

  test('a discarded update changes nothing', async () => {
    const { requestLogging, inference, logged } = logging();
    requestLogging.update(configs({ half_plus_two: null }));
    const update = requestLogging.prepare(configs({ half_plus_two: tfrecord(path.join(dir, 'discarded', 'h')) }));
    await update.discard();
    await inference.predict({ modelSpec: { name: 'half_plus_two' }, inputs: { x: floats(1) } }, GRPC('Predict'));
    assert.deepEqual(logged, []);
    assert.equal(requestLogging.active, false);
  });

  test('EXPECTED FAILURE - a collector type tfserve does not have: TF Serving\'s NOT_FOUND, and nothing changes', () => {
    const { requestLogging } = logging();
    for (const type of ['', 'file', 'Tfrecord']) {
      assert.throws(() => requestLogging.prepare(configs({ m: `log_collector_config { type: "${type}" filename_prefix: "/tmp/x" }` })), {
        name: 'TfServeError',
        code: 'NOT_FOUND',
        message: `Cannot find LogCollector::Factory for type: ${type}`,
      });
    }
    assert.throws(() => requestLogging.prepare(configs({ m: 'log_collector_config { type: "tfrecord" }' })), {
      code: 'INVALID_ARGUMENT',
      message: 'LogCollectorConfig of type tfrecord needs a filename_prefix',
    });
    assert.equal(requestLogging.active, false);
  });

  test('EXPECTED FAILURE - a file that cannot be created fails the config with the file system\'s error', (t) => {
    const blocker = path.join(dir, 'a-file');
    fs.writeFileSync(blocker, '');
    t.after(() => fs.rmSync(blocker));
    const { requestLogging } = logging();
    assert.throws(() => requestLogging.prepare(configs({ m: tfrecord(path.join(blocker, 'sub', 'log')) })), { code: 'ENOTDIR' });
  });
});

import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { suite, test } from 'node:test';

import { serializeExample } from '../../src/proto/example.js';
import { Example } from '../../src/proto/messages.js';
import {
  encodeClassificationResponseMessage,
  encodeExamplesRequestMessage,
  encodeMultiInferenceRequestMessage,
  encodeMultiInferenceResponseMessage,
  encodePredictionLog,
  encodePredictRequestMessage,
  encodePredictResponseMessage,
  encodeRegressionResponseMessage,
  LOG_TYPES,
  readPredictionLog,
} from '../../src/proto/prediction-log.js';
import {
  decodeClassificationRequest,
  decodeMultiInferenceRequest,
  decodePredictRequest,
  decodeRegressionRequest,
} from '../../src/proto/serving-codec.js';
import { PredictionLog } from '../../src/proto/serving-protos.js';
import { parseTfRecords } from '../../src/proto/tfrecord.js';
import { REPO_ROOT } from '../helpers.js';

// Written by scripts/make-warmup-fixture.py with TensorFlow's TFRecordWriter and TF Serving's classes.
const FIXTURES = path.join(REPO_ROOT, 'test', 'fixtures', 'warmup');
interface GoldenRecord {
  log_type: string | null;
  log: Record<string, { request: Record<string, unknown> }>;
}
const golden = JSON.parse(fs.readFileSync(path.join(FIXTURES, 'golden.json'), 'utf8')) as { model: string; records: GoldenRecord[] };
const tfRecords = parseTfRecords(fs.readFileSync(path.join(FIXTURES, 'tf_written_warmup_requests')));

const floatExample = (x: number) => ({ features: { feature: { x: { floatList: { value: [x] } } } } });
const intExample = (name: string, value: number) => ({ features: { feature: { [name]: { int64List: { value: [value] } } } } });
const decodeExample = (bytes: Uint8Array) => Example.toObject(Example.decode(bytes), { longs: Number }) as unknown;

suite('readPredictionLog on records TensorFlow wrote', () => {
  test('each record\'s log type, as TF Serving\'s classes read it', () => {
    assert.equal(tfRecords.length, golden.records.length);
    tfRecords.forEach((record, i) => {
      const expected = golden.records[i]!.log_type;
      const { logType } = readPredictionLog(record);
      assert.equal(logType, expected === null ? 0 : LOG_TYPES[expected as keyof typeof LOG_TYPES], `record ${i}`);
    });
  });

  test('predict requests: model spec and tensors', () => {
    const first = decodePredictRequest(readPredictionLog(tfRecords[0]!).request);
    assert.deepEqual(first.modelSpec, { name: golden.model, signatureName: 'serving_default' });
    assert.equal(first.inputs['x']!.dtype, 'float32');
    assert.deepEqual(first.inputs['x']!.shape, [3]);
    assert.deepEqual([...(first.inputs['x']!.data as Float32Array)], [1, 2, 3]);
    const second = decodePredictRequest(readPredictionLog(tfRecords[1]!).request);
    assert.deepEqual(second.modelSpec, { name: golden.model, signatureName: '' });
    assert.deepEqual([...(second.inputs['x']!.data as Float32Array)], [4, 5]);
  });

  test('classify, regress (context merged into each example) and multi_inference requests', () => {
    const classify = decodeClassificationRequest(readPredictionLog(tfRecords[2]!).request);
    assert.deepEqual(classify.modelSpec, { name: golden.model, signatureName: 'classify' });
    assert.deepEqual(classify.examples.map(decodeExample), [floatExample(1), floatExample(-2.5)]);
    const regress = decodeRegressionRequest(readPredictionLog(tfRecords[3]!).request);
    // The context's bytes, then the example's: protobuf parsing (TensorFlow's) merges them.
    assert.deepEqual(regress.examples.map((b) => Buffer.from(b)), [
      Buffer.concat([serializeExample(floatExample(0.5)), serializeExample(intExample('id', 7))]),
    ]);
    const multi = decodeMultiInferenceRequest(readPredictionLog(tfRecords[4]!).request);
    assert.deepEqual(multi.tasks, [
      { modelSpec: { name: golden.model, signatureName: 'classify' }, methodName: 'tensorflow/serving/classify' },
      { modelSpec: { name: golden.model, signatureName: 'regress' }, methodName: 'tensorflow/serving/regress' },
    ]);
    assert.deepEqual(multi.examples.map(decodeExample), [floatExample(0.25)]);
  });

  test('a record with metadata and no log', () => {
    assert.deepEqual(readPredictionLog(tfRecords[5]!), { logType: 0, request: new Uint8Array(0) });
  });

  test('a oneof member replaces another; the same member again merges into it', () => {
    const predict = encodePredictionLog({ logType: 'predict_log', request: encodePredictRequestMessage({ modelSpec: { name: 'a' }, inputs: {} }) });
    const classify = encodePredictionLog({ logType: 'classify_log', request: encodeExamplesRequestMessage({ modelSpec: { name: 'b' }, input: { examples: [] } }) });
    assert.equal(readPredictionLog(Buffer.concat([predict, classify])).logType, LOG_TYPES.classify_log);
    const signature = encodePredictionLog({ logType: 'predict_log', request: encodePredictRequestMessage({ modelSpec: { name: '', signatureName: 's' }, inputs: {} }) });
    const merged = decodePredictRequest(readPredictionLog(Buffer.concat([predict, signature])).request);
    assert.deepEqual(merged.modelSpec, { name: 'a', signatureName: 's' });
  });

  test('EXPECTED FAILURE - bytes that are not a PredictionLog are a wire format error (INTERNAL)', () => {
    for (const bytes of [Buffer.from('not a proto'), Buffer.from([0x32, 0x05, 0x0a]), Buffer.from([0x08])]) {
      assert.throws(() => readPredictionLog(bytes), { name: 'TfServeError', code: 'INTERNAL', message: /^Failed to parse tensorflow\.serving\.PredictionLog: / });
    }
  });
});

suite('encoders: the bytes TF Serving\'s classes write', () => {
  const spec = (signatureName = '') => ({ name: golden.model, signatureName });

  test('predict, classify, regress with context and multi_inference requests equal TensorFlow\'s records', () => {
    const ours = [
      encodePredictionLog({
        logType: 'predict_log',
        request: encodePredictRequestMessage({ modelSpec: spec('serving_default'), inputs: { x: { dtype: 'float32', shape: [3], data: Float32Array.of(1, 2, 3) } } }),
      }),
      encodePredictionLog({
        logType: 'predict_log',
        request: encodePredictRequestMessage({ modelSpec: spec(), inputs: { x: { dtype: 'float32', shape: [2], data: Float32Array.of(4, 5) } } }),
      }),
      encodePredictionLog({
        logType: 'classify_log',
        request: encodeExamplesRequestMessage({ modelSpec: spec('classify'), input: { examples: [floatExample(1), floatExample(-2.5)].map(serializeExample) } }),
      }),
      encodePredictionLog({
        logType: 'regress_log',
        request: encodeExamplesRequestMessage({
          modelSpec: spec('regress'),
          input: { examples: [serializeExample(intExample('id', 7))], context: serializeExample(floatExample(0.5)) },
        }),
      }),
      encodePredictionLog({
        logType: 'multi_inference_log',
        request: encodeMultiInferenceRequestMessage({
          tasks: [
            { modelSpec: spec('classify'), methodName: 'tensorflow/serving/classify' },
            { modelSpec: spec('regress'), methodName: 'tensorflow/serving/regress' },
          ],
          input: { examples: [serializeExample(floatExample(0.25))] },
        }),
      }),
    ];
    ours.forEach((record, i) => assert.deepEqual(Buffer.from(record), tfRecords[i], `record ${i}`));
  });

  test('map entries by key, whatever the order of the object', () => {
    const tensor = { dtype: 'float32' as const, shape: [1], data: Float32Array.of(1) };
    assert.deepEqual(
      encodePredictRequestMessage({ modelSpec: spec(), inputs: { b: tensor, a: tensor } }),
      encodePredictRequestMessage({ modelSpec: spec(), inputs: { a: tensor, b: tensor } }),
    );
  });

  test('log_metadata and responses read back with protobuf\'s own decoder', () => {
    const served = { name: 'm', version: 3, signatureName: 'classify' };
    const record = encodePredictionLog({
      metadata: {
        modelSpec: served,
        samplingConfig: { samplingRate: 0.25, attributes: 1, perTaskSamplingConfigs: [{ dc: 'a', taskIndex: 0, samplingRate: 1 }] },
        savedModelTags: ['serve', 'gpu'],
      },
      logType: 'classify_log',
      request: encodeExamplesRequestMessage({ modelSpec: { name: 'm', versionLabel: 'stable' }, input: { examples: [] } }),
      response: encodeClassificationResponseMessage({
        modelSpec: served,
        result: { classifications: [{ classes: [{ label: Buffer.from('cat'), score: 0.75 }, { label: new Uint8Array(0), score: 0 }] }] },
      }),
    });
    assert.deepEqual(PredictionLog.decode(record), {
      log_metadata: {
        model_spec: { name: 'm', version: { value: '3' }, signature_name: 'classify' },
        sampling_config: { sampling_rate: 0.25, attributes: 1, per_task_sampling_configs: [{ dc: 'a', task_index: 0, sampling_rate: 1 }] },
        saved_model_tags: ['serve', 'gpu'],
      },
      classify_log: {
        request: { model_spec: { name: 'm', version_label: 'stable' }, input: { example_list: {} } },
        response: {
          model_spec: { name: 'm', version: { value: '3' }, signature_name: 'classify' },
          // proto3 leaves out an empty label and a zero score.
          result: { classifications: [{ classes: [{ label: 'cat', score: 0.75 }, {}] }] },
        },
      },
    });
    const regress = PredictionLog.decode(
      encodePredictionLog({
        logType: 'regress_log',
        request: new Uint8Array(0),
        response: encodeRegressionResponseMessage({ modelSpec: served, result: { regressions: [{ value: 1.5 }, { value: -0 }] } }),
      }),
    );
    assert.deepEqual(regress['regress_log'], {
      request: {},
      response: { model_spec: { name: 'm', version: { value: '3' }, signature_name: 'classify' }, result: { regressions: [{ value: 1.5 }, { value: -0 }] } },
    });
    const multi = PredictionLog.decode(
      encodePredictionLog({
        logType: 'multi_inference_log',
        request: new Uint8Array(0),
        response: encodeMultiInferenceResponseMessage({
          results: [
            { modelSpec: served, classificationResult: { classifications: [{ classes: [{ label: Buffer.from('x'), score: 1 }] }] } },
            { modelSpec: served, regressionResult: { regressions: [{ value: 2 }] } },
          ],
        }),
      }),
    );
    assert.deepEqual((multi['multi_inference_log'] as { response: unknown }).response, {
      results: [
        { model_spec: { name: 'm', version: { value: '3' }, signature_name: 'classify' }, classification_result: { classifications: [{ classes: [{ label: 'x', score: 1 }] }] } },
        { model_spec: { name: 'm', version: { value: '3' }, signature_name: 'classify' }, regression_result: { regressions: [{ value: 2 }] } },
      ],
    });
    const predict = PredictionLog.decode(
      encodePredictionLog({
        logType: 'predict_log',
        request: new Uint8Array(0),
        response: encodePredictResponseMessage({ modelSpec: served, outputs: { y: { dtype: 'string', shape: [1], data: [Buffer.from('ok')] } } }),
      }),
    );
    assert.deepEqual((predict['predict_log'] as { response: unknown }).response, {
      outputs: { y: { dtype: 'DT_STRING', tensor_shape: { dim: [{ size: '1' }] }, string_val: [Buffer.from('ok')] } },
      model_spec: { name: 'm', version: { value: '3' }, signature_name: 'classify' },
    });
  });
});

// The gRPC transport (src/grpc/) over loopback with real models, driven by a grpc-js client whose
// messages protobufjs builds from the same .proto files through @grpc/proto-loader (a different path
// from the server's hand-written wire codecs): TF Serving's RPCs, codes and texts (TFSERVING_SPEC.md §2),
// deadlines, cancellation, message sizes, health, reflection, TLS and mutual TLS, a UNIX socket.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, suite, test } from 'node:test';

import * as grpc from '@grpc/grpc-js';
import { loadSync } from '@grpc/proto-loader';
import { FileDescriptorProto } from 'protobufjs/ext/descriptor';

import { buildGrpcServer, type GrpcServer } from '../../src/grpc/server.js';
import { readSslConfigFile, serverCredentials } from '../../src/grpc/ssl-config.js';
import { protoDir, SignatureDefMap, SIGNATURE_DEF_MAP_TYPE_URL } from '../../src/proto/serving-protos.js';
import { Inference } from '../../src/serving/inference.js';
import { type ModelConfig, singleModelConfig } from '../../src/serving/model-config.js';
import type { RunRequest, Servable } from '../../src/serving/servable.js';
import { ServerCore } from '../../src/serving/server-core.js';
import { loadServable, MODELS_DIR, REPO_ROOT } from '../helpers.js';

/* eslint-disable @typescript-eslint/no-explicit-any */
type Message = Record<string, any>;

const PROTO_OPTIONS = { keepCase: true, longs: String, enums: String, defaults: false, includeDirs: [protoDir()] };
const api = grpc.loadPackageDefinition(
  loadSync(['tensorflow_serving/apis/prediction_service.proto', 'tensorflow_serving/apis/model_service.proto'], PROTO_OPTIONS),
) as any;
const LARGE = { 'grpc.max_receive_message_length': -1, 'grpc.max_send_message_length': -1 };
const TLS_DIR = path.join(REPO_ROOT, 'test', 'fixtures', 'tls');

function unary(client: grpc.Client, method: string, request: Message, options: grpc.CallOptions = {}): Promise<Message> {
  return new Promise((resolve, reject) => {
    (client as any)[method](request, new grpc.Metadata(), options, (error: grpc.ServiceError | null, response: Message) =>
      error ? reject(error) : resolve(response),
    );
  });
}

const floats = (...values: number[]) => ({ dtype: 'DT_FLOAT', tensor_shape: { dim: [{ size: values.length }] }, float_val: values });
const example = (x: number) => ({ features: { feature: { x: { float_list: { value: [x] } } } } });
const status = (code: number, details: string | RegExp) => ({ code, details });

/** The models, each servable wrapped to record the timeouts its runs get (a wrapper is a Servable). */
const timeouts: (number | undefined)[] = [];
async function load(dir: string): Promise<Servable> {
  const servable = await loadServable(dir);
  return {
    path: servable.path,
    signatures: servable.signatures,
    signatureDefs: servable.signatureDefs,
    run: (request: RunRequest) => {
      timeouts.push(request.timeoutMs);
      return servable.run(request);
    },
    dispose: () => servable.dispose(),
  };
}

const configs = (): ModelConfig[] => [
  singleModelConfig('half_plus_two', path.join(REPO_ROOT, 'models', 'half_plus_two')),
  singleModelConfig('tf1', path.join(MODELS_DIR, 'tf1_methods')),
  singleModelConfig('multi', path.join(MODELS_DIR, 'keras_multi')),
  singleModelConfig('tf2', path.join(MODELS_DIR, 'tf2_module')),
];

const debugLines: string[] = [];
let core: ServerCore;
let inference: Inference<ModelConfig[]>;
let server: GrpcServer;
let prediction: grpc.Client;
let models: grpc.Client;
let target: string;

before(async () => {
  core = new ServerCore(configs(), { load, pollWaitSeconds: 0, maxLoadRetries: 0, log: { info() {}, warn() {}, error() {} } });
  await core.start();
  inference = new Inference({ manager: core.manager, reloader: { reloadConfig: (next) => core.reloadConfig(next) } });
  server = buildGrpcServer({
    inference,
    healthCheck: true,
    log: { debug: (m) => debugLines.push(m), info() {}, error: (m) => debugLines.push(m) },
  });
  const port = await server.listen('127.0.0.1:0');
  target = `127.0.0.1:${port}`;
  prediction = new api.tensorflow.serving.PredictionService(target, grpc.credentials.createInsecure(), LARGE);
  models = new api.tensorflow.serving.ModelService(target, grpc.credentials.createInsecure());
});

after(async () => {
  prediction?.close();
  models?.close();
  await server?.close();
  await core?.close();
});

suite('Predict', () => {
  test('typed fields in and out; the response names the model, version and signature', async () => {
    const response = await unary(prediction, 'Predict', { model_spec: { name: 'half_plus_two' }, inputs: { x: floats(1, 2, 5) } });
    assert.deepEqual(response['model_spec'], { name: 'half_plus_two', version: { value: '1' }, signature_name: 'serving_default' });
    assert.deepEqual(response['outputs'], { y: { dtype: 'DT_FLOAT', tensor_shape: { dim: [{ size: '3' }] }, float_val: [2.5, 3, 4.5] } });
  });

  test('tensor_content in; FromProto rules for typed fields: zeros, last value repeated, extra ignored', async () => {
    const content = Buffer.from(new Float32Array([1, 2, 5]).buffer);
    const fromContent = await unary(prediction, 'Predict', {
      model_spec: { name: 'half_plus_two' },
      inputs: { x: { dtype: 'DT_FLOAT', tensor_shape: { dim: [{ size: 3 }] }, tensor_content: content } },
    });
    assert.deepEqual(fromContent['outputs'].y.float_val, [2.5, 3, 4.5]);
    const predictWith = async (value: number[]) =>
      (await unary(prediction, 'Predict', { model_spec: { name: 'half_plus_two' }, inputs: { x: { ...floats(...value), tensor_shape: { dim: [{ size: 3 }] } } } }))[
        'outputs'
      ].y.float_val;
    assert.deepEqual(await predictWith([]), [2, 2, 2]);
    assert.deepEqual(await predictWith([4]), [4, 4, 4]);
    assert.deepEqual(await predictWith([0, 2, 4, 6, 8]), [2, 3, 4]);
  });

  test('scalars carry an empty tensor_shape; int32 and int64 outputs in their typed fields', async () => {
    const scalar = await unary(prediction, 'Predict', {
      model_spec: { name: 'tf2', signature_name: 'unknown_rank' },
      inputs: { x: { dtype: 'DT_FLOAT', tensor_shape: {}, float_val: [3] } },
    });
    assert.deepEqual(scalar['outputs'], {
      rank: { dtype: 'DT_INT32', tensor_shape: {}, int_val: [0] },
      y: { dtype: 'DT_FLOAT', tensor_shape: {}, float_val: [9] }, // y = x * x
    });
    const dynamic = await unary(prediction, 'Predict', {
      model_spec: { name: 'tf2', signature_name: 'dynamic' },
      inputs: { x: { dtype: 'DT_FLOAT', tensor_shape: { dim: [{ size: 2 }, { size: 1 }] }, float_val: [1, 2] } },
    });
    assert.deepEqual(dynamic['outputs'].shape, { dtype: 'DT_INT64', tensor_shape: { dim: [{ size: '2' }] }, int64_val: ['2', '1'] });
  });

  test('output_filter picks outputs; empty means all', async () => {
    const inputs = { category: { dtype: 'DT_INT32', tensor_shape: { dim: [{ size: 1 }, { size: 1 }] }, int_val: [1] }, features: { ...floats(1, 2, 3, 4), tensor_shape: { dim: [{ size: 1 }, { size: 4 }] } } };
    const all = await unary(prediction, 'Predict', { model_spec: { name: 'multi' }, inputs });
    assert.deepEqual(Object.keys(all['outputs']).sort(), ['logits', 'score']);
    const one = await unary(prediction, 'Predict', { model_spec: { name: 'multi' }, inputs, output_filter: ['score'] });
    assert.deepEqual(Object.keys(one['outputs']), ['score']);
  });

  test('a request and a response over 4 MiB (the limit is INT32_MAX both ways)', async () => {
    const n = 1_500_000; // 6 MB of float32
    const x = Float32Array.from({ length: n }, (_, i) => i % 1000);
    const response = await unary(prediction, 'Predict', {
      model_spec: { name: 'half_plus_two' },
      inputs: { x: { dtype: 'DT_FLOAT', tensor_shape: { dim: [{ size: n }] }, tensor_content: Buffer.from(x.buffer) } },
    });
    const y = response['outputs'].y.float_val as number[];
    assert.equal(y.length, n);
    assert.equal(y[999], 0.5 * 999 + 2);
  });

  test('EXPECTED FAILURE - model spec, signature, inputs, outputs and dtypes: TF Serving\'s codes and texts', async () => {
    const predict = (request: Message) => unary(prediction, 'Predict', request);
    const x = { x: floats(1) };
    await assert.rejects(predict({ inputs: x }), status(3, 'Missing ModelSpec'));
    await assert.rejects(predict({ model_spec: {}, inputs: x }), status(3, 'ModelSpec has no name specified.'));
    await assert.rejects(predict({ model_spec: { name: 'nope' }, inputs: x }), status(5, 'Servable not found for request: Latest(nope)'));
    await assert.rejects(predict({ model_spec: { name: 'tf1', version: { value: 9 } }, inputs: x }), status(5, 'Servable not found for request: Specific(tf1, 9)'));
    await assert.rejects(predict({ model_spec: { name: 'tf1', version_label: 'canary' }, inputs: x }), status(3, 'Unrecognized servable version label: canary'));
    await assert.rejects(predict({ model_spec: { name: 'tf1', signature_name: 'nope' }, inputs: x }), status(9, 'Serving signature key "nope" not found.'));
    await assert.rejects(
      predict({ model_spec: { name: 'half_plus_two' }, inputs: { ...x, extra: floats(1) } }),
      status(3, 'input size does not match signature: 2!=1 len({extra,x}) != len({x}). Sent extra: {extra}. Missing but required: {}.'),
    );
    await assert.rejects(predict({ model_spec: { name: 'half_plus_two' }, inputs: { x: { dtype: 'DT_STRING', tensor_shape: { dim: [{ size: 1 }] }, string_val: [Buffer.from('a')] } } }), status(3, 'Expects arg[0] to be float but string is provided'));
    await assert.rejects(predict({ model_spec: { name: 'half_plus_two' }, inputs: x, output_filter: ['w'] }), status(3, 'output tensor alias not found in signature: w Outputs expected to be in the set {y}.'));
    await assert.rejects(predict({ model_spec: { name: 'half_plus_two' }, inputs: x, output_filter: ['y', 'y'] }), status(3, 'duplicate output tensor alias: y'));
  });

  test('EXPECTED FAILURE - bad TensorProtos are `tensor parsing error: <alias>`, after the servable and signature checks', async () => {
    const bad = { dtype: 'DT_FLOAT', tensor_shape: { dim: [{ size: 2 }] }, tensor_content: Buffer.alloc(3) };
    await assert.rejects(unary(prediction, 'Predict', { model_spec: { name: 'half_plus_two' }, inputs: { x: bad } }), status(3, 'tensor parsing error: x'));
    await assert.rejects(unary(prediction, 'Predict', { model_spec: { name: 'half_plus_two' }, inputs: { x: { dtype: 'DT_INVALID' } } }), status(3, 'tensor parsing error: x'));
    await assert.rejects(unary(prediction, 'Predict', { model_spec: { name: 'nope' }, inputs: { x: bad } }), status(5, /Latest\(nope\)/));
    await assert.rejects(unary(prediction, 'Predict', { model_spec: { name: 'half_plus_two', signature_name: 'no' }, inputs: { x: bad } }), status(9, /not found/));
  });

  test('EXPECTED FAILURE - bytes that are not a PredictRequest answer INTERNAL; the server stays up', async () => {
    const raw = new grpc.Client(target, grpc.credentials.createInsecure());
    const bytes = (b: Buffer) => b;
    const error = await new Promise<grpc.ServiceError>((resolve) => {
      raw.makeUnaryRequest('/tensorflow.serving.PredictionService/Predict', bytes, bytes, Buffer.from([0x0a, 0xff]), (e) => resolve(e!));
    });
    raw.close();
    assert.equal(error.code, 13);
    assert.match(error.details, /^Failed to parse tensorflow\.serving\.PredictRequest/);
    await unary(prediction, 'Predict', { model_spec: { name: 'half_plus_two' }, inputs: { x: floats(1) } });
  });

  test('EXPECTED FAILURE - messages over 1024 bytes are cut and marked ...TRUNCATED', async () => {
    const name = 'm'.repeat(2000);
    const error = (await unary(prediction, 'Predict', { model_spec: { name }, inputs: {} }).catch((e: unknown) => e)) as grpc.ServiceError;
    assert.equal(error.code, 5);
    assert.equal(error.details, `${`Servable not found for request: Latest(${name})`.slice(0, 1024)}...TRUNCATED`);
  });

  test('a client deadline becomes the run\'s timeout; past it the call is DEADLINE_EXCEEDED', async () => {
    timeouts.length = 0;
    await unary(prediction, 'Predict', { model_spec: { name: 'half_plus_two' }, inputs: { x: floats(1) } }, { deadline: Date.now() + 60_000 });
    await unary(prediction, 'Predict', { model_spec: { name: 'half_plus_two' }, inputs: { x: floats(1) } });
    assert.equal(timeouts.length, 2);
    assert.ok(timeouts[0]! > 0 && timeouts[0]! <= 60_000, `timeout ${timeouts[0]}`);
    assert.equal(timeouts[1], undefined);
    const slow = { model_spec: { name: 'tf2', signature_name: 'slow' }, inputs: { x: { dtype: 'DT_FLOAT', tensor_shape: {}, float_val: [4] } } };
    await assert.rejects(unary(prediction, 'Predict', slow, { deadline: Date.now() + 200 }), { code: grpc.status.DEADLINE_EXCEEDED });
  });

  test('EXPECTED FAILURE - a cancelled call stops waiting on the server', async () => {
    const slow = { model_spec: { name: 'tf2', signature_name: 'slow' }, inputs: { x: { dtype: 'DT_FLOAT', tensor_shape: {}, float_val: [1] } } };
    debugLines.length = 0;
    const call = (prediction as any).Predict(slow, () => {});
    await new Promise((resolve) => setTimeout(resolve, 100));
    call.cancel();
    for (let i = 0; i < 100 && !debugLines.some((line) => line.includes('cancelled')); i++) await new Promise((resolve) => setTimeout(resolve, 20));
    assert.ok(debugLines.includes('Predict failed: The client cancelled the call'), debugLines.join('\n'));
  });
});

suite('Classify, Regress, MultiInference', () => {
  const input = { example_list: { examples: [example(1), example(-2)] } };

  test('Classify: labels and scores per example; Regress: one value per example', async () => {
    const classify = await unary(prediction, 'Classify', { model_spec: { name: 'tf1', signature_name: 'classify' }, input });
    assert.deepEqual(classify['model_spec'], { name: 'tf1', version: { value: '1' }, signature_name: 'classify' });
    const rows = classify['result'].classifications as Message[];
    assert.equal(rows.length, 2);
    assert.deepEqual(rows.map((row) => row['classes'].map((c: Message) => c['label'])), [['negative', 'positive'], ['negative', 'positive']]);
    const regress = await unary(prediction, 'Regress', { model_spec: { name: 'tf1', signature_name: 'regress' }, input });
    assert.equal(regress['result'].regressions.length, 2);
    const withContext = await unary(prediction, 'Regress', {
      model_spec: { name: 'tf1', signature_name: 'regress' },
      input: { example_list_with_context: { examples: [{}, {}], context: example(1) } },
    });
    const same = await unary(prediction, 'Regress', { model_spec: { name: 'tf1', signature_name: 'regress' }, input: { example_list: { examples: [example(1), example(1)] } } });
    assert.deepEqual(withContext['result'], same['result']);
  });

  test('MultiInference: one run, results in task order with their signatures', async () => {
    const response = await unary(prediction, 'MultiInference', {
      tasks: [
        { model_spec: { name: 'tf1', signature_name: 'regress' }, method_name: 'tensorflow/serving/regress' },
        { model_spec: { name: 'tf1', signature_name: 'classify' }, method_name: 'tensorflow/serving/classify' },
      ],
      input,
    });
    const [regress, classify] = response['results'] as Message[];
    assert.deepEqual(regress!['model_spec'], { name: 'tf1', version: { value: '1' }, signature_name: 'regress' });
    assert.equal(regress!['regression_result'].regressions.length, 2);
    assert.equal(classify!['classification_result'].classifications.length, 2);
  });

  test('EXPECTED FAILURE - Classify/Regress/MultiInference errors', async () => {
    await assert.rejects(unary(prediction, 'Classify', { model_spec: { name: 'tf1', signature_name: 'classify' }, input: {} }), status(3, 'Input is empty.'));
    await assert.rejects(unary(prediction, 'Regress', { model_spec: { name: 'tf1', signature_name: 'nope' }, input }), status(3, 'No signature was found with the name: nope'));
    await assert.rejects(unary(prediction, 'Classify', { input }), status(3, 'Missing ModelSpec'));
    await assert.rejects(
      unary(prediction, 'MultiInference', { tasks: [{ model_spec: { name: 'tf1', signature_name: 'predict' }, method_name: 'tensorflow/serving/predict' }], input }),
      status(12, 'Unsupported signature method_name: tensorflow/serving/predict'),
    );
    await assert.rejects(
      unary(prediction, 'MultiInference', {
        tasks: [
          { model_spec: { name: 'tf1', signature_name: 'regress' }, method_name: 'tensorflow/serving/regress' },
          { model_spec: { name: 'half_plus_two', signature_name: 'regress' }, method_name: 'tensorflow/serving/regress' },
        ],
        input,
      }),
      status(3, 'All ModelSpecs in a MultiInferenceRequest must access the same model name.'),
    );
  });
});

suite('GetModelMetadata, GetModelStatus', () => {
  test('metadata: the SignatureDefMap in an Any, equal to the servable\'s SignatureDefs', async () => {
    const response = await unary(prediction, 'GetModelMetadata', { model_spec: { name: 'tf1' }, metadata_field: ['signature_def'] });
    assert.deepEqual(response['model_spec'], { name: 'tf1', version: { value: '1' } });
    const any = response['metadata'].signature_def;
    assert.equal(any.type_url, SIGNATURE_DEF_MAP_TYPE_URL);
    const map = SignatureDefMap.decode(any.value).signature_def!;
    const expected = inference.getModelMetadata({ modelSpec: { name: 'tf1' }, metadataField: ['signature_def'] }).signatureDef;
    assert.deepEqual(Object.keys(map).sort(), Object.keys(expected).sort());
    assert.equal(map['classify']!.method_name, 'tensorflow/serving/classify');
    assert.deepEqual(map['classify']!.inputs!['inputs']!.name, (expected['classify']!.inputs!['inputs'] as Message)['name']);
  });

  test('EXPECTED FAILURE - metadata fields', async () => {
    await assert.rejects(unary(prediction, 'GetModelMetadata', { model_spec: { name: 'tf1' } }), status(3, 'GetModelMetadataRequest must specify at least one metadata_field'));
    await assert.rejects(unary(prediction, 'GetModelMetadata', { model_spec: { name: 'tf1' }, metadata_field: ['x'] }), status(3, 'Metadata field x is not supported'));
  });

  test('status: every version, AVAILABLE with an OK status; unknown model and version are NOT_FOUND', async () => {
    const response = await unary(models, 'GetModelStatus', { model_spec: { name: 'tf1' } });
    assert.deepEqual(response['model_version_status'], [{ version: '1', state: 'AVAILABLE', status: {} }]);
    await assert.rejects(unary(models, 'GetModelStatus', { model_spec: { name: 'nope' } }), status(5, 'Could not find any versions of model nope'));
    await assert.rejects(unary(models, 'GetModelStatus', { model_spec: { name: 'tf1', version: { value: 3 } } }), status(5, 'Could not find version 3 of model tf1'));
    await assert.rejects(unary(models, 'GetModelStatus', {}), status(3, 'Missing ModelSpec'));
  });
});

suite('HandleReloadConfigRequest', () => {
  const entry = (name: string, dir: string) => ({ name, base_path: dir, model_platform: 'tensorflow' });
  const list = (extra: Message[] = []) => ({
    model_config_list: {
      config: [
        entry('half_plus_two', path.join(REPO_ROOT, 'models', 'half_plus_two')),
        entry('tf1', path.join(MODELS_DIR, 'tf1_methods')),
        entry('multi', path.join(MODELS_DIR, 'keras_multi')),
        entry('tf2', path.join(MODELS_DIR, 'tf2_module')),
        ...extra,
      ],
    },
  });

  test('a new config is applied as a file reload: the added model serves; unknown metrics have no entry', async () => {
    const response = await unary(models, 'HandleReloadConfigRequest', {
      config: list([entry('dtypes', path.join(MODELS_DIR, 'dtypes'))]),
      metric_names: ['/tensorflow/serving/not_a_metric'],
    });
    assert.deepEqual(response, { status: {} });
    const status = await unary(models, 'GetModelStatus', { model_spec: { name: 'dtypes' } });
    assert.equal(status['model_version_status'][0].state, 'AVAILABLE');
    await unary(models, 'HandleReloadConfigRequest', { config: list() });
  });

  test('EXPECTED FAILURE - a config that is not a ModelConfigList, and an invalid one', async () => {
    await assert.rejects(
      unary(models, 'HandleReloadConfigRequest', { config: { custom_model_config: { type_url: 'x' } } }),
      status(3, 'ServerModelConfig type not supported by HandleReloadConfigRequest. Only ModelConfigList is currently supported'),
    );
    await assert.rejects(
      unary(models, 'HandleReloadConfigRequest', { config: list([entry('rel', 'relative/path')]) }),
      status(3, 'Expected model rel to have an absolute path or URI; got base_path()=relative/path'),
    );
  });
});

suite('health and reflection', () => {
  test('grpc.health.v1: "", ModelService and PredictionService are SERVING; other names NOT_FOUND', async () => {
    const health = grpc.loadPackageDefinition(loadSync('health/v1/health.proto', { keepCase: true, enums: String, includeDirs: [path.join(REPO_ROOT, 'node_modules', 'grpc-health-check', 'proto')] })) as any;
    const client = new health.grpc.health.v1.Health(target, grpc.credentials.createInsecure());
    for (const service of ['', 'ModelService', 'PredictionService']) {
      assert.deepEqual(await unary(client, 'Check', { service }), { status: 'SERVING' });
    }
    await assert.rejects(unary(client, 'Check', { service: 'Nope' }), { code: 5 });
    client.close();
  });

  test('reflection lists the services and serves protoc-shaped descriptors (full names, map entries, dependencies)', async () => {
    const reflectionProto = path.join(REPO_ROOT, 'node_modules', '@grpc', 'reflection', 'build', 'proto');
    const reflection = grpc.loadPackageDefinition(loadSync('grpc/reflection/v1/reflection.proto', { keepCase: true, includeDirs: [reflectionProto] })) as any;
    const client = new reflection.grpc.reflection.v1.ServerReflection(target, grpc.credentials.createInsecure());
    const ask = (request: Message) =>
      new Promise<Message>((resolve, reject) => {
        const stream = client.ServerReflectionInfo();
        stream.on('data', (response: Message) => {
          resolve(response);
          stream.end();
        });
        stream.on('error', reject);
        stream.write(request);
      });
    const listed = await ask({ list_services: '' });
    assert.deepEqual(
      listed['list_services_response'].service.map((s: Message) => s['name']).sort(),
      ['grpc.health.v1.Health', 'tensorflow.serving.ModelService', 'tensorflow.serving.PredictionService'],
    );
    const files = await ask({ file_containing_symbol: 'tensorflow.serving.PredictionService' });
    const descriptors = (files['file_descriptor_response'].file_descriptor_proto as Buffer[]).map((b) => FileDescriptorProto.decode(b) as unknown as Message);
    const byName = new Map(descriptors.map((d) => [d['name'], d]));
    assert.ok(byName.has('tensorflow_serving/apis/prediction_service.proto'));
    const predict = byName.get('tensorflow_serving/apis/predict.proto')!;
    assert.ok(predict['dependency'].includes('tensorflow/core/framework/tensor.proto'));
    const request = predict['messageType'].find((m: Message) => m['name'] === 'PredictRequest');
    const inputs = request['field'].find((f: Message) => f['name'] === 'inputs');
    assert.equal(inputs['typeName'], '.tensorflow.serving.PredictRequest.InputsEntry');
    const entryType = request['nestedType'].find((m: Message) => m['name'] === 'InputsEntry');
    assert.equal(entryType['options'].mapEntry, true);
    assert.equal(entryType['field'][1].typeName, '.tensorflow.TensorProto');
    // Every file a descriptor depends on is served too, so a client can build them all.
    for (const descriptor of descriptors) for (const dependency of descriptor['dependency']) assert.ok(byName.has(dependency), dependency);
    client.close();
  });
});

suite('listeners: UNIX socket, TLS, mutual TLS, graceful close', () => {
  const tls = (file: string) => fs.readFileSync(path.join(TLS_DIR, file));
  const sslConfigFile = (clientVerify: boolean): string => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tfserve-ssl-'));
    const file = path.join(dir, 'ssl.config');
    const text = (value: Buffer) => JSON.stringify(value.toString());
    fs.writeFileSync(
      file,
      `server_key: ${text(tls('server.key'))}\nserver_cert: ${text(tls('server.crt'))}\ncustom_ca: ${text(tls('ca.crt'))}\nclient_verify: ${clientVerify}\n`,
    );
    return file;
  };
  const request = { model_spec: { name: 'half_plus_two' }, inputs: { x: floats(2) } };

  test('a UNIX socket serves the same services', async () => {
    const socket = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'tfserve-sock-')), 'grpc.sock');
    const local = buildGrpcServer({ inference });
    await local.listen(`unix:${socket}`);
    const client = new api.tensorflow.serving.PredictionService(`unix:${socket}`, grpc.credentials.createInsecure());
    assert.deepEqual((await unary(client, 'Predict', request))['outputs'].y.float_val, [3]);
    client.close();
    await local.close();
  });

  test('--ssl_config_file: TLS; with client_verify only clients with a certificate from custom_ca get in', async () => {
    for (const clientVerify of [false, true]) {
      const local = buildGrpcServer({ inference });
      const port = await local.listen('127.0.0.1:0', serverCredentials(readSslConfigFile(sslConfigFile(clientVerify))));
      const withCert = grpc.credentials.createSsl(tls('ca.crt'), tls('client.key'), tls('client.crt'));
      const withoutCert = grpc.credentials.createSsl(tls('ca.crt'));
      const options = { 'grpc.ssl_target_name_override': 'localhost' };
      const good = new api.tensorflow.serving.PredictionService(`127.0.0.1:${port}`, withCert, options);
      assert.deepEqual((await unary(good, 'Predict', request))['outputs'].y.float_val, [3]);
      const plain = new api.tensorflow.serving.PredictionService(`127.0.0.1:${port}`, withoutCert, options);
      if (clientVerify) await assert.rejects(unary(plain, 'Predict', request, { deadline: Date.now() + 5000 }), { code: grpc.status.UNAVAILABLE });
      else assert.deepEqual((await unary(plain, 'Predict', request))['outputs'].y.float_val, [3]);
      const insecure = new api.tensorflow.serving.PredictionService(`127.0.0.1:${port}`, grpc.credentials.createInsecure());
      await assert.rejects(unary(insecure, 'Predict', request, { deadline: Date.now() + 5000 }), { code: grpc.status.UNAVAILABLE });
      for (const client of [good, plain, insecure]) client.close();
      await local.close();
    }
  });

  test('close(): health turns NOT_SERVING, a call in flight finishes, new calls are refused', async () => {
    const local = buildGrpcServer({ inference, healthCheck: true });
    const port = await local.listen('127.0.0.1:0');
    const health = grpc.loadPackageDefinition(loadSync('health/v1/health.proto', { keepCase: true, enums: String, includeDirs: [path.join(REPO_ROOT, 'node_modules', 'grpc-health-check', 'proto')] })) as any;
    const watcher = new health.grpc.health.v1.Health(`127.0.0.1:${port}`, grpc.credentials.createInsecure());
    const statuses: string[] = [];
    const watch = watcher.Watch({ service: '' });
    watch.on('data', (response: Message) => statuses.push(response['status']));
    watch.on('error', () => {});
    const client = new api.tensorflow.serving.PredictionService(`127.0.0.1:${port}`, grpc.credentials.createInsecure());
    await unary(client, 'Predict', request);
    const slow = unary(client, 'Predict', { model_spec: { name: 'tf2', signature_name: 'slow' }, inputs: { x: { dtype: 'DT_FLOAT', tensor_shape: {}, float_val: [0.4] } } });
    await new Promise((resolve) => setTimeout(resolve, 50));
    const closed = local.close(2000);
    assert.ok((await slow)['outputs']);
    await closed;
    assert.deepEqual(statuses, ['SERVING', 'NOT_SERVING']);
    await assert.rejects(unary(client, 'Predict', request, { deadline: Date.now() + 2000 }));
    client.close();
    watcher.close();
  });
});

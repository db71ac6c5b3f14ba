import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { suite, test } from 'node:test';

import * as grpc from '@grpc/grpc-js';
import protobuf from 'protobufjs';

import { RunOptions } from '../../src/proto/messages.js';
import { grpcStatusOf } from '../../src/proto/grpc-status.js';
import { decodePredictRequest, encodePredictResponse } from '../../src/proto/serving-codec.js';
import {
  GRPC_INFERENCE_SERVICE,
  messageCodec,
  MODEL_SERVICE,
  ModelInferRequest,
  PREDICTION_SERVICE,
  PredictionLog,
  protoRoot,
  serviceDefinition,
} from '../../src/proto/serving-protos.js';
import { fixture, GRPC_FIXTURES } from './grpc-fixtures.js';

interface FieldDescriptor {
  number: number;
  type: string;
  repeated: boolean;
  oneof?: string;
}

interface Descriptors {
  messages: Record<string, Record<string, FieldDescriptor>>;
  enums: Record<string, Record<string, number>>;
  services: Record<string, Record<string, [string, string]>>;
}

const DESCRIPTORS = JSON.parse(fs.readFileSync(path.join(GRPC_FIXTURES, 'descriptors.json'), 'utf8')) as {
  tensorflow_serving: Descriptors;
  kserve: Descriptors;
};
const OFFICIAL: Descriptors = {
  messages: { ...DESCRIPTORS.tensorflow_serving.messages, ...DESCRIPTORS.kserve.messages },
  enums: { ...DESCRIPTORS.tensorflow_serving.enums },
  services: { ...DESCRIPTORS.tensorflow_serving.services, ...DESCRIPTORS.kserve.services },
};

/** Fields declared as bytes where the real field is a message tfserve never looks into. */
const OPAQUE: Record<string, string> = {
  'tensorflow.TensorInfo.CompositeTensor.type_spec': 'tensorflow.TypeSpecProto',
  'tensorflow.serving.SessionRunRequest.options': 'tensorflow.RunOptions',
  'tensorflow.serving.SessionRunResponse.metadata': 'tensorflow.RunMetadata',
};
/** Messages declared with only the part tfserve needs. */
const PARTIAL = new Set(['tensorflow.serving.FileSystemStoragePathSourceConfig']);

function fullName(reflection: protobuf.ReflectionObject): string {
  return reflection.fullName.replace(/^\./, '');
}

function* ours<T extends protobuf.ReflectionObject>(ns: protobuf.NamespaceBase, kind: new (...args: never[]) => T): Generator<T> {
  for (const nested of ns.nestedArray) {
    if (nested instanceof kind) yield nested as T;
    if (nested instanceof protobuf.Namespace || nested instanceof protobuf.Type) yield* ours(nested, kind);
  }
}

/** Which fixture holds which message, for the byte-for-byte round trips. */
const FIXTURE_TYPES: Record<string, string> = {
  predict_request_content: 'tensorflow.serving.PredictRequest',
  predict_request_typed: 'tensorflow.serving.PredictRequest',
  predict_response: 'tensorflow.serving.PredictResponse',
  classification_request: 'tensorflow.serving.ClassificationRequest',
  classification_response: 'tensorflow.serving.ClassificationResponse',
  regression_request: 'tensorflow.serving.RegressionRequest',
  regression_response: 'tensorflow.serving.RegressionResponse',
  multi_inference_request: 'tensorflow.serving.MultiInferenceRequest',
  multi_inference_response: 'tensorflow.serving.MultiInferenceResponse',
  get_model_metadata_request: 'tensorflow.serving.GetModelMetadataRequest',
  get_model_metadata_response: 'tensorflow.serving.GetModelMetadataResponse',
  get_model_status_request: 'tensorflow.serving.GetModelStatusRequest',
  get_model_status_response: 'tensorflow.serving.GetModelStatusResponse',
  reload_config_request: 'tensorflow.serving.ReloadConfigRequest',
  reload_config_request_custom: 'tensorflow.serving.ReloadConfigRequest',
  reload_config_response: 'tensorflow.serving.ReloadConfigResponse',
  prediction_log_predict: 'tensorflow.serving.PredictionLog',
  prediction_log_classify: 'tensorflow.serving.PredictionLog',
  prediction_log_session_run: 'tensorflow.serving.PredictionLog',
  kserve_model_infer_request: 'inference.ModelInferRequest',
  kserve_model_infer_response: 'inference.ModelInferResponse',
  kserve_model_metadata_response: 'inference.ModelMetadataResponse',
};

suite('serving-protos', () => {
  test('every declared field has the official descriptor\'s name, number, type, label and oneof', () => {
    let checked = 0;
    for (const type of ours(protoRoot(), protobuf.Type)) {
      const name = fullName(type);
      if (name.startsWith('google.protobuf.')) continue;
      const official = OFFICIAL.messages[name];
      assert.ok(official, `${name} is not an official message`);
      for (const field of type.fieldsArray) {
        const theirs = official[field.name];
        const where = `${name}.${field.name}`;
        assert.ok(theirs, `${where} is not an official field`);
        assert.equal(field.id, theirs.number, `${where}: number`);
        assert.equal(field.repeated || field.map, theirs.repeated, `${where}: repeated`);
        assert.equal(field.partOf?.name, theirs.oneof, `${where}: oneof`);
        if (field.map) assert.match(theirs.type, /Entry$/, `${where}: a map`);
        else if (OPAQUE[where]) assert.equal(theirs.type, OPAQUE[where], `${where}: opaque bytes for ${OPAQUE[where]}`);
        else assert.equal(field.resolvedType ? fullName(field.resolvedType) : field.type, theirs.type, `${where}: type`);
        checked++;
      }
      if (!PARTIAL.has(name)) assert.deepEqual(type.fieldsArray.map((f) => f.name).sort(), Object.keys(official).sort(), `${name}: fields`);
    }
    assert.ok(checked > 240, `only ${checked} fields checked`);
    for (const name of Object.keys(OFFICIAL.messages)) {
      if (name.endsWith('.ServableToMonitor')) continue; // the file source's own config, not served
      assert.ok(protoRoot().lookupTypeOrEnum(name), `${name} is not declared`);
    }
  });

  test('every declared enum has the official values; every service the official methods', () => {
    for (const e of ours(protoRoot(), protobuf.Enum)) {
      const name = fullName(e);
      if (name.startsWith('google.protobuf.')) continue;
      assert.deepEqual({ ...e.values }, OFFICIAL.enums[name], name);
    }
    for (const service of ours(protoRoot(), protobuf.Service)) {
      const name = fullName(service);
      const official = OFFICIAL.services[name]!;
      assert.ok(official, `${name} is not an official service`);
      for (const method of service.methodsArray) {
        method.resolve();
        assert.deepEqual([fullName(method.resolvedRequestType!), fullName(method.resolvedResponseType!)], official[method.name], `${name}.${method.name}`);
      }
      // Triton's service has more methods (streaming, repository, shared memory): KServe's six are declared.
      if (name !== GRPC_INFERENCE_SERVICE) assert.deepEqual(service.methodsArray.map((m) => m.name).sort(), Object.keys(official).sort());
    }
    assert.deepEqual(Object.keys(serviceDefinition(GRPC_INFERENCE_SERVICE)), ['ServerLive', 'ServerReady', 'ModelReady', 'ServerMetadata', 'ModelMetadata', 'ModelInfer']);
  });

  test('every fixture decodes and re-encodes to the same bytes', () => {
    for (const [name, typeName] of Object.entries(FIXTURE_TYPES)) {
      const bytes = fixture(name);
      const codec = messageCodec(typeName);
      assert.deepEqual(Buffer.from(codec.encode(codec.decode(bytes))), bytes, name);
    }
    const present = fs.readdirSync(GRPC_FIXTURES).filter((f) => f.endsWith('.bin')).map((f) => f.slice(0, -4));
    assert.deepEqual(present.sort(), Object.keys(FIXTURE_TYPES).sort());
  });

  test('decoded messages hold what the stubs put in: enums as names, int64 as strings, opaque bytes intact', () => {
    const log = PredictionLog.decode(fixture('prediction_log_session_run')) as {
      session_run_log: { request: { options: Uint8Array; feed: { name: string }[] }; response: { metadata: Uint8Array } };
    };
    assert.equal(log.session_run_log.request.feed[0]!.name, 'x:0');
    const options = RunOptions.toObject(RunOptions.decode(log.session_run_log.request.options), { longs: Number }) as { timeoutInMs?: number };
    assert.equal(options.timeoutInMs, 500);
    assert.ok(log.session_run_log.response.metadata.length > 0);
    const status = messageCodec('tensorflow.serving.GetModelStatusResponse').decode(fixture('get_model_status_response'));
    assert.deepEqual(status, {
      model_version_status: [
        { version: '2', state: 'AVAILABLE', status: {} },
        { version: '1', state: 'END', status: { error_code: 'NOT_FOUND', error_message: 'Could not find SavedModel .pb or .pbtxt' } },
      ],
    });
    const infer = ModelInferRequest.decode(fixture('kserve_model_infer_request'));
    assert.equal(infer.model_name, 'half_plus_two');
    assert.deepEqual(infer.inputs!.map((i) => [i.name, i.datatype, i.shape]), [['x', 'FP32', ['1', '3']], ['s', 'BYTES', ['2']]]);
    assert.deepEqual(infer.parameters, { priority: { uint64_param: '3' }, scale: { double_param: 0.5 }, tag: { string_param: 't' }, on: { bool_param: true } });
    assert.deepEqual([...new Float32Array(new Uint8Array(infer.raw_input_contents![0]!).buffer)], [1.5, -2, 3]);
  });

  test('encode writes the canonical form: no proto3 defaults, present empty messages kept', () => {
    const spec = messageCodec('tensorflow.serving.ModelSpec');
    assert.deepEqual([...spec.encode({ name: '', version: { value: 0 }, signature_name: '' })], [0x12, 0x00]);
    assert.deepEqual([...spec.encode({ name: 'm', version_label: '' })], [0x0a, 0x01, 0x6d, 0x22, 0x00]);
  });

  test('BAD CALL - bytes that are not the message are INTERNAL parse errors', () => {
    assert.throws(() => PredictionLog.decode(Buffer.from([0x0a, 0x05, 0x01])), {
      name: 'TfServeError',
      code: 'INTERNAL',
      message: /^Failed to parse tensorflow.serving.PredictionLog: /,
    });
  });

  test('grpc-js serves and calls the services with raw bytes at TF Serving\'s method paths', async (t) => {
    const prediction = serviceDefinition(PREDICTION_SERVICE);
    assert.equal(prediction['Predict']!.path, '/tensorflow.serving.PredictionService/Predict');
    assert.equal(serviceDefinition(MODEL_SERVICE)['HandleReloadConfigRequest']!.path, '/tensorflow.serving.ModelService/HandleReloadConfigRequest');
    const server = new grpc.Server();
    server.addService(prediction, {
      Predict(call: grpc.ServerUnaryCall<Buffer, Uint8Array>, callback: grpc.sendUnaryData<Uint8Array>) {
        try {
          const request = decodePredictRequest(call.request);
          callback(null, encodePredictResponse({ modelSpec: request.modelSpec, outputs: request.inputs }));
        } catch (error) {
          callback(grpcStatusOf(error));
        }
      },
    });
    const port = await new Promise<number>((resolve, reject) =>
      server.bindAsync('127.0.0.1:0', grpc.ServerCredentials.createInsecure(), (error, bound) => (error ? reject(error) : resolve(bound))),
    );
    t.after(() => server.forceShutdown());
    const Client = grpc.makeGenericClientConstructor(prediction, 'PredictionService');
    const client = new Client(`127.0.0.1:${port}`, grpc.credentials.createInsecure()) as unknown as grpc.Client & {
      Predict(request: Uint8Array, callback: (error: grpc.ServiceError | null, response?: Buffer) => void): void;
    };
    t.after(() => client.close());
    const call = (request: Uint8Array) =>
      new Promise<Buffer>((resolve, reject) => client.Predict(request, (error, response) => (error ? reject(error) : resolve(response!))));
    const answer = messageCodec('tensorflow.serving.PredictResponse').decode(await call(fixture('predict_request_typed'))) as {
      outputs: Record<string, { int_val?: number[] }>;
      model_spec: unknown;
    };
    assert.deepEqual(answer.outputs['repeat_last']!.int_val, [1, 2, 2, 2, 2, 2]);
    assert.deepEqual(answer.model_spec, { name: 'm', version_label: 'stable' });
    const bad = messageCodec('tensorflow.serving.PredictRequest').encode({ inputs: { x: { dtype: 'DT_COMPLEX64', tensor_shape: {} } } });
    await assert.rejects(call(bad), { code: grpc.status.INVALID_ARGUMENT, details: 'tensor parsing error: x' });
    await assert.rejects(call(Buffer.from([0x12, 0x09])), { code: grpc.status.INTERNAL, details: /^Failed to parse tensorflow.serving.PredictRequest/ });
  });
});

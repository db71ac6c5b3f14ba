// src/grpc/inference-service.ts: GRPCInferenceService on a grpc-js server of the test's own, called
// over loopback by a grpc-js client with requests that protobufjs encodes (independently of the
// service's hand-written decoder), answers decoded the same way, and statuses as tritonclient sees them.
import assert from 'node:assert/strict';
import path from 'node:path';
import { after, before, suite, test } from 'node:test';

import * as grpc from '@grpc/grpc-js';

import { addInferenceService } from '../../src/grpc/inference-service.js';
import { rawTensorBytes } from '../../src/proto/kserve-codec.js';
import { GRPC_INFERENCE_SERVICE, messageCodec, ModelInferRequest, ModelInferResponse, type ModelInferRequestMessage } from '../../src/proto/serving-protos.js';
import { Inference } from '../../src/serving/inference.js';
import { ModelManager } from '../../src/serving/manager.js';
import { OpenInference } from '../../src/serving/open-inference.js';
import { loadServable, modelPath, readGolden, REPO_ROOT } from '../helpers.js';

let manager: ModelManager;
let server: grpc.Server;
let client: grpc.Client;

before(async () => {
  manager = new ModelManager({ load: loadServable, maxLoadRetries: 0 });
  manager.setAspiredVersions('half_plus_two', [{ version: 1, path: path.join(REPO_ROOT, 'models', 'half_plus_two', '1') }]);
  manager.setAspiredVersions('multi', [{ version: 4, path: modelPath('keras_multi') }]);
  manager.setAspiredVersions('dtypes', [{ version: 1, path: modelPath('dtypes') }]);
  await manager.settled();
  // tritonclient sends messages up to 2 GiB: the hosting server raises grpc-js's 4 MiB limit.
  server = new grpc.Server({ 'grpc.max_receive_message_length': -1 });
  addInferenceService(server, new OpenInference({ inference: new Inference({ manager }) }));
  const port = await new Promise<number>((resolve, reject) =>
    server.bindAsync('127.0.0.1:0', grpc.ServerCredentials.createInsecure(), (error, bound) => (error ? reject(error) : resolve(bound))),
  );
  client = new grpc.Client(`127.0.0.1:${port}`, grpc.credentials.createInsecure(), { 'grpc.max_receive_message_length': -1 });
});

after(async () => {
  client.close();
  server.forceShutdown();
  await manager.close();
});

/** One unary call of the service by method name, raw bytes both ways. */
function call(method: string, request: Uint8Array): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    client.makeUnaryRequest(
      `/${GRPC_INFERENCE_SERVICE}/${method}`,
      (bytes: Uint8Array) => Buffer.from(bytes),
      (bytes: Buffer) => bytes,
      request,
      (error, response) => (error ? reject(error) : resolve(response!)),
    );
  });
}

const encode = (message: string, value: Record<string, unknown>) => messageCodec(`inference.${message}`).encode(value);
const decode = (message: string, bytes: Uint8Array) => messageCodec(`inference.${message}`).decode(bytes);
const infer = async (request: ModelInferRequestMessage) => ModelInferResponse.decode(await call('ModelInfer', ModelInferRequest.encode(request)));
const floats = (raw: Uint8Array) => [...new Float32Array(raw.buffer.slice(raw.byteOffset, raw.byteOffset + raw.byteLength))];
const rejects = (code: grpc.status, details: string | RegExp) => ({ code, details });

suite('health and metadata', () => {
  test('ServerLive, ServerReady, ModelReady', async () => {
    assert.deepEqual(decode('ServerLiveResponse', await call('ServerLive', new Uint8Array(0))), { live: true });
    assert.deepEqual(decode('ServerReadyResponse', await call('ServerReady', new Uint8Array(0))), { ready: true });
    const ready = async (name: string, version = '') => decode('ModelReadyResponse', await call('ModelReady', encode('ModelReadyRequest', { name, version })));
    assert.deepEqual(await ready('half_plus_two'), { ready: true });
    assert.deepEqual(await ready('multi', '4'), { ready: true });
    // Not ready is OK with ready=false, never an error (Triton's answer for an unknown model too).
    assert.deepEqual(await ready('multi', '1'), {});
    assert.deepEqual(await ready('nope'), {});
    assert.deepEqual(await ready('multi', 'four'), {});
  });

  test('ServerMetadata and ModelMetadata', async () => {
    const metadata = decode('ServerMetadataResponse', await call('ServerMetadata', new Uint8Array(0))) as { name: string; extensions: string[] };
    assert.equal(metadata.name, 'tfserve');
    assert.deepEqual(metadata.extensions, ['binary_tensor_data']);
    assert.deepEqual(decode('ModelMetadataResponse', await call('ModelMetadata', encode('ModelMetadataRequest', { name: 'multi' }))), {
      name: 'multi',
      versions: ['4'],
      platform: 'tensorflow_savedmodel',
      inputs: [
        { name: 'category', datatype: 'INT32', shape: ['-1', '1'] },
        { name: 'features', datatype: 'FP32', shape: ['-1', '4'] },
      ],
      outputs: [
        { name: 'logits', datatype: 'FP32', shape: ['-1', '3'] },
        { name: 'score', datatype: 'FP32', shape: ['-1', '1'] },
      ],
    });
  });

  test('EXPECTED FAILURE - metadata of an unknown model or version is NOT_FOUND', async () => {
    await assert.rejects(call('ModelMetadata', encode('ModelMetadataRequest', { name: 'nope' })), rejects(grpc.status.NOT_FOUND, "Request for unknown model: 'nope' is not found"));
    await assert.rejects(
      call('ModelMetadata', encode('ModelMetadataRequest', { name: 'multi', version: '2' })),
      rejects(grpc.status.NOT_FOUND, "Request for unknown model: 'multi' version 2 is not found"),
    );
  });
});

suite('ModelInfer', () => {
  test('raw tensors in, raw_output_contents out, in output order; id and the version that served', async () => {
    const response = await infer({
      model_name: 'half_plus_two',
      id: 'g-1',
      inputs: [{ name: 'x', datatype: 'FP32', shape: [3] }],
      raw_input_contents: [Buffer.from(Float32Array.of(1, 2, 5).buffer)],
    });
    assert.equal(response.model_name, 'half_plus_two');
    assert.equal(response.model_version, '1');
    assert.equal(response.id, 'g-1');
    assert.deepEqual(response.outputs, [{ name: 'y', datatype: 'FP32', shape: ['3'] }]);
    assert.deepEqual(floats(response.raw_output_contents![0]!), [2.5, 3, 4.5]);
  });

  test('typed contents in; two inputs and outputs asked for in an order', async () => {
    const { inputs, outputs } = readGolden('keras_multi').cases[0]!;
    const response = await infer({
      model_name: 'multi',
      model_version: '4',
      inputs: [
        { name: 'features', datatype: 'FP32', shape: inputs['features']!.shape, contents: { fp32_contents: inputs['features']!.data as number[] } },
        { name: 'category', datatype: 'INT32', shape: inputs['category']!.shape, contents: { int_contents: inputs['category']!.data as number[] } },
      ],
      outputs: [{ name: 'score' }, { name: 'logits' }],
    });
    assert.deepEqual(response.outputs!.map((o) => [o.name, o.shape]), [['score', ['3', '1']], ['logits', ['3', '3']]]);
    floats(response.raw_output_contents![0]!).forEach((v, i) => assert.ok(Math.abs(v - (outputs['score']!.data[i] as number)) < 1e-5));
    floats(response.raw_output_contents![1]!).forEach((v, i) => assert.ok(Math.abs(v - (outputs['logits']!.data[i] as number)) < 1e-5));
  });

  test('the request parameter signature_name; BYTES raw both ways', async () => {
    const strings = { dtype: 'string' as const, shape: [2], data: [Buffer.from('ab'), Buffer.from([0, 255])] };
    const response = await infer({
      model_name: 'dtypes',
      parameters: { signature_name: { string_param: 'string' } },
      inputs: [{ name: 'x', datatype: 'BYTES', shape: [2] }],
      raw_input_contents: [rawTensorBytes(strings)],
    });
    assert.deepEqual(response.outputs!.map((o) => [o.name, o.datatype]), [['n', 'INT64'], ['y', 'BYTES']]);
    assert.deepEqual([...response.raw_output_contents![1]!], [2, 0, 0, 0, 0, 255, 2, 0, 0, 0, 0x61, 0x62]);
    // A scalar INT64: 8 bytes, little-endian.
    assert.deepEqual([...response.raw_output_contents![0]!], [2, 0, 0, 0, 0, 0, 0, 0]);
  });

  test('EXPECTED FAILURE - errors are gRPC statuses with the serving layer\'s codes and texts', async () => {
    const x = { name: 'x', datatype: 'FP32', shape: [1] };
    const raw = [Buffer.from(Float32Array.of(1).buffer)];
    await assert.rejects(infer({ model_name: 'nope', inputs: [x], raw_input_contents: raw }), rejects(grpc.status.NOT_FOUND, "Request for unknown model: 'nope' is not found"));
    await assert.rejects(
      infer({ model_name: 'half_plus_two', model_version: 'latest', inputs: [x], raw_input_contents: raw }),
      rejects(grpc.status.INVALID_ARGUMENT, "Unable to parse version 'latest' of model 'half_plus_two': expected a decimal integer"),
    );
    await assert.rejects(
      infer({ model_name: 'half_plus_two', inputs: [{ ...x, name: 'z' }], raw_input_contents: raw }),
      rejects(grpc.status.INVALID_ARGUMENT, "unexpected inference input 'z' for model 'half_plus_two'"),
    );
    await assert.rejects(
      infer({ model_name: 'half_plus_two', inputs: [x] }),
      rejects(grpc.status.INVALID_ARGUMENT, "unable to find data for input tensor 'x' for model 'half_plus_two' in request."),
    );
    await assert.rejects(call('ModelInfer', Buffer.from([0x2a, 0x09])), rejects(grpc.status.INTERNAL, /^Failed to parse inference.ModelInferRequest: /));
    // Triton's other methods, which tritonclient can call, are not served.
    await assert.rejects(call('ModelStatistics', new Uint8Array(0)), { code: grpc.status.UNIMPLEMENTED });
  });
});

// TFServingClient over gRPC (src/client/grpc-client.ts) against a real tfserve gRPC server, beside the
// same client over REST on the same serving layer: every shared method must answer what REST answers,
// so code written for one transport runs on the other; plus predictTensors, errors, TLS and metadata.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { after, before, suite, test } from 'node:test';

import type { FastifyInstance } from 'fastify';

import { TFServingClient } from '../../src/client/rest-client.js';
import { buildGrpcServer, type GrpcServer } from '../../src/grpc/server.js';
import { serverCredentials } from '../../src/grpc/ssl-config.js';
import { buildApp } from '../../src/server/app.js';
import { Inference } from '../../src/serving/inference.js';
import { ModelManager } from '../../src/serving/manager.js';
import { loadServable, modelPath, REPO_ROOT } from '../helpers.js';

const TLS_DIR = path.join(REPO_ROOT, 'test', 'fixtures', 'tls');
const tls = (file: string) => fs.readFileSync(path.join(TLS_DIR, file));

let manager: ModelManager;
let grpcServer: GrpcServer;
let app: FastifyInstance;
let rest: TFServingClient;
let grpc: TFServingClient;
let grpcPort: number;

before(async () => {
  manager = new ModelManager({ load: loadServable, maxLoadRetries: 0 });
  manager.setAspiredVersions('half_plus_two', [{ version: 1, path: path.join(REPO_ROOT, 'models', 'half_plus_two', '1') }]);
  manager.setAspiredVersions('tf1', [{ version: 3, path: modelPath('tf1_methods') }]);
  manager.setAspiredVersions('multi', [{ version: 1, path: modelPath('keras_multi') }]);
  manager.setAspiredVersions('dtypes', [{ version: 1, path: modelPath('dtypes') }]);
  await manager.settled();
  manager.setLabels('tf1', new Map([['stable', 3]]));
  const inference = new Inference({ manager });
  grpcServer = buildGrpcServer({ inference });
  grpcPort = await grpcServer.listen('127.0.0.1:0');
  app = await buildApp({ inference });
  await app.listen({ port: 0, host: '127.0.0.1' });
  rest = new TFServingClient(`http://127.0.0.1:${(app.server.address() as AddressInfo).port}`);
  grpc = new TFServingClient(`grpc://127.0.0.1:${grpcPort}`);
});

after(async () => {
  grpc?.close();
  await app?.close();
  await grpcServer?.close();
  await manager?.close();
});

suite('the same answers as REST', () => {
  test('predict, row and columnar, one and several inputs and outputs, strings and int64', async () => {
    const cases: [string, Parameters<TFServingClient['predict']>[1], Parameters<TFServingClient['predict']>[2]?][] = [
      ['half_plus_two', { instances: [1, 2, 5] }],
      ['half_plus_two', { inputs: [1.5, -2] }],
      ['half_plus_two', { signatureName: 'serving_default', inputs: new Float32Array([3, 4]) }],
      ['multi', { instances: [{ category: [1], features: [0.5, 0.25, 0, 1] }, { category: [2], features: [1, 2, 3, 4] }] }],
      ['multi', { inputs: { category: [[0]], features: [[1, 1, 1, 1]] } }],
      ['dtypes', { signatureName: 'mixed', inputs: { ids: [1, 2], mask: [true, false], pairs: [[1, 2], [3, 4]], text: ['ab', 'c'] } }],
      ['dtypes', { signatureName: 'int64', inputs: [2n ** 60n, -3] }],
      ['dtypes', { signatureName: 'string', inputs: ['x', Buffer.from([0xff, 0])] }],
      ['tf1', { instances: [1, 2] }, { label: 'stable' }],
      ['tf1', { signatureName: 'predict', instances: [1] }, { version: 3 }],
    ];
    for (const [model, body, target] of cases) {
      assert.deepEqual(await grpc.predict(model, body, target), await rest.predict(model, body, target), `${model} ${JSON.stringify(body, (_k, v) => (typeof v === 'bigint' ? String(v) : v))}`);
    }
  });

  test('classify and regress, with and without a context', async () => {
    const examples = [{ x: 1.5 }, { x: -2.25 }];
    for (const body of [{ signatureName: 'classify', examples }, { signatureName: 'classify', examples: [{}], context: { x: 0.5 } }]) {
      assert.deepEqual(await grpc.classify('tf1', body), await rest.classify('tf1', body));
    }
    const regress = { signatureName: 'regress', examples };
    assert.deepEqual(await grpc.regress('tf1', regress), await rest.regress('tf1', regress));
  });

  test('status and metadata, by version and by label', async () => {
    for (const target of [undefined, { version: 3 }, { label: 'stable' }]) {
      assert.deepEqual(await grpc.status('tf1', target), await rest.status('tf1', target));
      assert.deepEqual(await grpc.metadata('tf1', target), await rest.metadata('tf1', target));
    }
    assert.deepEqual(await grpc.metadata('dtypes'), await rest.metadata('dtypes'));
  });

  test('EXPECTED FAILURE - the same codes and texts (TfServeError over gRPC, TfServingHttpError over REST)', async () => {
    const cases: [() => Promise<unknown>, () => Promise<unknown>, string][] = [
      [() => grpc.predict('nope', { instances: [1] }), () => rest.predict('nope', { instances: [1] }), 'NOT_FOUND'],
      [() => grpc.predict('half_plus_two', { instances: ['a'] }), () => rest.predict('half_plus_two', { instances: ['a'] }), 'INVALID_ARGUMENT'],
      [() => grpc.predict('half_plus_two', { signatureName: 'x', instances: [1] }), () => rest.predict('half_plus_two', { signatureName: 'x', instances: [1] }), 'INVALID_ARGUMENT'],
      [() => grpc.classify('tf1', { signatureName: 'nope', examples: [{ x: 1.0 }] }), () => rest.classify('tf1', { signatureName: 'nope', examples: [{ x: 1.0 }] }), 'INVALID_ARGUMENT'],
      [() => grpc.status('tf1', { version: 9 }), () => rest.status('tf1', { version: 9 }), 'NOT_FOUND'],
    ];
    for (const [overGrpc, overRest, code] of cases) {
      const restError = (await overRest().catch((e: unknown) => e)) as { error: string };
      await assert.rejects(overGrpc(), { name: 'TfServeError', code, message: restError.error });
    }
  });
});

suite('gRPC only', () => {
  test('predictTensors: typed tensors in and out, output_filter, the spec that answered', async () => {
    const response = await grpc.predictTensors('multi', {
      category: { dtype: 'int32', shape: [1, 1], data: new Int32Array([1]) },
      features: { dtype: 'float32', shape: [1, 4], data: new Float32Array([0.5, 0.25, 0, 1]) },
    }, { outputFilter: ['score'] });
    assert.deepEqual(response.modelSpec, { name: 'multi', version: 1, signatureName: 'serving_default' });
    assert.deepEqual(Object.keys(response.outputs), ['score']);
    assert.equal(response.outputs['score']!.dtype, 'float32');
    assert.deepEqual(response.outputs['score']!.shape, [1, 1]);
    const rows = (await rest.predict('multi', { instances: [{ category: [1], features: [0.5, 0.25, 0, 1] }] })).predictions as { score: number[] }[];
    assert.ok(Math.abs(response.outputs['score']!.data[0] as number - rows[0]!.score[0]!) < 1e-6);
  });

  test('grpcs:// with mutual TLS; the options carry the CA and the client\'s key pair', async () => {
    const secure = buildGrpcServer({ inference: new Inference({ manager }) });
    const port = await secure.listen('127.0.0.1:0', serverCredentials({ serverKey: tls('server.key').toString(), serverCert: tls('server.crt').toString(), customCa: tls('ca.crt').toString(), clientVerify: true }));
    const client = new TFServingClient(`grpcs://localhost:${port}`, { ca: tls('ca.crt'), key: tls('client.key'), cert: tls('client.crt') });
    assert.deepEqual(await client.predict('half_plus_two', { instances: [2] }), { predictions: [3] });
    client.close();
    const noCert = new TFServingClient(`grpcs://localhost:${port}`, { ca: tls('ca.crt'), timeoutMs: 5000 });
    await assert.rejects(noCert.predict('half_plus_two', { instances: [2] }), { name: 'TfServeError', code: 'UNAVAILABLE' });
    noCert.close();
    await secure.close();
  });

  test('EXPECTED FAILURE - bad URLs and calls the transport does not have', async () => {
    assert.throws(() => new TFServingClient('grpc://host:1/path'), { code: 'INVALID_ARGUMENT', message: /without a path/ });
    assert.throws(() => new TFServingClient('ftp://host'), { code: 'INVALID_ARGUMENT', message: /http\(s\):\/\/ or grpc\(s\):\/\// });
    await assert.rejects(grpc.predictImage('half_plus_two', Buffer.from([0xff, 0xd8, 0xff])), { code: 'UNIMPLEMENTED' });
    await assert.rejects(rest.predictTensors('half_plus_two', {}), { code: 'UNIMPLEMENTED' });
    const unreachable = new TFServingClient('grpc://127.0.0.1:1', { timeoutMs: 2000 });
    await assert.rejects(unreachable.status('half_plus_two'), { name: 'TfServeError', code: 'UNAVAILABLE' });
    unreachable.close();
  });
});

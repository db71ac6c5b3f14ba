// The KServe v2 REST routes (src/server/routes/v2.ts) end to end through app.inject, beside TF
// Serving's /v1 on the same app: health that means ready, metadata, infer as JSON and with the binary
// tensor data extension (compressed bodies too), the protocol's error statuses, and no input copy
// between the decoder and TensorFlow; the per-request memory budget, on the event loop and on decode
// threads alike.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, suite, test } from 'node:test';
import { deflateSync, gzipSync } from 'node:zlib';

import type { FastifyInstance, InjectOptions } from 'fastify';

import { binding } from '../../src/model/native.js';
import { rawTensorBytes } from '../../src/proto/kserve-codec.js';
import { buildApp } from '../../src/server/app.js';
import { BYTES_PER_JSON_VALUE, jsonValueBound } from '../../src/server/request-budget.js';
import { parseV2Path } from '../../src/server/routes/v2.js';
import { Inference } from '../../src/serving/inference.js';
import { ModelManager } from '../../src/serving/manager.js';
import { singleModelConfig } from '../../src/serving/model-config.js';
import { OpenInference } from '../../src/serving/open-inference.js';
import { ServerCore } from '../../src/serving/server-core.js';
import { loadServable, modelPath, readGolden, REPO_ROOT, restApp } from '../helpers.js';
import { answer, useAppPair } from './offload-harness.js';

const HALF = path.join(REPO_ROOT, 'models', 'half_plus_two', '1');

let app: FastifyInstance;
let manager: ModelManager;

before(async () => {
  manager = new ModelManager({ load: loadServable, maxLoadRetries: 0 });
  manager.setAspiredVersions('half_plus_two', [{ version: 1, path: HALF }]);
  manager.setAspiredVersions('multi', [{ version: 1, path: modelPath('keras_multi') }]);
  manager.setAspiredVersions('dtypes', [{ version: 1, path: modelPath('dtypes') }]);
  await manager.settled();
  app = await restApp(manager);
});

after(async () => {
  await app.close();
  await manager.close();
});

async function call(method: NonNullable<InjectOptions['method']>, url: string, payload?: string | Buffer, headers: Record<string, string> = {}) {
  const response = await app.inject({ method, url, payload, headers });
  return { status: response.statusCode, headers: response.headers, body: response.rawPayload, text: response.body };
}

const infer = (url: string, body: unknown, headers: Record<string, string> = {}) =>
  call('POST', url, Buffer.isBuffer(body) ? body : JSON.stringify(body), headers);

function json(reply: Awaited<ReturnType<typeof call>>, status = 200): unknown {
  assert.equal(reply.status, status, reply.text);
  assert.equal(reply.headers['content-type'], 'application/json');
  return JSON.parse(reply.text);
}

const X = { name: 'x', shape: [3], datatype: 'FP32', data: [1, 2, 5] };

suite('paths', () => {
  test('every route the protocol names, versions as digits only', () => {
    assert.deepEqual(parseV2Path('/v2'), { kind: 'server' });
    assert.deepEqual(parseV2Path('/v2/health/live'), { kind: 'live' });
    assert.deepEqual(parseV2Path('/v2/health/ready'), { kind: 'ready' });
    assert.deepEqual(parseV2Path('/v2/models/m'), { kind: 'model', name: 'm' });
    assert.deepEqual(parseV2Path('/v2/models/m/versions/12/ready'), { kind: 'model-ready', name: 'm', version: '12' });
    assert.deepEqual(parseV2Path('/v2/models/a%20b/infer'), { kind: 'infer', name: 'a b' });
    assert.deepEqual(parseV2Path('/v2/models/versions'), { kind: 'model', name: 'versions' });
    for (const bad of ['/v2/', '/v2/health', '/v2/models', '/v2/models/', '/v2/models/m/versions/x', '/v2/models/m/versions/1/2', '/v2/models/m/stats', '/v2/models/%zz', '/v2/repository/index']) {
      assert.equal(parseV2Path(bad), null, bad);
    }
  });
});

suite('health and metadata', () => {
  test('live and ready: 200 with an empty body', async () => {
    for (const url of ['/v2/health/live', '/v2/health/ready', '/v2/models/half_plus_two/ready', '/v2/models/half_plus_two/versions/1/ready']) {
      const reply = await call('GET', url);
      assert.equal(reply.status, 200, url);
      assert.equal(reply.body.length, 0, url);
    }
  });

  test('EXPECTED FAILURE - a model (version) that is not ready: 400 saying why', async () => {
    assert.deepEqual(json(await call('GET', '/v2/models/nope/ready'), 400), { error: "Request for unknown model: 'nope' is not found" });
    assert.deepEqual(json(await call('GET', '/v2/models/half_plus_two/versions/3/ready'), 400), {
      error: "Request for unknown model: 'half_plus_two' version 3 is not found",
    });
  });

  test('server metadata and model metadata, another signature by ?signature_name=', async () => {
    const server = json(await call('GET', '/v2')) as { name: string; extensions: string[] };
    assert.equal(server.name, 'tfserve');
    assert.deepEqual(server.extensions, ['binary_tensor_data']);
    assert.deepEqual(json(await call('GET', '/v2/models/half_plus_two/versions/1')), {
      name: 'half_plus_two',
      versions: ['1'],
      platform: 'tensorflow_savedmodel',
      inputs: [{ name: 'x', datatype: 'FP32', shape: [-1] }],
      outputs: [{ name: 'y', datatype: 'FP32', shape: [-1] }],
    });
    const int8 = json(await call('GET', '/v2/models/dtypes?signature_name=int8')) as { inputs: unknown[] };
    assert.deepEqual(int8.inputs, [{ name: 'x', datatype: 'INT8', shape: [-1] }]);
    assert.deepEqual(json(await call('GET', '/v2/models/half%5Fplus%5Ftwo')), json(await call('GET', '/v2/models/half_plus_two')));
  });

  test('EXPECTED FAILURE - unknown paths 404 "Not Found", known ones with another method 405, as Triton answers', async () => {
    for (const url of ['/v2/', '/v2/models/half_plus_two/versions/one', '/v2/repository/index', '/v2/models/half_plus_two/stats']) {
      assert.deepEqual(json(await call('GET', url), 404), { error: 'Not Found' }, url);
    }
    assert.deepEqual(json(await call('POST', '/v2/health/ready'), 405), { error: 'Method Not Allowed' });
    assert.deepEqual(json(await call('GET', '/v2/models/half_plus_two/infer'), 405), { error: 'Method Not Allowed' });
    assert.deepEqual(json(await call('DELETE', '/v2/models/half_plus_two'), 405), { error: 'Method Not Allowed' });
    assert.deepEqual(json(await call('GET', '/v2/models/nope'), 404), { error: "Request for unknown model: 'nope' is not found" });
    // A /v2 path is never TF Serving's: ":predict" is part of a (v2) model name here.
    assert.deepEqual(json(await call('GET', '/v2/models/half_plus_two:predict'), 404), { error: "Request for unknown model: 'half_plus_two:predict' is not found" });
  });

  test('TF Serving\'s API is unchanged beside it', async () => {
    const status = await call('GET', '/v1/models/half_plus_two');
    assert.equal(status.status, 200);
    assert.equal((JSON.parse(status.text) as { model_version_status: { state: string }[] }).model_version_status[0]!.state, 'AVAILABLE');
    const predict = await infer('/v1/models/half_plus_two:predict', { instances: [1, 2] });
    assert.deepEqual(JSON.parse(predict.text), { predictions: [2.5, 3.0] });
    assert.equal((await call('GET', '/nothing')).headers['content-type'], 'text/html');
  });
});

suite('infer', () => {
  test('JSON in, JSON out: id echoed, the version that served', async () => {
    const reply = await infer('/v2/models/half_plus_two/infer', { id: 'r-1', inputs: [X] });
    assert.deepEqual(json(reply), {
      model_name: 'half_plus_two',
      model_version: '1',
      id: 'r-1',
      outputs: [{ name: 'y', datatype: 'FP32', shape: [3], data: [2.5, 3, 4.5] }],
    });
    assert.equal(reply.headers['inference-header-content-length'], undefined);
  });

  test('binary in and out, as tritonclient.http does by default (no Content-Type, binary_data_output)', async () => {
    const header = Buffer.from(JSON.stringify({ inputs: [{ name: 'x', shape: [3], datatype: 'FP32', parameters: { binary_data_size: 12 } }], parameters: { binary_data_output: true } }));
    const body = Buffer.concat([header, Buffer.from(Float32Array.of(1, 2, 5).buffer)]);
    const reply = await infer('/v2/models/half_plus_two/versions/1/infer', body, { 'Inference-Header-Content-Length': String(header.length) });
    assert.equal(reply.status, 200, reply.text);
    assert.equal(reply.headers['content-type'], 'application/octet-stream');
    const length = Number(reply.headers['inference-header-content-length']);
    assert.deepEqual(JSON.parse(reply.body.subarray(0, length).toString()), {
      model_name: 'half_plus_two',
      model_version: '1',
      outputs: [{ name: 'y', datatype: 'FP32', shape: [3], parameters: { binary_data_size: 12 } }],
    });
    const y = reply.body.subarray(length);
    assert.deepEqual(new Float32Array(y.buffer.slice(y.byteOffset, y.byteOffset + y.byteLength)), Float32Array.of(2.5, 3, 4.5));
  });

  test('two inputs (one JSON, one binary), outputs picked and ordered, one binary and one JSON', async () => {
    const { inputs, outputs } = readGolden('keras_multi').cases[0]!;
    const features = Float32Array.from(inputs['features']!.data as number[]);
    const header = Buffer.from(JSON.stringify({
      inputs: [
        { name: 'category', shape: inputs['category']!.shape, datatype: 'INT32', data: inputs['category']!.data },
        { name: 'features', shape: inputs['features']!.shape, datatype: 'FP32', parameters: { binary_data_size: features.byteLength } },
      ],
      outputs: [{ name: 'score', parameters: { binary_data: true } }, { name: 'logits' }],
    }));
    const reply = await infer('/v2/models/multi/infer', Buffer.concat([header, Buffer.from(features.buffer)]), { 'Inference-Header-Content-Length': String(header.length) });
    assert.equal(reply.status, 200, reply.text);
    const length = Number(reply.headers['inference-header-content-length']);
    const result = JSON.parse(reply.body.subarray(0, length).toString()) as { outputs: { name: string; data?: number[]; parameters?: { binary_data_size: number } }[] };
    assert.deepEqual(result.outputs.map((o) => o.name), ['score', 'logits']);
    const score = reply.body.subarray(length);
    assert.equal(score.length, result.outputs[0]!.parameters!.binary_data_size);
    const scores = new Float32Array(score.buffer.slice(score.byteOffset, score.byteOffset + score.byteLength));
    (outputs['score']!.data as number[]).forEach((want, i) => assert.ok(Math.abs(scores[i]! - want) < 1e-5));
    (outputs['logits']!.data as number[]).forEach((want, i) => assert.ok(Math.abs(result.outputs[1]!.data![i]! - want) < 1e-5));
  });

  test('BYTES both ways, the signature picked with the request parameter', async () => {
    const text = { dtype: 'string' as const, shape: [2], data: [Buffer.from('ab'), Buffer.from([0, 255])] };
    const raw = rawTensorBytes(text);
    const header = Buffer.from(JSON.stringify({
      parameters: { signature_name: 'string' },
      inputs: [{ name: 'x', shape: [2], datatype: 'BYTES', parameters: { binary_data_size: raw.length } }],
      outputs: [{ name: 'y', parameters: { binary_data: true } }, { name: 'n' }],
    }));
    const reply = await infer('/v2/models/dtypes/infer', Buffer.concat([header, raw]), { 'Inference-Header-Content-Length': String(header.length) });
    assert.equal(reply.status, 200, reply.text);
    const length = Number(reply.headers['inference-header-content-length']);
    const result = JSON.parse(reply.body.subarray(0, length).toString()) as { outputs: { data?: unknown[] }[] };
    assert.deepEqual(result.outputs[1], { name: 'n', datatype: 'INT64', shape: [], data: [2] });
    assert.deepEqual([...reply.body.subarray(length)], [2, 0, 0, 0, 0, 255, 2, 0, 0, 0, 0x61, 0x62]);
  });

  test('gzip and deflate bodies are undone before the header length applies', async () => {
    const header = Buffer.from(JSON.stringify({ inputs: [{ name: 'x', shape: [1], datatype: 'FP32', parameters: { binary_data_size: 4 } }] }));
    const body = Buffer.concat([header, Buffer.from(Float32Array.of(4).buffer)]);
    for (const [encoding, compressed] of [['gzip', gzipSync(body)], ['deflate', deflateSync(body)]] as const) {
      const reply = await infer('/v2/models/half_plus_two/infer', compressed, { 'Content-Encoding': encoding, 'Inference-Header-Content-Length': String(header.length) });
      assert.deepEqual((json(reply) as { outputs: { data: number[] }[] }).outputs[0]!.data, [4], encoding);
    }
  });

  test('no copy of any input between the decoder and TensorFlow, JSON or binary', async () => {
    const header = Buffer.from(JSON.stringify({ inputs: [{ name: 'x', shape: [2], datatype: 'FP32', parameters: { binary_data_size: 8 } }] }));
    const bodies: [string, Buffer, Record<string, string>][] = [
      ['JSON', Buffer.from(JSON.stringify({ inputs: [X] })), {}],
      ['binary', Buffer.concat([header, Buffer.from(Float32Array.of(1, 2).buffer)]), { 'Inference-Header-Content-Length': String(header.length) }],
    ];
    for (const [what, body, headers] of bodies) {
      const copies = binding()._inputCopies();
      assert.equal((await infer('/v2/models/half_plus_two/infer', body, headers)).status, 200);
      assert.equal(binding()._inputCopies(), copies, `${what}: no copy`);
    }
  });

  test('EXPECTED FAILURE - the protocol\'s statuses: 400 for the request, 404 unknown model, 501 what is not offered', async () => {
    const cases: [string, unknown, number, string, Record<string, string>?][] = [
      ['/v2/models/nope/infer', { inputs: [X] }, 404, "Request for unknown model: 'nope' is not found"],
      ['/v2/models/half_plus_two/versions/9/infer', { inputs: [X] }, 404, "Request for unknown model: 'half_plus_two' version 9 is not found"],
      ['/v2/models/half_plus_two/infer', { inputs: [{ ...X, datatype: 'INT32' }] }, 400, "inference input 'x' data-type is 'INT32', but model 'half_plus_two' expects 'FP32'"],
      ['/v2/models/half_plus_two/infer', '{"inputs": [', 400, 'JSON Parse error: Invalid value. at offset: 12'],
      ['/v2/models/half_plus_two/infer', { inputs: [X] }, 400, 'Unable to parse Inference-Header-Content-Length, got: ten', { 'Inference-Header-Content-Length': 'ten' }],
      ['/v2/models/half_plus_two/infer', { inputs: [{ ...X, data: undefined, parameters: { shared_memory_region: 'r' } }] }, 501, "shared memory is not supported: input 'x' for model 'half_plus_two' sets 'shared_memory_region'"],
      ['/v2/models/half_plus_two/infer', { inputs: [X] }, 501, 'unsupported Content-Encoding: br', { 'Content-Encoding': 'br' }],
      ['/v2/models/half_plus_two/infer', 'not gzip', 400, /^Unable to gzip-decompress the request body: /.source, { 'Content-Encoding': 'gzip' }],
    ];
    for (const [url, body, status, error, headers] of cases) {
      const reply = json(await infer(url, typeof body === 'string' ? Buffer.from(body) : body, headers), status) as { error: string };
      if (error.startsWith('^')) assert.match(reply.error, new RegExp(error));
      else assert.equal(reply.error, error);
    }
  });
});

suite('the per-request memory budget', () => {
  const BUDGET = 4 * 1024 * 1024;
  const FLAG = '--rest_api_request_memory_budget_bytes';
  const apps = useAppPair({ memoryBudget: BUDGET });
  const numbers = (count: number) => Buffer.from(`{"inputs": [{"name": "x", "shape": [${count}], "datatype": "FP32", "data": [${'1,'.repeat(count - 1)}1]}]}`);

  test('EXPECTED FAILURE - a small gzip or deflate body that inflates past the budget is 429, inflation stopped there, on both paths', async () => {
    for (const [coding, compress] of [['gzip', gzipSync], ['deflate', deflateSync]] as const) {
      const bomb = compress(numbers(BUDGET / 2));
      assert.ok(bomb.length < 20_000, `the bomb is ${bomb.length} bytes`);
      for (const app of [apps.loop, apps.offloaded]) {
        const reply = await answer(app, { method: 'POST', url: '/v2/models/half/infer', payload: bomb, headers: { 'content-encoding': coding } });
        assert.equal(reply.status, 429, coding);
        assert.equal(JSON.parse(reply.body).error, `Request body inflates to more than the per-request memory budget of ${BUDGET} bytes (${FLAG})`);
      }
    }
  });

  test('EXPECTED FAILURE - a JSON body of many small numbers past the budget is 429 before it is parsed, on both paths', async () => {
    const body = numbers(200_000);
    const values = jsonValueBound(body);
    for (const app of [apps.loop, apps.offloaded]) {
      const reply = await answer(app, { method: 'POST', url: '/v2/models/half/infer', payload: body });
      assert.equal(reply.status, 429);
      assert.match(JSON.parse(reply.body).error, new RegExp(`^Request would need about ${body.length + values * BYTES_PER_JSON_VALUE} bytes to decode \\(${body.length} bytes of JSON, up to ${values} values\\), more than the per-request memory budget of ${BUDGET} bytes`));
    }
  });

  test('a binary tail is not JSON: only the header is estimated', async () => {
    // 1 MiB of ',' bytes would count as a million JSON values; as FP32 data they are 262,144 numbers.
    const count = 262_144;
    const header = Buffer.from(JSON.stringify({ inputs: [{ name: 'x', shape: [count], datatype: 'FP32', parameters: { binary_data_size: 4 * count } }] }));
    const request = {
      method: 'POST' as const,
      url: '/v2/models/half/infer',
      payload: Buffer.concat([header, Buffer.alloc(4 * count, 0x2c)]),
      headers: { 'inference-header-content-length': String(header.length) },
    };
    const [loop, offloaded] = [await answer(apps.loop, request), await answer(apps.offloaded, request)];
    assert.equal(loop.status, 200, loop.body);
    assert.deepEqual(offloaded, loop);
  });
});

suite('readiness on a real server core', () => {
  test('not ready while a configured model has no version; ready once one is loaded; live throughout', async (t) => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tfserve-v2-'));
    t.after(() => fs.rmSync(dir, { recursive: true, force: true }));
    fs.cpSync(HALF, path.join(dir, 'a', '1'), { recursive: true });
    fs.mkdirSync(path.join(dir, 'b'));
    const core = new ServerCore([singleModelConfig('a', path.join(dir, 'a')), singleModelConfig('b', path.join(dir, 'b'))], {
      load: loadServable,
      pollWaitSeconds: 0.05,
      maxLoadRetries: 0,
      log: { info() {}, warn() {}, error() {} },
    });
    await core.start();
    const inference = new Inference({ manager: core.manager });
    const server = await buildApp({ inference, openInference: new OpenInference({ inference, readiness: core }) });
    t.after(async () => {
      await server.close();
      await core.close();
    });
    const get = async (url: string) => server.inject({ method: 'GET', url });
    assert.equal((await get('/v2/health/live')).statusCode, 200);
    const notReady = await get('/v2/health/ready');
    assert.deepEqual([notReady.statusCode, notReady.body], [400, '']);
    assert.equal((await get('/v2/models/a/ready')).statusCode, 200);
    assert.deepEqual(JSON.parse((await get('/v2/models/b/ready')).body), { error: "model 'b' has no available version; its base path holds no version yet" });
    const unavailable = await server.inject({ method: 'POST', url: '/v2/models/b/infer', payload: JSON.stringify({ inputs: [X] }) });
    assert.equal(unavailable.statusCode, 503);
    // TF Serving's status answers 404 meanwhile; v2 readiness is the one that tells.
    assert.equal((await get('/v1/models/b')).statusCode, 404);

    fs.cpSync(HALF, path.join(dir, 'b', '2'), { recursive: true });
    const deadline = Date.now() + 60_000;
    while ((await get('/v2/health/ready')).statusCode !== 200) {
      if (Date.now() > deadline) assert.fail('not ready within 60 s of a version appearing');
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    assert.equal((await get('/v2/models/b/versions/2/ready')).statusCode, 200);
  });
});

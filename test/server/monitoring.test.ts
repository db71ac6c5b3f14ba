// The Prometheus page on the REST port (src/server/routes/monitoring.ts) and the observation of REST
// requests (src/server/plugins/observe.ts), through app.inject against real models.
import assert from 'node:assert/strict';
import path from 'node:path';
import { after, before, suite, test } from 'node:test';

import type { FastifyInstance } from 'fastify';

import { buildApp } from '../../src/server/app.js';
import { type InferenceObserver, ObservedCall } from '../../src/serving/call-observer.js';
import { Inference } from '../../src/serving/inference.js';
import { ModelManager } from '../../src/serving/manager.js';
import { ServingMetrics } from '../../src/serving/metrics.js';
import { metricsObserver, statusCodeOf, syncVersionStates } from '../../src/serving/metrics-observer.js';
import { combineObservers } from '../../src/serving/call-observer.js';
import { loadServable, modelPath, REPO_ROOT } from '../helpers.js';

const PATH = '/monitoring/prometheus/metrics';

interface Seen {
  call: ObservedCall;
  status: string;
}

let manager: ModelManager;
let metrics: ServingMetrics;
let seen: Seen[];
let app: FastifyInstance;

before(async () => {
  manager = new ModelManager({ load: loadServable, maxLoadRetries: 0 });
  manager.setAspiredVersions('half_plus_two', [{ version: 1, path: path.join(REPO_ROOT, 'models', 'half_plus_two', '1') }]);
  manager.setAspiredVersions('tf1', [{ version: 7, path: modelPath('tf1_methods') }]);
  manager.setAspiredVersions('tf2', [{ version: 1, path: modelPath('tf2_module') }]);
  await manager.settled();
  metrics = new ServingMetrics({ processMetrics: false });
  const recorder: InferenceObserver = { callEnded: (call, error) => seen.push({ call, status: statusCodeOf(error) }) };
  const inference = new Inference({ manager, observer: combineObservers([metricsObserver(metrics, (name) => manager.hasModel(name)), recorder]) });
  app = await buildApp({
    inference,
    monitoring: {
      path: PATH,
      page: () => {
        syncVersionStates(metrics, manager);
        return metrics.exposition();
      },
    },
  });
});

after(async () => {
  await app.close();
  await manager.close();
});

/** The REST requests observed while `body` runs. */
async function observe(body: () => Promise<unknown>): Promise<Seen[]> {
  seen = [];
  await body();
  return seen;
}

suite('the Prometheus page', () => {
  test('text/plain exactly, TF Serving\'s metrics then tfserve\'s, on GET and on any other method', async () => {
    for (const method of ['GET', 'POST'] as const) {
      const response = await app.inject({ method, url: PATH });
      assert.equal(response.statusCode, 200);
      assert.equal(response.headers['content-type'], 'text/plain');
      assert.match(response.body, /^# TYPE :tensorflow:cc:saved_model:load_attempt_count counter\n/);
      assert.match(response.body, /^tfserve_model_version_state\{model="tf1",version="7",state="AVAILABLE"\} 1$/m);
      assert.ok(response.body.endsWith('\n'));
    }
  });

  test('EXPECTED FAILURE - a request target with a query string: 400 Unexpected path, text/plain', async () => {
    const response = await app.inject({ method: 'GET', url: `${PATH}?name[]=x` });
    assert.equal(response.statusCode, 400);
    assert.equal(response.headers['content-type'], 'text/plain');
    assert.equal(response.body, `Unexpected path: ${PATH}?name[]=x. Should be ${PATH}`);
  });

  test('EXPECTED FAILURE - other paths are not the page: libevent\'s 404', async () => {
    const response = await app.inject({ method: 'GET', url: '/monitoring/prometheus' });
    assert.equal(response.statusCode, 404);
    assert.match(response.headers['content-type'] as string, /^text\/html/);
  });

  test('an app without the monitoring option has no page', async (t) => {
    const bare = await buildApp({ inference: new Inference({ manager }) });
    t.after(() => bare.close());
    assert.equal((await bare.inject({ method: 'GET', url: PATH })).statusCode, 404);
  });

  test('scrapes are not requests: they are not observed', async () => {
    assert.deepEqual(await observe(() => app.inject({ method: 'GET', url: PATH })), []);
  });
});

suite('observed REST requests', () => {
  test('a predict: model, version, API predict, HTTP status, bytes in and out, the request id', async () => {
    const body = '{"instances": [1.0, 2.0]}';
    let reply: Awaited<ReturnType<FastifyInstance['inject']>> | undefined;
    const [only, ...rest] = await observe(async () => {
      reply = await app.inject({ method: 'POST', url: '/v1/models/half_plus_two:predict', payload: body, headers: { 'x-request-id': 'abc' } });
    });
    assert.equal(rest.length, 0);
    const { call, status } = only!;
    assert.deepEqual(
      [call.entrypoint, call.api, call.model, call.version, call.httpStatus, call.bytesIn, call.bytesOut, call.requestId, status, call.runtimeApi, call.exchange?.kind],
      ['REST', 'predict', 'half_plus_two', 1, 200, body.length, reply!.rawPayload.length, 'abc', 'OK', 'Predict', 'predict'],
    );
  });

  test('GETs have the empty API label; classify and regress count their Examples', async () => {
    const seenCalls = await observe(async () => {
      await app.inject({ method: 'GET', url: '/v1/models/tf1' });
      await app.inject({ method: 'GET', url: '/v1/models/tf1/metadata' });
      await app.inject({ method: 'POST', url: '/v1/models/tf1:classify', payload: '{"signature_name": "classify", "examples": [{"x": 1.0}, {"x": 2.0}]}' });
      await app.inject({ method: 'POST', url: '/v1/models/tf1:regress', payload: '{"signature_name": "regress", "examples": [{"x": 1.0}]}' });
    });
    assert.deepEqual(
      seenCalls.map(({ call, status }) => [call.api, call.model, status, call.examples, call.runtimeApi]),
      [
        ['', 'tf1', 'OK', undefined, undefined],
        ['', 'tf1', 'OK', undefined, undefined],
        ['classify', 'tf1', 'OK', 2, 'Classify'],
        ['regress', 'tf1', 'OK', 1, 'Regress'],
      ],
    );
  });

  test('EXPECTED FAILURE - requests refused before the serving layer count with their TF code', async () => {
    const seenCalls = await observe(async () => {
      await app.inject({ method: 'POST', url: '/v1/models/half_plus_two:predict', payload: 'not json' });
      await app.inject({ method: 'POST', url: '/v1/models/nope:predict', payload: '{"instances": [1]}' });
      await app.inject({ method: 'GET', url: '/v1/foo' });
      await app.inject({ method: 'GET', url: '/v1/models/x/versions/99999999999999999999' });
      await app.inject({ method: 'PUT', url: '/v1/models/half_plus_two' });
    });
    assert.deepEqual(
      seenCalls.map(({ call, status }) => [call.api, call.model, status, call.httpStatus, call.version]),
      [
        ['predict', 'half_plus_two', 'INVALID_ARGUMENT', 400, undefined],
        ['predict', 'nope', 'NOT_FOUND', 404, undefined],
        ['', '', 'INVALID_ARGUMENT', 400, undefined],
        ['', '', 'INVALID_ARGUMENT', 400, undefined],
        ['', '', 'INVALID_ARGUMENT', 400, undefined],
      ],
    );
  });

  test('KServe v2: inference requests are observed (API infer); health and metadata probes are not', async () => {
    const seenCalls = await observe(async () => {
      const infer = await app.inject({ method: 'POST', url: '/v2/models/half_plus_two/infer', payload: '{"inputs": [{"name": "x", "shape": [2], "datatype": "FP32", "data": [1, 2]}]}' });
      assert.equal(infer.statusCode, 200, infer.body);
      await app.inject({ method: 'POST', url: '/v2/models/nope/infer', payload: '{"inputs": []}' });
      await app.inject({ method: 'GET', url: '/v2/health/ready' });
      await app.inject({ method: 'GET', url: '/v2/models/half_plus_two/ready' });
      await app.inject({ method: 'GET', url: '/v2/models/half_plus_two' });
    });
    assert.deepEqual(
      seenCalls.map(({ call, status }) => [call.entrypoint, call.api, call.model, status, call.version, call.runtimeApi]),
      [
        ['REST', 'infer', 'half_plus_two', 'OK', 1, 'Predict'],
        ['REST', 'infer', 'nope', 'NOT_FOUND', undefined, undefined],
      ],
    );
  });

  test('CORS preflights and paths outside /v1 are not observed', async () => {
    assert.deepEqual(
      await observe(async () => {
        await app.inject({ method: 'OPTIONS', url: '/v1/models/half_plus_two:predict', headers: { origin: 'http://x' } });
        await app.inject({ method: 'GET', url: '/nowhere' });
      }),
      [],
    );
  });

  test('EXPECTED FAILURE - a client that goes away before the answer ends the observation as CANCELLED', async (t) => {
    const server = await buildApp({ inference: new Inference({ manager, observer: { callEnded: (call, error) => seen.push({ call, status: statusCodeOf(error) }) } }) });
    t.after(() => server.close());
    await server.listen({ port: 0, host: '127.0.0.1' });
    const { port } = server.server.address() as { port: number };
    seen = [];
    const controller = new AbortController();
    // tf2_module's "slow" signature runs ~0.5 s per unit of x.
    const response = fetch(`http://127.0.0.1:${port}/v1/models/tf2:predict`, {
      method: 'POST',
      body: '{"signature_name": "slow", "inputs": 2.0}',
      signal: controller.signal,
    });
    setTimeout(() => controller.abort(), 100);
    await assert.rejects(response, { name: 'AbortError' });
    const deadline = Date.now() + 30_000;
    while (seen.length === 0 && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 20));
    assert.deepEqual(seen.map(({ call, status }) => [call.model, call.api, status]), [['tf2', 'predict', 'CANCELLED']]);
  });

  test('what the page then shows: request_count, request_latency and runtime_latency per model and API', async () => {
    const text = (await app.inject({ method: 'GET', url: PATH })).body;
    assert.match(text, /^:tensorflow:serving:request_count\{model_name="nope",status="NOT_FOUND"\} 2$/m);
    assert.match(text, /^:tensorflow:serving:request_latency_count\{model_name="half_plus_two",API="infer",entrypoint="REST"\} 1$/m);
    assert.match(text, /^:tensorflow:serving:request_count\{model_name="",status="INVALID_ARGUMENT"\} 3$/m);
    assert.match(text, /^:tensorflow:serving:request_latency_count\{model_name="half_plus_two",API="predict",entrypoint="REST"\} 1$/m);
    assert.match(text, /^:tensorflow:serving:request_latency_bucket\{model_name="tf1",API="",entrypoint="REST",le="\+Inf"\} 2$/m);
    assert.match(text, /^:tensorflow:serving:runtime_latency_count\{model_name="tf1",API="Classify",runtime="TF1"\} 1$/m);
    assert.match(text, /^:tensorflow:serving:request_example_count_total\{model="tf1"\} 3$/m);
    assert.match(text, /^tfserve_requests_in_flight\{model="half_plus_two"\} 0$/m);
    assert.doesNotMatch(text, /tfserve_requests_in_flight\{model="nope"\}/);
  });
});

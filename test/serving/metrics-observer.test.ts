// What reaches TF Serving's metrics from observed calls (src/serving/metrics-observer.ts): which calls
// count, with which labels, and the version-state gauge read from a real manager.
import assert from 'node:assert/strict';
import path from 'node:path';
import { suite, test } from 'node:test';

import { TfServeError } from '../../src/model/errors.js';
import { ObservedCall } from '../../src/serving/call-observer.js';
import { ModelManager } from '../../src/serving/manager.js';
import { ServingMetrics } from '../../src/serving/metrics.js';
import { metricsObserver, statusCodeOf, syncVersionStates } from '../../src/serving/metrics-observer.js';
import { loadServable, REPO_ROOT } from '../helpers.js';

const page = async (m: ServingMetrics) => (await m.exposition()).split('\n');
const lines = (all: string[], prefix: string) => all.filter((l) => l.startsWith(prefix));

function run(metrics: ServingMetrics, calls: Array<{ entrypoint: string; api: string; model: string; error?: unknown; runtime?: [string, number]; examples?: number }>, isModel?: (name: string) => boolean): void {
  const observer = metricsObserver(metrics, isModel);
  for (const c of calls) {
    const call = new ObservedCall({ entrypoint: c.entrypoint, api: c.api, model: c.model }, observer);
    if (c.runtime) [call.runtimeApi, call.runtimeUs] = c.runtime;
    call.examples = c.examples;
    call.end(c.error ?? null);
  }
}

suite('metricsObserver', () => {
  test('request_count for every REST request and gRPC Predict/Classify/Regress (and v2 ModelInfer) only; latency for successes', async () => {
    const metrics = new ServingMetrics({ processMetrics: false });
    run(metrics, [
      { entrypoint: 'REST', api: 'predict', model: 'm' },
      { entrypoint: 'REST', api: '', model: 'm' },
      { entrypoint: 'REST', api: '', model: '', error: new TfServeError('INVALID_ARGUMENT', 'Malformed request: GET /v1/x') },
      { entrypoint: 'GRPC', api: 'Predict', model: 'm' },
      { entrypoint: 'GRPC', api: 'Classify', model: 'm', error: new TfServeError('NOT_FOUND', 'x') },
      { entrypoint: 'GRPC', api: 'GetModelMetadata', model: 'm' },
      { entrypoint: 'GRPC', api: 'MultiInference', model: 'm' },
      { entrypoint: 'GRPC', api: 'ModelInfer', model: 'm' },
    ]);
    const all = await page(metrics);
    assert.deepEqual(lines(all, ':tensorflow:serving:request_count{'), [
      ':tensorflow:serving:request_count{model_name="",status="INVALID_ARGUMENT"} 1',
      ':tensorflow:serving:request_count{model_name="m",status="NOT_FOUND"} 1',
      ':tensorflow:serving:request_count{model_name="m",status="OK"} 4',
    ]);
    assert.deepEqual(lines(all, ':tensorflow:serving:request_latency_count{'), [
      ':tensorflow:serving:request_latency_count{model_name="m",API="",entrypoint="REST"} 1',
      ':tensorflow:serving:request_latency_count{model_name="m",API="ModelInfer",entrypoint="GRPC"} 1',
      ':tensorflow:serving:request_latency_count{model_name="m",API="Predict",entrypoint="GRPC"} 1',
      ':tensorflow:serving:request_latency_count{model_name="m",API="predict",entrypoint="REST"} 1',
    ]);
  });

  test('runtime_latency{model_name, API, runtime} and request_example_counts{model} when the call had them', async () => {
    const metrics = new ServingMetrics({ processMetrics: false });
    run(metrics, [
      { entrypoint: 'REST', api: 'classify', model: 'm', runtime: ['Classify', 250], examples: 3 },
      { entrypoint: 'GRPC', api: 'MultiInference', model: 'm', runtime: ['MultiInference', 40], examples: 2 },
    ]);
    const all = await page(metrics);
    assert.deepEqual(lines(all, ':tensorflow:serving:runtime_latency_sum{'), [
      ':tensorflow:serving:runtime_latency_sum{model_name="m",API="Classify",runtime="TF1"} 250',
      ':tensorflow:serving:runtime_latency_sum{model_name="m",API="MultiInference",runtime="TF1"} 40',
    ]);
    assert.ok(all.includes(':tensorflow:serving:request_example_count_total{model="m"} 5'));
    assert.ok(all.includes(':tensorflow:serving:request_example_counts_count{model="m"} 2'));
  });

  test('tfserve_requests_in_flight: +1 at the start, -1 at the end, only for models the server has', async () => {
    const metrics = new ServingMetrics({ processMetrics: false });
    const observer = metricsObserver(metrics, (name) => name === 'm');
    const a = new ObservedCall({ entrypoint: 'REST', api: 'predict', model: 'm' }, observer);
    new ObservedCall({ entrypoint: 'REST', api: 'predict', model: 'm' }, observer);
    const unknown = new ObservedCall({ entrypoint: 'REST', api: 'predict', model: 'nope' }, observer);
    assert.deepEqual(lines(await page(metrics), 'tfserve_requests_in_flight{'), ['tfserve_requests_in_flight{model="m"} 2']);
    a.end(null);
    unknown.end(new TfServeError('NOT_FOUND', 'x'));
    assert.deepEqual(lines(await page(metrics), 'tfserve_requests_in_flight{'), ['tfserve_requests_in_flight{model="m"} 1']);
  });

  test('statusCodeOf: OK, a TF code, a code-like property, or UNKNOWN', () => {
    assert.equal(statusCodeOf(null), 'OK');
    assert.equal(statusCodeOf(new TfServeError('DEADLINE_EXCEEDED', 'x')), 'DEADLINE_EXCEEDED');
    assert.equal(statusCodeOf({ code: 'CANCELLED' }), 'CANCELLED');
    assert.equal(statusCodeOf(Object.assign(new Error('x'), { code: 'ENOENT-ish' })), 'UNKNOWN');
    assert.equal(statusCodeOf(new Error('plain')), 'UNKNOWN');
  });
});

suite('syncVersionStates', () => {
  test('every version the manager lists, in the state it is in now', async () => {
    const metrics = new ServingMetrics({ processMetrics: false });
    const manager = new ModelManager({ load: loadServable, maxLoadRetries: 0 });
    const sync = () => syncVersionStates(metrics, manager);
    manager.setAspiredVersions('h', [
      { version: 1, path: path.join(REPO_ROOT, 'models', 'half_plus_two', '1') },
      { version: 2, path: path.join(REPO_ROOT, 'no-such-dir') },
    ]);
    await manager.settled();
    sync();
    assert.deepEqual(lines(await page(metrics), 'tfserve_model_version_state{'), [
      'tfserve_model_version_state{model="h",version="2",state="END"} 1',
      'tfserve_model_version_state{model="h",version="1",state="AVAILABLE"} 1',
    ]);
    await manager.close();
    sync();
    assert.deepEqual(lines(await page(metrics), 'tfserve_model_version_state{'), [
      'tfserve_model_version_state{model="h",version="2",state="END"} 1',
      'tfserve_model_version_state{model="h",version="1",state="END"} 1',
    ]);
  });
});

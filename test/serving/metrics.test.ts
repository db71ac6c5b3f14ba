import assert from 'node:assert/strict';
import { suite, test } from 'node:test';

import { formatSixDigits, ServingMetrics, statusString } from '../../src/serving/metrics.js';

// `le` limits as Python's '%g' (C printf, as absl's six-digit StrCat) prints TF's Buckets::Exponential
// doubles, computed by the same repeated multiplication.
const LATENCY_LE = ['10', '18', '32.4', '58.32', '104.976', '188.957', '340.122', '612.22', '1102', '1983.59', '3570.47',
  '6426.84', '11568.3', '20823', '37481.3', '67466.4', '121440', '218591', '393464', '708235', '1.27482e+06',
  '2.29468e+06', '4.13043e+06', '7.43477e+06', '1.33826e+07', '2.40887e+07', '4.33596e+07', '7.80473e+07',
  '1.40485e+08', '2.52873e+08', '4.55172e+08', '8.19309e+08', '1.47476e+09', '+Inf'];
const QUEUING_LE = ['100', '120', '144', '172.8', '207.36', '248.832', '298.598', '358.318', '429.982', '515.978',
  '619.174', '743.008', '891.61', '1069.93', '1283.92', '1540.7', '1848.84', '2218.61', '2662.33', '3194.8', '3833.76',
  '4600.51', '5520.61', '6624.74', '7949.68', '9539.62', '11447.5', '13737.1', '16484.5', '19781.4', '23737.6',
  '28485.2', '34182.2', '41018.6', '49222.4', '59066.8', '70880.2', '85056.2', '102067', '122481', '146977', '176373',
  '211647', '253977', '304772', '365726', '438871', '526646', '631975', '758370', '910044', '1.09205e+06', '+Inf'];
const POWERS_OF_TWO = (n: number) => [...Array.from({ length: n }, (_, k) => String(2 ** k)), '+Inf'];

const TF_TYPES = [
  '# TYPE :tensorflow:cc:saved_model:load_attempt_count counter',
  '# TYPE :tensorflow:cc:saved_model:load_latency counter',
  '# TYPE :tensorflow:serving:batching_session:queuing_latency histogram',
  '# TYPE :tensorflow:serving:batching_session:wrapped_run_count counter',
  '# TYPE :tensorflow:serving:mlmd_map gauge',
  '# TYPE :tensorflow:serving:model_warmup_latency histogram',
  '# TYPE :tensorflow:serving:model_warmup_records_read counter',
  '# TYPE :tensorflow:serving:request_count counter',
  '# TYPE :tensorflow:serving:request_example_count_total counter',
  '# TYPE :tensorflow:serving:request_example_counts histogram',
  '# TYPE :tensorflow:serving:request_latency histogram',
  '# TYPE :tensorflow:serving:request_log_count counter',
  '# TYPE :tensorflow:serving:runtime_latency histogram',
];
const TFSERVE_TYPES = [
  '# TYPE tfserve_requests_in_flight gauge',
  '# TYPE tfserve_requests_queued gauge',
  '# TYPE tfserve_model_version_state gauge',
];

const quiet = () => new ServingMetrics({ processMetrics: false });
const lines = async (m: ServingMetrics) => (await m.exposition()).split('\n');
const matching = (all: string[], prefix: string) => all.filter((l) => l.startsWith(prefix));
/** `le` values and cumulative counts of one histogram cell. */
function buckets(all: string[], prefix: string): Array<[string, number]> {
  return matching(all, prefix).map((l) => {
    const m = /le="([^"]*)"\} (\d+)$/.exec(l);
    assert.ok(m, l);
    return [m[1]!, Number(m[2])];
  });
}

suite('formatSixDigits (absl::StrCat(double))', () => {
  // Expected values from Python's '%g', which rounds exact binary values half to even like absl.
  const CASES: Array<[number, string]> = [
    [0, '0'], [-0, '-0'], [1, '1'], [-1.5, '-1.5'], [0.30000000000000004, '0.3'], [1802.5, '1802.5'],
    [123456, '123456'], [1234567, '1.23457e+06'], [1234565, '1.23456e+06'], [12345650, '1.23456e+07'],
    [123456.5, '123456'], [123457.5, '123458'], [999999.5, '1e+06'], [1e21, '1e+21'], [1e-5, '1e-05'],
    [0.0001, '0.0001'], [0.0001234565, '0.000123457'], [5e-324, '4.94066e-324'],
    [1.7976931348623157e308, '1.79769e+308'], [NaN, 'nan'], [Infinity, 'inf'], [-Infinity, '-inf'],
  ];
  for (const [value, text] of CASES) test(`${value} -> ${text}`, () => assert.equal(formatSixDigits(value), text));
});

suite('ServingMetrics: declarations', () => {
  test('an idle server: one TYPE line per TF metric, sorted by TF name, then the tfserve_ gauges', async () => {
    assert.equal(await quiet().exposition(), `${[...TF_TYPES, ...TFSERVE_TYPES].join('\n')}\n`);
  });

  test('no # HELP line anywhere, process metrics included', async () => {
    const page = await new ServingMetrics().exposition();
    assert.ok(!page.includes('# HELP'));
    assert.ok(page.endsWith('\n'));
    for (const name of ['tfserve_process_resident_memory_bytes', 'tfserve_nodejs_eventloop_lag_seconds', 'tfserve_nodejs_heap_size_used_bytes']) {
      assert.match(page, new RegExp(`^# TYPE ${name} gauge\\n${name} \\d`, 'm'), name);
    }
    assert.match(page, /^# TYPE tfserve_process_cpu_seconds_total counter$/m);
    assert.match(page, /^# TYPE tfserve_nodejs_gc_duration_seconds histogram$/m);
  });

  test('request_count and request_latency: labels, latency only for successes, 10·1.8^k buckets', async () => {
    const m = quiet();
    m.requestDone('m', 'predict', 'REST', 'OK', 100);
    m.requestDone('m', '', 'REST', 'NOT_FOUND', 7);
    m.requestDone('m', 'Predict', 'GRPC', 'OK', 20);
    const all = await lines(m);
    assert.deepEqual(matching(all, ':tensorflow:serving:request_count{'), [
      ':tensorflow:serving:request_count{model_name="m",status="NOT_FOUND"} 1',
      ':tensorflow:serving:request_count{model_name="m",status="OK"} 2',
    ]);
    const rest = buckets(all, ':tensorflow:serving:request_latency_bucket{model_name="m",API="predict",entrypoint="REST",');
    assert.deepEqual(rest.map(([le]) => le), LATENCY_LE);
    assert.deepEqual(rest.slice(3, 6).map(([, n]) => n), [0, 1, 1]); // 100 µs: in [58.32, 104.976)
    assert.ok(all.includes(':tensorflow:serving:request_latency_sum{model_name="m",API="Predict",entrypoint="GRPC"} 20'));
    assert.equal(matching(all, ':tensorflow:serving:request_latency_count{').length, 2);
    assert.ok(!all.some((l) => l.includes('API=""')), 'a failure records no latency');
  });

  test('runtime_latency{model_name, API, runtime="TF1"}', async () => {
    const m = quiet();
    m.runtime('m', 'Predict', 33.4);
    const all = await lines(m);
    const cell = buckets(all, ':tensorflow:serving:runtime_latency_bucket{model_name="m",API="Predict",runtime="TF1",');
    assert.deepEqual(cell.map(([le]) => le), LATENCY_LE);
    assert.ok(all.includes(':tensorflow:serving:runtime_latency_sum{model_name="m",API="Predict",runtime="TF1"} 33'));
  });

  test('request_example_counts (2^k ×15) and request_example_count_total{model}', async () => {
    const m = quiet();
    m.examples('m', 1);
    m.examples('m', 3);
    const all = await lines(m);
    const cell = buckets(all, ':tensorflow:serving:request_example_counts_bucket{model="m",');
    assert.deepEqual(cell.map(([le]) => le), POWERS_OF_TWO(15));
    // TensorFlow's histograms count a value equal to a limit in the next bucket (std::upper_bound).
    assert.deepEqual(cell.slice(0, 3).map(([, n]) => n), [0, 1, 2]);
    assert.ok(all.includes(':tensorflow:serving:request_example_count_total{model="m"} 4'));
  });

  test('model_warmup_latency and model_warmup_records_read{model_path, status}', async () => {
    const m = quiet();
    m.warmup('/models/m/1', 'OK', 1500, 3);
    m.warmup('/models/m/2', statusString({ code: 'INVALID_ARGUMENT', message: 'bad' }), 10, 0);
    const all = await lines(m);
    assert.deepEqual(buckets(all, ':tensorflow:serving:model_warmup_latency_bucket{model_path="/models/m/1",status="OK",').map(([le]) => le), LATENCY_LE);
    assert.deepEqual(matching(all, ':tensorflow:serving:model_warmup_records_read{'), [
      ':tensorflow:serving:model_warmup_records_read{model_path="/models/m/1",status="OK"} 3',
      ':tensorflow:serving:model_warmup_records_read{model_path="/models/m/2",status="INVALID_ARGUMENT: bad"} 0',
    ]);
  });

  test('load_attempt_count{model_path, status=success|fail} and load_latency{model_path} (a counter of µs)', async () => {
    const m = quiet();
    m.loadAttempt('/models/m/1', true, 2000.4);
    m.loadAttempt('/models/m/1', false, 500);
    const all = await lines(m);
    assert.deepEqual(matching(all, ':tensorflow:cc:saved_model:'), [
      ':tensorflow:cc:saved_model:load_attempt_count{model_path="/models/m/1",status="fail"} 1',
      ':tensorflow:cc:saved_model:load_attempt_count{model_path="/models/m/1",status="success"} 1',
      ':tensorflow:cc:saved_model:load_latency{model_path="/models/m/1"} 2500',
    ]);
  });

  test('mlmd_map{model_name, version} reads 0; request_log_count{model_name, status_code}', async () => {
    const m = quiet();
    m.mlmd('m', 3, 'uuid-123');
    m.requestLogged('m', 'OK');
    const all = await lines(m);
    assert.ok(all.includes(':tensorflow:serving:mlmd_map{model_name="m",version="3"} 0'));
    assert.ok(all.includes(':tensorflow:serving:request_log_count{model_name="m",status_code="OK"} 1'));
  });

  test('batching: queuing_latency 100·1.2^k ×52, wrapped_run_count{}, batch sizes 2^k ×14', async () => {
    const m = quiet();
    const before = await m.exposition();
    for (const name of ['padding_size', 'input_batch_size', 'processed_batch_size']) {
      assert.ok(!before.includes(name), `${name} appears only once used, as in TF Serving`);
    }
    m.batchQueued('batch_threads', 150);
    m.batchInput(3, 2);
    m.batchMerged(3, 4);
    m.batchRun();
    const all = await lines(m);
    assert.deepEqual(buckets(all, ':tensorflow:serving:batching_session:queuing_latency_bucket{thread_pool_name="batch_threads",').map(([le]) => le), QUEUING_LE);
    assert.ok(all.includes(':tensorflow:serving:batching_session:wrapped_run_count{} 1'));
    const input = buckets(all, ':tensorflow:serving:batching_session:input_batch_size_bucket{');
    assert.deepEqual(input.map(([le]) => le), POWERS_OF_TWO(14));
    assert.deepEqual(input.slice(0, 3).map(([, n]) => n), [0, 0, 2]);
    assert.ok(all.includes(':tensorflow:serving:batching_session:input_batch_size_sum{} 6'));
    assert.ok(all.includes(':tensorflow:serving:batching_session:input_batch_size_count{} 2'));
    assert.ok(all.includes(':tensorflow:serving:batching_session:padding_size_sum{execution_batch_size="4"} 1'));
    assert.ok(all.includes(':tensorflow:serving:batching_session:processed_batch_size_sum{} 4'));
    assert.ok(all.includes('# TYPE :tensorflow:serving:batching_session:padding_size histogram'));
  });

  test('tfserve_ gauges: in flight, queued, version states', async () => {
    const m = quiet();
    m.inFlight('a', 1);
    m.inFlight('a', 1);
    m.inFlight('b', 1);
    m.inFlight('b', -1);
    m.queued('a', 3);
    m.versionState('a', 1, 'AVAILABLE');
    m.versionState('a', 2, 'LOADING');
    m.versionState('a', 2, 'AVAILABLE');
    m.versionState('a', 1, 'UNLOADING');
    m.versionState('b', 7, 'LOADING');
    m.versionState('b', 7, null);
    const all = await lines(m);
    assert.deepEqual(matching(all, 'tfserve_'), [
      'tfserve_requests_in_flight{model="a"} 2',
      'tfserve_requests_in_flight{model="b"} 0',
      'tfserve_requests_queued{model="a"} 3',
      'tfserve_model_version_state{model="a",version="1",state="UNLOADING"} 1',
      'tfserve_model_version_state{model="a",version="2",state="AVAILABLE"} 1',
    ]);
  });
});

suite('ServingMetrics: exposition text', () => {
  test('label values: \\ and " escaped as TF Serving does, a line feed escaped too', async () => {
    const m = quiet();
    m.requestDone('a\\b"c\nd', 'predict', 'REST', 'NOT_FOUND', 1);
    m.inFlight('x"\\', 1);
    const all = await lines(m);
    assert.ok(all.includes(':tensorflow:serving:request_count{model_name="a\\\\b\\"c\\nd",status="NOT_FOUND"} 1'));
    assert.ok(all.includes('tfserve_requests_in_flight{model="x\\"\\\\"} 1'));
  });

  test('cells sorted by label values as UTF-8 bytes, whatever the order of first use', async () => {
    const m = quiet();
    for (const model of ['b', 'a\u{1F600}', 'a\uFF61', 'B', 'a']) m.requestDone(model, '', 'REST', 'OK', 1);
    const models = matching(await lines(m), ':tensorflow:serving:request_count{').map((l) => /model_name="([^"]*)"/.exec(l)![1]);
    assert.deepEqual(models, ['B', 'a', 'a\uFF61', 'a\u{1F600}', 'b']);
  });

  test('the exact page for a small scenario', async () => {
    const m = quiet();
    m.requestDone('half_plus_two', 'predict', 'REST', 'OK', 1234565);
    m.requestDone('half_plus_two', 'predict', 'REST', 'OK', 18);
    m.requestDone('half_plus_two', 'predict', 'REST', 'INVALID_ARGUMENT', 40);
    m.loadAttempt('/models/half_plus_two/123', true, 20000);
    m.inFlight('half_plus_two', 1);
    m.versionState('half_plus_two', 123, 'AVAILABLE');
    const latency = (le: string, n: number) =>
      `:tensorflow:serving:request_latency_bucket{model_name="half_plus_two",API="predict",entrypoint="REST",le="${le}"} ${n}`;
    const expected = [
      '# TYPE :tensorflow:cc:saved_model:load_attempt_count counter',
      ':tensorflow:cc:saved_model:load_attempt_count{model_path="/models/half_plus_two/123",status="success"} 1',
      '# TYPE :tensorflow:cc:saved_model:load_latency counter',
      ':tensorflow:cc:saved_model:load_latency{model_path="/models/half_plus_two/123"} 20000',
      ...TF_TYPES.slice(2, 7),
      '# TYPE :tensorflow:serving:request_count counter',
      ':tensorflow:serving:request_count{model_name="half_plus_two",status="INVALID_ARGUMENT"} 1',
      ':tensorflow:serving:request_count{model_name="half_plus_two",status="OK"} 2',
      ...TF_TYPES.slice(8, 10),
      '# TYPE :tensorflow:serving:request_latency histogram',
      // 18 µs sits on a limit, so it counts from le="32.4"; 1234565 µs is below 1.27482e+06.
      ...LATENCY_LE.map((le, i) => latency(le, i < 2 ? 0 : i < 20 ? 1 : 2)),
      ':tensorflow:serving:request_latency_sum{model_name="half_plus_two",API="predict",entrypoint="REST"} 1.23458e+06',
      ':tensorflow:serving:request_latency_count{model_name="half_plus_two",API="predict",entrypoint="REST"} 2',
      ...TF_TYPES.slice(11),
      '# TYPE tfserve_requests_in_flight gauge',
      'tfserve_requests_in_flight{model="half_plus_two"} 1',
      '# TYPE tfserve_requests_queued gauge',
      '# TYPE tfserve_model_version_state gauge',
      'tfserve_model_version_state{model="half_plus_two",version="123",state="AVAILABLE"} 1',
    ];
    assert.equal(await m.exposition(), `${expected.join('\n')}\n`);
  });

  test('counterValue: a counter\'s first cell as HandleReloadConfigRequest reads it; 0 before any; undefined for others', () => {
    const m = quiet();
    assert.equal(m.counterValue('/tensorflow/cc/saved_model/load_attempt_count'), 0);
    m.loadAttempt('/m/2', true, 10);
    m.loadAttempt('/m/1', false, 10);
    m.loadAttempt('/m/1', false, 10);
    // Cells in label order: {/m/1, fail} first.
    assert.equal(m.counterValue('/tensorflow/cc/saved_model/load_attempt_count'), 2);
    assert.equal(m.counterValue('/tensorflow/serving/request_latency'), undefined, 'a histogram is not a counter');
    assert.equal(m.counterValue('/no/such/metric'), undefined);
  });

  test('statusString is Status::ToString()', () => {
    assert.equal(statusString(), 'OK');
    assert.equal(statusString(null), 'OK');
    assert.equal(statusString({ code: 'DATA_LOSS', message: 'x' }), 'DATA_LOSS: x');
  });
});

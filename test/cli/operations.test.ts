/**
 * The operations side of `tfserve` run for real (src/cli/operations.ts): the log lines of a load, warmup
 * on load, the Prometheus page, the access log and request logs, from the command line. run(argv) runs
 * in-process with a PassThrough for its logs, an OS-chosen REST port and SIGUSR2 as its stop signal;
 * one server at a time (the signal is process-wide).
 */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { suite, test, type TestContext } from 'node:test';

import { run } from '../../src/cli/main.js';
import { describePlacement } from '../../src/cli/operations.js';
import * as grpc from '@grpc/grpc-js';

import { TFServingClient } from '../../src/client/rest-client.js';
import { GRPC_INFERENCE_SERVICE, ModelInferRequest } from '../../src/proto/serving-protos.js';
import { PredictionLog } from '../../src/proto/serving-protos.js';
import { parseTfRecords } from '../../src/proto/tfrecord.js';
import { modelPath, REPO_ROOT } from '../helpers.js';
import { capture, freePort, type LogLine, type Server, start, STOP_SIGNAL, waitFor } from './cli-harness.js';

const HALF_PLUS_TWO = path.join(REPO_ROOT, 'models', 'half_plus_two', '1');
const WARMUP_FIXTURE = path.join(REPO_ROOT, 'test', 'fixtures', 'warmup', 'tf_written_warmup_requests');
const LOAD_LINE = /^SavedModel load for tags \{ serve \}; Status: success: OK\. Took \d+ microseconds\.$/;

/** Runs tfserve to its end (a server that must fail to start). */
async function runToExit(args: readonly string[]): Promise<{ code: number; messages: string[] }> {
  const logs = capture();
  const code = await run(['--rest_api_port=0', `--port=${await freePort()}`, ...args], {
    destination: logs.stream,
    errorDestination: logs.stream,
    signals: [STOP_SIGNAL],
  });
  const messages = logs
    .text()
    .split('\n')
    .filter((line) => line.startsWith('{'))
    .map((line) => (JSON.parse(line) as LogLine).msg);
  return { code, messages };
}

function tempDir(t: TestContext): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tfserve-ops-'));
  t.after(() => fs.rmSync(dir, { recursive: true, force: true }));
  return dir;
}

/** A base path holding `model` as version 1, with `warmup` as its warmup file when given. */
function basePath(t: TestContext, model: string, warmup?: Uint8Array): string {
  const base = path.join(tempDir(t), 'model');
  fs.cpSync(model, path.join(base, '1'), { recursive: true });
  if (warmup !== undefined) {
    fs.mkdirSync(path.join(base, '1', 'assets.extra'));
    fs.writeFileSync(path.join(base, '1', 'assets.extra', 'tf_serving_warmup_requests'), warmup);
  }
  return base;
}

function monitoringConfig(t: TestContext, text = 'prometheus_config { enable: true, path: "/monitoring/prometheus/metrics" }\n'): string {
  const file = path.join(tempDir(t), 'monitoring.config');
  fs.writeFileSync(file, text);
  return file;
}

async function scrape(server: Server): Promise<string> {
  const response = await fetch(server.url('/monitoring/prometheus/metrics'));
  assert.equal(response.status, 200);
  assert.equal(response.headers.get('content-type'), 'text/plain');
  return response.text();
}

function indexOf(messages: string[], match: string | RegExp): number {
  const i = messages.findIndex((m) => (typeof match === 'string' ? m === match : match.test(m)));
  assert.ok(i >= 0, `no log line ${String(match)} in:\n${messages.join('\n')}`);
  return i;
}

suite('the load log lines', () => {
  test('TF\'s SavedModel load line, then TF Serving\'s success line, at the default level', async (t) => {
    const base = basePath(t, HALF_PLUS_TWO);
    const server = await start(t, ['--model_name=m', `--model_base_path=${base}`]);
    const messages = server.messages();
    const loading = indexOf(messages, `Loading servable version {name: m version: 1} from ${path.join(base, '1')}`);
    const load = indexOf(messages, LOAD_LINE);
    const warmup = indexOf(messages, `No warmup data file found at ${path.join(base, '1', 'assets.extra', 'tf_serving_warmup_requests')}`);
    const loaded = indexOf(messages, 'Successfully loaded servable version {name: m version: 1}');
    assert.ok(loading < load && load < warmup && warmup < loaded, messages.join('\n'));
    assert.equal(server.logs()[load]!.level, 30, 'info');
    // TF's line does not say which directory; the JSON line does, since loads run concurrently.
    assert.equal(server.logs()[load]!['model_path'], path.join(base, '1'));
  });

  test('--log_format=pretty: the lines as a person tails them', async (t) => {
    const base = basePath(t, HALF_PLUS_TWO);
    const server = await start(t, ['--model_name=m', `--model_base_path=${base}`, '--log_format=pretty']);
    assert.match(server.output(), /INFO \(tfserve\): SavedModel load for tags \{ serve \}; Status: success: OK\. Took \d+ microseconds\.\n/);
    assert.match(server.output(), /INFO \(tfserve\): Successfully loaded servable version \{name: m version: 1\}\n/);
    assert.doesNotMatch(server.output(), /model_path/);
  });
});

suite('devices and placement', () => {
  test('after the load, the session\'s devices; after the first run (here warmup), where its ops were placed', async (t) => {
    const base = basePath(t, modelPath('tf1_methods'), fs.readFileSync(WARMUP_FIXTURE));
    const server = await start(t, ['--model_name=tf1', `--model_base_path=${base}`]);
    const messages = server.messages();
    const load = indexOf(messages, LOAD_LINE);
    const devices = indexOf(messages, /^Session devices: CPU:0/);
    const placed = indexOf(messages, /^Ops placed on CPU:0 \(\d+ nodes\)/);
    const loaded = indexOf(messages, 'Successfully loaded servable version {name: tf1 version: 1}');
    assert.ok(load < devices && devices < placed && placed < loaded, messages.join('\n'));
    const line = server.logs()[placed]!;
    assert.equal(line['model_path'], path.join(base, '1'));
    const placement = line['placement'] as Record<string, number>;
    assert.ok(placement['/job:localhost/replica:0/task:0/device:CPU:0']! > 0, JSON.stringify(placement));
    assert.deepEqual(server.logs()[devices]!['devices'], ['/job:localhost/replica:0/task:0/device:CPU:0'].concat(
      (server.logs()[devices]!['devices'] as string[]).slice(1)));
  });

  test('describePlacement: the busiest device first, short names', () => {
    assert.equal(describePlacement({ '/job:localhost/replica:0/task:0/device:CPU:0': 3, '/job:localhost/replica:0/task:0/device:GPU:0': 41 }), 'GPU:0 (41 nodes), CPU:0 (3 nodes)');
    assert.equal(describePlacement({ '/device:CPU:0': 1 }), 'CPU:0 (1 node)');
    assert.equal(describePlacement({}), 'no device (the run executed no nodes)');
  });
});

suite('warmup on load', () => {
  test('the version\'s warmup records run before it is AVAILABLE; TF Serving\'s lines and metrics', async (t) => {
    const base = basePath(t, modelPath('tf1_methods'), fs.readFileSync(WARMUP_FIXTURE));
    const file = path.join(base, '1', 'assets.extra', 'tf_serving_warmup_requests');
    const server = await start(t, ['--model_name=tf1', `--model_base_path=${base}`, `--monitoring_config_file=${monitoringConfig(t)}`, '--num_request_iterations_for_warmup=2']);
    const messages = server.messages();
    const load = indexOf(messages, LOAD_LINE);
    const starting = indexOf(messages, `Starting to read warmup data for model at ${file} with model-warmup-options num_request_iterations {\n  value: 2\n}`);
    const finished = indexOf(messages, new RegExp(`^Finished reading warmup data for model at ${file}\\. Number of warmup records read: 6\\. Elapsed time \\(microseconds\\): \\d+\\.$`));
    const loaded = indexOf(messages, 'Successfully loaded servable version {name: tf1 version: 1}');
    assert.ok(load < starting && starting < finished && finished < loaded);
    const page = await scrape(server);
    const dir = path.join(base, '1');
    assert.match(page, new RegExp(`^:tensorflow:serving:model_warmup_records_read\\{model_path="${dir}",status="OK"\\} 6$`, 'm'));
    assert.match(page, new RegExp(`^:tensorflow:serving:model_warmup_latency_count\\{model_path="${dir}",status="OK"\\} 1$`, 'm'));
    assert.match(page, new RegExp(`^:tensorflow:cc:saved_model:load_attempt_count\\{model_path="${dir}",status="success"\\} 1$`, 'm'));
    assert.match(page, new RegExp(`^:tensorflow:cc:saved_model:load_latency\\{model_path="${dir}"\\} \\d+$`, 'm'));
    // Warmup replays are not requests.
    assert.doesNotMatch(page, /:tensorflow:serving:request_count\{/);
  });

  test('--enable_model_warmup=false: the file is not read', async (t) => {
    const base = basePath(t, HALF_PLUS_TWO, Buffer.from('not TFRecords'));
    const server = await start(t, ['--model_name=m', `--model_base_path=${base}`, '--enable_model_warmup=false']);
    assert.ok(!server.messages().some((m) => /warmup/.test(m)), server.messages().join('\n'));
  });

  test('EXPECTED FAILURE - a warmup error fails the load like any load error: retried, then the startup stops', async (t) => {
    const base = basePath(t, HALF_PLUS_TWO, Buffer.from('not TFRecords'));
    const { code, messages } = await runToExit(['--model_name=m', `--model_base_path=${base}`, '--max_num_load_retries=1', '--load_retry_interval_micros=1000']);
    assert.equal(code, 255);
    const error = 'DATA_LOSS: corrupted record at 0 (Is this even a TFRecord file?). Please verify your warmup data is in TFRecord format.';
    assert.ok(messages.some((m) => m.startsWith('Loading servable: {name: m version: 1} failed (corrupted record at 0') && m.includes('retrying')), messages.join('\n'));
    assert.equal(messages.filter((m) => LOAD_LINE.test(m)).length, 2, 'loaded twice: the first try and the retry');
    assert.ok(messages.includes(`Loading servable: {name: m version: 1} failed: ${error}`));
    assert.equal(messages.at(-1), `Failed to start server. Error: UNKNOWN: 1 servable(s) did not become available: {{{name: m version: 1} due to error: ${error}}, }`);
  });
});

suite('Prometheus', () => {
  test('requests and loads as the page shows them; a failed load too', async (t) => {
    const base = basePath(t, HALF_PLUS_TWO);
    const server = await start(t, [
      '--model_name=m',
      `--model_base_path=${base}`,
      `--monitoring_config_file=${monitoringConfig(t)}`,
      '--max_num_load_retries=0',
      '--file_system_poll_wait_seconds=1',
    ]);
    const ok = await fetch(server.url('/v1/models/m:predict'), { method: 'POST', body: '{"instances": [1.0]}' });
    assert.equal(ok.status, 200);
    assert.equal((await fetch(server.url('/v1/models/m:predict'), { method: 'POST', body: '{' })).status, 400);
    // A version 2 that is not a SavedModel: TF's loader fails.
    fs.mkdirSync(path.join(base, '2'));
    fs.writeFileSync(path.join(base, '2', 'saved_model.pb'), 'not a SavedModel');
    const failed = await waitFor('the failed load of version 2', () =>
      server.messages().find((m) => m.startsWith('SavedModel load for tags { serve }; Status: fail: ')),
    );
    assert.match(failed, /^SavedModel load for tags \{ serve \}; Status: fail: [A-Z_]+: .+\. Took \d+ microseconds\.$/s);
    await waitFor('version 2 to end', () => server.messages().some((m) => m.startsWith('Loading servable: {name: m version: 2} failed:')));
    const page = await scrape(server);
    assert.match(page, /^:tensorflow:serving:request_count\{model_name="m",status="INVALID_ARGUMENT"\} 1$/m);
    assert.match(page, /^:tensorflow:serving:request_count\{model_name="m",status="OK"\} 1$/m);
    assert.match(page, /^:tensorflow:serving:request_latency_count\{model_name="m",API="predict",entrypoint="REST"\} 1$/m);
    assert.match(page, /^:tensorflow:serving:runtime_latency_count\{model_name="m",API="Predict",runtime="TF1"\} 1$/m);
    assert.match(page, new RegExp(`^:tensorflow:cc:saved_model:load_attempt_count\\{model_path="${path.join(base, '2')}",status="fail"\\} 1$`, 'm'));
    assert.match(page, /^tfserve_model_version_state\{model="m",version="2",state="END"\} 1$/m);
    assert.match(page, /^tfserve_model_version_state\{model="m",version="1",state="AVAILABLE"\} 1$/m);
    assert.match(page, /^# TYPE tfserve_process_resident_memory_bytes gauge$/m);
    assert.match(page, /^# TYPE tfserve_nodejs_eventloop_lag_seconds gauge$/m);
  });

  test('mlmd_map{model_name, version}: a version with assets.extra/mlmd_uuid, exported as 0 as TF Serving does', async (t) => {
    const base = basePath(t, HALF_PLUS_TWO);
    fs.mkdirSync(path.join(base, '1', 'assets.extra'));
    fs.writeFileSync(path.join(base, '1', 'assets.extra', 'mlmd_uuid'), 'test_mlmd_uuid');
    const server = await start(t, ['--model_name=m', `--model_base_path=${base}`, `--monitoring_config_file=${monitoringConfig(t)}`]);
    assert.match(await scrape(server), /^# TYPE :tensorflow:serving:mlmd_map gauge\n:tensorflow:serving:mlmd_map\{model_name="m",version="1"\} 0$/m);
  });

  test('gRPC calls: Predict, Classify and KServe v2\'s ModelInfer counted, metadata and status only in the access log', async (t) => {
    const base = basePath(t, modelPath('tf1_methods'));
    const server = await start(t, ['--model_name=tf1', `--model_base_path=${base}`, `--monitoring_config_file=${monitoringConfig(t)}`, '--access_log']);
    const client = new TFServingClient(`grpc://127.0.0.1:${server.grpcPort}`);
    t.after(() => client.close());
    const x = { dtype: 'float32' as const, shape: [2], data: Float32Array.of(1, 2) };
    await client.predictTensors('tf1', { x });
    await client.classify('tf1', { signatureName: 'classify', examples: [{ x: 1.5 }] });
    await client.metadata('tf1');
    await client.status('tf1');
    await assert.rejects(client.predictTensors('nope', { x }), { code: 'NOT_FOUND' });
    // GRPCInferenceService serves on the same port.
    const v2 = new grpc.Client(`127.0.0.1:${server.grpcPort}`, grpc.credentials.createInsecure());
    t.after(() => v2.close());
    const request = ModelInferRequest.encode({ model_name: 'tf1', inputs: [{ name: 'x', datatype: 'FP32', shape: [1] }], raw_input_contents: [Buffer.from(Float32Array.of(3).buffer)] });
    await new Promise((resolve, reject) =>
      v2.makeUnaryRequest(`/${GRPC_INFERENCE_SERVICE}/ModelInfer`, (b: Uint8Array) => Buffer.from(b), (b: Buffer) => b, request, (error, response) => (error ? reject(error) : resolve(response))),
    );
    const page = await scrape(server);
    assert.match(page, /^:tensorflow:serving:request_count\{model_name="tf1",status="OK"\} 3$/m);
    assert.match(page, /^:tensorflow:serving:request_latency_count\{model_name="tf1",API="ModelInfer",entrypoint="GRPC"\} 1$/m);
    assert.match(page, /^:tensorflow:serving:request_count\{model_name="nope",status="NOT_FOUND"\} 1$/m);
    assert.match(page, /^:tensorflow:serving:request_latency_count\{model_name="tf1",API="Predict",entrypoint="GRPC"\} 1$/m);
    assert.match(page, /^:tensorflow:serving:request_latency_count\{model_name="tf1",API="Classify",entrypoint="GRPC"\} 1$/m);
    assert.match(page, /^:tensorflow:serving:runtime_latency_count\{model_name="tf1",API="Classify",runtime="TF1"\} 1$/m);
    assert.match(page, /^:tensorflow:serving:request_example_count_total\{model="tf1"\} 1$/m);
    assert.doesNotMatch(page, /API="GetModelMetadata"/);
    const access = await waitFor('six access lines', () => {
      const found = server.logs().filter((line) => line['access'] !== undefined).map((line) => line.msg);
      return found.length >= 6 ? found : undefined;
    });
    assert.deepEqual(
      access.map((m) => m.split(' ').slice(0, 4).join(' ')),
      ['GRPC Predict tf1 v1', 'GRPC Classify tf1 v1', 'GRPC GetModelMetadata tf1 v1', 'GRPC GetModelStatus tf1 OK', 'GRPC Predict nope NOT_FOUND', 'GRPC ModelInfer tf1 v1'],
    );
  });

  test('a config with enable: false serves no page', async (t) => {
    const base = basePath(t, HALF_PLUS_TWO);
    const server = await start(t, ['--model_name=m', `--model_base_path=${base}`, `--monitoring_config_file=${monitoringConfig(t, 'prometheus_config { enable: false }')}`]);
    assert.equal((await fetch(server.url('/monitoring/prometheus/metrics'))).status, 404);
  });

  test('EXPECTED FAILURE - a monitoring config that does not parse, or is missing, stops the startup', async (t) => {
    const bad = monitoringConfig(t, 'prometheus_config { enable: maybe }');
    const { code, messages } = await runToExit([`--model_base_path=${HALF_PLUS_TWO}/..`, `--monitoring_config_file=${bad}`]);
    assert.equal(code, 255);
    assert.match(messages.at(-1)!, new RegExp(`^Failed to start server\\. Error: INVALID_ARGUMENT: Invalid protobuf file: '${bad}': Error parsing text-format tensorflow\\.serving\\.MonitoringConfig: 1:`));
    const missing = path.join(os.tmpdir(), 'tfserve-no-such-dir', 'monitoring.config');
    const gone = await runToExit([`--model_base_path=${HALF_PLUS_TWO}/..`, `--monitoring_config_file=${missing}`]);
    assert.equal(gone.code, 255);
    assert.match(gone.messages.at(-1)!, new RegExp(`^Failed to start server\\. Error: NOT_FOUND: ${missing}; `));
  });
});

suite('request logs', () => {
  test('--access_log: one line per request, with its fields', async (t) => {
    const base = basePath(t, HALF_PLUS_TWO);
    const server = await start(t, ['--model_name=m', `--model_base_path=${base}`, '--access_log']);
    await fetch(server.url('/v1/models/m:predict'), { method: 'POST', body: '{"instances": [1.0]}', headers: { 'x-request-id': 'r-1' } });
    await fetch(server.url('/v1/models/nope'));
    const lines = await waitFor('two access lines', () => {
      const found = server.logs().filter((line) => line['access'] !== undefined);
      return found.length >= 2 ? found : undefined;
    });
    assert.match(lines[0]!.msg, /^REST predict m v1 OK 200 \d+(\.\d+)?ms in=20B out=\d+B id=r-1$/);
    assert.deepEqual(Object.keys(lines[0]!['access'] as object), ['entrypoint', 'api', 'model', 'version', 'status', 'http_status', 'latency_ms', 'bytes_in', 'bytes_out', 'request_id']);
    assert.match(lines[1]!.msg, /^REST - nope NOT_FOUND 404 /);
  });

  test('no access log without the flag', async (t) => {
    const base = basePath(t, HALF_PLUS_TWO);
    const server = await start(t, ['--model_name=m', `--model_base_path=${base}`]);
    await fetch(server.url('/v1/models/m'));
    assert.ok(!server.logs().some((line) => line['access'] !== undefined));
  });

  test('logging_config in --model_config_file: sampled PredictionLogs in a TFRecord file', async (t) => {
    const base = basePath(t, HALF_PLUS_TWO);
    const prefix = path.join(tempDir(t), 'logs', 'm');
    const config = path.join(tempDir(t), 'models.config');
    fs.writeFileSync(
      config,
      `model_config_list { config { name: "m" base_path: "${base}" model_platform: "tensorflow"
         logging_config { log_collector_config { type: "tfrecord" filename_prefix: "${prefix}" } sampling_config { sampling_rate: 1.0 } } } }`,
    );
    const server = await start(t, [`--model_config_file=${config}`]);
    for (const x of [1, 2]) await fetch(server.url('/v1/models/m:predict'), { method: 'POST', body: `{"instances": [${x}]}` });
    assert.equal(await server.stop(), 0);
    const [file, ...others] = fs.readdirSync(path.dirname(prefix));
    assert.equal(others.length, 0);
    assert.match(file!, /^m\.\d+\.\d+\.tfrecord$/);
    const logs = parseTfRecords(fs.readFileSync(path.join(path.dirname(prefix), file!))).map((r) => PredictionLog.decode(r));
    assert.deepEqual(
      logs.map((log) => (log['predict_log'] as { request: { inputs: { x: { float_val: number[] } } } }).request.inputs.x.float_val),
      [[1], [2]],
    );
    assert.deepEqual(logs[0]!['log_metadata'], {
      model_spec: { name: 'm', version: { value: '1' }, signature_name: 'serving_default' },
      sampling_config: { sampling_rate: 1 },
      saved_model_tags: ['serve'],
    });
  });

  test('EXPECTED FAILURE - a logging_config with a collector type tfserve lacks stops the startup', async (t) => {
    const config = path.join(tempDir(t), 'models.config');
    fs.writeFileSync(
      config,
      `model_config_list { config { name: "m" base_path: "${path.dirname(HALF_PLUS_TWO)}" model_platform: "tensorflow"
         logging_config { log_collector_config { type: "bigquery" filename_prefix: "x" } } } }`,
    );
    const { code, messages } = await runToExit([`--model_config_file=${config}`]);
    assert.equal(code, 255);
    assert.equal(messages.at(-1), 'Failed to start server. Error: NOT_FOUND: Cannot find LogCollector::Factory for type: bigquery');
  });
});

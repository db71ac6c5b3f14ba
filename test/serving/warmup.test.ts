// Warmup (src/serving/warmup.ts) on a real model, tf1_methods, with the warmup files of
// test/fixtures/warmup (written by TensorFlow, scripts/make-warmup-fixture.py) and damaged ones.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, suite, test } from 'node:test';

import type { Tensor } from '../../src/model/tensor.js';
import { encodePredictionLog, encodePredictRequestMessage } from '../../src/proto/prediction-log.js';
import { encodeTfRecords } from '../../src/proto/tfrecord.js';
import { Inference } from '../../src/serving/inference.js';
import { ModelManager } from '../../src/serving/manager.js';
import { ServingMetrics } from '../../src/serving/metrics.js';
import { type RunRequest, type Servable, SavedModelServable } from '../../src/serving/servable.js';
import { MAX_WARMUP_RECORDS, runWarmup, warmupFilePath } from '../../src/serving/warmup.js';
import { loadSavedModel } from '../../src/model/saved-model.js';
import { modelPath, REPO_ROOT } from '../helpers.js';

const FIXTURES = path.join(REPO_ROOT, 'test', 'fixtures', 'warmup');
const golden = JSON.parse(fs.readFileSync(path.join(FIXTURES, 'golden.json'), 'utf8')) as { records: { runs: number }[] };
const TF_WRITTEN = fs.readFileSync(path.join(FIXTURES, 'tf_written_warmup_requests'));

/** A wrapper such as batching's: every run of the servable passes through it, and is counted. */
class CountingServable implements Servable {
  runs = 0;
  constructor(readonly inner: Servable) {}
  get path() {
    return this.inner.path;
  }
  get signatures() {
    return this.inner.signatures;
  }
  get signatureDefs() {
    return this.inner.signatureDefs;
  }
  run(request: RunRequest): Promise<Tensor[]> {
    this.runs += 1;
    return this.inner.run(request);
  }
  dispose(): Promise<void> {
    return this.inner.dispose();
  }
}

let dir: string;
let servable: CountingServable;
const inference = new Inference({ manager: new ModelManager({ load: () => Promise.reject(new Error('no model is managed here')) }) });

before(async () => {
  // A version directory of its own, so each test can give it the warmup file it needs.
  dir = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'tfserve-warmup-')), '1');
  fs.cpSync(modelPath('tf1_methods'), dir, { recursive: true });
  servable = new CountingServable(new SavedModelServable(await loadSavedModel(dir)));
});

after(async () => {
  await servable.dispose();
  fs.rmSync(path.dirname(dir), { recursive: true, force: true });
});

function withFile(bytes: Uint8Array | null): string {
  const file = warmupFilePath(dir);
  fs.rmSync(path.dirname(file), { recursive: true, force: true });
  if (bytes !== null) {
    fs.mkdirSync(path.dirname(file));
    fs.writeFileSync(file, bytes);
  }
  return file;
}

function warmup(options: { iterations?: number; metrics?: ServingMetrics; name?: string; version?: number } = {}) {
  const logs: string[] = [];
  servable.runs = 0;
  const done = runWarmup(servable, options.name ?? 'tf1_methods', options.version ?? 1, {
    inference,
    numRequestIterations: options.iterations,
    log: { info: (message) => logs.push(message) },
    metrics: options.metrics,
  });
  return { done, logs };
}

const predictRecord = (signatureName = '', alias = 'x') =>
  encodePredictionLog({
    logType: 'predict_log',
    request: encodePredictRequestMessage({ modelSpec: { name: 'm', signatureName }, inputs: { [alias]: { dtype: 'float32', shape: [1], data: Float32Array.of(1) } } }),
  });

const metricLines = async (metrics: ServingMetrics) =>
  (await metrics.exposition()).split('\n').filter((l) => /model_warmup_(latency_count|records_read)\{/.test(l));

suite('warmup replays', () => {
  test('no file: one INFO line, nothing run', async () => {
    const file = withFile(null);
    const { done, logs } = warmup();
    await done;
    assert.deepEqual(logs, [`No warmup data file found at ${file}`]);
    assert.equal(servable.runs, 0);
  });

  test('TensorFlow\'s file: predict, classify, regress and multi_inference replayed, a record without a log skipped', async () => {
    const file = withFile(TF_WRITTEN);
    const metrics = new ServingMetrics({ processMetrics: false });
    const { done, logs } = warmup({ metrics });
    await done;
    assert.equal(servable.runs, golden.records.reduce((n, r) => n + r.runs, 0));
    assert.equal(logs[0], `Starting to read warmup data for model at ${file} with model-warmup-options `);
    assert.match(logs[1]!, new RegExp(`^Finished reading warmup data for model at ${file}\\. Number of warmup records read: 6\\. Elapsed time \\(microseconds\\): \\d+\\.$`));
    assert.equal(logs.length, 2);
    assert.deepEqual(await metricLines(metrics), [
      `:tensorflow:serving:model_warmup_latency_count{model_path="${dir}",status="OK"} 1`,
      `:tensorflow:serving:model_warmup_records_read{model_path="${dir}",status="OK"} 6`,
    ]);
  });

  test('--num_request_iterations_for_warmup: each record that many times; the model name and version are not checked', async () => {
    withFile(TF_WRITTEN);
    const { done, logs } = warmup({ iterations: 3, name: 'another_name', version: 42 });
    await done;
    assert.equal(servable.runs, 3 * 5);
    assert.match(logs[0]!, / with model-warmup-options num_request_iterations \{\n {2}value: 3\n\}$/);
    assert.match(logs[1]!, /Number of warmup records read: 6\./);
  });

  test(`${MAX_WARMUP_RECORDS} records are allowed`, async () => {
    withFile(encodeTfRecords(Array.from({ length: MAX_WARMUP_RECORDS }, () => predictRecord())));
    const { done, logs } = warmup();
    await done;
    assert.equal(servable.runs, MAX_WARMUP_RECORDS);
    assert.match(logs[1]!, /Number of warmup records read: 1000\./);
  });
});

suite('warmup errors, TF Serving\'s codes and texts', () => {
  test(`EXPECTED FAILURE - more than ${MAX_WARMUP_RECORDS} records: INVALID_ARGUMENT after the extra one ran`, async () => {
    const file = withFile(encodeTfRecords(Array.from({ length: MAX_WARMUP_RECORDS + 5 }, () => predictRecord())));
    const metrics = new ServingMetrics({ processMetrics: false });
    await assert.rejects(warmup({ metrics }).done, {
      name: 'TfServeError',
      code: 'INVALID_ARGUMENT',
      message: `Number of warmup records exceeds the maximum (1000) at ${file}`,
    });
    assert.equal(servable.runs, MAX_WARMUP_RECORDS + 1);
    assert.deepEqual(await metricLines(metrics), [], 'TF Serving returns before it records the metric');
  });

  test('EXPECTED FAILURE - a record that is not a PredictionLog: INVALID_ARGUMENT naming the record and the file', async () => {
    const file = withFile(encodeTfRecords([predictRecord(), Buffer.from('garbage')]));
    await assert.rejects(warmup().done, {
      name: 'TfServeError',
      code: 'INVALID_ARGUMENT',
      message: `Failed to parse warmup record: garbage from ${file}`,
    });
    assert.equal(servable.runs, 1);
  });

  test('EXPECTED FAILURE - damaged framing: DATA_LOSS with TF Serving\'s hint, after the records before it ran', async () => {
    const good = encodeTfRecords([predictRecord(), predictRecord()]);
    const third = encodeTfRecords([predictRecord()]);
    third[third.length - 5]! ^= 1; // the payload's last byte: its CRC no longer matches
    withFile(Buffer.concat([good, third]));
    const metrics = new ServingMetrics({ processMetrics: false });
    const at = good.length + 12;
    await assert.rejects(warmup({ metrics }).done, {
      name: 'TfServeError',
      code: 'DATA_LOSS',
      message: `corrupted record at ${at}. Please verify your warmup data is in TFRecord format.`,
    });
    assert.equal(servable.runs, 2);
    // The metric's status is the reader's, before TF Serving adds its hint.
    assert.deepEqual(await metricLines(metrics), [
      `:tensorflow:serving:model_warmup_latency_count{model_path="${dir}",status="DATA_LOSS: corrupted record at ${at}"} 1`,
      `:tensorflow:serving:model_warmup_records_read{model_path="${dir}",status="DATA_LOSS: corrupted record at ${at}"} 2`,
    ]);
    withFile(Buffer.from('a text file, not TFRecords\n'));
    await assert.rejects(warmup().done, {
      code: 'DATA_LOSS',
      message: 'corrupted record at 0 (Is this even a TFRecord file?). Please verify your warmup data is in TFRecord format.',
    });
  });

  test('EXPECTED FAILURE - session_run_log and predict_streamed_log: UNIMPLEMENTED with the log type\'s number', async () => {
    for (const [logType, number] of [['session_run_log', 5], ['predict_streamed_log', 7]] as const) {
      withFile(encodeTfRecords([encodePredictionLog({ logType, request: new Uint8Array(0) })]));
      await assert.rejects(warmup().done, { name: 'TfServeError', code: 'UNIMPLEMENTED', message: `Unsupported log_type for warmup: ${number}` });
    }
  });

  test('EXPECTED FAILURE - a request the serving layer refuses fails the warmup with its error', async () => {
    withFile(encodeTfRecords([predictRecord('no_such_signature')]));
    await assert.rejects(warmup().done, { code: 'FAILED_PRECONDITION', message: 'Serving signature key "no_such_signature" not found.' });
    withFile(encodeTfRecords([predictRecord('', 'y')]));
    await assert.rejects(warmup().done, {
      code: 'INVALID_ARGUMENT',
      message: 'Signature input alias: x(feed name: x:0) not found in request and no default value provided. Inputs expected to be in the request {y}, or default input alias set: ',
    });
  });
});

// On-demand benchmark of server-side batching (never part of npm test). The CNN fixture, one image
// per request, through the serving layer (Inference.predict: what REST and gRPC call after decoding)
// with c closed-loop clients at c = 1, 16, 64, batching off and on; then the raw session throughput
// (SavedModel.run on a [B,64,64,3] batch, the library over TF_SessionRun) at each batch size B that
// formed, with as many runs at once as batching could have (c / B, at most its batch threads).
// Everything runs in this one process and takes turns, round after round, so that all see the same
// machine; the medians over rounds are reported, and the ratios are of those medians. At c=1 it also
// times batching off with the batch timeout's idle time before each request: TensorFlow's threads
// fall asleep while a request waits for its batch, which costs the run itself some time.
//
//   npm run bench:batching        # ~3 min; BENCH_ROUNDS (8), BENCH_SECONDS (2 per cell), BENCH_CONCURRENCY (1,16,64)
//
// Batching runs with num_batch_threads BENCH_THREADS (4: as many runs at once as tfserve's run threads
// give batching off, TFSERVE_RUN_THREADS), max_batch_size BENCH_MAX_BATCH (8, where this CNN's
// images/s peak on a 2-core CPU; see the raw curve the benchmark prints first) and
// batch_timeout_micros BENCH_TIMEOUT_MICROS (2000). Inputs come from allocTensor, as the JSON parser's
// big arrays do, so batching off feeds TensorFlow without a copy and batching on copies each image once.
import { createRequire } from 'node:module';
import os from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';

const require = createRequire(import.meta.url);
const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const { allocTensor, loadSavedModel, tensorflowVersion } = require('../dist/index.js');
const { BatchScheduler } = require('../dist/serving/batching/batch-scheduler.js');
const { parseBatchingParameters, queueOptions } = require('../dist/serving/batching/batching-parameters.js');
const { BatchingServable } = require('../dist/serving/batching/batching-servable.js');
const { Inference } = require('../dist/serving/inference.js');
const { ModelManager } = require('../dist/serving/manager.js');
const { SavedModelServable } = require('../dist/serving/servable.js');

const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 8);
const SECONDS = Number(process.env.BENCH_SECONDS ?? 2);
const CONCURRENCY = (process.env.BENCH_CONCURRENCY ?? '1,16,64').split(',').map(Number);
const TIMEOUT_MICROS = Number(process.env.BENCH_TIMEOUT_MICROS ?? 2000);
const THREADS = Number(process.env.BENCH_THREADS ?? 4);
const MAX_BATCH = Number(process.env.BENCH_MAX_BATCH ?? 8);
const PARAMETERS = `max_batch_size { value: ${MAX_BATCH} } batch_timeout_micros { value: ${TIMEOUT_MICROS} } num_batch_threads { value: ${THREADS} }`;
const CNN = path.join(root, 'test', 'fixtures', 'models', 'cnn', '1');

const median = (values) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)];
const quantile = (sorted, q) => sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))];

function image() {
  const tensor = allocTensor('float32', [1, 64, 64, 3]);
  let seed = 7;
  for (let i = 0; i < tensor.data.length; i++) tensor.data[i] = ((seed = (seed * 48271) % 2147483647) % 1000) / 1000;
  return tensor;
}

/** A manager serving one prepared servable as model `name`. */
async function serve(name, servable) {
  const manager = new ModelManager({ load: async () => servable });
  manager.setAspiredVersions(name, [{ version: 1, path: CNN }]);
  await manager.settled();
  return { manager, inference: new Inference({ manager }) };
}

/** c closed-loop clients for SECONDS: requests/s and latencies in ms; `pauseMs` between a client's requests. */
async function load(inference, name, concurrency, inputs, pauseMs = 0) {
  const latencies = [];
  const end = performance.now() + SECONDS * 1000;
  const client = async (input) => {
    while (performance.now() < end) {
      const start = performance.now();
      await inference.predict({ modelSpec: { name }, inputs: { images: input } });
      latencies.push(performance.now() - start);
      if (pauseMs > 0) await new Promise((resolve) => setTimeout(resolve, pauseMs));
    }
  };
  const began = performance.now();
  await Promise.all(Array.from({ length: concurrency }, (_, i) => client(inputs[i % inputs.length])));
  const elapsed = (performance.now() - began) / 1000;
  latencies.sort((a, b) => a - b);
  return { rps: latencies.length / elapsed, p50: quantile(latencies, 0.5), p99: quantile(latencies, 0.99), mean: latencies.reduce((a, b) => a + b, 0) / latencies.length };
}

/** Raw session throughput at batch size B: `runs` loops of model.run on a [B,64,64,3] batch, images/s. */
async function raw(model, batch, input, output, runs = THREADS) {
  const tensor = allocTensor('float32', [batch, 64, 64, 3]);
  tensor.data.fill(0.5);
  const end = performance.now() + SECONDS * 1000;
  let done = 0;
  const loop = async () => {
    while (performance.now() < end) {
      await model.run({ [input]: tensor }, [output]);
      done++;
    }
  };
  const began = performance.now();
  await Promise.all(Array.from({ length: runs }, loop));
  return (done * batch) / ((performance.now() - began) / 1000);
}

const model = await loadSavedModel(CNN);
const signature = model.signatures.serving_default;
const inputName = signature.inputs.images.name;
const outputName = Object.values(signature.outputs)[0].name;

// Batch sizes that formed, per concurrency (recorded through the metrics hook).
let formed = [];
let waits = [];
const sizes = { batchInput() {}, batchQueued: (_pool, us) => waits.push(us), batchMerged: (size) => formed.push(size), batchRun() {}, queued() {} };
const scheduler = new BatchScheduler({ numBatchThreads: THREADS, threadPoolName: 'bench' });
const off = await serve('off', new SavedModelServable(model));
const on = await serve('on', new BatchingServable(new SavedModelServable(model), { scheduler, queue: queueOptions(parseBatchingParameters(PARAMETERS)), metrics: sizes }));
const inputs = Array.from({ length: 64 }, image);

console.log(`# ${os.cpus()[0]?.model ?? 'cpu'} x${os.cpus().length}, TensorFlow ${tensorflowVersion()}, Node ${process.version}`);
console.log(`# ${ROUNDS} interleaved rounds of ${SECONDS} s per cell; batching: ${PARAMETERS}`);
// Warm-up: TensorFlow's first runs at each shape are slow.
await load(off.inference, 'off', 4, inputs);
await load(on.inference, 'on', 64, inputs);

// The raw curve, to pick max_batch_size: images/s of the session alone at each batch size.
const curve = [];
for (const b of [1, 2, 4, 8, 16, 32, 64]) curve.push(`${b}: ${(await raw(model, b, inputName, outputName)).toFixed(0)}`);
console.log(`# raw session images/s by batch size (${THREADS} runs at once): ${curve.join(', ')}`);

const samples = new Map();
const push = (key, value) => samples.set(key, [...(samples.get(key) ?? []), value]);
const batchSizes = new Map();
for (let round = 0; round < ROUNDS; round++) {
  for (const c of CONCURRENCY) {
    const measureOff = async () => {
      const plain = await load(off.inference, 'off', c, inputs);
      for (const [key, value] of Object.entries({ offRps: plain.rps, offP50: plain.p50, offP99: plain.p99, offMean: plain.mean })) push(`${c}:${key}`, value);
    };
    const measureOn = async () => {
      formed = [];
      waits = [];
      const batched = await load(on.inference, 'on', c, inputs);
      push(`${c}:wait`, waits.reduce((x, y) => x + y, 0) / waits.length);
      batchSizes.set(c, [...(batchSizes.get(c) ?? []), Math.max(1, Math.round(formed.reduce((x, y) => x + y, 0) / formed.length))]);
      for (const [key, value] of Object.entries({ onRps: batched.rps, onP50: batched.p50, onP99: batched.p99, onMean: batched.mean })) push(`${c}:${key}`, value);
    };
    // Off and on swap places every round, so that neither always follows the raw runs.
    if (round % 2 === 0) {
      await measureOff();
      await measureOn();
    } else {
      await measureOn();
      await measureOff();
    }
    // As many runs at once as batching can have: c clients fill at most c / B batches.
    const b = batchSizes.get(c).at(-1);
    push(`${c}:raw`, await raw(model, b, inputName, outputName, Math.min(THREADS, Math.ceil(c / b))));
    // TensorFlow's threads fall asleep while a request waits for its batch, so its run starts cold:
    // batching off with the same idle time before each request shows what that costs by itself.
    if (c === 1) push('1:offIdle', (await load(off.inference, 'off', 1, inputs, TIMEOUT_MICROS / 1000)).mean);
  }
}

const fmt = (value, digits = 1) => (Number.isFinite(value) ? value.toFixed(digits) : '-');
console.log('| c | off req/s | off p50 / p99 ms | on req/s | on p50 / p99 ms | mean batch | raw session at that batch, images/s | on / off | on / raw |');
console.log('|---:|---:|---:|---:|---:|---:|---:|---:|---:|');
for (const c of CONCURRENCY) {
  const m = (key) => median(samples.get(`${c}:${key}`));
  const b = median(batchSizes.get(c));
  console.log(
    `| ${c} | ${fmt(m('offRps'))} | ${fmt(m('offP50'), 2)} / ${fmt(m('offP99'), 2)} | ${fmt(m('onRps'))} | ${fmt(m('onP50'), 2)} / ${fmt(m('onP99'), 2)} | ${b} | ` +
      `${fmt(m('raw'))} | ${fmt(m('onRps') / m('offRps'), 2)} | ${fmt(m('onRps') / m('raw'), 2)} |`,
  );
}
if (samples.has('1:onMean')) {
  const us = (key) => median(samples.get(key)) * 1000;
  const added = us('1:onMean') - us('1:offMean');
  const afterIdle = us('1:onMean') - us('1:offIdle');
  const wait = median(samples.get('1:wait'));
  const x = (value) => `${fmt(value, 0)} µs (${fmt(value / TIMEOUT_MICROS, 2)}x batch_timeout_micros ${TIMEOUT_MICROS})`;
  console.log(`# c=1 mean latency: off ${fmt(us('1:offMean'), 0)} µs, off after ${TIMEOUT_MICROS} µs idle ${fmt(us('1:offIdle'), 0)} µs, on ${fmt(us('1:onMean'), 0)} µs`);
  console.log(`# c=1 added by batching: on − off ${x(added)}; on − off after the same idle ${x(afterIdle)}; time in the queue ${x(wait)}`);
}
await on.manager.close();
await off.manager.close();

// Per-request cost of the metrics: calls/s of ServingMetrics.requestDone (request_count + request_latency)
// and of the whole per-request set the serving layer makes (inFlight ±1, runtime, requestDone), against
// the same counter + histogram as prom-client metrics with their labelled children cached.
// Usage: npm run build:ts && node bench/metrics.mjs [calls per round]   (prints medians of 7 rounds)
import client from 'prom-client';

import { ServingMetrics } from '../dist/serving/metrics.js';

const calls = Number(process.argv[2] ?? 2_000_000);
const MODELS = ['half_plus_two', 'resnet', 'bert', 'emotion'];
const STATUSES = ['OK', 'OK', 'OK', 'NOT_FOUND'];
const latency = (i) => 50 + (i % 997) * 13; // µs, spread over a dozen buckets

const metrics = new ServingMetrics({ processMetrics: false });
const requestDone = (i) => metrics.requestDone(MODELS[i & 3], 'predict', 'REST', STATUSES[(i >> 2) & 3], latency(i));
const perRequest = (i) => {
  const model = MODELS[i & 3];
  metrics.inFlight(model, 1);
  metrics.runtime(model, 'Predict', latency(i) - 20);
  metrics.requestDone(model, 'predict', 'REST', STATUSES[(i >> 2) & 3], latency(i));
  metrics.inFlight(model, -1);
};

const registry = new client.Registry();
const bounds = [];
for (let b = 10, k = 0; k < 33; k += 1, b *= 1.8) bounds.push(b);
const count = new client.Counter({ name: 'c', help: 'c', labelNames: ['model_name', 'status'], registers: [registry] });
const latencyHistogram = new client.Histogram({
  name: 'h', help: 'h', labelNames: ['model_name', 'API', 'entrypoint'], buckets: bounds, registers: [registry],
});
const counterChildren = new Map();
const histogramChildren = new Map();
const promRequestDone = (i) => {
  const model = MODELS[i & 3];
  const status = STATUSES[(i >> 2) & 3];
  const key = `${model}\0${status}`;
  let c = counterChildren.get(key);
  if (!c) counterChildren.set(key, (c = count.labels(model, status)));
  c.inc();
  if (status === 'OK') {
    let h = histogramChildren.get(model);
    if (!h) histogramChildren.set(model, (h = latencyHistogram.labels(model, 'predict', 'REST')));
    h.observe(latency(i));
  }
};

const CONTENDERS = [
  ['ServingMetrics.requestDone', requestDone],
  ['per request: inFlight ±1, runtime, requestDone', perRequest],
  ['prom-client counter + histogram, cached children', promRequestDone],
];

function round(fn) {
  const start = process.hrtime.bigint();
  for (let i = 0; i < calls; i += 1) fn(i);
  return calls / (Number(process.hrtime.bigint() - start) / 1e9);
}

for (const [, fn] of CONTENDERS) round(fn); // warm-up
const rates = CONTENDERS.map(() => []);
for (let r = 0; r < 7; r += 1) CONTENDERS.forEach(([, fn], i) => rates[i].push(round(fn)));
const median = (xs) => [...xs].sort((a, b) => a - b)[xs.length >> 1];
console.log('| contender | calls/s (median of 7) | ns/call |\n|---|---:|---:|');
CONTENDERS.forEach(([name], i) => {
  const rate = median(rates[i]);
  console.log(`| ${name} | ${(rate / 1e6).toFixed(2)} M | ${(1e9 / rate).toFixed(0)} |`);
});
const page = await metrics.exposition();
const start = process.hrtime.bigint();
for (let i = 0; i < 100; i += 1) await metrics.exposition();
console.log(`\nexposition(): ${(Number(process.hrtime.bigint() - start) / 1e5 / 1e3).toFixed(2)} ms for ${page.length} bytes`);

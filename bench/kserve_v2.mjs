// On-demand (never part of npm test): one tfserve, the same model and values sent three ways —
// TF Serving's predict JSON (/v1, `instances`), KServe v2 JSON (/v2 infer, flat `data`) and KServe v2
// with the binary tensor data extension (raw little-endian floats in and out, what tritonclient.http
// sends by default). Sequential keep-alive requests, the ways taking turns round by round so that all
// see the same machine; per way the median over rounds of each round's median latency, and its p99.
//
//   npm run build:ts && node bench/kserve_v2.mjs        # BENCH_ROUNDS (5), BENCH_REQUESTS per round (200 / 40)
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import http from 'node:http';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 5);

/** Deterministic pixels in [0, 1) with three decimals, as a client writes them in JSON. */
function pixels(count) {
  let seed = 1;
  return Array.from({ length: count }, () => ((seed = (seed * 48271) % 2147483647) % 1000) / 1000);
}

const MODELS = [
  { name: 'half_plus_two', label: 'tiny (half_plus_two, 4 floats)', input: 'x', shape: [4], values: [1, 2, 5, 0.5], requests: 200 },
  { name: 'cnn', label: 'CNN (batch 8, 64x64x3)', input: 'images', shape: [8, 64, 64, 3], values: pixels(8 * 64 * 64 * 3), requests: 40 },
];

function nest(values, shape) {
  if (shape.length === 1) return values;
  const size = values.length / shape[0];
  return Array.from({ length: shape[0] }, (_, i) => nest(values.slice(i * size, (i + 1) * size), shape.slice(1)));
}

function bodies(model) {
  const v1 = Buffer.from(JSON.stringify({ instances: nest(model.values, model.shape) }));
  const v2json = Buffer.from(JSON.stringify({ inputs: [{ name: model.input, shape: model.shape, datatype: 'FP32', data: model.values }] }));
  const raw = Buffer.from(Float32Array.from(model.values).buffer);
  const header = Buffer.from(JSON.stringify({
    inputs: [{ name: model.input, shape: model.shape, datatype: 'FP32', parameters: { binary_data_size: raw.length } }],
    parameters: { binary_data_output: true },
  }));
  return [
    { way: 'v1 JSON (instances)', path: `/v1/models/${model.name}:predict`, body: v1, headers: {} },
    { way: 'v2 JSON', path: `/v2/models/${model.name}/infer`, body: v2json, headers: {} },
    { way: 'v2 binary tensor data', path: `/v2/models/${model.name}/infer`, body: Buffer.concat([header, raw]), headers: { 'Inference-Header-Content-Length': String(header.length) } },
  ];
}

const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });

function post(port, { path: url, body, headers }) {
  return new Promise((resolve, reject) => {
    const request = http.request({ host: '127.0.0.1', port, path: url, method: 'POST', agent, headers: { 'Content-Length': body.length, ...headers } }, (response) => {
      const chunks = [];
      response.on('data', (chunk) => chunks.push(chunk));
      response.on('end', () => (response.statusCode === 200 ? resolve(Buffer.concat(chunks)) : reject(new Error(`${url}: ${response.statusCode} ${Buffer.concat(chunks)}`))));
    });
    request.on('error', reject);
    request.end(body);
  });
}

const median = (values) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)];
const percentile = (values, p) => [...values].sort((a, b) => a - b)[Math.min(values.length - 1, Math.floor(values.length * p))];

async function freePort() {
  const server = net.createServer();
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address();
  await new Promise((resolve) => server.close(resolve));
  return port;
}

const work = fs.mkdtempSync(path.join(os.tmpdir(), 'tfserve-bench-v2-'));
const config = path.join(work, 'models.config');
fs.writeFileSync(config, `model_config_list {\n${MODELS.map((m) => `  config { name: "${m.name}" base_path: "${m.name === 'cnn' ? path.join(root, 'test', 'fixtures', 'models', 'cnn') : path.join(root, 'models', 'half_plus_two')}" model_platform: "tensorflow" }`).join('\n')}\n}\n`);
const port = await freePort();
const server = spawn(process.execPath, [path.join(root, 'bin', 'tfserve.js'), `--rest_api_port=${port}`, `--port=${await freePort()}`, `--model_config_file=${config}`], {
  stdio: 'ignore',
  env: { ...process.env, TF_CPP_MIN_LOG_LEVEL: '2' },
});
try {
  const deadline = Date.now() + 120_000;
  for (;;) {
    if (server.exitCode !== null) throw new Error(`tfserve exited with ${server.exitCode}`);
    const ready = await new Promise((resolve) => http.get({ host: '127.0.0.1', port, path: '/v2/health/ready' }, (r) => (r.resume(), resolve(r.statusCode === 200))).on('error', () => resolve(false)));
    if (ready) break;
    if (Date.now() > deadline) throw new Error('tfserve did not become ready within 120 s');
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
  console.log(`tfserve ${process.version}, ${os.cpus().length} x ${os.cpus()[0].model}; ${ROUNDS} rounds`);
  console.log('| model | way | request bytes | median ms | p99 ms | vs v1 JSON |');
  console.log('|---|---|---:|---:|---:|---:|');
  for (const model of MODELS) {
    const ways = bodies(model);
    const requests = Number(process.env.BENCH_REQUESTS ?? model.requests);
    for (const way of ways) for (let i = 0; i < 5; i++) await post(port, way); // warm-up
    const medians = ways.map(() => []);
    const all = ways.map(() => []);
    for (let round = 0; round < ROUNDS; round++) {
      for (const [w, way] of ways.entries()) {
        const times = [];
        for (let i = 0; i < requests; i++) {
          const start = process.hrtime.bigint();
          await post(port, way);
          times.push(Number(process.hrtime.bigint() - start) / 1e6);
        }
        medians[w].push(median(times));
        all[w].push(...times);
      }
    }
    const base = median(medians[0]);
    ways.forEach((way, w) => {
      const m = median(medians[w]);
      console.log(`| ${model.label} | ${way.way} | ${way.body.length} | ${m.toFixed(3)} | ${percentile(all[w], 0.99).toFixed(3)} | ${(m / base).toFixed(2)} |`);
    });
  }
} finally {
  agent.destroy();
  server.kill('SIGTERM');
  await new Promise((resolve) => server.once('exit', resolve));
  fs.rmSync(work, { recursive: true, force: true });
}

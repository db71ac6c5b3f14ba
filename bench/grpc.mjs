// gRPC against REST on one tfserve, in the same run: the tiny model and the CNN at c = 1, 16, 64, each
// closed-loop load taking turns (REST first in odd rounds, gRPC first in even ones) so that both see
// the same machine, plus the in-process `predict` of the same CNN tensor (no transport at all).
//
//   REST: wrk (Debian's package), TF Serving's row JSON, c keep-alive connections.
//   gRPC: ghz (go install github.com/bojand/ghz/cmd/ghz@latest), the PredictRequest that
//         tf.make_tensor_proto gives (tensor_content), c workers on c HTTP/2 connections.
// Both load generators are native programs, so neither side pays for a JS client. Each number is the
// median over rounds; read the ratios, the machine is shared and noisy.
//
//   npm run build:ts && node bench/grpc.mjs        (BENCH_DURATION=8 BENCH_ROUNDS=3 BENCH_CONCURRENCY=1,16,64)
import { spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { createRequire } from 'node:module';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const require = createRequire(import.meta.url);
const tfserve = require(path.join(root, 'dist', 'index.js'));
const { encodePredictRequest } = require(path.join(root, 'dist', 'proto', 'serving-codec.js'));

const DURATION_S = Number(process.env.BENCH_DURATION ?? 8);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 3);
const CONCURRENCY = (process.env.BENCH_CONCURRENCY ?? '1,16,64').split(',').map(Number);
const GHZ = process.env.GHZ ?? ['ghz', path.join(os.homedir(), 'go', 'bin', 'ghz')].find((bin) => !spawnSync(bin, ['--version']).error);
if (!GHZ) throw new Error('ghz not found: go install github.com/bojand/ghz/cmd/ghz@latest (or set GHZ=/path/to/ghz)');
if (spawnSync('wrk', ['--version']).error) throw new Error('wrk not found: apt-get install wrk');

function cnnPixels() {
  // The pixels bench/server.mjs sends: deterministic values in [0, 1) with a few decimals.
  let seed = 1;
  const data = new Float32Array(8 * 64 * 64 * 3);
  for (let i = 0; i < data.length; i++) data[i] = ((seed = (seed * 48271) % 2147483647) % 1000) / 1000;
  return data;
}

const tinyData = Float32Array.from([1.0, 2.0, 5.0, 0.5]);
const cnnData = cnnPixels();
const MODELS = [
  { name: 'half_plus_two', label: 'tiny (half_plus_two, 4 floats)', dir: path.join(root, 'models', 'half_plus_two'), input: 'x', shape: [4], data: tinyData, json: { instances: [...tinyData] } },
  {
    name: 'cnn', label: 'CNN (batch 8, 64x64x3)', dir: path.join(root, 'test', 'fixtures', 'models', 'cnn'), input: 'images', shape: [8, 64, 64, 3], data: cnnData,
    json: { instances: Array.from({ length: 8 }, (_, b) => Array.from({ length: 64 }, (_, y) => Array.from({ length: 64 }, (_, x) => [0, 1, 2].map((c) => Number(cnnData[((b * 64 + y) * 64 + x) * 3 + c].toFixed(3)))))) },
  },
];

const work = fs.mkdtempSync(path.join(os.tmpdir(), 'tfserve-bench-grpc-'));
for (const model of MODELS) {
  fs.writeFileSync(path.join(work, `${model.name}.json`), JSON.stringify(model.json));
  fs.writeFileSync(path.join(work, `${model.name}.lua`), [
    `local f = io.open(${JSON.stringify(path.join(work, `${model.name}.json`))}, "rb")`,
    'wrk.method = "POST"', 'wrk.body = f:read("*a")', 'f:close()', 'wrk.headers["Content-Type"] = "application/json"',
  ].join('\n'));
  const request = encodePredictRequest({
    modelSpec: { name: model.name, signatureName: '' },
    inputs: { [model.input]: { dtype: 'float32', shape: model.shape, data: model.data } },
  }, { tensorContent: true });
  fs.writeFileSync(path.join(work, `${model.name}.bin`), request);
}

const freePort = () => new Promise((resolve, reject) => {
  const probe = net.createServer().once('error', reject).listen(0, '127.0.0.1', () => {
    const { port } = probe.address();
    probe.close(() => resolve(port));
  });
});

const restPort = await freePort();
const grpcPort = await freePort();
const config = path.join(work, 'models.config');
fs.writeFileSync(config, `model_config_list {\n${MODELS.map((m) => `  config { name: "${m.name}" base_path: "${m.dir}" model_platform: "tensorflow" }\n`).join('')}}\n`);
const server = spawn(process.execPath, [path.join(root, 'bin', 'tfserve.js'), `--port=${grpcPort}`, `--rest_api_port=${restPort}`, `--model_config_file=${config}`, '--log_level=warn'],
  { stdio: ['ignore', 'ignore', 'inherit'], env: { ...process.env, TF_CPP_MIN_LOG_LEVEL: '2' } });
for (let i = 0; ; i++) {
  try {
    if ((await fetch(`http://127.0.0.1:${restPort}/v1/models/cnn`)).ok) break;
  } catch {
    // not yet
  }
  if (i > 240 || server.exitCode !== null) throw new Error('tfserve did not come up');
  await new Promise((resolve) => setTimeout(resolve, 250));
}

// CPU time (user + system, all threads) of the server process and of a load generator, so that a
// cell also tells what one request costs each side: on a 2-core machine the generator's CPU is the
// server's loss.
const TICK_MS = 1000 / Number(spawnSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).stdout.trim() || 100);
const serverCpuMs = () => {
  const fields = fs.readFileSync(`/proc/${server.pid}/stat`, 'utf8').split(') ')[1].split(' ');
  return (Number(fields[11]) + Number(fields[12])) * TICK_MS;
};
/** Runs a load generator under /usr/bin/time; its CPU ms come back with its output. */
function timed(command, args) {
  const result = spawnSync('/usr/bin/time', ['-f', 'TFSERVE_CPU %U %S', command, ...args], { encoding: 'utf8', maxBuffer: 64 << 20 });
  const match = /TFSERVE_CPU ([\d.]+) ([\d.]+)/.exec(result.stderr);
  return { stdout: result.stdout, cpuMs: match ? (Number(match[1]) + Number(match[2])) * 1000 : NaN };
}
function measured(run) {
  const before = serverCpuMs();
  const result = run();
  result.serverUs = ((serverCpuMs() - before) * 1000) / Math.max(1, result.count);
  result.clientUs = (result.cpuMs * 1000) / Math.max(1, result.count);
  return result;
}

const WRK_UNITS = { us: 1e-3, ms: 1, s: 1000 };
function rest(model, c, duration) {
  const { stdout: out, cpuMs } = timed('wrk', ['-t1', `-c${c}`, `-d${duration}s`, '--latency', '--timeout', '30s', '-s', path.join(work, `${model.name}.lua`),
    `http://127.0.0.1:${restPort}/v1/models/${model.name}:predict`]);
  const quantile = (q) => {
    const match = out.match(new RegExp(`^\\s+${q}%\\s+([\\d.]+)(us|ms|s)\\s*$`, 'm'));
    return match ? Number(match[1]) * WRK_UNITS[match[2]] : NaN;
  };
  const requests = Number(out.match(/^\s*(\d+) requests in/m)?.[1] ?? 0);
  const non2xx = Number(out.match(/Non-2xx or 3xx responses: (\d+)/)?.[1] ?? 0);
  const errors = out.match(/Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)/);
  const failed = non2xx + (errors ? errors.slice(1).map(Number).reduce((a, b) => a + b, 0) : 0);
  return { rps: Number(out.match(/Requests\/sec:\s+([\d.]+)/)?.[1] ?? 0) * (requests ? (requests - non2xx) / requests : 0), p50: quantile(50), p99: quantile(99), failed, count: requests, cpuMs };
}

function grpcLoad(model, c, duration) {
  const result = timed(GHZ, ['--insecure', '--call', 'tensorflow.serving.PredictionService/Predict', '-B', path.join(work, `${model.name}.bin`),
    '-c', String(c), '--connections', String(c), '-z', `${duration}s`, '-n', '100000000', '-t', '30s', '-O', 'json', `127.0.0.1:${grpcPort}`]);
  const summary = JSON.parse(result.stdout);
  const at = (q) => (summary.latencyDistribution ?? []).find((d) => d.percentage === q)?.latency / 1e6;
  const ok = summary.statusCodeDistribution?.OK ?? 0;
  // ghz closes its connections when the duration ends; the calls in flight then fail with
  // "transport is closing". Those (at most one per worker) are not the server's failures.
  const closing = Object.entries(summary.errorDistribution ?? {}).filter(([text]) => /transport is closing|Canceled/.test(text)).reduce((sum, [, n]) => sum + n, 0);
  const cancelled = Math.min(c, closing);
  return { rps: summary.rps * (summary.count ? ok / summary.count : 0), p50: at(50), p99: at(99), failed: summary.count - ok - cancelled, count: summary.count, cpuMs: result.cpuMs };
}

/** Sequential in-process predicts of the same tensor, the run's floor without any transport. */
const local = {};
for (const model of MODELS) local[model.name] = await tfserve.loadSavedModel(path.join(model.dir, '1'));
async function inProcess(model, calls) {
  const x = tfserve.allocTensor('float32', model.shape);
  x.data.set(model.data);
  const times = [];
  for (let i = 0; i < calls; i++) {
    const started = performance.now();
    await local[model.name].predict({ [model.input]: x });
    times.push(performance.now() - started);
  }
  times.sort((a, b) => a - b);
  return times[Math.floor(times.length / 2)];
}

const median = (values) => {
  const sorted = values.filter(Number.isFinite).sort((a, b) => a - b);
  return sorted.length === 0 ? NaN : sorted[Math.floor((sorted.length - 1) / 2)];
};
const samples = new Map();
const record = (key, value) => samples.set(key, [...(samples.get(key) ?? []), value]);

for (const model of MODELS) {
  rest(model, 16, 2);
  grpcLoad(model, 16, 2);
}
for (let round = 1; round <= ROUNDS; round++) {
  for (const model of MODELS) {
    record(`${model.name}/inprocess`, await inProcess(model, model.name === 'cnn' ? 40 : 4000));
    for (const c of CONCURRENCY) {
      const order = round % 2 === 1 ? ['rest', 'grpc'] : ['grpc', 'rest'];
      for (const transport of order) {
        const result = measured(() => (transport === 'rest' ? rest(model, c, DURATION_S) : grpcLoad(model, c, DURATION_S)));
        record(`${model.name}/${c}/${transport}`, result);
        process.stderr.write(`round ${round} ${model.name} c=${c} ${transport}: ${result.rps.toFixed(0)} req/s p50 ${result.p50?.toFixed(2)} ms p99 ${result.p99?.toFixed(2)} ms failed ${result.failed}; CPU per request: server ${result.serverUs.toFixed(0)} us, load generator ${result.clientUs.toFixed(0)} us\n`);
      }
    }
  }
}
server.kill('SIGTERM');
await new Promise((resolve) => server.once('exit', resolve));
for (const model of Object.values(local)) await model.dispose();
fs.rmSync(work, { recursive: true, force: true });

const fmt = (v) => (v >= 100 ? v.toFixed(0) : v >= 10 ? v.toFixed(1) : v.toFixed(2));
const lines = [
  '| model | c | REST req/s | REST p50 / p99 ms | gRPC req/s | gRPC p50 / p99 ms | gRPC / REST throughput | gRPC p50 / in-process predict p50 | server CPU µs/req REST / gRPC | load generator CPU µs/req wrk / ghz | failed (REST / gRPC) |',
  '|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|',
];
for (const model of MODELS) {
  const floor = median(samples.get(`${model.name}/inprocess`));
  for (const c of CONCURRENCY) {
    const pick = (transport, field) => median(samples.get(`${model.name}/${c}/${transport}`).map((r) => r[field]));
    const failed = (transport) => samples.get(`${model.name}/${c}/${transport}`).reduce((sum, r) => sum + r.failed, 0);
    lines.push(`| ${model.label} | ${c} | ${fmt(pick('rest', 'rps'))} | ${fmt(pick('rest', 'p50'))} / ${fmt(pick('rest', 'p99'))} | ${fmt(pick('grpc', 'rps'))} | ` +
      `${fmt(pick('grpc', 'p50'))} / ${fmt(pick('grpc', 'p99'))} | ${(pick('grpc', 'rps') / pick('rest', 'rps')).toFixed(2)} | ` +
      `${c === 1 ? (pick('grpc', 'p50') / floor).toFixed(3) : ''} | ${fmt(pick('rest', 'serverUs'))} / ${fmt(pick('grpc', 'serverUs'))} | ` +
      `${fmt(pick('rest', 'clientUs'))} / ${fmt(pick('grpc', 'clientUs'))} | ${failed('rest')} / ${failed('grpc')} |`);
  }
  lines.push(`| ${model.label} | in-process predict | | p50 ${fmt(floor)} ms | | | | | | | |`);
}
console.log(lines.join('\n'));
console.log(`\n(${os.cpus()[0]?.model ?? 'cpu'} x${os.cpus().length}, Node ${process.version}, ${ROUNDS} rounds of ${DURATION_S} s per cell, ghz ${(({ stdout, stderr }) => `${stdout}${stderr}`.trim())(spawnSync(GHZ, ['--version'], { encoding: 'utf8' }))})`);

// On-demand REST benchmark (never part of npm test): TF Serving's predict API served by tfserve
// (`bin/tfserve.js`) and by the FastAPI + uvicorn server users write by hand (bench/python_server.py),
// same SavedModels, same JSON in and out, driven by a closed-loop load generator (wrk where installed)
// at several concurrencies. A third server, bench/echo_server.mjs (bare fastify answering tfserve's own
// bytes with no work), is the floor: tfserve's added p50 and its throughput ratio are against it. The
// servers take turns within one run so that all see the same machine. BENCH_MODELS=tiny (or cnn)
// runs one model only.
//
//   npm run bench:server     # needs npm install; `apt-get install wrk` for the wrk load generator; the
//                            # FastAPI column needs ~/.cache/tfserve/venv with tensorflow-cpu, fastapi
//                            # and uvicorn (or TFSERVE_BENCH_PYTHON)
import { spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';


const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const DURATION_S = Number(process.env.BENCH_DURATION ?? 10);
const CONCURRENCY = (process.env.BENCH_CONCURRENCY ?? '1,16,64').split(',').map(Number);
const TFSERVE_PORT = 18501;
const PYTHON_PORT = 18502;
const ECHO_PORT = 18503;

function cnnInstances() {
  // Deterministic pixels in [0, 1) with a few decimals, as a client would send them.
  let seed = 1;
  const pixel = () => ((seed = (seed * 48271) % 2147483647) % 1000) / 1000;
  return Array.from({ length: 8 }, () =>
    Array.from({ length: 64 }, () => Array.from({ length: 64 }, () => [pixel(), pixel(), pixel()])));
}

const ALL_MODELS = [
  { name: 'half_plus_two', label: 'tiny (half_plus_two, 4 floats)', dir: path.join(root, 'models', 'half_plus_two'), body: { instances: [1.0, 2.0, 5.0, 0.5] } },
  { name: 'cnn', label: 'CNN (batch 8, 64x64x3)', dir: path.join(root, 'test', 'fixtures', 'models', 'cnn'), body: { instances: cnnInstances() } },
];

const MODELS = ALL_MODELS.filter((m) => !process.env.BENCH_MODELS || process.env.BENCH_MODELS.split(',').includes(m.name === 'cnn' ? 'cnn' : 'tiny'));

function findPython() {
  const candidates = [process.env.TFSERVE_BENCH_PYTHON, path.join(os.homedir(), '.cache', 'tfserve', 'venv', 'bin', 'python')];
  // A venv without FastAPI and uvicorn (say, the one the emotion set-up makes) cannot run the server.
  return candidates.find((candidate) => candidate && fs.existsSync(candidate)
    && spawnSync(candidate, ['-c', 'import fastapi, uvicorn, tensorflow'], { stdio: 'ignore' }).status === 0) ?? null;
}

async function waitUntilServing(port, model, child) {
  const deadline = Date.now() + 120_000;
  while (Date.now() < deadline) {
    if (child.exitCode !== null) throw new Error(`server on :${port} exited with ${child.exitCode}`);
    try {
      const response = await fetch(`http://127.0.0.1:${port}/v1/models/${model.name}:predict`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify(model.body),
      });
      if (response.ok) return;
    } catch {
      // not listening yet
    }
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
  throw new Error(`server on :${port} did not come up`);
}

function start(command, args, port) {
  const child = spawn(command, args, { stdio: ['ignore', 'ignore', 'inherit'], env: { ...process.env, TF_CPP_MIN_LOG_LEVEL: '2' } });
  return { child, port };
}

// The load generator: wrk (Debian's package `wrk`) where it is installed, since it is written in C
// and takes the least CPU from the servers on a small machine, and keeps microseconds; otherwise the
// Node one below (autocannon records latency in whole milliseconds, too coarse for sub-millisecond
// p50/p99). BENCH_LOAD=node forces the Node one.
function findWrk() {
  if (process.env.BENCH_LOAD === 'node') return null;
  const found = spawnSync('wrk', ['--version'], { encoding: 'utf8' });
  return found.error ? null : 'wrk';
}

const WRK_UNITS = { us: 1e-3, ms: 1, s: 1000 };

function wrkLoad(port, model, connections, duration) {
  const script = path.join(configDir, `${model.name}.lua`);
  const bodyFile = path.join(configDir, `${model.name}.json`);
  if (!fs.existsSync(script)) {
    fs.writeFileSync(bodyFile, JSON.stringify(model.body));
    fs.writeFileSync(script, [
      `local f = io.open(${JSON.stringify(bodyFile)}, "rb")`,
      'wrk.method = "POST"',
      'wrk.body = f:read("*a")',
      'f:close()',
      'wrk.headers["Content-Type"] = "application/json"',
    ].join('\n'));
  }
  const result = spawnSync('wrk', ['-t1', `-c${connections}`, `-d${duration}s`, '--latency', '--timeout', '30s', '-s', script,
    `http://127.0.0.1:${port}/v1/models/${model.name}:predict`], { encoding: 'utf8' });
  if (result.status !== 0) throw new Error(`wrk failed: ${result.stderr || result.stdout}`);
  const out = result.stdout;
  const quantile = (q) => {
    const match = out.match(new RegExp(`^\\s+${q}%\\s+([\\d.]+)(us|ms|s)\\s*$`, 'm'));
    return match ? Number(match[1]) * WRK_UNITS[match[2]] : NaN;
  };
  const requests = Number(out.match(/^\s*(\d+) requests in/m)?.[1] ?? 0);
  const non2xx = Number(out.match(/Non-2xx or 3xx responses: (\d+)/)?.[1] ?? 0);
  const errors = out.match(/Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)/);
  const socketErrors = errors ? errors.slice(1).map(Number).reduce((a, b) => a + b, 0) : 0;
  return { rps: Number(out.match(/Requests\/sec:\s+([\d.]+)/)?.[1] ?? 0) * (requests ? (requests - non2xx) / requests : 0),
    p50: quantile(50), p99: quantile(99), failed: non2xx + socketErrors };
}

// Closed loop: `connections` keep-alive connections, each sending its next request when the
// previous answer arrives, for `duration` seconds.
async function load(port, model, connections, duration = DURATION_S) {
  if (WRK) return wrkLoad(port, model, connections, duration);
  const body = Buffer.from(JSON.stringify(model.body));
  const agent = new http.Agent({ keepAlive: true, maxSockets: connections });
  const latencies = [];
  let failed = 0;
  const deadline = performance.now() + duration * 1000;
  const once = () =>
    new Promise((resolve) => {
      const started = performance.now();
      const request = http.request(
        { host: '127.0.0.1', port, path: `/v1/models/${model.name}:predict`, method: 'POST', agent, timeout: 30_000,
          headers: { 'content-type': 'application/json', 'content-length': body.length } },
        (response) => {
          response.on('data', () => {});
          response.on('end', () => {
            if (response.statusCode === 200) latencies.push(performance.now() - started);
            else failed += 1;
            resolve();
          });
        },
      );
      request.on('timeout', () => request.destroy(new Error('timeout')));
      request.on('error', () => {
        failed += 1;
        resolve();
      });
      request.end(body);
    });
  const user = async () => {
    while (performance.now() < deadline) await once();
  };
  const started = performance.now();
  await Promise.all(Array.from({ length: connections }, user));
  const elapsed = (performance.now() - started) / 1000;
  agent.destroy();
  latencies.sort((a, b) => a - b);
  const quantile = (q) => (latencies.length ? latencies[Math.min(latencies.length - 1, Math.floor(q * latencies.length))] : NaN);
  return { rps: latencies.length / elapsed, p50: quantile(0.5), p99: quantile(0.99), failed };
}

const ms = (value) => (Number.isNaN(value) ? '-' : value < 10 ? value.toFixed(2) : value.toFixed(0));

const WRK = findWrk();
const configDir = fs.mkdtempSync(path.join(os.tmpdir(), 'tfserve-bench-'));
const configFile = path.join(configDir, 'models.config');
fs.writeFileSync(configFile, `model_config_list {\n${MODELS.map((m) => `  config { name: "${m.name}" base_path: "${m.dir}" model_platform: "tensorflow" }\n`).join('')}}\n`);

const servers = [
  { name: 'tfserve', ...start(process.execPath, [path.join(root, 'bin', 'tfserve.js'), `--rest_api_port=${TFSERVE_PORT}`, '--port=18500', `--model_config_file=${configFile}`, '--log_level=warn'], TFSERVE_PORT) },
];
// The bare server answers with tfserve's own bytes: ask tfserve for them first.
for (const model of MODELS) await waitUntilServing(TFSERVE_PORT, model, servers[0].child);
const answers = {};
for (const model of MODELS) {
  const response = await fetch(`http://127.0.0.1:${TFSERVE_PORT}/v1/models/${model.name}:predict`, {
    method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(model.body) });
  answers[model.name] = await response.text();
}
const answersFile = path.join(configDir, 'answers.json');
fs.writeFileSync(answersFile, JSON.stringify(answers));
servers.push({ name: 'bare', ...start(process.execPath, [path.join(root, 'bench', 'echo_server.mjs'), String(ECHO_PORT), answersFile], ECHO_PORT) });
const python = findPython();
if (python) {
  const args = [path.join(root, 'bench', 'python_server.py'), String(PYTHON_PORT), ...MODELS.map((m) => `${m.name}=${path.join(m.dir, '1')}`)];
  servers.push({ name: 'FastAPI', ...start(python, args, PYTHON_PORT) });
} else {
  console.log('# no Python with TensorFlow, FastAPI and uvicorn found: the FastAPI column is skipped');
}

try {
  for (const server of servers) for (const model of MODELS) await waitUntilServing(server.port, model, server.child);
  console.log(`# ${os.cpus()[0]?.model ?? 'cpu'} x${os.cpus().length}, Node ${process.version}, ${DURATION_S} s per cell (closed loop, keep-alive, ${WRK ? 'wrk -t1' : 'Node load generator'}), servers take turns`);
  const rows = [];
  for (const model of MODELS) {
    for (const connections of CONCURRENCY) {
      const cell = {};
      for (const server of servers) {
        await load(server.port, model, connections, 2); // warm-up
        cell[server.name] = await load(server.port, model, connections);
      }
      const ours = cell.tfserve;
      const theirs = cell.FastAPI;
      const bare = cell.bare;
      rows.push({
        model: model.label,
        c: connections,
        'tfserve req/s': ours.rps.toFixed(0),
        'tfserve p50/p99 ms': `${ms(ours.p50)} / ${ms(ours.p99)}`,
        'bare req/s': bare.rps.toFixed(0),
        'bare p50/p99 ms': `${ms(bare.p50)} / ${ms(bare.p99)}`,
        'added p50 µs': ((ours.p50 - bare.p50) * 1000).toFixed(0),
        'req/s ÷ bare': (ours.rps / bare.rps).toFixed(2),
        'FastAPI req/s': theirs ? theirs.rps.toFixed(0) : '-',
        'FastAPI p50/p99 ms': theirs ? `${ms(theirs.p50)} / ${ms(theirs.p99)}` : '-',
        'req/s ÷ FastAPI': !theirs ? '-' : theirs.rps > 0 ? (ours.rps / theirs.rps).toFixed(2) : 'FastAPI answered none',
        'tfserve p99/p50': (ours.p99 / ours.p50).toFixed(2),
        'bare p99/p50': (bare.p99 / bare.p50).toFixed(2),
        failed: `${ours.failed}${theirs ? ` / ${theirs.failed}` : ''}`,
      });
    }
  }
  // A Markdown table, as it goes into the README.
  const columns = Object.keys(rows[0]);
  console.log(`| ${columns.join(' | ')} |`);
  console.log(`|${columns.map((_, i) => (i < 2 ? '---' : '---:')).join('|')}|`);
  for (const row of rows) console.log(`| ${columns.map((column) => row[column]).join(' | ')} |`);
} finally {
  for (const server of servers) server.child.kill('SIGTERM');
  fs.rmSync(configDir, { recursive: true, force: true });
}

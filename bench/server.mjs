// On-demand REST benchmark (never part of npm test): TF Serving's predict API served by tfserve
// (`bin/tfserve.js`) and by the FastAPI + uvicorn server users write by hand (bench/python_server.py),
// same SavedModels, same JSON in and out, driven by autocannon at several concurrencies. The servers
// take turns within one run so both see the same machine.
//
//   npm run bench:server     # needs npm install; the Python column needs ~/.cache/tfserve/venv with
//                            # tensorflow-cpu, fastapi and uvicorn (or TFSERVE_BENCH_PYTHON)
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

import autocannon from 'autocannon';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const DURATION_S = Number(process.env.BENCH_DURATION ?? 10);
const CONCURRENCY = (process.env.BENCH_CONCURRENCY ?? '1,16,64').split(',').map(Number);
const TFSERVE_PORT = 18501;
const PYTHON_PORT = 18502;

function cnnInstances() {
  // Deterministic pixels in [0, 1) with a few decimals, as a client would send them.
  let seed = 1;
  const pixel = () => ((seed = (seed * 48271) % 2147483647) % 1000) / 1000;
  return Array.from({ length: 8 }, () =>
    Array.from({ length: 64 }, () => Array.from({ length: 64 }, () => [pixel(), pixel(), pixel()])));
}

const MODELS = [
  { name: 'half_plus_two', label: 'tiny (half_plus_two, 4 floats)', dir: path.join(root, 'models', 'half_plus_two'), body: { instances: [1.0, 2.0, 5.0, 0.5] } },
  { name: 'cnn', label: 'CNN (batch 8, 64x64x3)', dir: path.join(root, 'test', 'fixtures', 'models', 'cnn'), body: { instances: cnnInstances() } },
];

function findPython() {
  const candidates = [process.env.TFSERVE_BENCH_PYTHON, path.join(os.homedir(), '.cache', 'tfserve', 'venv', 'bin', 'python')];
  return candidates.find((candidate) => candidate && fs.existsSync(candidate)) ?? null;
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

async function load(port, model, connections, duration = DURATION_S) {
  const result = await autocannon({
    url: `http://127.0.0.1:${port}/v1/models/${model.name}:predict`,
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(model.body),
    connections,
    duration,
  });
  const failed = result.errors + result.timeouts + result.non2xx;
  return { rps: result.requests.average, p50: result.latency.p50, p99: result.latency.p99, failed };
}

const configDir = fs.mkdtempSync(path.join(os.tmpdir(), 'tfserve-bench-'));
const configFile = path.join(configDir, 'models.config');
fs.writeFileSync(configFile, `model_config_list {\n${MODELS.map((m) => `  config { name: "${m.name}" base_path: "${m.dir}" model_platform: "tensorflow" }\n`).join('')}}\n`);

const servers = [
  { name: 'tfserve', ...start(process.execPath, [path.join(root, 'bin', 'tfserve.js'), `--rest_api_port=${TFSERVE_PORT}`, `--model_config_file=${configFile}`, '--log_level=warn'], TFSERVE_PORT) },
];
const python = findPython();
if (python) {
  const args = [path.join(root, 'bench', 'python_server.py'), String(PYTHON_PORT), ...MODELS.map((m) => `${m.name}=${path.join(m.dir, '1')}`)];
  servers.push({ name: 'FastAPI', ...start(python, args, PYTHON_PORT) });
} else {
  console.log('# no Python with TensorFlow, FastAPI and uvicorn found: the FastAPI column is skipped');
}

try {
  for (const server of servers) for (const model of MODELS) await waitUntilServing(server.port, model, server.child);
  console.log(`# ${os.cpus()[0]?.model ?? 'cpu'} x${os.cpus().length}, Node ${process.version}, autocannon ${DURATION_S} s per cell, servers take turns`);
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
      rows.push({
        model: model.label,
        c: connections,
        'tfserve req/s': ours.rps.toFixed(0),
        'tfserve p50/p99 ms': `${ours.p50} / ${ours.p99}`,
        'FastAPI req/s': theirs ? theirs.rps.toFixed(0) : '-',
        'FastAPI p50/p99 ms': theirs ? `${theirs.p50} / ${theirs.p99}` : '-',
        'throughput ×': theirs ? (ours.rps / theirs.rps).toFixed(2) : '-',
        'tfserve p99/p50': (ours.p99 / Math.max(ours.p50, 1)).toFixed(2),
        failed: `${ours.failed}${theirs ? ` / ${theirs.failed}` : ''}`,
      });
    }
  }
  console.table(rows);
} finally {
  for (const server of servers) server.child.kill('SIGTERM');
  fs.rmSync(configDir, { recursive: true, force: true });
}

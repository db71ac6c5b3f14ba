// Interop: tfserve driven by clients no one here wrote — TF Serving's official tensorflow-serving-api
// stubs, requests, Prometheus' prometheus_client parser, Triton's tritonclient — from pytest files in
// test/interop/. CI runs it after npm test (`npm run test:interop`); npm test itself needs no Python.
//
// It makes (once) a venv in the per-user cache with test/interop/requirements.txt, starts
// `bin/tfserve.js` on free ports with test/interop/models.config (every interop model, Prometheus on),
// runs pytest against it, stops it, and ends with the line CI reads: `interop: N passed, N failed`.
// The server's address reaches the tests as TFSERVE_REST_URL, TFSERVE_GRPC_TARGET and the repo's
// paths as TFSERVE_REPO.
import { spawn, spawnSync } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const cache = process.env.TFSERVE_CACHE_DIR ?? path.join(process.env.XDG_CACHE_HOME ?? path.join(os.homedir(), '.cache'), 'tfserve');
const venv = path.join(cache, 'venv-interop');
const python = path.join(venv, 'bin', 'python');
const requirements = path.join(root, 'test', 'interop', 'requirements.txt');

function run(command, args, options = {}) {
  const result = spawnSync(command, args, { stdio: 'inherit', ...options });
  if (result.status !== 0) throw new Error(`${command} ${args.join(' ')} failed with ${result.status ?? result.signal}`);
}

function ensureVenv() {
  const wanted = crypto.createHash('sha256').update(fs.readFileSync(requirements)).digest('hex');
  const stamp = path.join(venv, '.tfserve-requirements');
  if (fs.existsSync(python) && fs.existsSync(stamp) && fs.readFileSync(stamp, 'utf8') === wanted) return;
  console.log(`interop: preparing ${venv} (first run on this machine)`);
  if (!fs.existsSync(python)) run(process.env.PYTHON ?? 'python3', ['-m', 'venv', venv]);
  run(python, ['-m', 'pip', 'install', '-q', '-r', requirements]);
  // tensorflow-serving-api asks for the full `tensorflow` wheel; tensorflow-cpu provides the same modules.
  run(python, ['-m', 'pip', 'install', '-q', '--no-deps', 'tensorflow-serving-api==2.21.0']);
  fs.writeFileSync(stamp, wanted);
}

function freePort() {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address();
      server.close(() => resolve(port));
    });
  });
}

async function waitForServer(url, child) {
  const deadline = Date.now() + 120_000;
  while (Date.now() < deadline) {
    if (child.exitCode !== null) throw new Error(`tfserve exited with ${child.exitCode} before serving`);
    try {
      if ((await fetch(`${url}/v1/models/half_plus_two`)).ok) return;
    } catch {
      // not listening yet
    }
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
  throw new Error('tfserve did not come up within 120 s');
}

/** The models config with every base path made absolute (TF Serving requires absolute paths). */
function writeConfig(dir) {
  const template = fs.readFileSync(path.join(root, 'test', 'interop', 'models.config'), 'utf8');
  const file = path.join(dir, 'models.config');
  fs.writeFileSync(file, template.replaceAll('@REPO@', root));
  return file;
}

ensureVenv();
const work = fs.mkdtempSync(path.join(os.tmpdir(), 'tfserve-interop-'));
const restPort = await freePort();
const grpcPort = await freePort();
const monitoring = path.join(work, 'monitoring.config');
fs.writeFileSync(monitoring, 'prometheus_config { enable: true, path: "/monitoring/prometheus/metrics" }\n');
const log = fs.openSync(path.join(work, 'server.log'), 'w');
const server = spawn(
  process.execPath,
  [
    path.join(root, 'bin', 'tfserve.js'),
    `--rest_api_port=${restPort}`,
    `--port=${grpcPort}`,
    `--model_config_file=${writeConfig(work)}`,
    `--monitoring_config_file=${monitoring}`,
  ],
  { stdio: ['ignore', log, log], env: { ...process.env, TF_CPP_MIN_LOG_LEVEL: '2' } },
);
let status = 1;
try {
  const restUrl = `http://127.0.0.1:${restPort}`;
  await waitForServer(restUrl, server);
  const result = spawnSync(python, ['-m', 'pytest', '-q', '-p', 'no:cacheprovider', path.join(root, 'test', 'interop')], {
    encoding: 'utf8',
    env: { ...process.env, TFSERVE_REST_URL: restUrl, TFSERVE_GRPC_TARGET: `127.0.0.1:${grpcPort}`, TFSERVE_REPO: root, TF_CPP_MIN_LOG_LEVEL: '2' },
  });
  process.stdout.write(result.stdout);
  process.stderr.write(result.stderr);
  const summary = result.stdout.split('\n').reverse().find((line) => /\d+ (passed|failed|error)/.test(line)) ?? '';
  const count = (word) => Number(summary.match(new RegExp(`(\\d+) ${word}`))?.[1] ?? 0);
  const passed = count('passed');
  const failed = count('failed') + count('errors?');
  status = result.status === 0 && failed === 0 && passed > 0 ? 0 : 1;
  if (status !== 0) process.stdout.write(`\n--- server.log ---\n${fs.readFileSync(path.join(work, 'server.log'), 'utf8').slice(-8000)}\n`);
  console.log(`interop: ${passed} passed, ${failed} failed`);
} catch (err) {
  console.log(`${err.message}\n--- server.log ---\n${fs.readFileSync(path.join(work, 'server.log'), 'utf8').slice(-8000)}`);
  console.log('interop: 0 passed, 1 failed');
} finally {
  server.kill('SIGTERM');
  await new Promise((resolve) => server.once('exit', resolve));
  fs.rmSync(work, { recursive: true, force: true });
}
process.exit(status);

// On-demand benchmark (never part of npm test): what warmup buys. The first and second predict after
// `tfserve` comes up, for the CNN test model, without a warmup file and with one written by
// `tfserve warmup` from the same request body; each way started BENCH_STARTS times (default 7), in
// turns, medians reported. The load itself is longer with warmup: the replay moves the first
// request's cost there.
//
//   npm run bench:warmup
import { spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const STARTS = Number(process.env.BENCH_STARTS ?? 7);
const PORT = 18521;
const work = fs.mkdtempSync(path.join(os.tmpdir(), 'tfserve-bench-warmup-'));
const base = path.join(work, 'cnn');
fs.cpSync(path.join(root, 'test', 'fixtures', 'models', 'cnn', '1'), path.join(base, '1'), { recursive: true });

let seed = 1;
const pixel = () => ((seed = (seed * 48271) % 2147483647) % 1000) / 1000;
const body = JSON.stringify({ instances: [Array.from({ length: 64 }, () => Array.from({ length: 64 }, () => [pixel(), pixel(), pixel()]))] });
const bodyFile = path.join(work, 'body.json');
fs.writeFileSync(bodyFile, body);

async function once() {
  const started = Date.now();
  const server = spawn(process.execPath, [path.join(root, 'bin', 'tfserve.js'), `--rest_api_port=${PORT}`, '--model_name=cnn', `--model_base_path=${base}`], {
    stdio: 'ignore',
    env: { ...process.env, TF_CPP_MIN_LOG_LEVEL: '3' },
  });
  const url = `http://127.0.0.1:${PORT}/v1/models/cnn`;
  for (;;) {
    try {
      if ((await fetch(url)).ok) break;
    } catch {
      // not up yet
    }
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  const up = Date.now() - started;
  const times = [];
  for (let i = 0; i < 2; i++) {
    const t0 = process.hrtime.bigint();
    const response = await fetch(`${url}:predict`, { method: 'POST', body });
    await response.text();
    if (!response.ok) throw new Error(`predict failed: ${response.status}`);
    times.push(Number(process.hrtime.bigint() - t0) / 1e6);
  }
  server.kill('SIGTERM');
  await new Promise((resolve) => server.once('exit', resolve));
  return { up, first: times[0], second: times[1] };
}

const warmupFile = path.join(base, '1', 'assets.extra', 'tf_serving_warmup_requests');
const written = spawnSync(process.execPath, [path.join(root, 'bin', 'tfserve.js'), 'warmup', `--model_dir=${path.join(base, '1')}`, `--output=${path.join(work, 'warmup')}`, bodyFile], {
  encoding: 'utf8',
  env: { ...process.env, TF_CPP_MIN_LOG_LEVEL: '3' },
});
if (written.status !== 0) throw new Error(written.stderr);
const results = { 'no warmup file': [], 'warmup file (1 record)': [] };
for (let i = 0; i < STARTS; i++) {
  fs.rmSync(path.dirname(warmupFile), { recursive: true, force: true });
  results['no warmup file'].push(await once());
  fs.mkdirSync(path.dirname(warmupFile));
  fs.copyFileSync(path.join(work, 'warmup'), warmupFile);
  results['warmup file (1 record)'].push(await once());
}
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
console.log(`CNN (1 x 64x64x3), ${STARTS} starts each, medians:`);
console.log(`  ${'model'.padEnd(24)} ${'up after'.padStart(10)} ${'1st predict'.padStart(12)} ${'2nd predict'.padStart(12)}`);
for (const [name, runs] of Object.entries(results)) {
  const m = (key) => `${median(runs.map((r) => r[key])).toFixed(1)} ms`;
  console.log(`  ${name.padEnd(24)} ${m('up').padStart(10)} ${m('first').padStart(12)} ${m('second').padStart(12)}`);
}
fs.rmSync(work, { recursive: true, force: true });

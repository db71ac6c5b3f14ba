// On-demand benchmark of the core (never part of npm test): per-call predict latency of tfserve
// against the floor (C++ calling TF_SessionRun in a loop, with default RunOptions and with the
// caller-thread executor tfserve uses by default) and TensorFlow's Python signature call, on the
// same SavedModels, measured side by side in one run (rounds interleaved, median reported). A last
// line gives the machine's cost of one async hop through libuv's pool, measured in the same run.
//
//   npm run bench            # needs the addon built (npm install) and, for the Python column,
//                            # ~/.cache/tfserve/venv (see scripts/make-test-models.py) or TFSERVE_BENCH_PYTHON
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import { createRequire } from 'node:module';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const require = createRequire(import.meta.url);
const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const libtensorflow = require('../scripts/libtensorflow.cjs');
const { loadSavedModel } = require('../dist/index.js');

// Rounds are many and short for the CNN: on a shared machine its ~10 ms runs differ by up to 25%
// between processes, and many short interleaved samples spread that over every contender alike.
const CASES = [
  { name: 'tiny (half_plus_two, 4 floats)', dir: 'models/half_plus_two/1', shape: [4], iterations: 5000, rounds: 5 },
  { name: 'CNN (batch 8, 64x64x3)', dir: 'test/fixtures/models/cnn/1', shape: [8, 64, 64, 3], iterations: 30, rounds: 15 },
];
const roundsOf = (benchCase) => Number(process.env.BENCH_ROUNDS ?? benchCase.rounds);

function buildFloor() {
  const layout = libtensorflow.locateOrThrow();
  const out = path.join(root, 'build', 'bench', 'floor');
  fs.mkdirSync(path.dirname(out), { recursive: true });
  const source = path.join(root, 'bench', 'floor.cc');
  if (!fs.existsSync(out) || fs.statSync(out).mtimeMs < fs.statSync(source).mtimeMs) {
    execFileSync('g++', ['-O2', '-std=c++17', source, '-o', out, `-I${layout.includeDir}`,
      ...libtensorflow.linkInputs(layout), `-Wl,-rpath,${layout.libDir}`], { stdio: 'inherit' });
  }
  return out;
}

function findPython() {
  const candidates = [process.env.TFSERVE_BENCH_PYTHON, path.join(os.homedir(), '.cache', 'tfserve', 'venv', 'bin', 'python')];
  return candidates.find((candidate) => candidate && fs.existsSync(candidate)) ?? null;
}

/** [median µs per call, mean µs per call] of one run of a measuring program. */
function measure(command, args, env = {}) {
  const output = execFileSync(command, args, {
    encoding: 'utf8',
    env: { ...process.env, TF_CPP_MIN_LOG_LEVEL: '2', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const [medianUs, meanUs] = output.trim().split('\n').pop().split(' ').map(Number);
  return { medianUs, meanUs };
}

const median = (values) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)];

const floor = buildFloor();
const python = findPython();
if (!python) console.log('# no Python with TensorFlow found: the Python column is skipped');
console.log(`# ${os.cpus()[0]?.model ?? 'cpu'} x${os.cpus().length}, TensorFlow ${libtensorflow.VERSION}, Node ${process.version}`);
console.log(`# ${CASES.map((c) => `${roundsOf(c)}`).join(' and ')} interleaved rounds; each number is the median over rounds of one process's median µs per call`);

// The contenders, each a separate process per round so that none inherits another's warm state.
// tfserve runs with its default executor ('caller', RunOptions.inter_op_thread_pool = -1) and with
// TensorFlow's inter-op pool; each has a floor with the same RunOptions.
const CONTENDERS = [
  { key: 'floor', label: 'floor (C++, pool)', run: (c) => measure(floor, c.floorArgs) },
  { key: 'floorCaller', label: 'floor (C++, caller)', run: (c) => measure(floor, c.floorArgs, { FLOOR_CALLER_THREAD: '1' }) },
  { key: 'tfserve', label: 'tfserve (caller)', run: (c) => measure(process.execPath, c.tfserveArgs) },
  { key: 'tfservePool', label: 'tfserve (pool)', run: (c) => measure(process.execPath, c.tfserveArgs, { TFSERVE_BENCH_EXECUTION: 'pool' }) },
  ...(python ? [{ key: 'python', label: 'Python signature call', run: (c) => measure(python, c.pythonArgs) }] : []),
];

const rows = [];
const libuvSamples = [];
for (const benchCase of CASES) {
  const dir = path.join(root, benchCase.dir);
  const model = await loadSavedModel(dir);
  const signature = model.signatures.serving_default;
  const [inputKey, input] = Object.entries(signature.inputs)[0];
  const [, output] = Object.entries(signature.outputs)[0];
  await model.dispose();
  const dims = benchCase.shape.map(String);
  const iterations = String(benchCase.iterations);
  const args = {
    floorArgs: [dir, input.name, output.name, iterations, ...dims],
    tfserveArgs: [path.join(root, 'bench', 'tfserve_predict.mjs'), dir, 'serving_default', inputKey, iterations, ...dims],
    pythonArgs: [path.join(root, 'bench', 'python_predict.py'), dir, 'serving_default', inputKey, iterations, ...dims],
  };
  const samples = Object.fromEntries(CONTENDERS.map(({ key }) => [key, []]));
  for (let round = 0; round < roundsOf(benchCase); round += 1) {
    libuvSamples.push(measure(process.execPath, [path.join(root, 'bench', 'libuv_roundtrip.mjs'), '5000']).meanUs);
    for (const contender of CONTENDERS) samples[contender.key].push(contender.run(args).medianUs);
  }
  const us = Object.fromEntries(CONTENDERS.map(({ key }) => [key, median(samples[key])]));
  // Ratios of the medians. Not the median of each round's ratio: the same program's per-call time
  // differs by up to 25% from one process to the next here (each process is steady within itself),
  // so a round's ratio is as noisy as two single samples.
  const ratio = (a, b) => us[a] / us[b];
  const fmt = (value, digits = 1) => (Number.isFinite(value) ? value.toFixed(digits) : '-');
  rows.push({
    model: benchCase.name,
    ...Object.fromEntries(CONTENDERS.map(({ key, label }) => [`${label} µs`, fmt(us[key])])),
    'tfserve − floor µs (caller)': fmt(us.tfserve - us.floorCaller),
    'tfserve / floor (caller)': fmt(ratio('tfserve', 'floorCaller'), 3),
    'tfserve / floor (pool)': fmt(ratio('tfservePool', 'floor'), 3),
    'tfserve (caller) / floor (pool)': fmt(ratio('tfserve', 'floor'), 3),
    'tfserve / Python': fmt(ratio('tfserve', 'python'), 3),
  });
}
// A Markdown table, as it goes into the README.
const columns = Object.keys(rows[0]);
console.log(`| ${columns.join(' | ')} |`);
console.log(`|${columns.map((_, i) => (i === 0 ? '---' : '---:')).join('|')}|`);
for (const row of rows) console.log(`| ${columns.map((column) => row[column]).join(' | ')} |`);
console.log(`# libuv pool round trip (await crypto.randomFill of 1 byte), the cost of one async hop through libuv: ${median(libuvSamples).toFixed(1)} µs`);

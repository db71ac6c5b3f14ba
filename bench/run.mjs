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

const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 3);
const CASES = [
  { name: 'tiny (half_plus_two, 4 floats)', dir: 'models/half_plus_two/1', shape: [4], iterations: 5000 },
  { name: 'CNN (batch 8, 64x64x3)', dir: 'test/fixtures/models/cnn/1', shape: [8, 64, 64, 3], iterations: 40 },
];

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

function measure(command, args, env = {}) {
  const output = execFileSync(command, args, {
    encoding: 'utf8',
    env: { ...process.env, TF_CPP_MIN_LOG_LEVEL: '2', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  return Number(output.trim().split('\n').pop());
}

const median = (values) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)];

const floor = buildFloor();
const python = findPython();
if (!python) console.log('# no Python with TensorFlow found: the Python column is skipped');
console.log(`# ${os.cpus()[0]?.model ?? 'cpu'} x${os.cpus().length}, TensorFlow ${libtensorflow.VERSION}, Node ${process.version}, ${ROUNDS} rounds, median`);

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
  const samples = { floor: [], floorCaller: [], tfserve: [], python: [] };
  for (let round = 0; round < ROUNDS; round += 1) {
    samples.floor.push(measure(floor, [dir, input.name, output.name, iterations, ...dims]));
    samples.floorCaller.push(measure(floor, [dir, input.name, output.name, iterations, ...dims], { FLOOR_CALLER_THREAD: '1' }));
    libuvSamples.push(measure(process.execPath, [path.join(root, 'bench', 'libuv_roundtrip.mjs'), '5000']));
    samples.tfserve.push(measure(process.execPath, [path.join(root, 'bench', 'tfserve_predict.mjs'), dir, 'serving_default', inputKey, iterations, ...dims]));
    if (python) samples.python.push(measure(python, [path.join(root, 'bench', 'python_predict.py'), dir, 'serving_default', inputKey, iterations, ...dims]));
  }
  const floorUs = median(samples.floor);
  const floorCallerUs = median(samples.floorCaller);
  const tfserveUs = median(samples.tfserve);
  const pythonUs = python ? median(samples.python) : NaN;
  rows.push({
    model: benchCase.name,
    'floor C++ µs': floorUs.toFixed(1),
    'floor caller-thread µs': floorCallerUs.toFixed(1),
    'tfserve µs': tfserveUs.toFixed(1),
    'Python µs': python ? pythonUs.toFixed(1) : '-',
    'tfserve − floor µs': (tfserveUs - floorUs).toFixed(1),
    'tfserve / floor': (tfserveUs / floorUs).toFixed(3),
    'tfserve − caller floor µs': (tfserveUs - floorCallerUs).toFixed(1),
    'tfserve / Python': python ? (tfserveUs / pythonUs).toFixed(3) : '-',
  });
}
console.table(rows);
console.log(`# libuv pool round trip (await crypto.randomFill of 1 byte), the floor of any async hop: ${median(libuvSamples).toFixed(1)} µs`);

// The GPU check, for a machine with an NVIDIA GPU and the GPU build (TFSERVE_GPU=1 npm install).
// In one run, for each CNN (the bundled emotion model, the test CNN) and batch size:
//   - loads it twice: a GPU session (TensorFlow's default placement) and a CPU session
//     (config.deviceCount { GPU: 0 }), and checks that the GPU session lists a GPU and that its
//     first run placed most nodes on it;
//   - runs both on the same pseudo-random input and checks that the outputs agree;
//   - times sequential calls on each, interleaved round by round, and TF Python's signature call on
//     the same GPU and CPU (bench/python_predict.py with BENCH_DEVICE), when a Python with a GPU-enabled
//     TensorFlow is found: TFSERVE_BENCH_PYTHON, else ~/.cache/tfserve/venv-gpu (which --setup-python
//     makes with pip install tensorflow[and-cuda] at libtensorflow's version), else ~/.cache/tfserve/venv;
//   - prints which CUDA libraries the process mapped, and from where.
// Exits 0 when every check passed, 1 when one failed, 2 when there is no GPU (unless --allow-no-gpu,
// which runs everything with both sessions on the CPU: a check of this script, not of the GPU).
//
// Usage: node bench/gpu.mjs [--iterations=200] [--rounds=5] [--batches=1,32] [--models=emotion,cnn]
//                           [--tolerance=1e-3] [--allow-no-gpu] [--setup-python]
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import { createRequire } from 'node:module';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const require = createRequire(import.meta.url);
const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const args = Object.fromEntries(process.argv.slice(2).map((arg) => {
  const [key, value] = arg.replace(/^--/, '').split('=');
  return [key, value ?? 'true'];
}));
const iterations = Number(args.iterations ?? 200);
const rounds = Number(args.rounds ?? 5);
const batches = (args.batches ?? '1,32').split(',').map(Number);
const tolerance = Number(args.tolerance ?? 1e-3);
const allowNoGpu = args['allow-no-gpu'] === 'true';
const MODELS = {
  emotion: { dir: 'models/emotion/1', signature: 'serving_default' },
  cnn: { dir: 'test/fixtures/models/cnn/1', signature: 'serving_default' },
};
const modelNames = (args.models ?? 'emotion,cnn').split(',');

if (!fs.existsSync(path.join(root, 'dist', 'index.js'))) {
  console.error('bench/gpu.mjs needs the build: npm run build:ts');
  process.exit(1);
}
const tf = require(root);
const { gpuNotice, nvidiaDriverVersion, shortDeviceName } = require(path.join(root, 'dist', 'model', 'devices.js'));
const { describePlacement } = require(path.join(root, 'dist', 'cli', 'operations.js'));

let failures = 0;
function check(ok, what) {
  console.log(`${ok ? 'ok  ' : 'FAIL'} ${what}`);
  if (!ok) failures += 1;
}

const build = tf.tensorflowBuild();
console.log(`# TensorFlow ${build.version} (${build.cuda ? 'CUDA build' : 'CPU build'}), NVIDIA driver ${nvidiaDriverVersion() ?? 'none'}, Node ${process.version}, ${os.cpus()[0]?.model ?? 'cpu'} x${os.cpus().length}`);
const preload = tf.cudaPreload();
if (preload) console.log(`# TFSERVE_CUDA_DIR=${preload.dir}: ${preload.loaded.length} libraries preloaded, missing: ${preload.missing.join(', ') || 'none'}`);
check(build.cuda, 'libtensorflow is the CUDA build (TFSERVE_GPU=1 npm install)');

/** The same pseudo-random floats in [0, 1) for every contender. */
function input(shape) {
  const data = tf.allocTensor('float32', shape).data;
  let state = 12345;
  for (let i = 0; i < data.length; i += 1) {
    state = (Math.imul(state, 1103515245) + 12345) >>> 0;
    data[i] = (state >>> 8) / 2 ** 24;
  }
  return { dtype: 'float32', shape, data };
}

async function time(model, signature, feeds) {
  for (let i = 0; i < Math.max(5, iterations / 10); i += 1) await model.predict(feeds, { signature });
  const calls = new Float64Array(iterations);
  const start = process.hrtime.bigint();
  for (let i = 0; i < iterations; i += 1) {
    const before = process.hrtime.bigint();
    await model.predict(feeds, { signature });
    calls[i] = Number(process.hrtime.bigint() - before) / 1e3;
  }
  const meanUs = Number(process.hrtime.bigint() - start) / 1e3 / iterations;
  calls.sort();
  return { medianUs: calls[Math.floor(iterations / 2)], meanUs };
}

const median = (values) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)];

const GPU_VENV = path.join(os.homedir(), '.cache', 'tfserve', 'venv-gpu');

function findPython() {
  const candidates = [process.env.TFSERVE_BENCH_PYTHON, path.join(GPU_VENV, 'bin', 'python'), path.join(os.homedir(), '.cache', 'tfserve', 'venv', 'bin', 'python')];
  return candidates.find((candidate) => candidate && fs.existsSync(candidate)) ?? null;
}

if (args['setup-python'] === 'true' && !fs.existsSync(path.join(GPU_VENV, 'bin', 'python'))) {
  console.log(`# making ${GPU_VENV} with tensorflow[and-cuda]==${build.version} (about 6 GB)`);
  execFileSync(process.env.PYTHON || 'python3', ['-m', 'venv', GPU_VENV], { stdio: 'inherit' });
  execFileSync(path.join(GPU_VENV, 'bin', 'python'), ['-m', 'pip', 'install', '--disable-pip-version-check', `tensorflow[and-cuda]==${build.version}`], { stdio: 'inherit' });
}

function python(dir, signature, inputKey, shape, device) {
  const out = execFileSync(pythonBin, [path.join(root, 'bench', 'python_predict.py'), dir, signature, inputKey, String(iterations), ...shape.map(String)], {
    encoding: 'utf8',
    env: { ...process.env, TF_CPP_MIN_LOG_LEVEL: '2', BENCH_DEVICE: device },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const [medianUs, meanUs, gpus] = out.trim().split('\n').pop().split(' ').map(Number);
  return { medianUs, meanUs, gpus };
}

const pythonBin = findPython();
let pythonHasGpu = false;
const rows = [];

for (const name of modelNames) {
  const spec = MODELS[name];
  if (!spec) throw new Error(`unknown model ${name}; one of ${Object.keys(MODELS).join(', ')}`);
  const dir = path.join(root, spec.dir);
  if (!fs.existsSync(dir)) {
    console.log(`# ${name}: ${spec.dir} is missing (npm run setup:emotion builds the emotion model); skipped`);
    continue;
  }
  const gpu = await tf.loadSavedModel(dir);
  const cpu = await tf.loadSavedModel(dir, { config: { deviceCount: { GPU: 0 } } });
  const gpus = gpu.devices.filter((d) => d.type === 'GPU');
  console.log(`# ${name}: GPU session devices ${gpu.devices.map((d) => shortDeviceName(d.name)).join(', ')}; CPU session ${cpu.devices.map((d) => shortDeviceName(d.name)).join(', ')}`);
  if (gpus.length === 0) {
    const notice = gpuNotice(gpu.devices) ?? 'TensorFlow lists no GPU';
    if (!allowNoGpu) {
      console.error(`no GPU: ${notice}`);
      process.exit(2);
    }
    console.log(`# no GPU (${notice}); --allow-no-gpu: both sessions run on the CPU`);
  }
  check(cpu.devices.every((d) => d.type !== 'GPU'), `${name}: the CPU session (deviceCount { GPU: 0 }) lists no GPU`);
  const signature = gpu.signatures[spec.signature];
  const [inputKey, info] = Object.entries(signature.inputs)[0];
  const [outputKey] = Object.keys(signature.outputs);
  for (const batch of batches) {
    const shape = info.shape.map((d) => (d < 0 ? batch : d));
    const feeds = { [inputKey]: input(shape) };
    const [onGpu, onCpu] = [await gpu.predict(feeds, { signature: spec.signature }), await cpu.predict(feeds, { signature: spec.signature })];
    const a = onGpu[outputKey].data;
    const b = onCpu[outputKey].data;
    let worst = 0;
    for (let i = 0; i < a.length; i += 1) worst = Math.max(worst, Math.abs(a[i] - b[i]) / Math.max(1, Math.abs(b[i])));
    check(a.length === b.length && worst <= tolerance, `${name} batch ${batch}: GPU and CPU outputs agree (worst relative difference ${worst.toExponential(2)}, tolerance ${tolerance})`);
    const samples = { gpu: [], cpu: [] };
    for (let round = 0; round < rounds; round += 1) {
      samples.gpu.push((await time(gpu, spec.signature, feeds)).medianUs);
      samples.cpu.push((await time(cpu, spec.signature, feeds)).medianUs);
    }
    const row = { model: name, batch, gpuUs: median(samples.gpu), cpuUs: median(samples.cpu), pyGpuUs: NaN, pyCpuUs: NaN };
    if (pythonBin) {
      try {
        const pyGpu = python(dir, spec.signature, inputKey, shape, '/GPU:0');
        pythonHasGpu ||= pyGpu.gpus > 0;
        if (pyGpu.gpus > 0) row.pyGpuUs = pyGpu.medianUs;
        row.pyCpuUs = python(dir, spec.signature, inputKey, shape, '/CPU:0').medianUs;
      } catch (err) {
        console.log(`# Python failed: ${String(err.stderr ?? err.message).trim().split('\n').pop()}`);
      }
    }
    rows.push(row);
  }
  const placement = gpu.placement ?? {};
  const busiest = Object.entries(placement).sort(([, x], [, y]) => y - x)[0];
  const where = describePlacement(placement);
  if (gpus.length > 0) check(busiest !== undefined && /device:GPU:/.test(busiest[0]), `${name}: the GPU session placed most nodes on a GPU (${where})`);
  else console.log(`# ${name}: placement ${where}`);
  await Promise.all([gpu.dispose(), cpu.dispose()]);
}

const maps = fs.readFileSync('/proc/self/maps', 'utf8');
const cudaLibs = [...new Set(maps.split('\n').map((line) => line.slice(line.indexOf('/'))).filter((file) => /\/lib(cudart|cudnn|cublas|cublasLt|cufft|cusolver|cusparse|nccl)\.so/.test(file)))];
console.log(`# CUDA libraries mapped: ${cudaLibs.length === 0 ? 'none' : ''}`);
for (const lib of cudaLibs) console.log(`#   ${lib}`);

const fmt = (us) => (Number.isNaN(us) ? 'n/a' : (us / 1000).toFixed(3));
const ratio = (x, y) => (Number.isNaN(x) || Number.isNaN(y) ? 'n/a' : (x / y).toFixed(2));
console.log(`\n# ms per call, median of ${rounds} interleaved rounds of ${iterations} sequential calls`);
console.log('model    batch  tfserve GPU  tfserve CPU  Python GPU  Python CPU  GPU speed-up  tfserve/Python GPU');
for (const r of rows) {
  console.log(`${r.model.padEnd(8)} ${String(r.batch).padStart(5)}  ${fmt(r.gpuUs).padStart(11)}  ${fmt(r.cpuUs).padStart(11)}  ${fmt(r.pyGpuUs).padStart(10)}  ${fmt(r.pyCpuUs).padStart(10)}  ${ratio(r.cpuUs, r.gpuUs).padStart(12)}  ${ratio(r.gpuUs, r.pyGpuUs).padStart(18)}`);
}
if (!pythonBin) console.log('# no Python with TensorFlow found (TFSERVE_BENCH_PYTHON): the Python columns are n/a');
else if (!pythonHasGpu) console.log(`# ${pythonBin}'s TensorFlow sees no GPU, so the Python GPU column is n/a (it needs a GPU and tensorflow[and-cuda]==${build.version}: --setup-python)`);
console.log(`\ngpu check: ${failures === 0 ? 'passed' : `${failures} failed`}`);
process.exit(failures === 0 ? 0 : 1);

// Memory over repeated loads and unloads of one model: the TF C API calls from C++
// (bench/load_cycles.cc), tfserve's library (loadSavedModel, one predict, dispose) and the server's
// path (ServerCore.reloadConfig taking the model out and back in), so that growth can be told apart
// as TensorFlow's, ours, or the allocator's. Each reading follows a full GC (tfserve) and malloc_trim
// (all three), as the server's idle reclaim does; the server column adds glibc's bytes in use and
// free inside its arenas (mallinfo2). On demand only:
//   node bench/load_cycles.mjs [cycles=200] [model dir=models/half_plus_two/1]
// The model's serving_default input is fed float32 zeros of its shape (-1 read as 1).
// Prints RSS at cycle 1 and every 20th, and the growth per cycle between cycle 20 and the last.
import { execFileSync, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const require = createRequire(import.meta.url);
const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const libtensorflow = require('../scripts/libtensorflow.cjs');
const cycles = Number(process.argv[2] ?? 200);
const dir = path.resolve(root, process.argv[3] ?? 'models/half_plus_two/1');

function buildFloor() {
  const layout = libtensorflow.locateOrThrow();
  const out = path.join(root, 'build', 'bench', 'load_cycles');
  const source = path.join(root, 'bench', 'load_cycles.cc');
  fs.mkdirSync(path.dirname(out), { recursive: true });
  if (!fs.existsSync(out) || fs.statSync(out).mtimeMs < fs.statSync(source).mtimeMs) {
    execFileSync('g++', ['-O2', '-std=c++17', source, '-o', out, `-I${layout.includeDir}`,
      ...libtensorflow.linkInputs(layout), `-Wl,-rpath,${layout.libDir}`], { stdio: 'inherit' });
  }
  return out;
}

function growth(points) {
  const from = points.find(([cycle]) => cycle >= 20) ?? points[0];
  const to = points.at(-1);
  return to[0] > from[0] ? (to[1] - from[1]) / (to[0] - from[0]) : 0;
}

function parse(text) {
  return text.trim().split('\n').filter((line) => /^\d+( \d+)+$/.test(line)).map((line) => line.split(' ').map(Number));
}

if (process.argv[2] === '--child') {
  // The tfserve sides, each in a process of its own.
  const { loadSavedModel } = require('../dist/index.js');
  const { binding } = require('../dist/model/native.js');
  const { exposeGc } = require('../dist/server/memory-reclaim.js');
  const { ServerCore } = require('../dist/serving/server-core.js');
  const { singleModelConfig } = require('../dist/serving/model-config.js');
  const { SavedModelServable } = require('../dist/serving/servable.js');
  const gc = exposeGc();
  const [, , , mode, modelDir, count, ...dims] = process.argv;
  const shape = dims.map(Number);
  const feed = (model) => {
    const [input] = Object.keys(model.signatures.serving_default.inputs);
    return { [input]: { dtype: 'float32', shape, data: new Float32Array(shape.reduce((a, b) => a * b, 1)) } };
  };
  const silent = { info() {}, warn() {}, error() {} };
  const config = singleModelConfig('m', path.dirname(modelDir), { kind: 'specific', versions: [Number(path.basename(modelDir))] });
  const core = mode === 'server' ? new ServerCore([config], { load: async (dir) => new SavedModelServable(await loadSavedModel(dir)), pollWaitSeconds: -1, log: silent }) : null;
  await core?.start();
  for (let cycle = 1; cycle <= Number(count); cycle++) {
    if (core === null) {
      const model = await loadSavedModel(modelDir);
      await model.predict(feed(model), { checkShapes: false });
      await model.dispose();
    } else {
      await core.reloadConfig([]);
      while (!core.manager.status('m').every((v) => v.state === 'END')) await new Promise((resolve) => setTimeout(resolve, 5));
      await core.reloadConfig([config]);
    }
    if (cycle === 1 || cycle % 20 === 0) {
      for (let i = 0; i < 3; i++) {
        gc();
        await new Promise((resolve) => setImmediate(resolve));
      }
      binding().trimMemory();
      const stats = binding().mallocStats();
      process.stdout.write(`${cycle} ${Math.round(process.memoryUsage().rss / 1024)}${stats ? ` ${stats.inUse >> 10} ${stats.free >> 10}` : ''}\n`);
    }
  }
  await core?.close();
  process.exit(0);
}

const { loadSavedModel } = require('../dist/index.js');
const { encodeSessionConfig } = require('../dist/model/session-config.js');
const probe = await loadSavedModel(dir);
const signature = probe.signatures.serving_default;
const input = Object.values(signature.inputs)[0].name;
const dims = (Object.values(signature.inputs)[0].shape ?? [1]).map((d) => String(d < 0 ? 1 : d));
const output = Object.values(signature.outputs)[0].name;
await probe.dispose();
const config = Buffer.from(encodeSessionConfig({})).toString('hex');

const env = { ...process.env, TF_CPP_MIN_LOG_LEVEL: '2' };
const floor = spawnSync(buildFloor(), [dir, input, output, String(cycles), config, ...dims], { env, encoding: 'utf8' });
const child = (mode) => spawnSync(process.execPath, [fileURLToPath(import.meta.url), '--child', mode, dir, String(cycles), ...dims], { env, encoding: 'utf8' });
const runs = [['C++ (TF C API)', floor], ['tfserve library', child('library')], ['tfserve server', child('server')]];
for (const [name, run] of runs) {
  if (run.status !== 0) throw new Error(`${name} failed: ${run.stderr}`);
}
const [a, b, c] = runs.map(([, run]) => parse(run.stdout));
const mb = (kb) => (kb / 1024).toFixed(1);
console.log('cycle  C++ RSS MB  library RSS MB  server RSS MB  server malloc in use / free MB');
for (let i = 0; i < a.length; i++) {
  console.log(`${String(a[i][0]).padStart(5)}  ${mb(a[i][1]).padStart(10)}  ${mb(b[i]?.[1]).padStart(14)}  ${mb(c[i]?.[1]).padStart(13)}  ${c[i]?.[2] === undefined ? '' : `${mb(c[i][2])} / ${mb(c[i][3])}`}`);
}
console.log(`growth per cycle after cycle 20: C++ ${growth(a).toFixed(1)} KB, library ${growth(b).toFixed(1)} KB, server ${growth(c).toFixed(1)} KB`);

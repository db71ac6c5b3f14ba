// `npm run test:gpu-build`: the whole suite on the GPU build of libtensorflow, on any machine.
// Builds the addon against the GPU flavour (TFSERVE_GPU=1: the tensorflow wheel and the CUDA 12 wheels,
// 2.5 GB the first time, then cached), checks that the addon really loaded a CUDA build, runs
// node test/run.mjs, and rebuilds the addon for the flavour this machine picks by itself afterwards,
// whatever the outcome. Without a GPU every model runs on the CPU, which is what this proves.
import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const gpuEnv = { ...process.env, TFSERVE_GPU: '1' };
const ownEnv = { ...process.env };

function step(what, command, args, env) {
  process.stderr.write(`\n== test:gpu-build: ${what}\n`);
  const result = spawnSync(command, args, { cwd: root, env, stdio: 'inherit' });
  return result.status ?? 1;
}

let status = step('building the addon against the GPU flavour', process.execPath, ['scripts/install.mjs', '--rebuild'], gpuEnv);
try {
  if (status === 0) status = step('building TypeScript', 'npm', ['run', 'build:ts'], gpuEnv);
  if (status === 0) {
    status = step('checking that the addon loaded the CUDA build', process.execPath, ['-e', `
      const build = require(${JSON.stringify(root)}).tensorflowBuild();
      console.log('libtensorflow', build.version, build.cuda ? 'CUDA build' : 'CPU build');
      process.exit(build.cuda ? 0 : 1);`], gpuEnv);
  }
  if (status === 0) status = step('compiling the tests', process.execPath, [path.join(root, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', 'tsconfig.test.json'], gpuEnv);
  if (status === 0) status = step('node test/run.mjs on the GPU build', process.execPath, ['test/run.mjs'], gpuEnv);
} finally {
  const restored = step('rebuilding the addon for this machine\'s own flavour', process.execPath, ['scripts/install.mjs', '--rebuild'], ownEnv);
  if (restored !== 0) process.stderr.write('test:gpu-build: the rebuild failed; run npm run build:native\n');
}
process.stderr.write(`\ntest:gpu-build: ${status === 0 ? 'the suite passed on the GPU build' : `failed (exit ${status})`}\n`);
process.exit(status);

import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { suite, test } from 'node:test';

import { CUDA_LIBRARIES, cudaDataDir, findCudaLibraries, preloadCuda, setXlaDataDir } from '../../src/model/cuda.js';
import { modelPath, REPO_ROOT } from '../helpers.js';

// eslint-disable-next-line @typescript-eslint/no-require-imports
const libtensorflow = require(path.join(REPO_ROOT, 'scripts', 'libtensorflow.cjs')) as { cacheDir(flavour: string): string };
const GPU_NVIDIA = path.join(libtensorflow.cacheDir('gpu'), 'nvidia');
const gpuCacheSkip = fs.existsSync(path.join(GPU_NVIDIA, 'COMPLETE'))
  ? false
  : `the GPU flavour's CUDA libraries are not installed (${GPU_NVIDIA}; TFSERVE_GPU=1 npm install puts them there)`;

function tree(files: string[]): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tfserve-cuda-'));
  for (const file of files) {
    fs.mkdirSync(path.dirname(path.join(dir, file)), { recursive: true });
    fs.writeFileSync(path.join(dir, file), '');
  }
  return dir;
}

function runChild(env: Record<string, string>, script: string): { status: number | null; stdout: string; stderr: string } {
  const result = spawnSync(process.execPath, ['-e', script], { env: { ...process.env, ...env }, encoding: 'utf8', timeout: 60_000 });
  return { status: result.status, stdout: result.stdout, stderr: result.stderr };
}

suite('cuda', () => {
  test('a CUDA toolkit layout: libraries found in lib64 and targets/, in load order, the rest missing', () => {
    const arch = process.arch === 'arm64' ? 'sbsa' : 'x86_64';
    const dir = tree(['lib64/libcublas.so.12', 'lib64/libcudart.so.12', `targets/${arch}-linux/lib/libcudnn.so.9`, 'lib64/libcublasLt.so.12']);
    const { found, missing } = findCudaLibraries(dir);
    assert.deepEqual(found, [
      path.join(dir, 'lib64', 'libcudart.so.12'),
      path.join(dir, 'lib64', 'libcublasLt.so.12'),
      path.join(dir, 'lib64', 'libcublas.so.12'),
      path.join(dir, 'targets', `${arch}-linux`, 'lib', 'libcudnn.so.9'),
    ]);
    assert.equal(missing.length, CUDA_LIBRARIES.length - 4);
    assert.ok(!missing.includes('libcudnn.so.9'));
  });

  test("a Python environment's nvidia/ folder (pip install tensorflow[and-cuda]): <part>/lib", () => {
    const dir = tree(['cuda_runtime/lib/libcudart.so.12', 'cudnn/lib/libcudnn.so.9', 'cudnn/lib/libcudnn_graph.so.9', 'cuda_nvcc/bin/ptxas']);
    const { found } = findCudaLibraries(dir);
    assert.deepEqual(found.map((f) => path.relative(dir, f)), ['cuda_runtime/lib/libcudart.so.12', 'cudnn/lib/libcudnn_graph.so.9', 'cudnn/lib/libcudnn.so.9']);
    assert.equal(cudaDataDir(dir), path.join(dir, 'cuda_nvcc'));
    assert.equal(cudaDataDir(path.join(dir, 'cudnn')), null);
  });

  test('preloadCuda reports what loaded, what did not and what is missing', () => {
    const dir = tree(['lib/libcudart.so.12', 'lib/libcublas.so.12']);
    const result = preloadCuda(dir, (paths) => paths.map((p) => (p.endsWith('libcublas.so.12') ? 'bad ELF header' : null)));
    assert.deepEqual(result.loaded, [path.join(dir, 'lib', 'libcudart.so.12')]);
    assert.deepEqual(result.failed, [{ path: path.join(dir, 'lib', 'libcublas.so.12'), error: 'bad ELF header' }]);
    assert.equal(result.missing.length, CUDA_LIBRARIES.length - 2);
    assert.equal(result.dataDir, null);
    assert.deepEqual(preloadCuda(path.join(dir, 'absent'), () => assert.fail('nothing to load')).loaded, []);
  });

  test("XLA_FLAGS gets the data dir unless the user's flags name one", () => {
    const env: NodeJS.ProcessEnv = {};
    setXlaDataDir('/opt/cuda', env);
    assert.equal(env['XLA_FLAGS'], '--xla_gpu_cuda_data_dir=/opt/cuda');
    const mine: NodeJS.ProcessEnv = { XLA_FLAGS: '--xla_gpu_cuda_data_dir=/mine' };
    setXlaDataDir('/opt/cuda', mine);
    assert.equal(mine['XLA_FLAGS'], '--xla_gpu_cuda_data_dir=/mine');
    const other: NodeJS.ProcessEnv = { XLA_FLAGS: '--xla_dump_to=/tmp/x' };
    setXlaDataDir('/opt/cuda', other);
    assert.equal(other['XLA_FLAGS'], '--xla_dump_to=/tmp/x --xla_gpu_cuda_data_dir=/opt/cuda');
    setXlaDataDir(null, env);
    assert.equal(env['XLA_FLAGS'], '--xla_gpu_cuda_data_dir=/opt/cuda');
  });

  test('TFSERVE_CUDA_DIR: every CUDA library of that install is loaded into the process before TensorFlow looks, with no LD_LIBRARY_PATH', { skip: gpuCacheSkip }, () => {
    const script = `
      const tf = require(${JSON.stringify(REPO_ROOT)});
      const preload = tf.cudaPreload();
      const maps = require('fs').readFileSync('/proc/self/maps', 'utf8');
      console.log(JSON.stringify({ preload, mapped: preload.loaded.filter((p) => maps.includes(p)).length, xla: process.env.XLA_FLAGS }));`;
    const env: Record<string, string> = { TFSERVE_CUDA_DIR: GPU_NVIDIA };
    const { status, stdout, stderr } = runChild(env, script);
    assert.equal(status, 0, stderr);
    const { preload, mapped, xla } = JSON.parse(stdout) as { preload: { loaded: string[]; missing: string[]; failed: unknown[] }; mapped: number; xla: string };
    assert.deepEqual(preload.failed, []);
    assert.deepEqual(preload.missing, []);
    assert.equal(preload.loaded.length, CUDA_LIBRARIES.length);
    assert.equal(mapped, CUDA_LIBRARIES.length, 'each preloaded library is mapped from TFSERVE_CUDA_DIR');
    assert.equal(xla, `--xla_gpu_cuda_data_dir=${path.join(GPU_NVIDIA, 'cuda_nvcc')}`);
    assert.doesNotMatch(stderr, /TfServeCudaWarning/);
  });

  test('EXPECTED FAILURE - TFSERVE_CUDA_DIR with a broken library warns with dlerror\'s text and the missing ones, and TensorFlow still runs', () => {
    const dir = tree(['lib64/libcudart.so.12']);
    const script = `
      const tf = require(${JSON.stringify(REPO_ROOT)});
      tf.loadSavedModel(${JSON.stringify(modelPath('tf2_module'))})
        .then((m) => m.predict({ x: { dtype: 'float32', shape: [1, 3], data: [0, 0, 0] } }))
        .then((out) => console.log(Array.from(out.y.data).join(',')));`;
    const { status, stdout, stderr } = runChild({ TFSERVE_CUDA_DIR: dir }, script);
    assert.equal(status, 0, stderr);
    assert.equal(stdout.trim(), '1,1,1');
    assert.match(stderr, /TfServeCudaWarning: TFSERVE_CUDA_DIR=.*libcudart\.so\.12 did not load \(.*(file too short|invalid ELF header|ELF).*\); not found under it: libnvJitLink\.so\.12, /);
  });
});

import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { spawnSync } from 'node:child_process';
import { afterEach, suite, test } from 'node:test';

import { REPO_ROOT } from '../helpers.js';

// eslint-disable-next-line @typescript-eslint/no-require-imports
const libtensorflow = require(path.join(REPO_ROOT, 'scripts', 'libtensorflow.cjs')) as {
  locate(): { source: string; includeDir: string; libDir: string; libraries: string[] } | null;
  cacheDir(flavour?: string): string;
  flavour(): string;
  wheelProject(flavour?: string): string;
  notFoundMessage(): string;
  VERSION: string;
};

const saved = { ...process.env };

function fakeLayout(libraries: string[]): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tfserve-lt-'));
  fs.mkdirSync(path.join(dir, 'include', 'tensorflow', 'c'), { recursive: true });
  fs.writeFileSync(path.join(dir, 'include', 'tensorflow', 'c', 'c_api.h'), '');
  fs.mkdirSync(path.join(dir, 'lib'));
  for (const lib of libraries) fs.writeFileSync(path.join(dir, 'lib', lib), '');
  return dir;
}

suite('scripts/libtensorflow.cjs', () => {
  afterEach(() => {
    for (const key of ['TFSERVE_LIBTENSORFLOW', 'TFSERVE_GPU', 'TFSERVE_CACHE_DIR']) {
      if (saved[key] === undefined) delete process.env[key];
      else process.env[key] = saved[key];
    }
  });

  test('TFSERVE_LIBTENSORFLOW wins and accepts the C tarball layout', () => {
    const dir = fakeLayout(['libtensorflow.so.2', 'libtensorflow_framework.so.2']);
    process.env['TFSERVE_LIBTENSORFLOW'] = dir;
    const layout = libtensorflow.locate()!;
    assert.equal(layout.source, 'TFSERVE_LIBTENSORFLOW');
    assert.equal(layout.includeDir, path.join(dir, 'include'));
    assert.deepEqual(layout.libraries, ['libtensorflow.so.2', 'libtensorflow_framework.so.2']);
  });

  test('EXPECTED FAILURE - a TFSERVE_LIBTENSORFLOW without libraries is an error, not a fall-through', () => {
    process.env['TFSERVE_LIBTENSORFLOW'] = fakeLayout([]);
    assert.throws(() => libtensorflow.locate(), /must hold include\/tensorflow\/c\/c_api.h and lib\//);
  });

  test('the cache holds one folder per flavour and pinned version', () => {
    process.env['TFSERVE_CACHE_DIR'] = '/tmp/tfserve-cache';
    assert.equal(libtensorflow.cacheDir('cpu'), `/tmp/tfserve-cache/libtensorflow-cpu-${libtensorflow.VERSION}`);
    process.env['TFSERVE_GPU'] = '1';
    assert.equal(libtensorflow.flavour(), 'gpu');
    assert.equal(libtensorflow.wheelProject(), 'tensorflow');
    process.env['TFSERVE_GPU'] = '0';
    assert.equal(libtensorflow.wheelProject(), 'tensorflow-cpu');
  });

  test('the not-found message names all three ways with commands', () => {
    const message = libtensorflow.notFoundMessage();
    assert.match(message, /TFSERVE_LIBTENSORFLOW=\/path\/to\/libtensorflow npm install/);
    assert.match(message, /\/usr\/local/);
    assert.match(message, /python3 -m pip/);
  });

  // What tensorflow[and-cuda]==2.21.0 requires (its wheel's METADATA, `extra == "and-cuda"`), each at
  // the lower bound: the CUDA TensorFlow was built and tested against.
  const AND_CUDA = [
    'nvidia-cublas-cu12', 'nvidia-cuda-cupti-cu12', 'nvidia-cuda-nvcc-cu12', 'nvidia-cuda-nvrtc-cu12',
    'nvidia-cuda-runtime-cu12', 'nvidia-cudnn-cu12', 'nvidia-cufft-cu12', 'nvidia-curand-cu12',
    'nvidia-cusolver-cu12', 'nvidia-cusparse-cu12', 'nvidia-nccl-cu12', 'nvidia-nvjitlink-cu12',
  ];

  test("the GPU flavour's pins: the tensorflow wheel and every CUDA wheel of tensorflow[and-cuda], exact versions with sha256", () => {
    const pins = (JSON.parse(fs.readFileSync(path.join(REPO_ROOT, 'package.json'), 'utf8')) as { tfserve: { cudaWheels: string[]; wheelSha256: Record<string, string> } }).tfserve;
    assert.deepEqual(pins.cudaWheels.map((spec) => spec.split('==')[0]).sort(), AND_CUDA);
    const files = Object.keys(pins.wheelSha256);
    assert.ok(files.includes(`tensorflow-${libtensorflow.VERSION}-cp311-cp311-manylinux_2_27_x86_64.whl`));
    assert.ok(files.includes(`tensorflow_cpu-${libtensorflow.VERSION}-cp311-cp311-manylinux_2_27_x86_64.whl`));
    for (const spec of pins.cudaWheels) {
      assert.match(spec, /^nvidia-[a-z0-9-]+-cu12==\d+(\.\d+)+$/, spec);
      const [name, version] = spec.split('==') as [string, string];
      const wheel = files.find((file) => file.startsWith(`${name.replaceAll('-', '_')}-${version}-`) && file.includes('x86_64'));
      assert.ok(wheel, `${spec} has an x86_64 wheel hash`);
    }
    for (const hash of Object.values(pins.wheelSha256)) assert.match(hash, /^[0-9a-f]{64}$/);
  });

  const gpuRoot = libtensorflow.cacheDir('gpu');
  const gpuSkip = fs.existsSync(path.join(gpuRoot, 'nvidia', 'COMPLETE')) ? false : `the GPU flavour is not installed in ${gpuRoot} (TFSERVE_GPU=1 npm install)`;

  test("the installer reuses the GPU flavour's cache, CUDA included, and TFSERVE_CUDA_DIR skips the CUDA wheels", { skip: gpuSkip }, () => {
    const installer = path.join(REPO_ROOT, 'scripts', 'install-libtensorflow.mjs');
    const cached = spawnSync(process.execPath, [installer], { encoding: 'utf8', env: { ...process.env, TFSERVE_GPU: '1', TFSERVE_CUDA_DIR: '' } });
    assert.equal(cached.status, 0, cached.stderr);
    assert.match(cached.stderr, new RegExp(`using libtensorflow from cache \\(tensorflow ${libtensorflow.VERSION.replaceAll('.', '\\.')} wheel\\)`));
    assert.match(cached.stderr, /CUDA 12 runtime libraries are in .*nvidia\n/);
    assert.doesNotMatch(cached.stderr, /downloading/);
    const own = spawnSync(process.execPath, [installer], { encoding: 'utf8', env: { ...process.env, TFSERVE_GPU: '1', TFSERVE_CUDA_DIR: '/usr/local/cuda-12.5' } });
    assert.equal(own.status, 0, own.stderr);
    assert.match(own.stderr, /TFSERVE_CUDA_DIR=\/usr\/local\/cuda-12\.5: using that CUDA; not fetching NVIDIA's wheels/);
  });

  test("the GPU flavour's layout is the one libtensorflow's RUNPATH searches: every CUDA library there, resolving its own dependencies", { skip: gpuSkip }, (t) => {
    const elf = spawnSync('readelf', ['-d', path.join(gpuRoot, 'lib', 'libtensorflow_framework.so.2')], { encoding: 'utf8', maxBuffer: 64 << 20 });
    if (elf.error) {
      t.skip(`readelf is not available (${elf.error.message})`);
      return;
    }
    const runpath = /RUNPATH\)\s+Library runpath: \[(.*)\]/.exec(elf.stdout)?.[1] ?? '';
    const parts = new Set([...runpath.matchAll(/\$ORIGIN\/\.\.\/nvidia\/([a-z_]+)\/lib/g)].map((m) => m[1]!));
    // TensorRT and NVSHMEM are optional (not in tensorflow[and-cuda]); everything else must be there.
    parts.delete('nvshmem');
    assert.ok(parts.size >= 7, runpath.slice(0, 200));
    for (const part of parts) assert.ok(fs.existsSync(path.join(gpuRoot, 'nvidia', part, 'lib')), `nvidia/${part}/lib`);
    const libraries = fs.readdirSync(path.join(gpuRoot, 'nvidia'), { recursive: true, encoding: 'utf8' }).filter((f) => /\/lib\/lib[^/]+\.so(\.\d+)*$/.test(f));
    assert.ok(libraries.length >= 20, libraries.join(' '));
    for (const lib of libraries) {
      const ldd = spawnSync('ldd', [path.join(gpuRoot, 'nvidia', lib)], { encoding: 'utf8' });
      assert.doesNotMatch(ldd.stdout, /not found/, `${lib}: ${ldd.stdout}`);
    }
  });
});

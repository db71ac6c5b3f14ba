import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { suite, test } from 'node:test';

import { loadedLibraryDir } from '../../src/model/cuda.js';
import { devicesFromNative, gpuNotice, nvidiaDriverVersion, placementFromRunMetadata, shortDeviceName, tensorflowBuild } from '../../src/model/devices.js';
import { loadSavedModel } from '../../src/model/saved-model.js';
import { RunMetadata } from '../../src/proto/messages.js';
import { modelPath } from '../helpers.js';

const CPU = '/job:localhost/replica:0/task:0/device:CPU:0';
const GPU = '/job:localhost/replica:0/task:0/device:GPU:0';

function runMetadata(devStats: { device: string; nodes: number }[]): Uint8Array {
  return RunMetadata.encode(RunMetadata.create({
    stepStats: { devStats: devStats.map(({ device, nodes }) => ({ device, nodeStats: Array.from({ length: nodes }, (_, i) => ({ nodeName: `n${i}` })) })) },
  })).finish();
}

suite('devices', () => {
  test('placement counts the nodes of each device in the step stats, devices sorted by name', () => {
    const placement = placementFromRunMetadata(runMetadata([{ device: GPU, nodes: 41 }, { device: CPU, nodes: 3 }, { device: GPU, nodes: 2 }]));
    assert.deepEqual(Object.entries(placement), [[CPU, 3], [GPU, 43]]);
    assert.ok(Object.isFrozen(placement));
  });

  test('a run with no step stats, or a device that ran nothing, places nothing', () => {
    assert.deepEqual(placementFromRunMetadata(new Uint8Array(0)), {});
    assert.deepEqual(placementFromRunMetadata(runMetadata([{ device: GPU, nodes: 0 }])), {});
  });

  test('EXPECTED FAILURE - bytes that are not a RunMetadata throw', () => {
    assert.throws(() => placementFromRunMetadata(new Uint8Array([0x0a, 0xff])));
  });

  test('short device names', () => {
    assert.equal(shortDeviceName(GPU), 'GPU:0');
    assert.equal(shortDeviceName('/device:CPU:0'), 'CPU:0');
    assert.equal(shortDeviceName('weird'), 'weird');
  });

  test('native device tuples become frozen DeviceInfo', () => {
    const devices = devicesFromNative([[GPU, 'GPU', 2 ** 34]]);
    assert.deepEqual(devices, [{ name: GPU, type: 'GPU', memoryBytes: 2 ** 34 }]);
    assert.ok(Object.isFrozen(devices) && Object.isFrozen(devices[0]));
    assert.deepEqual(devicesFromNative(undefined), []);
  });

  test("tensorflowBuild tells a CUDA build by its GPU kernels, which the installer's flavour agrees with", (t) => {
    const build = tensorflowBuild();
    assert.match(build.version, /^\d+\.\d+\.\d+/);
    const libDir = loadedLibraryDir('libtensorflow_framework.so.2');
    assert.ok(libDir, 'libtensorflow_framework.so.2 is mapped into this process');
    const flavour = /libtensorflow-(cpu|gpu)-/.exec(libDir)?.[1];
    if (flavour === undefined) {
      t.diagnostic(`libtensorflow is not the installer's (${libDir}); its flavour is unknown`);
      return;
    }
    assert.equal(build.cuda, flavour === 'gpu', `${libDir} is the ${flavour} build`);
    // The GPU flavour's CUDA libraries lie where libtensorflow's own RUNPATH looks for them.
    if (build.cuda) assert.ok(fs.existsSync(path.join(libDir, '..', 'nvidia', 'COMPLETE')));
  });

  test('the CUDA build finds the CUDA runtime through its own RUNPATH, with no LD_LIBRARY_PATH, even with no GPU', async (t) => {
    if (!tensorflowBuild().cuda) {
      t.skip('the CPU build loads no CUDA (npm run test:gpu-build runs this on the GPU build)');
      return;
    }
    if (process.env['TFSERVE_CUDA_DIR'] || process.env['LD_LIBRARY_PATH']) {
      t.skip('TFSERVE_CUDA_DIR or LD_LIBRARY_PATH is set: the RUNPATH is not what finds CUDA here');
      return;
    }
    // TensorFlow looks for CUDA when the first session lists its devices.
    const model = await loadSavedModel(modelPath('tf2_module'));
    await model.dispose();
    const libDir = loadedLibraryDir('libtensorflow_framework.so.2')!;
    assert.equal(loadedLibraryDir('libcudart.so.12'), path.join(path.dirname(libDir), 'nvidia', 'cuda_runtime', 'lib'));
  });

  test('the GPU notice says why no GPU is used, or nothing when there is nothing to say', () => {
    const { cuda } = tensorflowBuild();
    const driver = nvidiaDriverVersion();
    const cpuOnly = [{ name: CPU, type: 'CPU', memoryBytes: 0 }];
    const notice = gpuNotice(cpuOnly);
    if (cuda && driver === null) assert.match(notice ?? '', /^No GPU found: libtensorflow is the CUDA build, but no NVIDIA driver is loaded .*; models run on the CPU$/);
    else if (!cuda && driver !== null) assert.match(notice ?? '', /CPU build; TFSERVE_GPU=1 npm install/);
    else if (!cuda) assert.equal(notice, null);
    if (cuda) assert.equal(gpuNotice([...cpuOnly, { name: GPU, type: 'GPU', memoryBytes: 2 ** 34 }]), null);
  });
});

// Bounded memory: many predictions, inputs of each kind, leave RSS flat and free every aligned block.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';

import { binding } from '../../src/model/native.js';
import { loadSavedModel } from '../../src/model/saved-model.js';
import { allocTensor } from '../../src/model/tensor.js';
import { modelPath } from '../helpers.js';

setFlagsFromString('--expose-gc');
const gc = runInNewContext('gc') as () => void;

async function settle(): Promise<void> {
  for (let i = 0; i < 3; i += 1) {
    gc();
    await new Promise((resolve) => setImmediate(resolve));
  }
}

test('10,000 predicts leave RSS flat and free their native memory', async () => {
  const model = await loadSavedModel(modelPath('tf2_module'));
  const strings = await loadSavedModel(modelPath('dtypes'));
  const batch = async (count: number) => {
    for (let i = 0; i < count; i += 50) {
      await Promise.all(
        Array.from({ length: 50 }, (_, j) => {
          const kind = (i + j) % 4;
          if (kind === 0) return model.predict({ x: { dtype: 'float32', shape: [64, 3], data: new Float32Array(192) } });
          if (kind === 1) return model.predict({ x: allocTensor('float32', [256]) }, { signature: 'identity' });
          if (kind === 2) return model.predict({ x: { dtype: 'float32', shape: [2, 3], data: [1, 2, 3, 4, 5, 6] } });
          return strings.predict({ x: { dtype: 'string', shape: [3], data: ['a', 'b'.repeat(100), new Uint8Array(40)] } }, { signature: 'string' });
        }),
      );
    }
  };
  await batch(2000);
  await settle();
  const before = process.memoryUsage().rss;
  await batch(10000);
  await settle();
  const growth = process.memoryUsage().rss - before;
  assert.ok(growth < 40 * 1024 * 1024, `RSS grew by ${(growth / 1048576).toFixed(1)} MiB over 10,000 predicts`);
  assert.ok(binding()._liveAlignedBlocks() < 100, `${binding()._liveAlignedBlocks()} aligned blocks still alive`);
  await model.dispose();
  await strings.dispose();
});

test('allocTensor blocks of 1 MiB and more are pages of their own: zeroed, page-aligned, freed with the last reference', async () => {
  const blocks = binding()._liveAlignedBlocks();
  for (const bytes of [1 << 20, (3 << 20) + 12]) {
    let tensor: ReturnType<typeof allocTensor<'uint8'>> | null = allocTensor('uint8', [bytes]);
    assert.equal(Number(binding()._addressOf(tensor.data) % 4096n), 0);
    assert.ok(tensor.data.every((byte) => byte === 0));
    tensor.data.fill(7);
    assert.equal(binding()._liveAlignedBlocks(), blocks + 1);
    tensor = null;
    await settle();
    assert.equal(binding()._liveAlignedBlocks(), blocks);
  }
  // Smaller ones stay 64-byte aligned and zeroed.
  const small = allocTensor('float32', [1000]);
  assert.equal(Number(binding()._addressOf(small.data) % 64n), 0);
  assert.ok(small.data.every((value) => value === 0));
});

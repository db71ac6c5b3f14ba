// memory-reclaim.ts: after a large request, one full collection and a malloc_trim give the memory of
// the dead buffers back; small requests cost nothing.
import assert from 'node:assert/strict';
import { suite, test } from 'node:test';

import { binding } from '../../src/model/native.js';
import { allocTensor } from '../../src/model/tensor.js';
import { exposeGc, MemoryReclaimer } from '../../src/server/memory-reclaim.js';

suite('MemoryReclaimer', () => {
  test('exposeGc gives a full collection (the test runner has --expose-gc; the CLI turns it on)', () => {
    const gc = exposeGc();
    assert.equal(typeof gc, 'function');
    gc!();
  });

  test('fewer bytes than the threshold are no reason; reaching it (one request or many) reclaims once, after the quiet time', async () => {
    let collections = 0;
    let trims = 0;
    const reclaimer = new MemoryReclaimer({ gc: () => collections++, trim: () => (trims++, true), thresholdBytes: 1000, quietMs: 20 });
    reclaimer.requestEnded(600);
    reclaimer.requestEnded(399);
    await new Promise((resolve) => setTimeout(resolve, 100));
    assert.deepEqual([reclaimer.runs, collections, trims], [0, 0, 0]);
    reclaimer.requestEnded(1);
    reclaimer.requestEnded(5000);
    await new Promise((resolve) => setTimeout(resolve, 200));
    assert.deepEqual([reclaimer.runs, collections, trims], [1, 1, 1]);
    // The count starts again after a reclaim.
    reclaimer.requestEnded(999);
    await new Promise((resolve) => setTimeout(resolve, 100));
    assert.equal(reclaimer.runs, 1);
    reclaimer.stop();
  });

  test('the memory of dead tensors goes back: native blocks freed, glibc trimmed', async () => {
    const reclaimer = new MemoryReclaimer({ gc: exposeGc(), trim: () => binding().trimMemory() });
    const blocks = binding()._liveAlignedBlocks();
    let tensors: unknown[] | null = Array.from({ length: 8 }, () => allocTensor('float32', [1 << 20]));
    assert.equal(binding()._liveAlignedBlocks(), blocks + 8);
    assert.equal(tensors.length, 8);
    tensors = null;
    await reclaimer.reclaim();
    // External buffers' finalizers run after the collection, on later turns of the loop.
    for (let turn = 0; turn < 50 && binding()._liveAlignedBlocks() > blocks; turn++) {
      await new Promise((resolve) => setTimeout(resolve, 10));
      await reclaimer.reclaim();
    }
    assert.equal(binding()._liveAlignedBlocks(), blocks);
    assert.equal(typeof binding().trimMemory(), 'boolean');
    const stats = binding().mallocStats();
    if (stats !== null) for (const key of ['arena', 'inUse', 'free', 'mmap'] as const) assert.ok(stats[key] >= 0, key);
  });
});

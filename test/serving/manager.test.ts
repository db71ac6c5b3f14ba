// The availability-preserving manager with real SavedModels (versions are symlinks to test models).
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { suite, test } from 'node:test';

import type { Tensor } from '../../src/model/tensor.js';
import { ModelManager } from '../../src/serving/manager.js';
import type { Servable } from '../../src/serving/servable.js';
import { loadServable, REPO_ROOT } from '../helpers.js';

const HALF_PLUS_TWO = path.join(REPO_ROOT, 'models', 'half_plus_two', '1');

/** half_plus_two's serving_default on one value, by the graph tensor names its signature maps x and y to. */
function run(servable: Servable, value: number): Promise<Tensor[]> {
  const { inputs, outputs } = servable.signatures['serving_default']!;
  return servable.run({ feeds: { [inputs['x']!.name]: { dtype: 'float32', shape: [1], data: [value] } }, fetches: [outputs['y']!.name] });
}

function versionDir(target: string): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tfserve-manager-'));
  const version = path.join(dir, 'v');
  fs.symlinkSync(target, version);
  return version;
}

function newManager(options: Partial<ConstructorParameters<typeof ModelManager>[0]> = {}): { manager: ModelManager; logs: string[] } {
  const logs: string[] = [];
  const manager = new ModelManager({
    load: loadServable,
    maxLoadRetries: 1,
    loadRetryIntervalMs: 10,
    log: { info: (m) => logs.push(m), warn: (m) => logs.push(m), error: (m) => logs.push(m) },
    ...options,
  });
  return { manager, logs };
}

async function predictY(manager: ModelManager, spec: { version?: number; label?: string } = {}): Promise<{ version: number; y: number }> {
  const handle = manager.acquire('m', spec);
  try {
    const out = await run(handle.servable, 2);
    return { version: handle.version, y: (out[0]!.data as Float32Array)[0]! };
  } finally {
    handle.release();
  }
}

suite('ModelManager', () => {
  test('loads the aspired version and logs TF Serving\'s success line', async () => {
    const { manager, logs } = newManager();
    manager.setAspiredVersions('m', [{ version: 1, path: HALF_PLUS_TWO }]);
    await manager.settled();
    assert.deepEqual(manager.status('m'), [{ version: 1, state: 'AVAILABLE', error: null }]);
    assert.ok(logs.includes('Successfully loaded servable version {name: m version: 1}'));
    assert.deepEqual(await predictY(manager), { version: 1, y: 3 });
    await manager.close();
    assert.deepEqual(manager.status('m'), [{ version: 1, state: 'END', error: null }]);
  });

  test('a new version serves before the old one unloads; an unload waits for requests holding it', async () => {
    const { manager } = newManager();
    manager.setAspiredVersions('m', [{ version: 1, path: versionDir(HALF_PLUS_TWO) }]);
    await manager.settled();
    const held = manager.acquire('m');
    manager.setAspiredVersions('m', [{ version: 2, path: versionDir(HALF_PLUS_TWO) }]);
    // Until version 2 is AVAILABLE, latest stays 1; afterwards 1 is UNLOADING until released.
    await new Promise<void>((resolve) => manager.once('available', () => resolve()));
    const latest = manager.acquire('m');
    assert.equal(latest.version, 2);
    latest.release();
    await new Promise((resolve) => setTimeout(resolve, 50));
    assert.equal(manager.status('m').find((s) => s.version === 1)?.state, 'UNLOADING');
    const out = await run(held.servable, 4);
    assert.equal((out[0]!.data as Float32Array)[0], 4, 'the held version still answers');
    held.release();
    await manager.settled();
    assert.deepEqual(manager.status('m').map((s) => [s.version, s.state]), [[2, 'AVAILABLE'], [1, 'END']]);
    await manager.close();
  });

  test('EXPECTED FAILURE - a version that fails to load ends with its error after retries; the old one keeps serving', async () => {
    const { manager, logs } = newManager();
    manager.setAspiredVersions('m', [{ version: 1, path: HALF_PLUS_TWO }]);
    await manager.settled();
    manager.setAspiredVersions('m', [{ version: 2, path: path.join(os.tmpdir(), 'no-such-model-dir') }]);
    await manager.settled();
    const [two, one] = manager.status('m');
    assert.equal(two!.state, 'END');
    assert.equal(two!.error?.code, 'NOT_FOUND');
    assert.equal(one!.state, 'AVAILABLE');
    assert.equal((await predictY(manager)).version, 1);
    assert.ok(logs.some((line) => /retrying in 10 ms/.test(line)));
    await manager.close();
  });

  test('labels, specific versions and unknown models answer with TF Serving\'s texts', async () => {
    const { manager } = newManager();
    manager.setAspiredVersions('m', [
      { version: 1, path: versionDir(HALF_PLUS_TWO) },
      { version: 3, path: versionDir(HALF_PLUS_TWO) },
    ]);
    await manager.settled();
    manager.setLabels('m', new Map([['stable', 1]]));
    assert.equal((await predictY(manager, { label: 'stable' })).version, 1);
    assert.equal((await predictY(manager, { version: 3 })).version, 3);
    assert.equal((await predictY(manager)).version, 3);
    assert.throws(() => manager.acquire('m', { label: 'canary' }), { code: 'INVALID_ARGUMENT', message: 'Unrecognized servable version label: canary' });
    assert.throws(() => manager.acquire('m', { version: 7 }), { code: 'NOT_FOUND', message: 'Servable not found for request: Specific(m, 7)' });
    assert.throws(() => manager.acquire('other'), { code: 'NOT_FOUND', message: 'Servable not found for request: Latest(other)' });
    manager.removeModel('m');
    await manager.settled();
    assert.ok(manager.status('m').every((s) => s.state === 'END'));
    await manager.close();
  });
});

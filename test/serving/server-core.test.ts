// src/serving/server-core.ts's readiness (KServe v2's server ready): every configured model has an
// AVAILABLE version. Real base paths in a temporary folder, real loads of the bundled model.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { suite, test, type TestContext } from 'node:test';

import { singleModelConfig } from '../../src/serving/model-config.js';
import { ServerCore } from '../../src/serving/server-core.js';
import { loadServable, REPO_ROOT } from '../helpers.js';

const HALF = path.join(REPO_ROOT, 'models', 'half_plus_two', '1');
const SILENT = { info() {}, warn() {}, error() {} };

function tempDir(t: TestContext): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tfserve-core-'));
  t.after(() => fs.rmSync(dir, { recursive: true, force: true }));
  return dir;
}

function core(t: TestContext, configs: ReturnType<typeof singleModelConfig>[], pollWaitSeconds = -1): ServerCore {
  const created = new ServerCore(configs, { load: loadServable, pollWaitSeconds, maxLoadRetries: 0, log: SILENT });
  t.after(() => created.close());
  return created;
}

/** Waits (the source's poll timer does not keep the process alive) until the core is ready. */
async function becomesReady(server: ServerCore): Promise<void> {
  const deadline = Date.now() + 60_000;
  while (!server.ready()) {
    if (Date.now() > deadline) assert.fail('the server did not become ready within 60 s');
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

suite('ServerCore readiness', () => {
  test('ready once every configured model has an AVAILABLE version; configured models are known by name', async (t) => {
    const dir = tempDir(t);
    fs.cpSync(HALF, path.join(dir, 'a', '1'), { recursive: true });
    fs.mkdirSync(path.join(dir, 'b'));
    // Polled every 50 ms, so that a version dropped into b is found while serving.
    const server = core(t, [singleModelConfig('a', path.join(dir, 'a')), singleModelConfig('b', path.join(dir, 'b'))], 0.05);
    assert.equal(server.ready(), false, 'nothing is loaded before start');
    await server.start();
    assert.equal(server.ready(), false, "b's base path holds no version yet");
    assert.deepEqual([server.isConfigured('a'), server.isConfigured('b'), server.isConfigured('c')], [true, true, false]);
    fs.cpSync(HALF, path.join(dir, 'b', '7'), { recursive: true });
    await becomesReady(server);
    assert.equal(server.manager.isAvailable('b', 7), true);
    await server.close();
    assert.equal(server.ready(), false, 'not ready once closing');
  });

  test('EXPECTED FAILURE - a missing base path, or a model added by a reload and still loading, is not ready', async (t) => {
    const dir = tempDir(t);
    fs.cpSync(HALF, path.join(dir, 'a', '1'), { recursive: true });
    const missing = core(t, [singleModelConfig('a', path.join(dir, 'a')), singleModelConfig('gone', path.join(dir, 'gone'))]);
    await missing.start();
    assert.equal(missing.ready(), false);

    const server = core(t, [singleModelConfig('a', path.join(dir, 'a'))]);
    await server.start();
    assert.equal(server.ready(), true);
    fs.cpSync(HALF, path.join(dir, 'c', '2'), { recursive: true });
    const reload = server.reloadConfig([...server.configs, singleModelConfig('c', path.join(dir, 'c'))]);
    assert.equal(server.ready(), false, 'c is configured and not yet loaded');
    await reload;
    assert.equal(server.ready(), true);
  });
});

// src/serving/server-core.ts's readiness (KServe v2's server ready): every configured model has an
// AVAILABLE version. Real base paths in a temporary folder, real loads of the bundled model. And its
// labels keep all of int64: a label on a version beyond 2^53 is named exactly in errors.
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

const HUGE = 9007199254740993n;

function labelled(version: bigint | number) {
  const config = singleModelConfig('half', path.dirname(HALF));
  config.versionLabels.set('canary', version);
  return [config];
}

function labelCore(t: TestContext, allowLabelsForUnavailableModels: boolean): ServerCore {
  const created = new ServerCore([singleModelConfig('half', path.dirname(HALF))], {
    load: loadServable,
    pollWaitSeconds: -1,
    allowLabelsForUnavailableModels,
    log: SILENT,
  });
  t.after(() => created.close());
  return created;
}

suite('ServerCore version labels', () => {
  test('EXPECTED FAILURE - a label on an unavailable version beyond 2^53 names it digit for digit', async (t) => {
    const server = labelCore(t, false);
    await server.start();
    await assert.rejects(server.reloadConfig(labelled(HUGE)), {
      code: 'FAILED_PRECONDITION',
      message: `Request to assign label to version ${HUGE} of model half, which is not currently available for inference`,
    });
  });

  test('EXPECTED FAILURE - with --allow_version_labels_for_unavailable_models the request through it is NOT_FOUND, exactly', async (t) => {
    const server = labelCore(t, true);
    await server.start();
    await server.reloadConfig(labelled(HUGE));
    assert.throws(() => server.manager.acquire('half', { label: 'canary' }), {
      code: 'NOT_FOUND',
      message: `Servable not found for request: Specific(half, ${HUGE})`,
    });
    // A label on a loaded version still serves.
    await server.reloadConfig(labelled(1));
    const handle = server.manager.acquire('half', { label: 'canary' });
    assert.equal(handle.version, 1);
    handle.release();
  });
});

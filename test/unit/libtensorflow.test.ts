import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
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
});

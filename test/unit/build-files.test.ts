import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';

import { REPO_ROOT } from '../helpers.js';

test('binding.gyp and CMakeLists.txt build the same native sources, and every one of them', () => {
  const gyp = fs.readFileSync(path.join(REPO_ROOT, 'binding.gyp'), 'utf8');
  const cmake = fs.readFileSync(path.join(REPO_ROOT, 'CMakeLists.txt'), 'utf8');
  const fromGyp = [...gyp.matchAll(/"(native\/[\w.]+\.cc)"/g)].map((m) => m[1]).sort();
  const fromCmake = [...cmake.matchAll(/^\s*(native\/[\w.]+\.cc)\s*$/gm)].map((m) => m[1]).sort();
  const onDisk = fs.readdirSync(path.join(REPO_ROOT, 'native')).filter((f) => f.endsWith('.cc')).map((f) => `native/${f}`).sort();
  assert.deepEqual(fromGyp, onDisk);
  assert.deepEqual(fromCmake, onDisk);
});

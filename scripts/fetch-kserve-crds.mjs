// The KServe CRDs (ServingRuntime, InferenceService) and KServe's protocol names, for the test that
// validates deploy/kserve/ (test/deploy/manifests.test.ts). No npm package ships them; KServe's Go
// module does (config/crd/full/, pkg/constants/constants.go), so they come from the Go module proxy
// through `go mod download`, which checks the module against the Go checksum database; the module
// hash is pinned here as well. Only the three files are kept, in
// ${TFSERVE_CACHE_DIR:-~/.cache/tfserve}/kserve-<version>/; the 60 MB module goes.
//
// `node scripts/fetch-kserve-crds.mjs` prints the folder. Exit code 3 means the files cannot be had
// here (no `go`, no network) and the reason is on stderr: the test skips on it and fails on anything else.

import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import { createRequire } from 'node:module';
import os from 'node:os';
import path from 'node:path';

const require = createRequire(import.meta.url);
const { cacheRoot } = require('./libtensorflow.cjs');

export const KSERVE_MODULE = 'github.com/kserve/kserve';
export const KSERVE_VERSION = 'v0.20.0';
// go.sum's h1: hash of the module zip.
const KSERVE_SUM = 'h1:Bs7HxmGV4KFqqptDcWseKv+mwD4YOYHJWcuVgPG2Gug=';
export const KSERVE_FILES = [
  'config/crd/full/serving.kserve.io_servingruntimes.yaml',
  'config/crd/full/serving.kserve.io_inferenceservices.yaml',
  'pkg/constants/constants.go',
];

/** A failure that means "not available on this machine", as opposed to a broken download. */
export class Unavailable extends Error {}

export function kserveDir() {
  return path.join(cacheRoot(), `kserve-${KSERVE_VERSION}`);
}

function complete(dir) {
  return KSERVE_FILES.every((file) => fs.existsSync(path.join(dir, path.basename(file))));
}

function go(args, env, cwd) {
  return spawnSync('go', args, { cwd, env, encoding: 'utf8', maxBuffer: 16 << 20 });
}

export function fetchKserveCrds() {
  const target = kserveDir();
  if (complete(target)) return target;

  const probe = spawnSync('go', ['version'], { encoding: 'utf8' });
  if (probe.error) throw new Unavailable(`the go command is not available (${probe.error.message})`);

  const work = fs.mkdtempSync(path.join(os.tmpdir(), 'tfserve-kserve-'));
  // A private module cache, removed afterwards, so the user's own cache is left alone. Outside any
  // module and with no go.work, `go mod download` fetches exactly the named version.
  const env = { ...process.env, GOMODCACHE: path.join(work, 'mod'), GOFLAGS: '-mod=mod', GO111MODULE: 'on', GOWORK: 'off' };
  const staging = `${target}.partial-${process.pid}`;
  try {
    const download = go(['mod', 'download', '-json', `${KSERVE_MODULE}@${KSERVE_VERSION}`], env, work);
    let info;
    try {
      info = JSON.parse(download.stdout);
    } catch {
      throw new Unavailable(`go mod download ${KSERVE_MODULE}@${KSERVE_VERSION} failed: ${download.stderr.trim() || `exit code ${download.status}`}`);
    }
    if (info.Error) throw new Unavailable(`go mod download ${KSERVE_MODULE}@${KSERVE_VERSION}: ${info.Error}`);
    if (info.Sum !== KSERVE_SUM) throw new Error(`${KSERVE_MODULE}@${KSERVE_VERSION} has hash ${info.Sum}, expected ${KSERVE_SUM}`);
    fs.rmSync(staging, { recursive: true, force: true });
    fs.mkdirSync(staging, { recursive: true });
    for (const file of KSERVE_FILES) {
      fs.copyFileSync(path.join(info.Dir, file), path.join(staging, path.basename(file)));
    }
    fs.writeFileSync(path.join(staging, 'SOURCE'), `${KSERVE_MODULE}@${KSERVE_VERSION} ${info.Sum}: ${KSERVE_FILES.join(', ')}\n`);
    fs.mkdirSync(path.dirname(target), { recursive: true });
    try {
      fs.renameSync(staging, target);
    } catch (err) {
      // Another run finished first with the same files.
      if (!complete(target)) throw err;
    }
  } finally {
    // The module cache is read-only by design; go clean is the way to remove it.
    go(['clean', '-modcache'], env, work);
    fs.rmSync(work, { recursive: true, force: true });
    fs.rmSync(staging, { recursive: true, force: true });
  }
  return target;
}

if (import.meta.url === `file://${process.argv[1]}`) {
  try {
    process.stdout.write(`${fetchKserveCrds()}\n`);
  } catch (err) {
    process.stderr.write(`${err.message}\n`);
    process.exit(err instanceof Unavailable ? 3 : 1);
  }
}

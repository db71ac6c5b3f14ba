'use strict';
// Where libtensorflow lives. One answer shared by the installer, binding.gyp, CMakeLists.txt and the
// runtime, so that they can never disagree. Order: TFSERVE_LIBTENSORFLOW, a system install, the
// per-user cache that scripts/install-libtensorflow.mjs fills from the official PyPI wheel.

const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');

const pkg = require('../package.json');

const VERSION = pkg.tfserve.libtensorflowVersion;

// The wheel ships the C API inside libtensorflow_cc, with tensor functions in the framework library;
// the standalone C tarballs and system installs ship libtensorflow instead.
const LIBRARY_SETS = [
  ['libtensorflow_cc.so.2', 'libtensorflow_framework.so.2'],
  ['libtensorflow.so.2', 'libtensorflow_framework.so.2'],
  ['libtensorflow.so'],
];

const SYSTEM_PREFIXES = ['/usr/local', '/usr'];

function cacheRoot() {
  if (process.env.TFSERVE_CACHE_DIR) return path.resolve(process.env.TFSERVE_CACHE_DIR);
  const base = process.env.XDG_CACHE_HOME || path.join(os.homedir(), '.cache');
  return path.join(base, 'tfserve');
}

function nvidiaDriverPresent() {
  return fs.existsSync('/proc/driver/nvidia/version');
}

/** 'gpu' when TFSERVE_GPU=1, or when an NVIDIA driver is present and TFSERVE_GPU is not 0. */
function flavour() {
  const flag = process.env.TFSERVE_GPU;
  if (flag === '1' || flag === 'true') return 'gpu';
  if (flag === '0' || flag === 'false') return 'cpu';
  return nvidiaDriverPresent() ? 'gpu' : 'cpu';
}

function wheelProject(fl = flavour()) {
  return fl === 'gpu' ? 'tensorflow' : 'tensorflow-cpu';
}

function cacheDir(fl = flavour()) {
  return path.join(cacheRoot(), `libtensorflow-${fl}-${VERSION}`);
}

function hasHeaders(includeDir) {
  return fs.existsSync(path.join(includeDir, 'tensorflow', 'c', 'c_api.h'));
}

function findLibraries(libDir) {
  for (const set of LIBRARY_SETS) {
    if (set.every((name) => fs.existsSync(path.join(libDir, name)))) return set;
  }
  return null;
}

/** A layout with include/ and lib/ under `dir`, or null. */
function layoutAt(dir, source) {
  const includeDir = path.join(dir, 'include');
  const libDir = path.join(dir, 'lib');
  if (!hasHeaders(includeDir)) return null;
  const libraries = findLibraries(libDir);
  if (!libraries) return null;
  return { source, root: dir, includeDir, libDir, libraries };
}

function systemLayout() {
  const multiarch = os.arch() === 'arm64' ? 'aarch64-linux-gnu' : 'x86_64-linux-gnu';
  for (const prefix of SYSTEM_PREFIXES) {
    const includeDir = path.join(prefix, 'include');
    if (!hasHeaders(includeDir)) continue;
    for (const libDir of [path.join(prefix, 'lib'), path.join(prefix, 'lib', multiarch), path.join(prefix, 'lib64')]) {
      const libraries = findLibraries(libDir);
      if (libraries) return { source: 'system', root: prefix, includeDir, libDir, libraries };
    }
  }
  return null;
}

/**
 * The libtensorflow to build against, or null. An explicit TFSERVE_LIBTENSORFLOW that does not hold
 * a usable layout is an error, not a fall-through: the user asked for that one.
 */
function locate() {
  const explicit = process.env.TFSERVE_LIBTENSORFLOW;
  if (explicit) {
    const layout = layoutAt(path.resolve(explicit), 'TFSERVE_LIBTENSORFLOW');
    if (!layout) {
      throw new Error(
        `TFSERVE_LIBTENSORFLOW=${explicit} must hold include/tensorflow/c/c_api.h and lib/ with one of: ` +
          LIBRARY_SETS.map((set) => set.join(' + ')).join(', '),
      );
    }
    return layout;
  }
  return systemLayout() || layoutAt(cacheDir(), `cache (${wheelProject()} ${VERSION} wheel)`);
}

function notFoundMessage() {
  const project = wheelProject();
  return [
    'tfserve: libtensorflow was not found. Provide it in one of three ways:',
    '  1. Point at a folder with include/ and lib/ (an extracted official C tarball, for example):',
    '       TFSERVE_LIBTENSORFLOW=/path/to/libtensorflow npm install',
    '  2. Install it system-wide (headers under /usr/local/include/tensorflow/c, libtensorflow.so* in /usr/local/lib):',
    '       sudo tar -C /usr/local -xzf libtensorflow-cpu-linux-x86_64.tar.gz && sudo ldconfig',
    `  3. Let the installer fetch the official ${project}==${VERSION} wheel from PyPI with your pip:`,
    '       python3 -m pip --version   # pip must work, then run again:',
    '       npm install',
    `     It is cached in ${cacheDir()} and reused by every later install.`,
  ].join('\n');
}

function locateOrThrow() {
  const layout = locate();
  if (!layout) throw new Error(notFoundMessage());
  return layout;
}

/** Linker inputs: full paths, so the soname lands in DT_NEEDED and the rpath resolves it. */
function linkInputs(layout = locateOrThrow()) {
  return layout.libraries.map((name) => path.join(layout.libDir, name));
}

module.exports = {
  VERSION,
  LIBRARY_SETS,
  cacheRoot,
  cacheDir,
  flavour,
  wheelProject,
  layoutAt,
  locate,
  locateOrThrow,
  linkInputs,
  notFoundMessage,
};

// binding.gyp and CMakeLists.txt ask through the command line: `node scripts/libtensorflow.cjs include|libdir|libs`.
if (require.main === module) {
  try {
    const layout = locateOrThrow();
    const what = process.argv[2];
    if (what === 'include') process.stdout.write(layout.includeDir);
    else if (what === 'libdir') process.stdout.write(layout.libDir);
    else if (what === 'libs') process.stdout.write(linkInputs(layout).join(' '));
    else if (what === 'libs-cmake') process.stdout.write(linkInputs(layout).join(';'));
    else process.stdout.write(JSON.stringify(layout, null, 2) + '\n');
  } catch (err) {
    process.stderr.write(`${err.message}\n`);
    process.exit(1);
  }
}

// Makes sure libtensorflow is available before the addon is compiled.
// Plain JavaScript: it runs during `npm install`, before TypeScript is built.
//
// If scripts/libtensorflow.cjs finds nothing (TFSERVE_LIBTENSORFLOW, then a system install), the
// official TensorFlow wheel pinned in package.json is fetched with the machine's own pip, only the two
// shared libraries and the C API headers are extracted into the per-user cache, and the exported C API
// symbols are checked. Every later clone reuses the cache.
//
// The GPU flavour also needs CUDA 12's runtime libraries. Unless TFSERVE_CUDA_DIR names a CUDA
// install, the NVIDIA wheels that tensorflow[and-cuda] asks for (pinned to the versions TensorFlow was
// built against, package.json's cudaWheels) are unpacked beside lib/ as nvidia/<part>/lib: the layout
// that libtensorflow's own RUNPATH ($ORIGIN/../nvidia/cudnn/lib, ...) searches, so TensorFlow finds
// them with no LD_LIBRARY_PATH, exactly as it does inside a Python environment.

import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';

const require = createRequire(import.meta.url);
const libtensorflow = require('./libtensorflow.cjs');
const pkg = require('../package.json');

// Headers that tensorflow/c/*.h include, relative to the wheel's tensorflow/include/.
const HEADER_PREFIXES = [
  'tensorflow/c/',
  'tensorflow/core/platform/ctstring',
  'tsl/platform/ctstring',
  'xla/tsl/c/',
];
const LIBRARIES = ['libtensorflow_cc.so.2', 'libtensorflow_framework.so.2'];
const REQUIRED_SYMBOLS = {
  'libtensorflow_cc.so.2': [
    'TF_LoadSessionFromSavedModel', 'TF_SessionRun', 'TF_SetConfig', 'TF_GraphOperationByName', 'TF_StringInit',
  ],
  'libtensorflow_framework.so.2': ['TF_NewTensor', 'TF_AllocateTensor', 'TF_TensorData'],
};

function log(message) {
  process.stderr.write(`tfserve: ${message}\n`);
}

function python() {
  return process.env.PYTHON || 'python3';
}

function pipTags() {
  const arch = process.arch === 'arm64' ? 'aarch64' : 'x86_64';
  if (process.platform !== 'linux') {
    throw new Error(
      `fetching libtensorflow from PyPI is supported on Linux only (this is ${process.platform}); ` +
        'set TFSERVE_LIBTENSORFLOW to a folder with include/ and lib/',
    );
  }
  // The wheel's libraries do not link libpython, so any CPython tag serves; 3.11 has wheels for every
  // supported TensorFlow release.
  return [
    '--python-version', '3.11', '--implementation', 'cp', '--abi', 'cp311',
    ...['2_27', '2_17', '2014'].flatMap((glibc) => [
      '--platform', glibc === '2014' ? `manylinux2014_${arch}` : `manylinux_${glibc}_${arch}`,
    ]),
  ];
}

/** pip-downloads exact requirement specs (no dependencies) into workDir; returns the wheels' paths. */
function pipDownload(specs, workDir, what) {
  log(`downloading ${what} from PyPI with ${python()} -m pip (cached afterwards)`);
  const args = [
    '-m', 'pip', 'download', '--no-deps', '--only-binary=:all:', '--disable-pip-version-check',
    '--progress-bar', 'on', ...pipTags(), '-d', workDir, ...specs,
  ];
  const result = spawnSync(python(), args, { stdio: ['ignore', 'inherit', 'inherit'] });
  if (result.error || result.status !== 0) {
    const why = result.error ? result.error.message : `exit code ${result.status}`;
    throw new Error(`pip could not download ${specs.join(' ')} (${why})\n\n${libtensorflow.notFoundMessage()}`);
  }
  const wheels = fs.readdirSync(workDir).filter((name) => name.endsWith('.whl')).map((name) => path.join(workDir, name));
  if (wheels.length < specs.length) throw new Error(`pip reported success but left ${wheels.length} of ${specs.length} wheels in ${workDir}`);
  return wheels;
}

function downloadWheel(workDir) {
  const spec = `${libtensorflow.wheelProject()}==${libtensorflow.VERSION}`;
  const size = libtensorflow.flavour() === 'gpu' ? 'about 570 MB' : 'about 300 MB';
  return pipDownload([spec], workDir, `${spec} (${size})`)[0];
}

function verifyChecksum(wheelPath) {
  const expected = pkg.tfserve.wheelSha256?.[path.basename(wheelPath)];
  const hash = createHash('sha256');
  const fd = fs.openSync(wheelPath, 'r');
  const chunk = Buffer.allocUnsafe(1 << 20);
  let read;
  while ((read = fs.readSync(fd, chunk, 0, chunk.length, null)) > 0) hash.update(chunk.subarray(0, read));
  fs.closeSync(fd);
  const actual = hash.digest('hex');
  if (expected && actual !== expected) {
    throw new Error(`sha256 mismatch for ${path.basename(wheelPath)}: expected ${expected}, got ${actual}`);
  }
  log(`sha256 ${actual} ${expected ? '(matches package.json)' : '(PyPI hash checked by pip)'} ${path.basename(wheelPath)}`);
}

// A wheel is a zip; Python's zipfile is always there when pip is, so no zip dependency is needed.
const EXTRACT_PY = `
import sys, zipfile, os, shutil
wheel, out, prefixes, libs = sys.argv[1], sys.argv[2], sys.argv[3].split(','), sys.argv[4].split(',')
with zipfile.ZipFile(wheel) as z:
    for info in z.infolist():
        name = info.filename
        if info.is_dir():
            continue
        if name.startswith('tensorflow/include/'):
            rel = name[len('tensorflow/include/'):]
            if not any(rel.startswith(p) for p in prefixes):
                continue
            dest = os.path.join(out, 'include', rel)
        elif name.startswith('tensorflow/') and name[len('tensorflow/'):] in libs:
            dest = os.path.join(out, 'lib', name[len('tensorflow/'):])
        else:
            continue
        os.makedirs(os.path.dirname(dest), exist_ok=True)
        with z.open(info) as src, open(dest, 'wb') as dst:
            shutil.copyfileobj(src, dst, 1 << 22)
`;

function extract(wheelPath, outDir) {
  log(`extracting the C API headers and ${LIBRARIES.join(', ')}`);
  const result = spawnSync(
    python(),
    ['-c', EXTRACT_PY, wheelPath, outDir, HEADER_PREFIXES.join(','), LIBRARIES.join(',')],
    { stdio: 'inherit' },
  );
  if (result.status !== 0) throw new Error(`could not extract ${wheelPath}`);
  for (const lib of LIBRARIES) {
    if (!fs.existsSync(path.join(outDir, 'lib', lib))) {
      throw new Error(`${path.basename(wheelPath)} has no tensorflow/${lib}: its layout changed; pin another version`);
    }
  }
}

// The runtime parts of NVIDIA's wheels: nvidia/<part>/lib/*.so* and the nvcc wheel's ptxas and
// libdevice (which XLA's GPU compiler uses); no headers, static libraries or Python files.
const EXTRACT_CUDA_PY = `
import sys, zipfile, os, shutil
out, wheels = sys.argv[1], sys.argv[2:]
for wheel in wheels:
    with zipfile.ZipFile(wheel) as z:
        for info in z.infolist():
            name = info.filename
            if info.is_dir() or not name.startswith('nvidia/'):
                continue
            parts = name.split('/')
            keep = (len(parts) >= 4 and parts[2] in ('lib', 'lib64') and '.so' in parts[-1]) or \\
                   name.startswith('nvidia/cuda_nvcc/bin/ptxas') or name.startswith('nvidia/cuda_nvcc/nvvm/')
            if not keep or name.endswith('.a') or '/include/' in name:
                continue
            dest = os.path.join(out, name)
            os.makedirs(os.path.dirname(dest), exist_ok=True)
            with z.open(info) as src, open(dest, 'wb') as dst:
                shutil.copyfileobj(src, dst, 1 << 22)
            if '/bin/' in name:
                os.chmod(dest, 0o755)
`;

/**
 * The CUDA runtime libraries of the GPU flavour, in <root>/nvidia, unless TFSERVE_CUDA_DIR names a
 * CUDA install that the runtime preloads instead (src/model/cuda.ts). The COMPLETE marker makes an
 * interrupted install start over rather than leave half the libraries.
 */
function ensureCudaLibraries(root) {
  if (process.env.TFSERVE_CUDA_DIR) {
    log(`TFSERVE_CUDA_DIR=${process.env.TFSERVE_CUDA_DIR}: using that CUDA; not fetching NVIDIA's wheels`);
    return;
  }
  const target = path.join(root, 'nvidia');
  const marker = path.join(target, 'COMPLETE');
  if (fs.existsSync(marker)) {
    log(`CUDA 12 runtime libraries are in ${target}`);
    return;
  }
  const specs = pkg.tfserve.cudaWheels;
  const staging = `${target}.partial-${process.pid}`;
  const downloads = `${root}.cuda-download-${process.pid}`;
  fs.rmSync(staging, { recursive: true, force: true });
  fs.rmSync(downloads, { recursive: true, force: true });
  fs.mkdirSync(downloads, { recursive: true });
  const started = Date.now();
  try {
    const wheels = pipDownload(specs, downloads, `the CUDA 12 runtime that tensorflow[and-cuda]==${libtensorflow.VERSION} pins (${specs.length} wheels, about 1.9 GB)`);
    for (const wheel of wheels) verifyChecksum(wheel);
    log(`extracting the CUDA libraries into ${target}`);
    const extracted = spawnSync(python(), ['-c', EXTRACT_CUDA_PY, staging, ...wheels], { stdio: 'inherit' });
    if (extracted.status !== 0) throw new Error('could not extract the CUDA wheels');
    fs.rmSync(target, { recursive: true, force: true });
    fs.renameSync(path.join(staging, 'nvidia'), target);
    fs.writeFileSync(marker, `${specs.join('\n')}\n`);
  } finally {
    fs.rmSync(staging, { recursive: true, force: true });
    fs.rmSync(downloads, { recursive: true, force: true });
  }
  log(`CUDA 12 runtime libraries ready in ${target} (${formatBytes(treeBytes(target))}, ${((Date.now() - started) / 1000).toFixed(0)} s)`);
}

function treeBytes(dir) {
  let total = 0;
  for (const entry of fs.readdirSync(dir, { withFileTypes: true, recursive: true })) {
    if (entry.isFile()) total += fs.statSync(path.join(entry.parentPath ?? entry.path, entry.name)).size;
  }
  return total;
}

function formatBytes(bytes) {
  return bytes >= 1e9 ? `${(bytes / 1e9).toFixed(2)} GB` : `${(bytes / 1e6).toFixed(0)} MB`;
}

function checkExports(libDir) {
  for (const [lib, symbols] of Object.entries(REQUIRED_SYMBOLS)) {
    const result = spawnSync('nm', ['-D', '--defined-only', path.join(libDir, lib)], {
      encoding: 'utf8',
      maxBuffer: 256 << 20,
    });
    if (result.error) {
      log(`nm is not available (${result.error.message}); skipping the exported-symbol check`);
      return;
    }
    const exported = new Set(
      result.stdout.split('\n').map((line) => line.split(/\s+/).pop()?.replace(/@.*$/, '')),
    );
    const missing = symbols.filter((symbol) => !exported.has(symbol));
    if (missing.length > 0) {
      throw new Error(`${lib} does not export the C API symbols ${missing.join(', ')}; this wheel cannot be used`);
    }
  }
  log('C API symbols are exported');
}

export function ensureLibtensorflow() {
  const found = libtensorflow.locate();
  if (found) {
    log(`using libtensorflow from ${found.source}: ${found.root}`);
    if (libtensorflow.flavour() === 'gpu' && found.root === libtensorflow.cacheDir()) ensureCudaLibraries(found.root);
    return found;
  }
  const target = libtensorflow.cacheDir();
  const staging = `${target}.partial-${process.pid}`;
  fs.rmSync(staging, { recursive: true, force: true });
  fs.mkdirSync(staging, { recursive: true });
  try {
    const downloads = path.join(staging, 'download');
    fs.mkdirSync(downloads);
    const wheel = downloadWheel(downloads);
    verifyChecksum(wheel);
    extract(wheel, staging);
    checkExports(path.join(staging, 'lib'));
    fs.rmSync(downloads, { recursive: true, force: true });
    fs.writeFileSync(
      path.join(staging, 'SOURCE'),
      `${path.basename(wheel)} from PyPI, extracted by tfserve ${pkg.version}\n`,
    );
    // A concurrent install may have finished first; both results are identical, keep theirs.
    try {
      fs.renameSync(staging, target);
    } catch (err) {
      if (!fs.existsSync(target)) throw err;
    }
  } finally {
    fs.rmSync(staging, { recursive: true, force: true });
  }
  const layout = libtensorflow.locate();
  if (!layout) throw new Error(`extracted libtensorflow into ${target} but it is not usable`);
  log(`libtensorflow ${libtensorflow.VERSION} (${libtensorflow.flavour()}) is ready in ${target}`);
  if (libtensorflow.flavour() === 'gpu') ensureCudaLibraries(target);
  return layout;
}

if (import.meta.url === `file://${process.argv[1]}`) {
  try {
    ensureLibtensorflow();
  } catch (err) {
    log(err.message);
    process.exit(1);
  }
}

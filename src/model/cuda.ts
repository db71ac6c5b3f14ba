/**
 * A CUDA install outside the loader's search path, named by TFSERVE_CUDA_DIR, made visible to
 * TensorFlow without LD_LIBRARY_PATH.
 *
 * TensorFlow dlopen()s CUDA's libraries by soname when it first looks for GPUs, searching its own
 * RUNPATH (which the installer's nvidia/ layout matches) and then the system's. A library already
 * loaded under that soname is reused, so loading the named install's libraries first, dependencies
 * before dependants, makes TensorFlow use them. The directory may be a CUDA toolkit (lib64/,
 * targets/<arch>-linux/lib/), a folder of libraries, or the nvidia/ folder of a Python environment
 * where `pip install tensorflow[and-cuda]` put them (<part>/lib/).
 */
import fs from 'node:fs';
import path from 'node:path';

/** CUDA 12 runtime sonames TensorFlow uses, each after the libraries it links. */
export const CUDA_LIBRARIES: readonly string[] = [
  'libcudart.so.12',
  'libnvJitLink.so.12',
  'libnvrtc.so.12',
  'libcublasLt.so.12',
  'libcublas.so.12',
  'libcufft.so.11',
  'libcurand.so.10',
  'libcusparse.so.12',
  'libcusolver.so.11',
  'libcupti.so.12',
  'libnccl.so.2',
  'libcudnn_graph.so.9',
  'libcudnn_engines_precompiled.so.9',
  'libcudnn_engines_runtime_compiled.so.9',
  'libcudnn_heuristic.so.9',
  'libcudnn_ops.so.9',
  'libcudnn_cnn.so.9',
  'libcudnn_adv.so.9',
  'libcudnn.so.9',
];

export interface CudaPreload {
  readonly dir: string;
  /** Full paths loaded, in order. */
  readonly loaded: readonly string[];
  /** Sonames not found under dir (the system's, if any, serve for those). */
  readonly missing: readonly string[];
  /** Libraries found that did not load, with dlerror()'s text. */
  readonly failed: readonly { readonly path: string; readonly error: string }[];
  /** A folder with bin/ptxas and nvvm/libdevice for XLA's GPU compiler, if the install has one. */
  readonly dataDir: string | null;
}

function searchDirs(dir: string): string[] {
  const dirs = [dir, path.join(dir, 'lib64'), path.join(dir, 'lib'), path.join(dir, 'targets', `${process.arch === 'arm64' ? 'sbsa' : 'x86_64'}-linux`, 'lib')];
  try {
    for (const entry of fs.readdirSync(dir, { withFileTypes: true })) {
      if (entry.isDirectory()) dirs.push(path.join(dir, entry.name, 'lib'));
    }
  } catch {
    // reported by the caller as every library missing
  }
  return dirs;
}

/** Where each CUDA library is under dir, in load order. */
export function findCudaLibraries(dir: string): { found: string[]; missing: string[] } {
  const dirs = searchDirs(dir);
  const found: string[] = [];
  const missing: string[] = [];
  for (const soname of CUDA_LIBRARIES) {
    const hit = dirs.map((d) => path.join(d, soname)).find((candidate) => fs.existsSync(candidate));
    if (hit) found.push(hit);
    else missing.push(soname);
  }
  return { found, missing };
}

/** The XLA data dir (bin/ptxas, nvvm/libdevice) in a CUDA install or beside a libtensorflow. */
export function cudaDataDir(dir: string): string | null {
  for (const candidate of [dir, path.join(dir, 'cuda_nvcc')]) {
    if (fs.existsSync(path.join(candidate, 'bin', 'ptxas'))) return candidate;
  }
  return null;
}

export function preloadCuda(dir: string, preload: (paths: string[]) => (string | null)[]): CudaPreload {
  const resolved = path.resolve(dir);
  const { found, missing } = findCudaLibraries(resolved);
  const outcomes = found.length > 0 ? preload(found) : [];
  const loaded: string[] = [];
  const failed: { path: string; error: string }[] = [];
  found.forEach((file, i) => {
    const error = outcomes[i];
    if (error == null) loaded.push(file);
    else failed.push({ path: file, error });
  });
  return { dir: resolved, loaded, missing, failed, dataDir: cudaDataDir(resolved) };
}

/**
 * Points XLA's GPU compiler at ptxas and libdevice, unless XLA_FLAGS already says where: the
 * installer's nvidia/cuda_nvcc beside libtensorflow's lib/, or the TFSERVE_CUDA_DIR install's. XLA
 * reads XLA_FLAGS when it first compiles, after this.
 */
export function setXlaDataDir(dataDir: string | null, env: NodeJS.ProcessEnv = process.env): void {
  if (dataDir === null || /--xla_gpu_cuda_data_dir\b/.test(env['XLA_FLAGS'] ?? '')) return;
  env['XLA_FLAGS'] = `${env['XLA_FLAGS'] ? `${env['XLA_FLAGS']} ` : ''}--xla_gpu_cuda_data_dir=${dataDir}`;
}

/** The directory of a loaded shared library, from /proc/self/maps; null where there is none. */
export function loadedLibraryDir(soname: string): string | null {
  try {
    const maps = fs.readFileSync('/proc/self/maps', 'utf8');
    for (const line of maps.split('\n')) {
      const file = line.slice(line.indexOf('/'));
      if (line.includes('/') && path.basename(file) === soname) return path.dirname(file);
    }
  } catch {
    // not Linux
  }
  return null;
}

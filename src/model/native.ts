/**
 * The only place that loads the compiled addon. It is loaded on first use, so the pure-TypeScript
 * parts of tfserve (the REST client, image preprocessing) work where the addon is not built.
 */
import path from 'node:path';

import { cudaDataDir, type CudaPreload, loadedLibraryDir, preloadCuda, setXlaDataDir } from './cuda.js';

export type NativeFeed = [name: string, tfType: number, shape: number[], data: ArrayBufferView | Array<string | Uint8Array>];
export type NativeOutput = [tfType: number, shape: number[], data: ArrayBuffer | Uint8Array[]];

export interface NativeSavedModel {
  /** With collectMetadata, the result array carries the run's serialized RunMetadata. */
  run(
    feeds: readonly NativeFeed[],
    fetches: readonly string[],
    runOptions?: Uint8Array,
    collectMetadata?: boolean,
  ): Promise<NativeOutput[] & { runMetadata?: Uint8Array }>;
  close(): Promise<void>;
  readonly activeRuns: number;
}

export interface NativeBinding {
  readonly tensorflowVersion: string;
  readonly SavedModel: new (...args: unknown[]) => NativeSavedModel;
  loadSavedModel(
    exportDir: string,
    tags: string[],
    configProto?: Uint8Array,
  ): Promise<{ model: NativeSavedModel; metaGraphDef: Uint8Array; devices: [name: string, type: string, memoryBytes: number][] }>;
  /** The serialized KernelList of an op's registered kernels (native/platform.h). */
  registeredKernels(op: string): Uint8Array;
  /** dlopen()s each absolute path, RTLD_GLOBAL; per path null or dlerror()'s text. */
  preloadLibraries(paths: string[]): (string | null)[];
  allocAligned(bytes: number): ArrayBuffer;
  /** The JSON parser's bulk number reader (native/json_numbers.h). */
  scanDenseNumbers(bytes: Uint8Array, start: number): [number, number[], Float64Array, Uint8Array, number] | null;
  /** glibc's malloc_trim(0) (native/memory.h): true when memory went back to the OS. */
  trimMemory(): boolean;
  /** glibc's mallinfo2 in bytes, or null without glibc. */
  mallocStats(): { arena: number; inUse: number; free: number; mmap: number } | null;
  _inputCopies(): number;
  _liveAlignedBlocks(): number;
  _addressOf(array: ArrayBufferView): bigint;
}

let loaded: NativeBinding | undefined;
let cuda: CudaPreload | null = null;

const PACKAGE_ROOT = path.resolve(__dirname, '..', '..');

export function binding(): NativeBinding {
  if (loaded) return loaded;
  // TensorFlow logs every INFO line to stderr (oneDNN notes, CPU features) unless told otherwise;
  // warnings and errors still show. An explicit setting by the user wins.
  process.env['TF_CPP_MIN_LOG_LEVEL'] ??= '1';
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const load = require('node-gyp-build') as (dir: string) => NativeBinding;
  const native = load(findPackageRoot());
  const cudaDir = process.env['TFSERVE_CUDA_DIR'];
  if (cudaDir) {
    // Before any session exists, since TensorFlow looks for CUDA's libraries when it first lists devices.
    cuda = preloadCuda(cudaDir, (paths) => native.preloadLibraries(paths));
    setXlaDataDir(cuda.dataDir);
    const problems = [
      ...cuda.failed.map((f) => `${f.path} did not load (${f.error})`),
      ...(cuda.missing.length > 0 ? [`not found under it: ${cuda.missing.join(', ')}`] : []),
    ];
    if (problems.length > 0) {
      process.emitWarning(`TFSERVE_CUDA_DIR=${cudaDir}: ${problems.join('; ')}; TensorFlow looks for those on the system path`, 'TfServeCudaWarning');
    }
  } else {
    const libDir = loadedLibraryDir('libtensorflow_framework.so.2');
    if (libDir !== null) setXlaDataDir(cudaDataDir(path.join(libDir, '..', 'nvidia')));
  }
  loaded = native;
  return loaded;
}

/** What TFSERVE_CUDA_DIR made TensorFlow use, or null when it is not set. */
export function cudaPreload(): CudaPreload | null {
  binding();
  return cuda;
}

function findPackageRoot(): string {
  // dist/model/native.js in a package, dist-test/src/model/native.js in the test build.
  for (const candidate of [PACKAGE_ROOT, path.resolve(__dirname, '..', '..', '..')]) {
    try {
      // eslint-disable-next-line @typescript-eslint/no-require-imports
      if ((require(path.join(candidate, 'package.json')) as { name?: string }).name === 'tfserve') return candidate;
    } catch {
      // not this one
    }
  }
  return PACKAGE_ROOT;
}

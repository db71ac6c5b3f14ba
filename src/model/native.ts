/**
 * The only place that loads the compiled addon. It is loaded on first use, so the pure-TypeScript
 * parts of tfserve (the REST client, image preprocessing) work where the addon is not built.
 */
import path from 'node:path';

export type NativeFeed = [name: string, tfType: number, shape: number[], data: ArrayBufferView | Array<string | Uint8Array>];
export type NativeOutput = [tfType: number, shape: number[], data: ArrayBuffer | Uint8Array[]];

export interface NativeSavedModel {
  run(feeds: readonly NativeFeed[], fetches: readonly string[], runOptions?: Uint8Array): Promise<NativeOutput[]>;
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
  ): Promise<{ model: NativeSavedModel; metaGraphDef: Uint8Array }>;
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

const PACKAGE_ROOT = path.resolve(__dirname, '..', '..');

export function binding(): NativeBinding {
  if (loaded) return loaded;
  // TensorFlow logs every INFO line to stderr (oneDNN notes, CPU features) unless told otherwise;
  // warnings and errors still show. An explicit setting by the user wins.
  process.env['TF_CPP_MIN_LOG_LEVEL'] ??= '1';
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const load = require('node-gyp-build') as (dir: string) => NativeBinding;
  loaded = load(findPackageRoot());
  return loaded;
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

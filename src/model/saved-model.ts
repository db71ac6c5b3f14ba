/**
 * SavedModel: a loaded TensorFlow SavedModel whose signatures run asynchronously on native threads.
 * Validation happens here with friendly messages; the binding re-validates everything it is given.
 */
import fs from 'node:fs';
import path from 'node:path';

import { type DeviceInfo, devicesFromNative, type Placement, placementFromRunMetadata } from './devices.js';
import { DTYPES, isDType } from './dtypes.js';
import { fromNative, invalidArgument, TfServeError } from './errors.js';
import { binding, type NativeFeed, type NativeOutput, type NativeSavedModel } from './native.js';
import { encodeRunOptions, encodeSessionConfig, interOpExecution, type InterOpExecution, type SessionConfig } from './session-config.js';
import { type MetaGraphInfo, parseMetaGraphDef, type SignatureDefJson, type SignatureInfo, type TensorInfo } from './signature.js';
import { checkTensorInput, fromNativeOutput, type Tensor, type TensorInput, toNativeData } from './tensor.js';

export const DEFAULT_SIGNATURE = 'serving_default';
export const DEFAULT_TAGS: readonly string[] = ['serve'];

export interface LoadOptions {
  /** MetaGraph tags to load; default ['serve']. */
  tags?: string[];
  config?: SessionConfig;
}

export interface PredictOptions {
  /** Signature key; default 'serving_default'. */
  signature?: string;
  /** Output keys to compute; default all outputs of the signature. */
  outputs?: string[];
  /** Abort the run with DEADLINE_EXCEEDED after this many milliseconds (RunOptions.timeout_in_ms). */
  timeoutMs?: number;
  /**
   * Check input shapes against the signature (default true). TF Serving does not, since a signature
   * tensor need not be a placeholder; its REST layer turns this off to behave the same.
   */
  checkShapes?: boolean;
  /**
   * Check input dtypes against the signature (default true). When false, each input is fed with the
   * dtype the caller gives and checked only against the graph tensor it feeds, as TF does: a SignatureDef
   * may record a dtype its tensor does not have (TF Serving's saved_model_half_plus_three records
   * DT_FLOAT for a string placeholder). A mismatch with the graph rejects with INVALID_ARGUMENT.
   */
  checkDtypes?: boolean;
}

export interface RunOptions {
  /** Abort the run with DEADLINE_EXCEEDED after this many milliseconds (RunOptions.timeout_in_ms). */
  timeoutMs?: number;
}

export type PredictInputs = Record<string, TensorInput>;
export type PredictOutputs = Record<string, Tensor>;

function shapeMatches(expected: number[] | null, actual: readonly number[]): boolean {
  if (expected === null) return true;
  if (expected.length !== actual.length) return false;
  return expected.every((dim, i) => dim < 0 || dim === actual[i]);
}

function formatShape(shape: readonly number[] | null): string {
  return shape === null ? '<unknown rank>' : `[${shape.join(',')}]`;
}

// Distinct timeouts whose serialized RunOptions a model keeps; in practice there are one or two.
const MAX_CACHED_RUN_OPTIONS = 64;
// After a run overran a deadline tfserve keeps, how long TensorFlow enforces the model's deadlines.
const TF_DEADLINE_WINDOW_MS = 60_000;

function checkTimeout(timeoutMs: unknown): number {
  if (typeof timeoutMs !== 'number' || !Number.isSafeInteger(timeoutMs) || timeoutMs <= 0) {
    throw invalidArgument(`Expected positive integer for timeoutMs but received ${String(timeoutMs)}`);
  }
  return timeoutMs;
}

export class SavedModel {
  readonly path: string;
  readonly tags: readonly string[];
  readonly signatures: Readonly<Record<string, SignatureInfo>>;
  /** Every SignatureDef, the init op included, in protobuf JSON form (TF Serving's metadata answer). */
  readonly signatureDefJson: Readonly<Record<string, SignatureDefJson>>;
  /** The devices the model's session may place ops on (CPU:0, and GPU:n where TensorFlow found GPUs). */
  readonly devices: readonly DeviceInfo[];
  readonly #native: NativeSavedModel;
  readonly #execution: InterOpExecution;
  readonly #runOptions = new Map<number | undefined, Uint8Array | undefined>();
  #disposal: Promise<void> | null = null;
  /** Until when deadlines go to TensorFlow's pool (see #runWithDeadline). */
  #tfDeadlinesUntil = 0;
  #placement: Placement | null = null;
  /** A traced run is in flight: the others run untraced. */
  #tracing = false;
  #placed: { promise: Promise<Placement>; resolve: (placement: Placement) => void } | null = null;

  private constructor(
    exportDir: string,
    tags: readonly string[],
    metaGraph: MetaGraphInfo,
    native: NativeSavedModel,
    execution: InterOpExecution,
    devices: readonly DeviceInfo[],
  ) {
    this.path = exportDir;
    this.tags = Object.freeze([...tags]);
    this.signatures = Object.freeze({ ...metaGraph.signatures });
    this.signatureDefJson = Object.freeze({ ...metaGraph.signatureDefJson });
    this.devices = devices;
    this.#native = native;
    this.#execution = execution;
  }

  static async load(exportDir: string, options: LoadOptions = {}): Promise<SavedModel> {
    const callerStack = new Error();
    if (typeof exportDir !== 'string' || exportDir.length === 0) {
      throw invalidArgument(`Expected path string for exportDir but received ${String(exportDir)}`);
    }
    if (exportDir.includes('\0')) throw invalidArgument('Expected path string without NUL bytes for exportDir');
    if (typeof options !== 'object' || options === null) throw invalidArgument('Expected object for options');
    const tags = options.tags ?? [...DEFAULT_TAGS];
    if (!Array.isArray(tags) || tags.some((tag) => typeof tag !== 'string')) {
      throw invalidArgument(`Expected array of strings for options.tags but received ${String(tags)}`);
    }
    const dir = path.resolve(exportDir);
    if (!fs.existsSync(dir)) throw new TfServeError('NOT_FOUND', `SavedModel directory ${dir} does not exist`);
    const config = encodeSessionConfig(options.config);
    const execution = interOpExecution(options.config);
    let loaded;
    try {
      loaded = await binding().loadSavedModel(dir, tags, config);
    } catch (err) {
      throw fromNative(err, callerStack);
    }
    return new SavedModel(dir, tags, parseMetaGraphDef(loaded.metaGraphDef), loaded.model, execution, devicesFromNative(loaded.devices));
  }

  /**
   * Nodes per device of the model's first successful run, or null before it. TensorFlow places ops
   * when a session first runs them, so this is where they ran, not where they could.
   */
  get placement(): Placement | null {
    return this.#placement;
  }

  /** Resolves with `placement` once the first run has succeeded. */
  placed(): Promise<Placement> {
    if (this.#placement !== null) return Promise.resolve(this.#placement);
    if (this.#placed === null) {
      let resolve!: (placement: Placement) => void;
      const promise = new Promise<Placement>((r) => {
        resolve = r;
      });
      this.#placed = { promise, resolve };
    }
    return this.#placed.promise;
  }

  get disposed(): boolean {
    return this.#disposal !== null;
  }

  /** Runs in flight on native threads right now. */
  get activeRuns(): number {
    return this.#native.activeRuns;
  }

  async predict(inputs: PredictInputs, options: PredictOptions = {}): Promise<PredictOutputs> {
    if (this.#disposal) throw new TfServeError('FAILED_PRECONDITION', 'the model has been disposed');
    if (typeof options !== 'object' || options === null) throw invalidArgument('Expected object for options');
    const signatureName = options.signature ?? DEFAULT_SIGNATURE;
    const signature = Object.prototype.hasOwnProperty.call(this.signatures, signatureName)
      ? this.signatures[signatureName]
      : undefined;
    if (!signature) throw invalidArgument(`Serving signature name: "${String(signatureName)}" not found in signature def`);
    if (typeof inputs !== 'object' || inputs === null || Array.isArray(inputs)) {
      throw invalidArgument('Expected object of { [inputKey]: { dtype, shape, data } } for inputs');
    }

    const feeds = this.#feeds(signatureName, signature, inputs, options.checkShapes ?? true, options.checkDtypes ?? true);
    const outputKeys = options.outputs ?? Object.keys(signature.outputs);
    if (!Array.isArray(outputKeys)) throw invalidArgument('Expected array of output keys for options.outputs');
    const fetches = outputKeys.map((key) => {
      const info = typeof key === 'string' && Object.prototype.hasOwnProperty.call(signature.outputs, key) ? signature.outputs[key] : undefined;
      if (!info) {
        throw invalidArgument(`Unknown output '${String(key)}' for signature '${signatureName}'; it has: ${Object.keys(signature.outputs).join(', ')}`);
      }
      this.#checkMapped(info, `output '${key}'`);
      return info.name;
    });
    const results = await this.#run(feeds, fetches, options.timeoutMs);
    const outputs: PredictOutputs = {};
    outputKeys.forEach((key, i) => {
      outputs[key] = results[i]!;
    });
    return outputs;
  }

  /**
   * One session run by graph tensor names ("op:index"), as TF's Session::Run: what TF Serving's
   * serving layer does once it has mapped a signature's aliases to names (several signatures can share
   * one run). Each feed is checked against its graph tensor natively; nothing is checked against a
   * signature here.
   */
  async run(feeds: Readonly<Record<string, TensorInput>>, fetches: readonly string[], options: RunOptions = {}): Promise<Tensor[]> {
    if (this.#disposal) throw new TfServeError('FAILED_PRECONDITION', 'the model has been disposed');
    if (typeof feeds !== 'object' || feeds === null || Array.isArray(feeds)) {
      throw invalidArgument('Expected object of { [tensorName]: { dtype, shape, data } } for feeds');
    }
    if (!Array.isArray(fetches) || fetches.some((name) => typeof name !== 'string')) {
      throw invalidArgument('Expected array of tensor names for fetches');
    }
    const native = Object.keys(feeds).map((name): NativeFeed => {
      const what = `feed '${name}'`;
      const input = checkTensorInput(feeds[name], what);
      return [name, DTYPES[input.dtype].tfType, [...input.shape], toNativeData(input, what)];
    });
    return this.#run(native, fetches, options.timeoutMs);
  }

  async #run(feeds: NativeFeed[], fetches: readonly string[], timeoutMs: number | undefined): Promise<Tensor[]> {
    // Until a run has recorded where the ops were placed, one run at a time is traced.
    const trace = this.#placement === null && !this.#tracing;
    if (trace) this.#tracing = true;
    let results;
    try {
      if (timeoutMs === undefined) {
        results = await this.#native.run(feeds, fetches, this.#runOptionsFor(undefined, trace), trace);
      } else if (this.#execution === 'pool' || Date.now() < this.#tfDeadlinesUntil) {
        results = await this.#native.run(feeds, fetches, this.#runOptionsFor(timeoutMs, trace), trace);
      } else {
        results = await this.#runWithDeadline(feeds, fetches, checkTimeout(timeoutMs), trace);
      }
    } catch (err) {
      if (err instanceof TfServeError) throw err;
      // Captured here, not before the call: `new Error()` costs 3-10 µs, a tenth of a small model's
      // whole call, and after the await V8's async stack trace still leads back to the callers
      // that await this promise (directly, through Promise.all, or through assert.rejects).
      throw fromNative(err, new Error());
    } finally {
      if (trace) this.#tracing = false;
    }
    if (trace && results.runMetadata !== undefined && this.#placement === null) {
      this.#placement = placementFromRunMetadata(results.runMetadata);
      this.#placed?.resolve(this.#placement);
      this.#placed = null;
    }
    return results.map(fromNativeOutput);
  }

  /**
   * A caller-thread run whose deadline tfserve keeps: TensorFlow enforces timeout_in_ms only on its
   * inter-op pool, whose two thread hand-offs cost ~90 µs of a small model's call here. At the deadline
   * the caller gets TF's DEADLINE_EXCEEDED while the run finishes on its thread (holding its inputs
   * and the session, which close() waits for) and its result is dropped. So that runs which overrun
   * cannot pile up on the run threads, the model then lets TensorFlow enforce (and cancel) its
   * deadlines for the next TF_DEADLINE_WINDOW_MS.
   */
  #runWithDeadline(feeds: NativeFeed[], fetches: readonly string[], timeoutMs: number, trace: boolean): Promise<NativeOutput[] & { runMetadata?: Uint8Array }> {
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.#tfDeadlinesUntil = Date.now() + TF_DEADLINE_WINDOW_MS;
        reject(new TfServeError('DEADLINE_EXCEEDED', 'Timed out waiting for notification'));
      }, timeoutMs);
      this.#native.run(feeds, fetches, this.#runOptionsFor(undefined, trace), trace).then(
        (results) => {
          clearTimeout(timer);
          resolve(results);
        },
        (err: unknown) => {
          clearTimeout(timer);
          reject(err);
        },
      );
    });
  }

  /**
   * Stops new predictions, lets the ones in flight finish, then frees the session. A model that is
   * garbage-collected without dispose() frees its session too.
   */
  dispose(): Promise<void> {
    this.#disposal ??= this.#native.close();
    return this.#disposal;
  }

  #checkMapped(info: TensorInfo, what: string, checkDtype = true): void {
    if (info.name === '') throw new TfServeError('UNIMPLEMENTED', `${what} is a sparse or composite tensor, which tfserve cannot feed or fetch`);
    if (checkDtype && !isDType(info.dtype)) {
      throw new TfServeError('UNIMPLEMENTED', `${what} has dtype ${info.dtype}, which tfserve does not support`);
    }
  }

  /** The serialized RunOptions for a timeout, encoded once per distinct value (traced ones each time). */
  #runOptionsFor(timeoutMs: number | undefined, trace = false): Uint8Array | undefined {
    if (trace) return encodeRunOptions(timeoutMs, this.#execution, true);
    let bytes = this.#runOptions.get(timeoutMs);
    if (bytes === undefined && !this.#runOptions.has(timeoutMs)) {
      bytes = encodeRunOptions(timeoutMs, this.#execution);
      if (this.#runOptions.size >= MAX_CACHED_RUN_OPTIONS) this.#runOptions.clear();
      this.#runOptions.set(timeoutMs, bytes);
    }
    return bytes;
  }

  #feeds(signatureName: string, signature: SignatureInfo, inputs: PredictInputs, checkShapes: boolean, checkDtypes: boolean): NativeFeed[] {
    for (const key of Object.keys(inputs)) {
      if (!Object.prototype.hasOwnProperty.call(signature.inputs, key)) {
        throw invalidArgument(`Unknown input '${key}' for signature '${signatureName}'; it takes: ${Object.keys(signature.inputs).join(', ')}`);
      }
    }
    return Object.entries(signature.inputs).map(([key, info]): NativeFeed => {
      const what = `input '${key}'`;
      if (!Object.prototype.hasOwnProperty.call(inputs, key)) {
        throw invalidArgument(`Missing ${what} for signature '${signatureName}'`);
      }
      this.#checkMapped(info, what, checkDtypes);
      const input = checkTensorInput(inputs[key], what);
      if (checkDtypes && input.dtype !== info.dtype) {
        throw invalidArgument(`Expected dtype ${info.dtype} for ${what} but received ${input.dtype}`);
      }
      const data = toNativeData(input, what);
      const shape = [...input.shape];
      if (checkShapes && !shapeMatches(info.shape, shape)) {
        throw invalidArgument(`Expected shape ${formatShape(info.shape)} for ${what} but received ${formatShape(shape)}`);
      }
      return [info.name, DTYPES[input.dtype].tfType, shape, data];
    });
  }
}

export function loadSavedModel(exportDir: string, options?: LoadOptions): Promise<SavedModel> {
  return SavedModel.load(exportDir, options);
}

/**
 * BatchingServable: TF Serving's BatchingSession (tensorflow_serving/batching/batching_session.cc) as
 * a Servable wrapper. `run` turns a request into a task on the queue of its (sorted, distinct) input
 * and output tensor names, and resolves with the task's rows of the batch's outputs; every transport,
 * warmup included, reaches the session through it.
 *
 * A batch: tasks whose deadline passed while queued fail with RESOURCE_EXHAUSTED when none is left
 * alive; otherwise the inputs are concatenated on dim 0 in task order (each tensor padded to the
 * per-dimension maximum with its own first element under pad_variable_length_inputs), padded up to
 * the next allowed batch size with copies of the last task's first row, run once with the latest
 * remaining deadline of its tasks, and the outputs are split back by task size, padding dropped.
 * Any failure of the batch is every task's failure, as in TF Serving.
 *
 * Memory: each numeric input row is written once, with TypedArray.set, into one 64-byte aligned batch
 * buffer from allocTensor, which TensorFlow uses without a copy; a batch of one task that needs no
 * padding runs on the task's own tensors. Outputs are subarray views over TensorFlow's output buffers
 * (string outputs: slices of the array of byte strings); only a split task's parts are joined by a copy.
 *
 * Lifetime: dispose() closes the queues, lets every queued task run (a closing queue's open batch runs
 * at once), then disposes the wrapped servable; the manager calls it after the last handle is released.
 * A request whose AbortSignal fires while it is queued leaves the queue and rejects with CANCELLED.
 *
 * Deliberate differences from TF Serving: a feed whose dtype is not its graph tensor's fails alone
 * before it is queued, with the error the session would give it, instead of failing its whole batch
 * in the concatenation (INTERNAL); a batch whose run deadline rounds below 1 ms runs with 1 ms where
 * TF's rounding to 0 ms would mean no deadline at all.
 */
import { arrayClass, type DType, DTYPES, isDType, isNumeric, type NumericDType, type NumericTypedArray, tfTypeName } from '../../model/dtypes.js';
import { TfServeError } from '../../model/errors.js';
import type { SignatureDefJson, SignatureInfo } from '../../model/signature.js';
import { allocTensor, checkTensorInput, type Tensor, type TensorInput, toNativeData } from '../../model/tensor.js';
import type { RunRequest, Servable } from '../servable.js';
import { type Batch, type BatchQueue, BatchScheduler, nowMicros } from './batch-scheduler.js';
import {
  type BatchingParameters,
  MODEL_SERVER_BATCHING_PARAMETERS,
  modelBatchingParameters,
  type QueueOptions,
  queueOptions,
  readBatchingParametersFile,
  schedulerOptions,
} from './batching-parameters.js';

/** The batching_session metrics TF Serving records; ServingMetrics has these methods. */
export interface BatchingMetrics {
  /** A request entering the batching layer: its dim-0 size, recorded once per input tensor. */
  batchInput(size: number, inputTensors: number): void;
  /** A task leaving its queue after `latencyUs`; TF Serving's model server labels the pool "". */
  batchQueued(threadPoolName: string, latencyUs: number): void;
  /** A batch of `size` rows padded to `paddedSize`. */
  batchMerged(size: number, paddedSize: number): void;
  /** One run of the wrapped session. */
  batchRun(): void;
  /** Tasks waiting in `model`'s queues change by `delta`. */
  queued(model: string, delta: number): void;
}

export interface BatchingServableOptions {
  readonly scheduler: BatchScheduler;
  readonly queue: QueueOptions;
  /** The model's name, for the queued-tasks gauge. */
  readonly model?: string;
  readonly metrics?: BatchingMetrics;
}

type Data = NumericTypedArray | ReadonlyArray<string | Uint8Array>;

interface Feed {
  readonly name: string;
  readonly dtype: DType;
  readonly shape: readonly number[];
  readonly data: Data;
}

/** A request as it waits: settles once, when all its parts are done or one failed. */
interface Pending {
  readonly fetches: readonly string[];
  readonly parts: Task[];
  readonly partOutputs: Tensor[][];
  done: number;
  settled: boolean;
  resolve(outputs: Tensor[]): void;
  reject(error: unknown): void;
}

/** One queued unit: a request, or one part of a split request. */
interface Task {
  readonly size: number;
  readonly feeds: readonly Feed[];
  readonly enqueuedAt: number;
  /** In nowMicros() time; Infinity without a timeout. */
  readonly deadline: number;
  readonly pending: Pending;
  readonly part: number;
}

interface QueueEntry {
  readonly queue: BatchQueue<Task>;
  /** Sorted distinct input tensor names: the order of the merged feeds. */
  readonly inputs: readonly string[];
  /** Sorted distinct output tensor names: what a batch fetches. */
  readonly outputs: readonly string[];
}

const MAX_PADDED_RANK = 6;

function invalid(message: string): TfServeError {
  return new TfServeError('INVALID_ARGUMENT', message);
}

function failedPrecondition(message: string): TfServeError {
  return new TfServeError('FAILED_PRECONDITION', message);
}

function cancelled(): TfServeError {
  return new TfServeError('CANCELLED', 'The client cancelled the call');
}

function product(dims: readonly number[], from = 0): number {
  let count = 1;
  for (let i = from; i < dims.length; i++) count *= dims[i]!;
  return count;
}

/** RoundToLowestAllowedBatchSize: the first allowed size that holds `size` rows, else `size`. */
export function roundToAllowedBatchSize(allowed: readonly number[], size: number): number {
  for (const candidate of allowed) if (candidate >= size) return candidate;
  return size;
}

/** ComputeTensorBatchSize: the rows of a request, with TF Serving's texts. */
export function taskSize(feeds: readonly { readonly shape: readonly number[] }[]): number {
  if (feeds.length === 0) throw invalid('Batching Run() must have at least one input tensor');
  let size = -1;
  for (const feed of feeds) {
    if (feed.shape.length === 0) throw invalid('Batching Run() input tensors must have at least one dimension');
    if (size < 0) size = feed.shape[0]!;
    else if (feed.shape[0] !== size) throw invalid('Batching Run() input tensors must have equal 0th-dimension size');
  }
  return size;
}

function sortedDistinct(names: readonly string[]): string[] {
  return [...new Set(names)].sort();
}

/** The graph dtype of every tensor a signature feeds. */
function graphInputDtypes(signatures: Readonly<Record<string, SignatureInfo>>): Map<string, DType> {
  const dtypes = new Map<string, DType>();
  for (const signature of Object.values(signatures)) {
    for (const info of Object.values(signature.inputs)) {
      if (info.name !== '' && isDType(info.dtype)) dtypes.set(info.name, info.dtype);
    }
  }
  return dtypes;
}

/** Rows [start, start + count) of a feed, as a view (numeric) or a slice (strings). */
function rowsOf(feed: Feed, start: number, count: number): Feed {
  const row = product(feed.shape, 1);
  const { data } = feed;
  const rows = ArrayBuffer.isView(data)
    ? (data as NumericTypedArray).subarray(start * row, (start + count) * row)
    : (data as ReadonlyArray<string | Uint8Array>).slice(start * row, (start + count) * row);
  return { name: feed.name, dtype: feed.dtype, shape: [count, ...feed.shape.slice(1)], data: rows };
}

/** Rows [start, start + count) of a batch output. */
function outputRows(tensor: Tensor, start: number, count: number): Tensor {
  const row = product(tensor.shape, 1);
  const shape = [count, ...tensor.shape.slice(1)];
  if (tensor.dtype === 'string') return { dtype: 'string', shape, data: (tensor.data as Uint8Array[]).slice(start * row, (start + count) * row) };
  return { dtype: tensor.dtype, shape, data: (tensor.data as NumericTypedArray).subarray(start * row, (start + count) * row) } as Tensor;
}

/** Joins a split task's outputs on dim 0: the one copy a split costs. */
function joinRows(parts: readonly Tensor[]): Tensor {
  const first = parts[0]!;
  if (parts.length === 1) return first;
  const inner = first.shape.slice(1);
  let rows = 0;
  for (const part of parts) {
    if (part.dtype !== first.dtype || part.shape.length !== first.shape.length || part.shape.some((d, i) => i > 0 && d !== first.shape[i])) {
      throw new TfServeError('INTERNAL', 'The outputs of the parts of a split task have different dtypes or shapes and cannot be joined');
    }
    rows += part.shape[0]!;
  }
  const shape = [rows, ...inner];
  if (first.dtype === 'string') return { dtype: 'string', shape, data: parts.flatMap((part) => part.data as Uint8Array[]) };
  const joined = new (arrayClass(first.dtype))(rows * product(inner));
  let offset = 0;
  for (const part of parts) {
    const data = part.data as NumericTypedArray;
    (joined as Float32Array).set(data as Float32Array, offset);
    offset += data.length;
  }
  return { dtype: first.dtype, shape, data: joined } as Tensor;
}

/**
 * Writes `feed` (rank r, rows first) into `target` at element `offset`, as rows of `innerShape`
 * (each dim ≥ the feed's); elements beyond the feed's own extent hold `pad`. Contiguous runs of the
 * innermost dimension are copied with one set() each.
 */
function writePadded(target: NumericTypedArray | (string | Uint8Array)[], offset: number, innerShape: readonly number[], feed: Feed, pad: unknown): void {
  const rows = feed.shape[0]!;
  const sameShape = innerShape.every((dim, i) => dim === feed.shape[i + 1]);
  const strings = !ArrayBuffer.isView(target);
  if (sameShape) {
    if (strings) {
      const source = feed.data as ReadonlyArray<string | Uint8Array>;
      for (let i = 0; i < source.length; i++) (target as (string | Uint8Array)[])[offset + i] = source[i]!;
    } else {
      (target as Float32Array).set(feed.data as Float32Array, offset);
    }
    return;
  }
  const total = rows * product(innerShape);
  if (strings) {
    const array = target as (string | Uint8Array)[];
    for (let i = 0; i < total; i++) array[offset + i] = pad as string | Uint8Array;
  } else {
    (target as Float32Array).fill(pad as number, offset, offset + total);
  }
  const rank = feed.shape.length;
  const run = feed.shape[rank - 1]!;
  // Strides of the target, in elements, for dims 0..rank-1 (dim 0 is the row).
  const targetStrides = new Array<number>(rank);
  targetStrides[rank - 1] = 1;
  for (let d = rank - 2; d >= 0; d--) targetStrides[d] = targetStrides[d + 1]! * innerShape[d]!;
  const runs = product(feed.shape.slice(0, rank - 1));
  const index = new Array<number>(Math.max(rank - 1, 0)).fill(0);
  const source = feed.data;
  for (let r = 0; r < runs; r++) {
    let at = offset;
    for (let d = 0; d < rank - 1; d++) at += index[d]! * targetStrides[d]!;
    const from = r * run;
    if (strings) {
      const array = target as (string | Uint8Array)[];
      const items = source as ReadonlyArray<string | Uint8Array>;
      for (let i = 0; i < run; i++) array[at + i] = items[from + i]!;
    } else {
      (target as Float32Array).set((source as Float32Array).subarray(from, from + run), at);
    }
    for (let d = rank - 2; d >= 0; d--) {
      if (++index[d]! < feed.shape[d]!) break;
      index[d] = 0;
    }
  }
}

export class BatchingServable implements Servable {
  readonly #inner: Servable;
  readonly #scheduler: BatchScheduler;
  readonly #options: QueueOptions;
  readonly #model: string;
  readonly #metrics: BatchingMetrics | undefined;
  readonly #queues = new Map<string, QueueEntry>();
  readonly #dtypes: Map<string, DType>;
  #disposal: Promise<void> | null = null;

  constructor(inner: Servable, options: BatchingServableOptions) {
    this.#inner = inner;
    this.#scheduler = options.scheduler;
    this.#options = options.queue;
    this.#model = options.model ?? '';
    this.#metrics = options.metrics;
    this.#dtypes = graphInputDtypes(inner.signatures);
  }

  get path(): string {
    return this.#inner.path;
  }

  get signatures(): Readonly<Record<string, SignatureInfo>> {
    return this.#inner.signatures;
  }

  get signatureDefs(): Readonly<Record<string, SignatureDefJson>> {
    return this.#inner.signatureDefs;
  }

  /** The queue options every queue of this version uses. */
  get queueOptions(): QueueOptions {
    return this.#options;
  }

  /** Tasks waiting in this version's queues. */
  get enqueuedTasks(): number {
    let count = 0;
    for (const { queue } of this.#queues.values()) count += queue.enqueuedTasks;
    return count;
  }

  run(request: RunRequest): Promise<Tensor[]> {
    // Once unloading, no handle is left to call this; a direct caller gets the wrapped servable.
    if (this.#disposal !== null) return this.#inner.run(request);
    try {
      return this.#enqueue(request);
    } catch (error) {
      return Promise.reject(error);
    }
  }

  dispose(): Promise<void> {
    this.#disposal ??= (async () => {
      await Promise.all([...this.#queues.values()].map(({ queue }) => queue.close()));
      await this.#inner.dispose();
    })();
    return this.#disposal;
  }

  #enqueue(request: RunRequest): Promise<Tensor[]> {
    const { signal } = request;
    if (signal?.aborted) throw cancelled();
    const feeds = Object.keys(request.feeds).map((name): Feed => {
      const what = `feed '${name}'`;
      const input = checkTensorInput(request.feeds[name], what);
      const data = toNativeData(input, what) as Data;
      const expected = this.#dtypes.get(name);
      if (expected !== undefined && expected !== input.dtype) throw invalid(`input '${name}' expects ${expected} but got ${input.dtype}`);
      return { name, dtype: input.dtype, shape: [...input.shape], data };
    });
    const size = taskSize(feeds);
    this.#metrics?.batchInput(size, feeds.length);
    const entry = this.#queueFor(feeds.map((feed) => feed.name), request.fetches);
    const enqueuedAt = nowMicros();
    const deadline = request.timeoutMs !== undefined && request.timeoutMs > 0 ? enqueuedAt + request.timeoutMs * 1000 : Infinity;
    return new Promise<Tensor[]>((resolve, reject) => {
      let onAbort: (() => void) | undefined;
      const settle = (): boolean => {
        if (pending.settled) return false;
        pending.settled = true;
        if (onAbort !== undefined) signal!.removeEventListener('abort', onAbort);
        return true;
      };
      const pending: Pending = {
        fetches: request.fetches,
        parts: [],
        partOutputs: [],
        done: 0,
        settled: false,
        resolve: (outputs) => {
          if (settle()) resolve(outputs);
        },
        reject: (error) => {
          if (settle()) reject(error);
        },
      };
      const task: Task = { size, feeds, enqueuedAt, deadline, pending, part: 0 };
      const queued = entry.queue.schedule(task);
      pending.parts.push(...queued);
      this.#metrics?.queued(this.#model, queued.length);
      if (signal !== undefined) {
        onAbort = () => {
          let removed = 0;
          for (const part of pending.parts) if (entry.queue.remove(part)) removed++;
          this.#metrics?.queued(this.#model, -removed);
          pending.reject(cancelled());
        };
        signal.addEventListener('abort', onAbort);
      }
    });
  }

  #queueFor(inputNames: readonly string[], fetches: readonly string[]): QueueEntry {
    const inputs = sortedDistinct(inputNames);
    const outputs = sortedDistinct(fetches);
    const key = JSON.stringify([inputs, outputs]);
    let entry = this.#queues.get(key);
    if (entry === undefined) {
      const queue: BatchQueue<Task> = this.#scheduler.addQueue<Task>(
        this.#options,
        (batch) => this.#processBatch(entry!, batch),
        (task, sizes) => this.#split(task, sizes),
      );
      entry = { queue, inputs, outputs };
      this.#queues.set(key, entry);
    }
    return entry;
  }

  /** SplitInputTask: parts of `sizes` rows whose feeds are views of the task's. */
  #split(task: Task, sizes: readonly number[]): Task[] {
    let start = 0;
    return sizes.map((size, part) => {
      const feeds = task.feeds.map((feed) => rowsOf(feed, start, size));
      start += size;
      return { size, feeds, enqueuedAt: task.enqueuedAt, deadline: task.deadline, pending: task.pending, part };
    });
  }

  async #processBatch(entry: QueueEntry, batch: Batch<Task>): Promise<void> {
    const now = nowMicros();
    this.#metrics?.queued(this.#model, -batch.tasks.length);
    // A request that already failed (another of its parts) or was cancelled needs no rows.
    const tasks = batch.tasks.filter((task) => !task.pending.settled);
    if (tasks.length === 0) return;
    let latest = -Infinity;
    for (const task of tasks) {
      if (task.deadline > now && task.deadline > latest) latest = task.deadline;
      this.#metrics?.batchQueued('', now - task.enqueuedAt);
    }
    const fail = (error: unknown): void => {
      for (const task of tasks) task.pending.reject(error);
    };
    if (latest === -Infinity) {
      fail(new TfServeError('RESOURCE_EXHAUSTED', 'Run() timeout exceeded while waiting in batching queue'));
      return;
    }
    const timeoutMs = latest === Infinity ? undefined : Math.max(1, Math.floor((latest - now) / 1000));
    try {
      const size = tasks.reduce((sum, task) => sum + task.size, 0);
      const padded = roundToAllowedBatchSize(this.#options.allowedBatchSizes, size);
      const feeds = this.#merge(entry, tasks, size, padded);
      this.#metrics?.batchMerged(size, feeds.padded);
      let outputs: Tensor[];
      try {
        outputs = await this.#inner.run({ feeds: feeds.tensors, fetches: entry.outputs, timeoutMs });
      } finally {
        this.#metrics?.batchRun();
      }
      this.#splitOutputs(entry, tasks, outputs, feeds.padded);
    } catch (error) {
      fail(error);
    }
  }

  /** MergeInputTensors: one tensor per input name, rows in task order, padded as configured. */
  #merge(entry: QueueEntry, tasks: readonly Task[], size: number, wanted: number): { tensors: Record<string, TensorInput>; padded: number } {
    const pad = this.#options.padVariableLengthInputs;
    const byName = new Map<string, Feed[]>(entry.inputs.map((name) => [name, []]));
    const innerShapes = new Map<string, number[]>();
    // TF checks task by task, each task's tensors in its own order; the first problem fails the batch.
    for (const [i, task] of tasks.entries()) {
      for (const feed of task.feeds) {
        const list = byName.get(feed.name)!;
        if (pad) {
          if (feed.shape.length > MAX_PADDED_RANK) throw invalid('Only tensors with rank from 1 to 6 can be padded.');
          const inner = innerShapes.get(feed.name);
          if (inner === undefined) innerShapes.set(feed.name, feed.shape.slice(1));
          else if (inner.length !== feed.shape.length - 1) {
            throw failedPrecondition(`Tensors with name '${feed.name}' from different tasks have different ranks and cannot be padded to one shape.`);
          } else {
            for (let d = 0; d < inner.length; d++) inner[d] = Math.max(inner[d]!, feed.shape[d + 1]!);
          }
        } else if (i > 0) {
          const reference = list[0]!.shape;
          if (reference.length !== feed.shape.length || reference.some((dim, d) => d > 0 && dim !== feed.shape[d])) {
            throw failedPrecondition(
              `Tensors with name '${feed.name}' from different tasks have different shapes and padding is turned off. ` +
                'Set pad_variable_length_inputs to true, or ensure that all tensors with the same name have equal dimensions starting with the first dim.',
            );
          }
        }
        list.push(feed);
      }
    }
    if (pad) {
      for (const [name, inner] of innerShapes) {
        const count = product(inner);
        for (const feed of byName.get(name)!) {
          if (product(feed.shape) === 0 && feed.shape[0]! > 0 && count > 0) throw invalid('Got empty tensor in batch of non-empty tensors.');
        }
      }
    }
    // Padding rows copy the first row of the last task that has one.
    let source = -1;
    for (let i = tasks.length - 1; i >= 0 && source < 0; i--) if (tasks[i]!.size > 0) source = i;
    const padded = source < 0 ? size : wanted;
    const tensors: Record<string, TensorInput> = {};
    for (const name of entry.inputs) {
      const feeds = byName.get(name)!;
      const dtype = feeds[0]!.dtype;
      for (const feed of feeds) {
        if (feed.dtype !== dtype) {
          throw new TfServeError(
            'INTERNAL',
            `Tensor concat operation failed: INVALID_ARGUMENT: Cannot concatenate tensors that have different data types. Got ${tfTypeName(DTYPES[dtype].tfType)} and ${tfTypeName(DTYPES[feed.dtype].tfType)}.`,
          );
        }
      }
      const inner = pad ? innerShapes.get(name)! : feeds[0]!.shape.slice(1);
      const shape = [padded, ...inner];
      if (feeds.length === 1 && padded === size && inner.every((dim, d) => dim === feeds[0]!.shape[d + 1])) {
        tensors[name] = { dtype, shape, data: feeds[0]!.data as TensorInput['data'] };
        continue;
      }
      const row = product(inner);
      const data: NumericTypedArray | (string | Uint8Array)[] = isNumeric(dtype)
        ? allocTensor(dtype as NumericDType, shape).data
        : new Array<string | Uint8Array>(padded * row);
      let offset = 0;
      let sourceOffset = 0;
      for (const [i, feed] of feeds.entries()) {
        if (i === source) sourceOffset = offset;
        writePadded(data, offset, inner, feed, feed.data.length > 0 ? feed.data[0] : undefined);
        offset += feed.shape[0]! * row;
      }
      for (let r = size; r < padded; r++) {
        if (ArrayBuffer.isView(data)) data.copyWithin(r * row, sourceOffset, sourceOffset + row);
        else for (let e = 0; e < row; e++) data[r * row + e] = data[sourceOffset + e]!;
      }
      tensors[name] = { dtype, shape, data };
    }
    return { tensors, padded };
  }

  /** SplitOutputTensors: each task's rows of each output it asked for, in its own fetch order. */
  #splitOutputs(entry: QueueEntry, tasks: readonly Task[], outputs: readonly Tensor[], padded: number): void {
    if (outputs.length !== entry.outputs.length) throw new TfServeError('INTERNAL', 'Wrong number of batched output tensors');
    for (const output of outputs) {
      if (output.shape.length === 0) throw failedPrecondition('Batched output tensor has 0 dimensions');
      if (output.shape[0] !== padded) {
        throw failedPrecondition("Batched output tensor's 0th dimension does not equal the sum of the 0th dimension sizes of the input tensors");
      }
    }
    const index = new Map(entry.outputs.map((name, i) => [name, i]));
    let start = 0;
    for (const task of tasks) {
      const rows = outputs.map((output) => outputRows(output, start, task.size));
      start += task.size;
      const mine = task.pending.fetches.map((name) => rows[index.get(name)!]!);
      this.#deliver(task, mine);
    }
  }

  #deliver(task: Task, outputs: Tensor[]): void {
    const { pending } = task;
    if (pending.parts.length <= 1) {
      pending.resolve(outputs);
      return;
    }
    pending.partOutputs[task.part] = outputs;
    if (++pending.done < pending.parts.length) return;
    try {
      pending.resolve(pending.fetches.map((_, f) => joinRows(pending.partOutputs.map((part) => part[f]!))));
    } catch (error) {
      pending.reject(error);
    }
  }
}

export interface ModelBatchingOptions {
  readonly scheduler: BatchScheduler;
  /** The server's BatchingParameters (--batching_parameters_file, or the defaults). */
  readonly parameters: BatchingParameters;
  /** --enable_per_model_batching_parameters: each version's batching_params.pbtxt instead. */
  readonly perModel?: boolean;
  readonly metrics?: BatchingMetrics;
  readonly log?: (message: string) => void;
}

/**
 * What TF Serving's SavedModelBundleFactory does after a session loads with batching on: reads the
 * version's parameters (a version without batching_params.pbtxt is not batched when per-model
 * parameters are on), checks them (a bad one fails the load with TF's text; the loaded servable is
 * disposed) and wraps the servable.
 */
export async function wrapForBatching(servable: Servable, model: string, options: ModelBatchingOptions): Promise<Servable> {
  let queue: QueueOptions;
  try {
    const parameters = await modelBatchingParameters(servable.path, options.parameters, options.perModel ?? false);
    if (parameters === null) return servable;
    queue = queueOptions(parameters);
  } catch (error) {
    await servable.dispose();
    throw error;
  }
  options.log?.('Wrapping session to perform batch processing');
  return new BatchingServable(servable, { scheduler: options.scheduler, queue, model, metrics: options.metrics });
}

export interface BatchingFlags {
  /** --enable_batching. */
  readonly enableBatching: boolean;
  /** --batching_parameters_file ("" for none). */
  readonly parametersFile: string;
  /** --enable_per_model_batching_parameters. */
  readonly perModel: boolean;
}

/**
 * The server's batching set-up from tensorflow_model_server's flags, with its startup errors (a
 * parameters file without --enable_batching, a file that cannot be read or parsed, num_batch_threads
 * < 1); null when batching is off.
 */
export function serverBatching(flags: BatchingFlags, log?: (message: string) => void, metrics?: BatchingMetrics): ModelBatchingOptions | null {
  if (!flags.enableBatching) {
    if (flags.parametersFile !== '') {
      throw invalid('server_options.batching_parameters_file is set without setting server_options.enable_batching to true.');
    }
    return null;
  }
  const parameters = flags.parametersFile === '' ? MODEL_SERVER_BATCHING_PARAMETERS : readBatchingParametersFile(flags.parametersFile);
  return { scheduler: new BatchScheduler(schedulerOptions(parameters)), parameters, perModel: flags.perModel, metrics, log };
}

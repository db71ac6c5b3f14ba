/**
 * BatchScheduler: TF's SharedBatchScheduler (tensorflow/core/kernels/batching_util) on the event loop.
 * One scheduler per server runs at most `numBatchThreads` batches at once, taken round-robin from its
 * queues; each queue (one per servable version and set of input and output tensor names) gathers
 * tasks into batches of at most its max_execution_batch_size rows.
 *
 * A queue is a list of batches whose last one is open. A task joins the open batch; one that does not
 * fit closes it and opens the next (max_enqueued_batches bounds how many there may be). A free slot
 * takes the oldest closed batch, or the open one once it is full, batch_timeout_micros old, or its
 * queue is closing. With enable_large_batch_splitting a task too big for the room left is split
 * (TF's InputSplitMetadata: the room left, then full batches, then the rest).
 *
 * Threads: none. "Batch threads" are slots: processing a batch is an async function whose promise
 * holds its slot (the session run itself is on tfserve's native run threads). Dispatch happens in a
 * setImmediate after a task arrives or a batch ends, so requests that arrive in one turn of the event
 * loop share a batch even with a zero timeout, as concurrent requests do with TF's threads; a timeout
 * is a timer to the open batch's deadline. Errors are TfServeError with TF's codes and texts.
 */
import { performance } from 'node:perf_hooks';

import { TfServeError } from '../../model/errors.js';
import type { QueueOptions, SchedulerOptions } from './batching-parameters.js';

/** What a queue batches: a task of `size` rows (its inputs' dim 0). */
export interface BatchTask {
  readonly size: number;
}

/** Tasks that run as one session run; `size` is their total rows. */
export class Batch<T extends BatchTask> {
  readonly tasks: T[] = [];
  size = 0;

  add(task: T): void {
    this.tasks.push(task);
    this.size += task.size;
  }

  remove(task: T): boolean {
    const index = this.tasks.indexOf(task);
    if (index < 0) return false;
    this.tasks.splice(index, 1);
    this.size -= task.size;
    return true;
  }
}

/** Splits `task` into parts of `sizes` rows, in order (the queue's split_input_task_func). */
export type SplitTask<T extends BatchTask> = (task: T, sizes: readonly number[]) => T[];

/** Processes one batch; the slot is held until the promise settles. It must settle its tasks itself. */
export type ProcessBatch<T extends BatchTask> = (batch: Batch<T>) => Promise<void>;

export function nowMicros(): number {
  return performance.now() * 1000;
}

/** InputSplitMetadata's task sizes: what fits in the open batch, then full batches, then the rest. */
export function splitSizes(taskSize: number, openBatchRemaining: number, maxBatchSize: number): number[] {
  const sizes: number[] = [];
  let left = taskSize;
  const head = openBatchRemaining > 0 ? Math.min(openBatchRemaining, left) : Math.min(maxBatchSize, left);
  sizes.push(head);
  left -= head;
  while (left > 0) {
    const next = Math.min(maxBatchSize, left);
    sizes.push(next);
    left -= next;
  }
  return sizes;
}

// setTimeout's largest delay (about 24.8 days); a longer batch timeout waits in steps.
const MAX_TIMER_MS = 0x7fffffff;

export class BatchScheduler {
  readonly options: SchedulerOptions;
  readonly #queues: BatchQueue<BatchTask>[] = [];
  #next = 0;
  #running = 0;
  #immediate: NodeJS.Immediate | null = null;
  #timer: NodeJS.Timeout | null = null;

  constructor(options: SchedulerOptions) {
    if (!Number.isSafeInteger(options.numBatchThreads) || options.numBatchThreads < 1) {
      throw new TfServeError('INVALID_ARGUMENT', `num_batch_threads must be positive; was ${options.numBatchThreads}`);
    }
    this.options = { ...options };
  }

  /** Batches being processed right now (at most numBatchThreads). */
  get runningBatches(): number {
    return this.#running;
  }

  /** A new queue whose batches `process` runs; `split` is required when the options enable splitting. */
  addQueue<T extends BatchTask>(options: QueueOptions, process: ProcessBatch<T>, split?: SplitTask<T>): BatchQueue<T> {
    if (options.enableLargeBatchSplitting && split === undefined) {
      throw new TfServeError('INVALID_ARGUMENT', 'split_input_task_func must be specified when split_input_task is true: 1');
    }
    const queue = new BatchQueue<T>(this, options, process, split);
    this.#queues.push(queue as unknown as BatchQueue<BatchTask>);
    return queue;
  }

  /** Asks for a dispatch pass after the current turn of the event loop. */
  wake(): void {
    this.#immediate ??= setImmediate(() => {
      this.#immediate = null;
      this.#dispatch();
    });
  }

  #dispatch(): void {
    if (this.#timer !== null) {
      clearTimeout(this.#timer);
      this.#timer = null;
    }
    const now = nowMicros();
    while (this.#running < this.options.numBatchThreads && this.#queues.length > 0) {
      let found: { queue: BatchQueue<BatchTask>; batch: Batch<BatchTask> } | null = null;
      const count = this.#queues.length;
      for (let tried = 0; tried < count && found === null; tried++) {
        if (this.#next >= this.#queues.length) this.#next = 0;
        const queue = this.#queues[this.#next]!;
        const batch = queue._takeBatch(now);
        if (batch !== null) {
          found = { queue, batch };
          this.#next++;
        } else if (this._release(queue)) {
          // the queue left the list; the same index now holds the next one
        } else {
          this.#next++;
        }
      }
      if (found === null) break;
      this.#run(found.queue, found.batch);
    }
    if (this.#running >= this.options.numBatchThreads) return;
    let wakeAt = Infinity;
    for (const queue of this.#queues) wakeAt = Math.min(wakeAt, queue._openBatchDeadline());
    if (wakeAt === Infinity) return;
    const delayMs = (wakeAt - nowMicros()) / 1000;
    // libuv measures timers from the start of the loop's turn, so a timer can fire a little early:
    // the last fraction of a millisecond is waited out with setImmediate instead.
    if (delayMs < 1) this.wake();
    else this.#timer = setTimeout(() => this.#dispatch(), Math.min(Math.ceil(delayMs), MAX_TIMER_MS));
  }

  /** @internal Drops a closed queue with nothing left waiting or running and settles its close(); true if it did. */
  _release(queue: BatchQueue<BatchTask>): boolean {
    if (!queue._finished()) return false;
    const index = this.#queues.indexOf(queue);
    if (index >= 0) {
      this.#queues.splice(index, 1);
      if (this.#next > index) this.#next--;
    }
    queue._settleClose();
    return true;
  }

  #run(queue: BatchQueue<BatchTask>, batch: Batch<BatchTask>): void {
    this.#running++;
    queue._processing++;
    const done = (): void => {
      this.#running--;
      queue._processing--;
      this._release(queue);
      this.wake();
    };
    let processed: Promise<void>;
    try {
      processed = queue._process(batch);
    } catch {
      processed = Promise.resolve();
    }
    processed.then(done, done);
  }
}

export class BatchQueue<T extends BatchTask> {
  readonly options: QueueOptions;
  readonly #scheduler: BatchScheduler;
  readonly #split: SplitTask<T> | undefined;
  /** Closed batches waiting for a slot, then the open one (always last). */
  readonly #batches: Batch<T>[] = [new Batch<T>()];
  #openSince = 0;
  #closing: Promise<void> | null = null;
  #closed: (() => void) | null = null;
  /** @internal Batches of this queue being processed. */
  _processing = 0;
  /** @internal */
  readonly _process: ProcessBatch<T>;

  /** @internal Use BatchScheduler.addQueue. */
  constructor(scheduler: BatchScheduler, options: QueueOptions, process: ProcessBatch<T>, split: SplitTask<T> | undefined) {
    this.#scheduler = scheduler;
    this.options = options;
    this._process = process;
    this.#split = split;
  }

  /** Tasks waiting for a slot. */
  get enqueuedTasks(): number {
    let count = 0;
    for (const batch of this.#batches) count += batch.tasks.length;
    return count;
  }

  /**
   * Adds a task (or, split, its parts) to the queue; returns what was queued. Throws INVALID_ARGUMENT
   * for a task larger than max_batch_size and UNAVAILABLE when the queue is full.
   */
  schedule(task: T): T[] {
    if (this.#closing !== null) throw new TfServeError('UNAVAILABLE', 'The batch scheduling queue is closed: the servable is unloading');
    this.#checkCapacity(task);
    const max = this.options.maxExecutionBatchSize;
    const room = max - this.#open.size;
    const parts =
      task.size <= room || !this.options.enableLargeBatchSplitting ? [task] : this.#split!(task, splitSizes(task.size, room, max));
    const now = nowMicros();
    for (const part of parts) {
      if (this.#open.size + part.size > max) this.#startNewBatch();
      if (this.#open.tasks.length === 0) this.#openSince = now;
      this.#open.add(part);
    }
    this.#scheduler.wake();
    return parts;
  }

  /** Takes a task out before its batch runs (its client went away); false if it already runs. */
  remove(task: T): boolean {
    for (const batch of this.#batches) {
      if (batch.remove(task)) {
        // An emptied open batch no longer waits for its timeout.
        this.#scheduler.wake();
        return true;
      }
    }
    return false;
  }

  /**
   * Accepts no more tasks, lets the queued ones run at once (a closing queue's open batch is
   * schedulable), and resolves when none is left waiting or running.
   */
  close(): Promise<void> {
    if (this.#closing === null) {
      this.#closing = new Promise((resolve) => {
        this.#closed = resolve;
      });
      this.#scheduler._release(this as unknown as BatchQueue<BatchTask>);
      // Also when released: the next pass re-arms (or drops) the timer for the queues left.
      this.#scheduler.wake();
    }
    return this.#closing;
  }

  get #open(): Batch<T> {
    return this.#batches[this.#batches.length - 1]!;
  }

  #startNewBatch(): void {
    this.#batches.push(new Batch<T>());
  }

  /** ValidateBatchTaskQueueCapacity, with its texts. */
  #checkCapacity(task: T): void {
    const { inputBatchSizeLimit: limit, maxEnqueuedBatches, maxExecutionBatchSize: max } = this.options;
    if (task.size > limit) {
      throw new TfServeError('INVALID_ARGUMENT', `Task size ${task.size} is larger than maximum input batch size ${limit}`);
    }
    const enqueued = this.#batches.length;
    if (this.options.enableLargeBatchSplitting) {
      const capacity = (maxEnqueuedBatches - enqueued) * max + (max - this.#open.size);
      if (task.size > capacity) {
        throw new TfServeError(
          'UNAVAILABLE',
          `The batch scheduling queue to which this task was submitted is full; task size is ${task.size} but scheduling capacity is only ` +
            `${capacity} (num_enqueued_batches=${enqueued}, max_enqueued_batches=${maxEnqueuedBatches}, ` +
            `open_batch_size=${this.#open.size}, max_execution_batch_size=${max})`,
        );
      }
      return;
    }
    if (this.#open.size + task.size > limit && enqueued >= maxEnqueuedBatches) {
      throw new TfServeError(
        'UNAVAILABLE',
        `The batch scheduling queue to which this task was submitted is full; currently ${enqueued} batches enqueued and max_enqueued_batches is ${maxEnqueuedBatches}`,
      );
    }
  }

  /** @internal ScheduleBatch: the batch a free slot should run now, or null. */
  _takeBatch(now: number): Batch<T> | null {
    // Batches emptied by removed tasks are dropped rather than given a slot.
    while (this.#batches.length > 1 && this.#batches[0]!.tasks.length === 0) this.#batches.shift();
    if (this.#batches.length > 1) return this.#batches.shift()!;
    const open = this.#open;
    // TF counts rows here, so a batch of zero-row tasks would wait forever; tfserve counts tasks.
    if (open.tasks.length === 0) return null;
    if (this.#closing !== null || open.size >= this.options.maxExecutionBatchSize || now >= this.#openSince + this.options.batchTimeoutMicros) {
      this.#batches[0] = new Batch<T>();
      return open;
    }
    return null;
  }

  /** @internal When the open batch becomes schedulable by its timeout (Infinity if not waiting for one). */
  _openBatchDeadline(): number {
    if (this.#batches.length > 1 || this.#open.tasks.length === 0) return Infinity;
    return this.#openSince + this.options.batchTimeoutMicros;
  }

  /** @internal Closed, with nothing waiting or running: the scheduler drops it. */
  _finished(): boolean {
    return this.#closing !== null && this._processing === 0 && this.enqueuedTasks === 0;
  }

  /** @internal */
  _settleClose(): void {
    this.#closed?.();
  }
}

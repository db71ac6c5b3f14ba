/**
 * The shared batch scheduler on plain tasks: when batches form and run, how many run at once, the
 * queue's capacity errors and splitting. No timing assertions: timeouts are either far away (batches
 * run because they fill or their queue closes) or 1 µs (a batch runs as soon as a slot looks).
 */
import assert from 'node:assert/strict';
import { suite, test } from 'node:test';

import { type Batch, BatchScheduler, splitSizes } from '../../../src/serving/batching/batch-scheduler.js';
import type { QueueOptions } from '../../../src/serving/batching/batching-parameters.js';

interface Item {
  readonly id: string;
  readonly size: number;
}

const FAR = 600_000_000; // 10 minutes: a batch never runs by this timeout in a test

function options(overrides: Partial<QueueOptions> = {}): QueueOptions {
  return {
    inputBatchSizeLimit: 4,
    batchTimeoutMicros: FAR,
    maxEnqueuedBatches: 10,
    enableLargeBatchSplitting: false,
    maxExecutionBatchSize: 4,
    allowedBatchSizes: [],
    padVariableLengthInputs: false,
    ...overrides,
  };
}

/** A process callback that records each batch and holds its slot until released. */
class Recorder {
  readonly batches: string[][] = [];
  readonly #holds: (() => void)[] = [];
  readonly #waiters: { count: number; resolve: () => void }[] = [];
  hold = false;

  readonly process = (batch: Batch<Item>): Promise<void> => {
    this.batches.push(batch.tasks.map((task) => task.id));
    for (const waiter of this.#waiters.filter((w) => this.batches.length >= w.count)) waiter.resolve();
    if (!this.hold) return Promise.resolve();
    return new Promise((resolve) => this.#holds.push(resolve));
  };

  /** Resolves once `count` batches have started. */
  started(count: number): Promise<void> {
    if (this.batches.length >= count) return Promise.resolve();
    return new Promise((resolve) => this.#waiters.push({ count, resolve }));
  }

  releaseAll(): void {
    this.hold = false;
    for (const release of this.#holds.splice(0)) release();
  }
}

function items(sizes: Record<string, number>): Item[] {
  return Object.entries(sizes).map(([id, size]) => ({ id, size }));
}

suite('splitSizes (InputSplitMetadata)', () => {
  test('the room left in the open batch, then full batches, then the rest', () => {
    assert.deepEqual(splitSizes(10, 3, 4), [3, 4, 3]);
    assert.deepEqual(splitSizes(8, 0, 4), [4, 4]);
    assert.deepEqual(splitSizes(5, 4, 4), [4, 1]);
    assert.deepEqual(splitSizes(2, 3, 4), [2]);
  });
});

suite('BatchScheduler', () => {
  test('BAD CALL - num_batch_threads must be positive', () => {
    assert.throws(() => new BatchScheduler({ numBatchThreads: 0, threadPoolName: 'p' }), {
      name: 'TfServeError',
      code: 'INVALID_ARGUMENT',
      message: 'num_batch_threads must be positive; was 0',
    });
  });

  test('a batch runs when it is full; tasks join it in arrival order', async () => {
    const recorder = new Recorder();
    const queue = new BatchScheduler({ numBatchThreads: 1, threadPoolName: 'p' }).addQueue(options(), recorder.process);
    for (const item of items({ a: 1, b: 2, c: 1 })) queue.schedule(item);
    await recorder.started(1);
    assert.deepEqual(recorder.batches, [['a', 'b', 'c']]);
    await queue.close();
  });

  test('a task that does not fit closes the open batch and opens the next', async () => {
    const recorder = new Recorder();
    const queue = new BatchScheduler({ numBatchThreads: 1, threadPoolName: 'p' }).addQueue(options(), recorder.process);
    for (const item of items({ a: 3, b: 2, c: 2 })) queue.schedule(item);
    // [a] is closed and runs; [b, c] is full and runs next.
    await recorder.started(2);
    assert.deepEqual(recorder.batches, [['a'], ['b', 'c']]);
    await queue.close();
  });

  test('batch_timeout_micros after its first task a batch runs without being full', async () => {
    const recorder = new Recorder();
    const queue = new BatchScheduler({ numBatchThreads: 1, threadPoolName: 'p' }).addQueue(options({ batchTimeoutMicros: 1 }), recorder.process);
    queue.schedule({ id: 'a', size: 1 });
    await recorder.started(1);
    assert.deepEqual(recorder.batches, [['a']]);
    await queue.close();
  });

  test('tasks that arrive in one turn of the event loop share a batch even with a zero timeout', async () => {
    const recorder = new Recorder();
    const queue = new BatchScheduler({ numBatchThreads: 2, threadPoolName: 'p' }).addQueue(options({ batchTimeoutMicros: 0 }), recorder.process);
    for (const item of items({ a: 1, b: 1, c: 1 })) queue.schedule(item);
    await recorder.started(1);
    assert.deepEqual(recorder.batches, [['a', 'b', 'c']]);
    await queue.close();
  });

  test('at most num_batch_threads batches run at once; the rest wait and merge', async () => {
    const recorder = new Recorder();
    recorder.hold = true;
    const scheduler = new BatchScheduler({ numBatchThreads: 2, threadPoolName: 'p' });
    const queue = scheduler.addQueue(options({ batchTimeoutMicros: 0 }), recorder.process);
    queue.schedule({ id: 'a', size: 1 });
    await recorder.started(1);
    queue.schedule({ id: 'b', size: 1 });
    await recorder.started(2);
    assert.equal(scheduler.runningBatches, 2);
    // Both slots are busy: these wait in the open batch, past its zero timeout.
    for (const item of items({ c: 1, d: 1, e: 1 })) queue.schedule(item);
    await new Promise((resolve) => setImmediate(resolve));
    assert.equal(recorder.batches.length, 2);
    assert.equal(queue.enqueuedTasks, 3);
    recorder.releaseAll();
    await recorder.started(3);
    assert.deepEqual(recorder.batches, [['a'], ['b'], ['c', 'd', 'e']]);
    await queue.close();
  });

  test('free slots go round-robin over the queues', async () => {
    const recorder = new Recorder();
    recorder.hold = true;
    const scheduler = new BatchScheduler({ numBatchThreads: 1, threadPoolName: 'p' });
    const first = scheduler.addQueue(options(), recorder.process);
    const second = scheduler.addQueue(options(), recorder.process);
    // Two closed batches in the first queue, one in the second.
    for (const item of items({ a1: 4, a2: 4 })) first.schedule(item);
    second.schedule({ id: 'b1', size: 4 });
    await recorder.started(1);
    recorder.releaseAll();
    await recorder.started(3);
    assert.deepEqual(recorder.batches, [['a1'], ['b1'], ['a2']]);
    await Promise.all([first.close(), second.close()]);
  });

  test('EXPECTED FAILURE - a task larger than max_batch_size', () => {
    const queue = new BatchScheduler({ numBatchThreads: 1, threadPoolName: 'p' }).addQueue(options(), new Recorder().process);
    assert.throws(() => queue.schedule({ id: 'big', size: 5 }), {
      name: 'TfServeError',
      code: 'INVALID_ARGUMENT',
      message: 'Task size 5 is larger than maximum input batch size 4',
    });
    return queue.close();
  });

  test('EXPECTED FAILURE - the queue is full (max_enqueued_batches)', async () => {
    const recorder = new Recorder();
    recorder.hold = true;
    const queue = new BatchScheduler({ numBatchThreads: 1, threadPoolName: 'p' }).addQueue(options({ maxEnqueuedBatches: 2 }), recorder.process);
    queue.schedule({ id: 'running', size: 4 });
    await recorder.started(1);
    queue.schedule({ id: 'a', size: 3 });
    queue.schedule({ id: 'b', size: 3 }); // closes [a]: two batches enqueued
    assert.throws(() => queue.schedule({ id: 'c', size: 3 }), {
      name: 'TfServeError',
      code: 'UNAVAILABLE',
      message: 'The batch scheduling queue to which this task was submitted is full; currently 2 batches enqueued and max_enqueued_batches is 2',
    });
    // A task that still fits the open batch is accepted.
    queue.schedule({ id: 'd', size: 1 });
    recorder.releaseAll();
    await queue.close();
    assert.deepEqual(recorder.batches, [['running'], ['a'], ['b', 'd']]);
  });

  test('splitting: a big task is cut across batches of max_execution_batch_size', async () => {
    const recorder = new Recorder();
    const split = (task: Item, sizes: readonly number[]): Item[] => sizes.map((size, i) => ({ id: `${task.id}${i}`, size }));
    const queue = new BatchScheduler({ numBatchThreads: 1, threadPoolName: 'p' }).addQueue(
      options({ inputBatchSizeLimit: 20, enableLargeBatchSplitting: true, maxExecutionBatchSize: 4 }),
      recorder.process,
      split,
    );
    queue.schedule({ id: 'a', size: 1 });
    assert.deepEqual(
      queue.schedule({ id: 'b', size: 10 }).map((part) => [part.id, part.size]),
      [['b0', 3], ['b1', 4], ['b2', 3]],
    );
    await queue.close();
    assert.deepEqual(recorder.batches, [['a', 'b0'], ['b1'], ['b2']]);
  });

  test('EXPECTED FAILURE - splitting: the queue cannot hold the task', async () => {
    const recorder = new Recorder();
    recorder.hold = true;
    const split = (task: Item, sizes: readonly number[]): Item[] => sizes.map((size, i) => ({ id: `${task.id}${i}`, size }));
    const queue = new BatchScheduler({ numBatchThreads: 1, threadPoolName: 'p' }).addQueue(
      options({ inputBatchSizeLimit: 20, enableLargeBatchSplitting: true, maxExecutionBatchSize: 4, maxEnqueuedBatches: 2 }),
      recorder.process,
      split,
    );
    queue.schedule({ id: 'a', size: 1 });
    assert.throws(() => queue.schedule({ id: 'b', size: 8 }), {
      name: 'TfServeError',
      code: 'UNAVAILABLE',
      message:
        'The batch scheduling queue to which this task was submitted is full; task size is 8 but scheduling capacity is only 7 ' +
        '(num_enqueued_batches=1, max_enqueued_batches=2, open_batch_size=1, max_execution_batch_size=4)',
    });
    recorder.releaseAll();
    await queue.close();
  });

  test('BAD CALL - splitting needs a split function', () => {
    const scheduler = new BatchScheduler({ numBatchThreads: 1, threadPoolName: 'p' });
    assert.throws(() => scheduler.addQueue(options({ enableLargeBatchSplitting: true }), new Recorder().process), {
      code: 'INVALID_ARGUMENT',
      message: 'split_input_task_func must be specified when split_input_task is true: 1',
    });
  });

  test('a removed task does not run, and a batch it leaves empty is dropped', async () => {
    const recorder = new Recorder();
    const queue = new BatchScheduler({ numBatchThreads: 1, threadPoolName: 'p' }).addQueue(options(), recorder.process);
    const [a, b, c] = items({ a: 3, b: 3, c: 1 });
    queue.schedule(a!);
    queue.schedule(b!);
    queue.schedule(c!);
    assert.equal(queue.remove(a!), true);
    assert.equal(queue.remove(b!), true);
    assert.equal(queue.remove(b!), false);
    await queue.close();
    assert.deepEqual(recorder.batches, [['c']]);
  });

  test('close() runs the open batch at once, resolves when the queue is empty and refuses new tasks', async () => {
    const recorder = new Recorder();
    recorder.hold = true;
    const queue = new BatchScheduler({ numBatchThreads: 1, threadPoolName: 'p' }).addQueue(options(), recorder.process);
    queue.schedule({ id: 'a', size: 1 });
    let closed = false;
    const closing = queue.close().then(() => (closed = true));
    await recorder.started(1);
    assert.deepEqual(recorder.batches, [['a']]);
    await new Promise((resolve) => setImmediate(resolve));
    assert.equal(closed, false, 'close() waits for the batch in flight');
    assert.throws(() => queue.schedule({ id: 'late', size: 1 }), { code: 'UNAVAILABLE' });
    recorder.releaseAll();
    await closing;
    assert.equal(closed, true);
  });

  test('a batch whose processing throws still frees its slot', async () => {
    const scheduler = new BatchScheduler({ numBatchThreads: 1, threadPoolName: 'p' });
    const seen: string[] = [];
    const queue = scheduler.addQueue<Item>(options({ batchTimeoutMicros: 0 }), (batch) => {
      seen.push(batch.tasks[0]!.id);
      if (seen.length === 1) throw new Error('boom');
      return Promise.reject(new Error('boom again'));
    });
    queue.schedule({ id: 'a', size: 1 });
    await new Promise((resolve) => setImmediate(resolve));
    queue.schedule({ id: 'b', size: 1 });
    await queue.close();
    assert.deepEqual(seen, ['a', 'b']);
    assert.equal(scheduler.runningBatches, 0);
  });
});

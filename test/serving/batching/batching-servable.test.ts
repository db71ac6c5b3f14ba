/**
 * Batching over a real SavedModel whose outputs reveal the batch a run saw (batch_probe: batch_size
 * = the run's dim 0, width = its dim 1). Deterministic: batches run because they fill, because their
 * queue closes (dispose) or because a 1 µs timeout passed; nothing asserts how long anything took.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { suite, test, type TestContext } from 'node:test';

import { binding } from '../../../src/model/native.js';
import { loadSavedModel } from '../../../src/model/saved-model.js';
import type { Tensor, TensorInput } from '../../../src/model/tensor.js';
import { BatchScheduler } from '../../../src/serving/batching/batch-scheduler.js';
import { parseBatchingParameters, PER_MODEL_BATCHING_FILE, queueOptions } from '../../../src/serving/batching/batching-parameters.js';
import {
  BatchingServable,
  roundToAllowedBatchSize,
  serverBatching,
  taskSize,
  wrapForBatching,
} from '../../../src/serving/batching/batching-servable.js';
import { Cancellation, Inference } from '../../../src/serving/inference.js';
import { ModelManager } from '../../../src/serving/manager.js';
import { ServingMetrics } from '../../../src/serving/metrics.js';
import { type RunRequest, type Servable, SavedModelServable } from '../../../src/serving/servable.js';
import { buildApp } from '../../../src/server/app.js';
import { modelPath } from '../../helpers.js';

const PROBE = modelPath('batch_probe');
const FAR = 'batch_timeout_micros { value: 600000000 }'; // 10 minutes: never reached in a test

// batch_probe's graph tensor names (test/fixtures/models/batch_probe.golden.json).
const X = 'serving_default_x:0';
const BATCH_SIZE = 'PartitionedCall_3:0';
const WIDTH = 'PartitionedCall_3:1';
const Y = 'PartitionedCall_3:2';
const S = 'strings_s:0';
const S_BATCH_SIZE = 'PartitionedCall_4:0';
const JOINED = 'PartitionedCall_4:1';
const PAIR_A = 'pair_a:0';
const PAIR_B = 'pair_b:0';
const PAIR_SUM = 'PartitionedCall_1:1';
const SCALAR_X = 'scalar_output_x:0';
const TOTAL = 'PartitionedCall_2:0';
const FIRST_X = 'first_row_x:0';
const HEAD = 'PartitionedCall:0';

/** Passes everything to the real servable and records what each run was given. */
class Recording implements Servable {
  readonly requests: RunRequest[] = [];
  constructor(
    readonly inner: Servable,
    readonly hideSignatures = false,
  ) {}

  get path(): string {
    return this.inner.path;
  }

  get signatures(): Servable['signatures'] {
    return this.hideSignatures ? {} : this.inner.signatures;
  }

  get signatureDefs(): Servable['signatureDefs'] {
    return this.inner.signatureDefs;
  }

  run(request: RunRequest): Promise<Tensor[]> {
    this.requests.push(request);
    return this.inner.run(request);
  }

  dispose(): Promise<void> {
    return this.inner.dispose();
  }
}

interface Setup {
  servable: BatchingServable;
  recording: Recording;
  scheduler: BatchScheduler;
}

async function setup(t: TestContext, parameters: string, options: { threads?: number; hideSignatures?: boolean; metrics?: ServingMetrics } = {}): Promise<Setup> {
  const recording = new Recording(new SavedModelServable(await loadSavedModel(PROBE)), options.hideSignatures);
  const scheduler = new BatchScheduler({ numBatchThreads: options.threads ?? 1, threadPoolName: 'test' });
  const servable = new BatchingServable(recording, {
    scheduler,
    queue: queueOptions(parseBatchingParameters(parameters)),
    model: 'probe',
    metrics: options.metrics,
  });
  t.after(() => servable.dispose());
  return { servable, recording, scheduler };
}

function rows(values: number[][]): TensorInput {
  return { dtype: 'float32', shape: [values.length, values[0]?.length ?? 0], data: values.flat() };
}

function probe(servable: Servable, values: number[][], extra: Partial<RunRequest> = {}): Promise<Tensor[]> {
  return servable.run({ feeds: { [X]: rows(values) }, fetches: [Y, BATCH_SIZE, WIDTH], ...extra });
}

function list(tensor: Tensor): unknown[] {
  return Array.from(tensor.data as ArrayLike<unknown>);
}

/** [y rows, batch sizes, widths] of one answer. */
function read(outputs: Tensor[]): { y: number[][]; batch: number[]; width: number[] } {
  const [y, batch, width] = outputs as [Tensor, Tensor, Tensor];
  const inner = y.shape[1]!;
  const values = list(y) as number[];
  return {
    y: Array.from({ length: y.shape[0]! }, (_, r) => values.slice(r * inner, (r + 1) * inner)),
    batch: list(batch) as number[],
    width: list(width) as number[],
  };
}

async function rejectsWith(promise: Promise<unknown>, code: string, message: string | RegExp): Promise<void> {
  await assert.rejects(promise, (err: unknown) => {
    const error = err as { name: string; code: string; message: string };
    assert.equal(error.name, 'TfServeError', String(err));
    assert.equal(error.code, code, error.message);
    if (typeof message === 'string') assert.equal(error.message, message);
    else assert.match(error.message, message);
    return true;
  });
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

async function waitUntil(what: string, condition: () => boolean): Promise<void> {
  const deadline = Date.now() + 30_000;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(5);
  }
}

suite('helpers', () => {
  test('roundToAllowedBatchSize: the first allowed size that holds the batch, else the batch', () => {
    assert.equal(roundToAllowedBatchSize([2, 4, 8], 3), 4);
    assert.equal(roundToAllowedBatchSize([2, 4, 8], 4), 4);
    assert.equal(roundToAllowedBatchSize([2, 4, 8], 9), 9);
    assert.equal(roundToAllowedBatchSize([], 3), 3);
  });

  test('taskSize: the inputs\' common dim 0', () => {
    assert.equal(taskSize([{ shape: [3, 2] }, { shape: [3] }]), 3);
  });
});

suite('BatchingServable: merging and splitting', () => {
  test('concurrent requests run as one batch, inputs in task order, each answered with its own rows', async (t) => {
    const { servable, recording } = await setup(t, `max_batch_size { value: 4 } ${FAR}`);
    const [a, b, c] = await Promise.all([probe(servable, [[1, 2]]), probe(servable, [[3, 4], [5, 6]]), probe(servable, [[7, 8]])]);
    assert.deepEqual(read(a!), { y: [[1, 2]], batch: [4], width: [2] });
    assert.deepEqual(read(b!), { y: [[3, 4], [5, 6]], batch: [4, 4], width: [2, 2] });
    assert.deepEqual(read(c!), { y: [[7, 8]], batch: [4], width: [2] });
    assert.equal(recording.requests.length, 1);
    const [run] = recording.requests;
    assert.deepEqual(run!.feeds[X]!.shape, [4, 2]);
    assert.deepEqual(Array.from(run!.feeds[X]!.data as Float32Array), [1, 2, 3, 4, 5, 6, 7, 8]);
    assert.deepEqual(run!.fetches, [BATCH_SIZE, WIDTH, Y], 'a batch fetches the sorted distinct names');
  });

  test('the batch buffer is aligned native memory TF uses without a copy; outputs are views of one TF buffer', async (t) => {
    const { servable, recording } = await setup(t, `max_batch_size { value: 2 } ${FAR}`);
    const copiesBefore = binding()._inputCopies();
    const [a, b] = await Promise.all([probe(servable, [[1, 2]]), probe(servable, [[3, 4]])]);
    assert.equal(binding()._inputCopies(), copiesBefore, 'the merged batch is fed without a copy');
    const data = recording.requests[0]!.feeds[X]!.data as Float32Array;
    assert.equal(binding()._addressOf(data) % 64n, 0n);
    const [ya, yb] = [a![0]!.data as Float32Array, b![0]!.data as Float32Array];
    assert.equal(ya.buffer, yb.buffer, 'both answers view the batch output');
    assert.equal(yb.byteOffset - ya.byteOffset, 2 * 4);
  });

  test('a batch of one task that needs no padding runs on the task\'s own tensors', async (t) => {
    const { servable, recording } = await setup(t, 'max_batch_size { value: 1 }');
    const input: TensorInput = { dtype: 'float32', shape: [1, 2], data: new Float32Array([1, 2]) };
    await servable.run({ feeds: { [X]: input }, fetches: [Y] });
    assert.equal(recording.requests[0]!.feeds[X]!.data, input.data);
  });

  test('a batch is padded to the next allowed size with the last task\'s first row; padding leaves the outputs', async (t) => {
    const { servable, recording } = await setup(t, `max_batch_size { value: 8 } allowed_batch_sizes: 2 allowed_batch_sizes: 4 allowed_batch_sizes: 8 ${FAR}`);
    const answers = Promise.all([probe(servable, [[1, 1]]), probe(servable, [[2, 2], [3, 3]])]);
    await waitUntil('both queued', () => servable.enqueuedTasks === 2);
    await servable.dispose(); // closes the queue: the open batch of 3 rows runs at once
    const [a, b] = await answers;
    assert.deepEqual(read(a!), { y: [[1, 1]], batch: [4], width: [2] });
    assert.deepEqual(read(b!), { y: [[2, 2], [3, 3]], batch: [4, 4], width: [2, 2] });
    const feed = recording.requests[0]!.feeds[X]!;
    assert.deepEqual(feed.shape, [4, 2]);
    assert.deepEqual(Array.from(feed.data as Float32Array), [1, 1, 2, 2, 3, 3, 2, 2]);
  });

  test('string tensors merge, pad and split too', async (t) => {
    const { servable } = await setup(t, `max_batch_size { value: 4 } allowed_batch_sizes: 4 ${FAR}`);
    const run = (values: string[]): Promise<Tensor[]> => servable.run({ feeds: { [S]: { dtype: 'string', shape: [values.length], data: values } }, fetches: [JOINED, S_BATCH_SIZE] });
    const answers = Promise.all([run(['a']), run(['bc', 'd'])]);
    await waitUntil('both queued', () => servable.enqueuedTasks === 2);
    await servable.dispose();
    const [a, b] = await answers;
    const text = (tensor: Tensor): string[] => (tensor.data as Uint8Array[]).map((bytes) => Buffer.from(bytes).toString());
    assert.deepEqual(text(a![0]!), ['a!']);
    assert.deepEqual(text(b![0]!), ['bc!', 'd!']);
    assert.deepEqual(list(b![1]!), [4, 4]);
  });

  test('pad_variable_length_inputs pads each tensor to the per-dimension maximum with its own first element', async (t) => {
    const { servable, recording } = await setup(t, `max_batch_size { value: 3 } pad_variable_length_inputs: true ${FAR}`);
    const [a, b] = await Promise.all([probe(servable, [[5, 6]]), probe(servable, [[1, 2, 3], [4, 5, 6]])]);
    assert.deepEqual(read(a!), { y: [[5, 6, 5]], batch: [3], width: [3] });
    assert.deepEqual(read(b!), { y: [[1, 2, 3], [4, 5, 6]], batch: [3, 3], width: [3, 3] });
    assert.deepEqual(Array.from(recording.requests[0]!.feeds[X]!.data as Float32Array), [5, 6, 5, 1, 2, 3, 4, 5, 6]);
  });

  test('large tasks are split across batches of max_execution_batch_size and their outputs joined', async (t) => {
    const { servable, recording } = await setup(
      t,
      `max_batch_size { value: 8 } enable_large_batch_splitting { value: true } max_execution_batch_size { value: 4 } ${FAR}`,
    );
    const values = [[1], [2], [3], [4], [5], [6]];
    const answers = Promise.all([probe(servable, values), probe(servable, [[7]])]);
    await waitUntil('the first batch ran', () => recording.requests.length === 1 && servable.enqueuedTasks === 2);
    await servable.dispose();
    const [whole, one] = await answers;
    // [1..4] fill a batch of 4; [5, 6] and [7] share the next, which runs when the queue closes.
    assert.deepEqual(read(whole!).y, values);
    assert.deepEqual(read(whole!).batch, [4, 4, 4, 4, 3, 3]);
    assert.deepEqual(read(one!).batch, [3]);
    assert.equal(recording.requests.length, 2);
  });
});

suite('BatchingServable: deadlines', () => {
  test('EXPECTED FAILURE - tasks whose deadline passed while queued', async (t) => {
    const { servable, recording } = await setup(t, `max_batch_size { value: 4 } ${FAR}`);
    const answers = [probe(servable, [[1, 2]], { timeoutMs: 1 }), probe(servable, [[3, 4]], { timeoutMs: 1 })];
    const checked = Promise.all(answers.map((answer) => rejectsWith(answer, 'RESOURCE_EXHAUSTED', 'Run() timeout exceeded while waiting in batching queue')));
    await sleep(20);
    await servable.dispose();
    await checked;
    assert.equal(recording.requests.length, 0, 'an expired batch does not run');
  });

  test('a batch with one live task runs them all, with the latest remaining deadline', async (t) => {
    const { servable, recording } = await setup(t, `max_batch_size { value: 4 } ${FAR}`);
    const answers = Promise.all([probe(servable, [[1, 2]], { timeoutMs: 1 }), probe(servable, [[3, 4]], { timeoutMs: 3_600_000 })]);
    await sleep(20);
    await servable.dispose();
    const [expired, live] = await answers;
    assert.deepEqual(read(expired!).batch, [2]);
    assert.deepEqual(read(live!).batch, [2]);
    const timeout = recording.requests[0]!.timeoutMs!;
    assert.ok(timeout > 1 && timeout <= 3_600_000, `batch timeout ${timeout}`);
  });

  test('a batch with a task without deadline runs without one', async (t) => {
    const { servable, recording } = await setup(t, `max_batch_size { value: 2 } ${FAR}`);
    await Promise.all([probe(servable, [[1, 2]], { timeoutMs: 60_000 }), probe(servable, [[3, 4]])]);
    assert.equal(recording.requests[0]!.timeoutMs, undefined);
  });

  test('a batch runs batch_timeout_micros after its first task without being full', async (t) => {
    const { servable } = await setup(t, 'max_batch_size { value: 64 } batch_timeout_micros { value: 1 }');
    assert.deepEqual(read(await probe(servable, [[1, 2]])).batch, [1]);
  });
});

suite('BatchingServable: errors', () => {
  test('EXPECTED FAILURE - a task larger than max_batch_size', async (t) => {
    const { servable } = await setup(t, 'max_batch_size { value: 2 }');
    await rejectsWith(probe(servable, [[1], [2], [3]]), 'INVALID_ARGUMENT', 'Task size 3 is larger than maximum input batch size 2');
  });

  test('EXPECTED FAILURE - the queue is full', async (t) => {
    const { servable } = await setup(t, `max_batch_size { value: 2 } max_enqueued_batches { value: 1 } ${FAR}`);
    const queued = probe(servable, [[1]]);
    await rejectsWith(
      probe(servable, [[2], [3]]),
      'UNAVAILABLE',
      'The batch scheduling queue to which this task was submitted is full; currently 1 batches enqueued and max_enqueued_batches is 1',
    );
    await servable.dispose();
    assert.deepEqual(read(await queued).batch, [1]);
  });

  test('EXPECTED FAILURE - a request with no input', async (t) => {
    const { servable } = await setup(t, '');
    await rejectsWith(servable.run({ feeds: {}, fetches: [Y] }), 'INVALID_ARGUMENT', 'Batching Run() must have at least one input tensor');
  });

  test('EXPECTED FAILURE - an input with no dimension', async (t) => {
    const { servable } = await setup(t, '');
    await rejectsWith(
      servable.run({ feeds: { [X]: { dtype: 'float32', shape: [], data: [1] } }, fetches: [Y] }),
      'INVALID_ARGUMENT',
      'Batching Run() input tensors must have at least one dimension',
    );
  });

  test('EXPECTED FAILURE - inputs of unequal dim 0', async (t) => {
    const { servable } = await setup(t, '');
    await rejectsWith(
      servable.run({ feeds: { [PAIR_A]: { dtype: 'float32', shape: [2], data: [1, 2] }, [PAIR_B]: { dtype: 'float32', shape: [1], data: [1] } }, fetches: [PAIR_SUM] }),
      'INVALID_ARGUMENT',
      'Batching Run() input tensors must have equal 0th-dimension size',
    );
  });

  test('EXPECTED FAILURE - shapes that differ past dim 0 with padding off fail the whole batch', async (t) => {
    const { servable } = await setup(t, `max_batch_size { value: 3 } ${FAR}`);
    const message =
      "Tensors with name 'serving_default_x:0' from different tasks have different shapes and padding is turned off. Set pad_variable_length_inputs to true, " +
      'or ensure that all tensors with the same name have equal dimensions starting with the first dim.';
    const answers = [probe(servable, [[1, 2]]), probe(servable, [[1, 2, 3], [4, 5, 6]])];
    await Promise.all(answers.map((answer) => rejectsWith(answer, 'FAILED_PRECONDITION', message)));
  });

  test('EXPECTED FAILURE - padding: ranks above 6', async (t) => {
    const { servable } = await setup(t, 'pad_variable_length_inputs: true');
    await rejectsWith(
      servable.run({ feeds: { [X]: { dtype: 'float32', shape: [1, 1, 1, 1, 1, 1, 1], data: [1] } }, fetches: [Y] }),
      'INVALID_ARGUMENT',
      'Only tensors with rank from 1 to 6 can be padded.',
    );
  });

  test('EXPECTED FAILURE - padding: an empty tensor among non-empty ones', async (t) => {
    const { servable } = await setup(t, `max_batch_size { value: 2 } pad_variable_length_inputs: true ${FAR}`);
    const answers = [probe(servable, [[]]), probe(servable, [[1, 2]])];
    await Promise.all(answers.map((answer) => rejectsWith(answer, 'INVALID_ARGUMENT', 'Got empty tensor in batch of non-empty tensors.')));
  });

  test('EXPECTED FAILURE - padding: tensors of different ranks', async (t) => {
    const { servable } = await setup(t, `max_batch_size { value: 2 } pad_variable_length_inputs: true ${FAR}`);
    const answers = [
      servable.run({ feeds: { [X]: { dtype: 'float32', shape: [1, 2], data: [1, 2] } }, fetches: [Y] }),
      servable.run({ feeds: { [X]: { dtype: 'float32', shape: [1, 1, 2], data: [1, 2] } }, fetches: [Y] }),
    ];
    const message = "Tensors with name 'serving_default_x:0' from different tasks have different ranks and cannot be padded to one shape.";
    await Promise.all(answers.map((answer) => rejectsWith(answer, 'FAILED_PRECONDITION', message)));
  });

  test('EXPECTED FAILURE - a batched output without dimensions', async (t) => {
    const { servable } = await setup(t, '');
    await rejectsWith(
      servable.run({ feeds: { [SCALAR_X]: { dtype: 'float32', shape: [2], data: [1, 2] } }, fetches: [TOTAL] }),
      'FAILED_PRECONDITION',
      'Batched output tensor has 0 dimensions',
    );
  });

  test('EXPECTED FAILURE - a batched output whose dim 0 is not the batch\'s', async (t) => {
    const { servable } = await setup(t, '');
    await rejectsWith(
      servable.run({ feeds: { [FIRST_X]: { dtype: 'float32', shape: [2], data: [1, 2] } }, fetches: [HEAD] }),
      'FAILED_PRECONDITION',
      "Batched output tensor's 0th dimension does not equal the sum of the 0th dimension sizes of the input tensors",
    );
  });

  test('EXPECTED FAILURE - a feed of the wrong dtype fails alone, with the session\'s error, and its batch-mate runs', async (t) => {
    const { servable } = await setup(t, `max_batch_size { value: 2 } ${FAR}`);
    const bad = servable.run({ feeds: { [X]: { dtype: 'int32', shape: [1, 2], data: [1, 2] } }, fetches: [Y] });
    await rejectsWith(bad, 'INVALID_ARGUMENT', "input 'serving_default_x:0' expects float32 but got int32");
    const good = Promise.all([probe(servable, [[1, 2]]), probe(servable, [[3, 4]])]);
    assert.deepEqual((await good).map((answer) => read(answer).batch), [[2], [2]]);
  });

  test('EXPECTED FAILURE - feeds that no signature names, of different dtypes, fail the concatenation', async (t) => {
    const { servable } = await setup(t, `max_batch_size { value: 2 } ${FAR}`, { hideSignatures: true });
    const answers = [
      servable.run({ feeds: { [X]: { dtype: 'float32', shape: [1, 1], data: [1] } }, fetches: [Y] }),
      servable.run({ feeds: { [X]: { dtype: 'int32', shape: [1, 1], data: [1] } }, fetches: [Y] }),
    ];
    const message = 'Tensor concat operation failed: INVALID_ARGUMENT: Cannot concatenate tensors that have different data types. Got float and int32.';
    await Promise.all(answers.map((answer) => rejectsWith(answer, 'INTERNAL', message)));
  });

  test('EXPECTED FAILURE - Inference words a dtype mismatch as TF does', async (t) => {
    const manager = new ModelManager({
      load: async (dir) => new BatchingServable(new SavedModelServable(await loadSavedModel(dir)), {
        scheduler: new BatchScheduler({ numBatchThreads: 1, threadPoolName: 'test' }),
        queue: queueOptions(parseBatchingParameters('')),
      }),
    });
    t.after(() => manager.close());
    manager.setAspiredVersions('probe', [{ version: 1, path: PROBE }]);
    await manager.settled();
    const inference = new Inference({ manager });
    await rejectsWith(
      inference.predict({ modelSpec: { name: 'probe' }, inputs: { x: { dtype: 'int32', shape: [1, 1], data: [1] } } }),
      'INVALID_ARGUMENT',
      'Expects arg[0] to be float but int32 is provided',
    );
  });
});

suite('BatchingServable: unload and clients that go away', () => {
  test('dispose() runs the queued tasks, then disposes the wrapped servable', async (t) => {
    const { servable, recording } = await setup(t, `max_batch_size { value: 8 } ${FAR}`);
    const answers = Promise.all([probe(servable, [[1, 2]]), probe(servable, [[3, 4]])]);
    await waitUntil('both queued', () => servable.enqueuedTasks === 2);
    await servable.dispose();
    assert.deepEqual((await answers).map((answer) => read(answer).batch), [[2], [2]]);
    await rejectsWith(recording.inner.run({ feeds: { [X]: rows([[1]]) }, fetches: [Y] }), 'FAILED_PRECONDITION', 'the model has been disposed');
  });

  test('a version unloads only after its queued tasks are done', async (t) => {
    const manager = new ModelManager({
      load: async (dir) => new BatchingServable(new SavedModelServable(await loadSavedModel(dir)), {
        scheduler: new BatchScheduler({ numBatchThreads: 1, threadPoolName: 'test' }),
        queue: queueOptions(parseBatchingParameters('max_batch_size { value: 8 } batch_timeout_micros { value: 200000 }')),
      }),
    });
    t.after(() => manager.close());
    manager.setAspiredVersions('probe', [{ version: 1, path: PROBE }]);
    await manager.settled();
    const inference = new Inference({ manager });
    const request = (value: number) => inference.predict({ modelSpec: { name: 'probe' }, inputs: { x: rows([[value]]) }, outputFilter: ['batch_size'] });
    const answers = Promise.all([request(1), request(2)]);
    manager.setAspiredVersions('probe', []);
    const results = await answers;
    assert.deepEqual(results.map((r) => list(r.outputs['batch_size']!)), [[2], [2]], 'both ran, together');
    await manager.settled();
    assert.deepEqual(manager.status('probe'), [{ version: 1, state: 'END', error: null }]);
  });

  test('EXPECTED FAILURE - a request whose signal fires while queued leaves the queue and does not run', async (t) => {
    const { servable, recording } = await setup(t, `max_batch_size { value: 8 } ${FAR}`);
    const controller = new AbortController();
    const gone = probe(servable, [[1, 2]], { signal: controller.signal });
    const stays = probe(servable, [[3, 4]]);
    await waitUntil('both queued', () => servable.enqueuedTasks === 2);
    controller.abort();
    await rejectsWith(gone, 'CANCELLED', 'The client cancelled the call');
    assert.equal(servable.enqueuedTasks, 1);
    await servable.dispose();
    assert.deepEqual(read(await stays), { y: [[3, 4]], batch: [1], width: [2] });
    assert.deepEqual(recording.requests[0]!.feeds[X]!.shape, [1, 2]);
  });

  test('EXPECTED FAILURE - a request whose signal already fired is not queued, and unbatched it does not run', async (t) => {
    const { servable, recording } = await setup(t, '');
    await rejectsWith(probe(servable, [[1]], { signal: AbortSignal.abort() }), 'CANCELLED', 'The client cancelled the call');
    assert.equal(servable.enqueuedTasks, 0);
    await rejectsWith(probe(recording.inner, [[1]], { signal: AbortSignal.abort() }), 'CANCELLED', 'The client cancelled the call');
  });

  test('EXPECTED FAILURE - a call cancelled through the serving layer (gRPC\'s path) leaves the queue', async (t) => {
    const manager = new ModelManager({
      load: async (dir) => new BatchingServable(new SavedModelServable(await loadSavedModel(dir)), {
        scheduler: new BatchScheduler({ numBatchThreads: 1, threadPoolName: 'test' }),
        queue: queueOptions(parseBatchingParameters(`max_batch_size { value: 8 } ${FAR}`)),
      }),
    });
    t.after(() => manager.close());
    manager.setAspiredVersions('probe', [{ version: 1, path: PROBE }]);
    await manager.settled();
    const handle = manager.acquire('probe', {});
    const servable = handle.servable as BatchingServable;
    handle.release();
    const cancellation = new Cancellation();
    const answer = new Inference({ manager }).predict({ modelSpec: { name: 'probe' }, inputs: { x: rows([[1]]) } }, { signal: cancellation });
    await waitUntil('the request is queued', () => servable.enqueuedTasks === 1);
    cancellation.abort();
    assert.equal(servable.enqueuedTasks, 0);
    await rejectsWith(answer, 'CANCELLED', 'The client cancelled the call');
  });

  test('a REST request whose client disconnects leaves the queue', async (t) => {
    const manager = new ModelManager({
      load: async (dir) => new BatchingServable(new SavedModelServable(await loadSavedModel(dir)), {
        scheduler: new BatchScheduler({ numBatchThreads: 1, threadPoolName: 'test' }),
        queue: queueOptions(parseBatchingParameters(`max_batch_size { value: 8 } ${FAR}`)),
      }),
    });
    manager.setAspiredVersions('probe', [{ version: 1, path: PROBE }]);
    await manager.settled();
    const app = await buildApp({ inference: new Inference({ manager }) });
    await app.listen({ port: 0, host: '127.0.0.1' });
    t.after(async () => {
      await app.close();
      await manager.close();
    });
    const handle = manager.acquire('probe', {});
    const servable = handle.servable as BatchingServable;
    handle.release();
    const { port } = app.server.address() as net.AddressInfo;
    const body = JSON.stringify({ instances: [[1, 2]] });
    const socket = net.connect(port, '127.0.0.1');
    socket.write(`POST /v1/models/probe:predict HTTP/1.1\r\nHost: x\r\nContent-Length: ${body.length}\r\n\r\n${body}`);
    await waitUntil('the request is queued', () => servable.enqueuedTasks === 1);
    socket.destroy();
    await waitUntil('the request left the queue', () => servable.enqueuedTasks === 0);
  });
});

suite('BatchingServable: metrics', () => {
  test('TF Serving\'s batching_session metrics', async (t) => {
    const metrics = new ServingMetrics();
    const { servable } = await setup(t, `max_batch_size { value: 4 } allowed_batch_sizes: 4 ${FAR}`, { metrics });
    const answers = Promise.all([probe(servable, [[1, 2]]), probe(servable, [[3, 4], [5, 6]])]);
    await waitUntil('both queued', () => servable.enqueuedTasks === 2);
    await servable.dispose();
    await answers;
    const page = await metrics.exposition();
    assert.match(page, /^:tensorflow:serving:batching_session:wrapped_run_count\{\} 1$/m);
    assert.match(page, /^:tensorflow:serving:batching_session:processed_batch_size_count\{\} 1$/m);
    assert.match(page, /^:tensorflow:serving:batching_session:padding_size_count\{execution_batch_size="4"\} 1$/m);
    assert.match(page, /^:tensorflow:serving:batching_session:input_batch_size_count\{\} 2$/m);
    assert.match(page, /^:tensorflow:serving:batching_session:queuing_latency_count\{thread_pool_name=""\} 2$/m);
    assert.match(page, /^tfserve_requests_queued\{model="probe"\} 0$/m);
  });
});

suite('wrapForBatching and serverBatching', () => {
  test('with per-model parameters a version without batching_params.pbtxt is served unbatched', async () => {
    const options = serverBatching({ enableBatching: true, parametersFile: '', perModel: true })!;
    const plain = new SavedModelServable(await loadSavedModel(PROBE));
    assert.equal(await wrapForBatching(plain, 'probe', options), plain);
    await plain.dispose();
  });

  test('with per-model parameters a version\'s own file configures its queue', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tfserve-batching-'));
    for (const entry of fs.readdirSync(PROBE)) fs.symlinkSync(path.join(PROBE, entry), path.join(dir, entry));
    fs.writeFileSync(path.join(dir, PER_MODEL_BATCHING_FILE), 'max_batch_size { value: 16 } allowed_batch_sizes: 8 allowed_batch_sizes: 16');
    const logs: string[] = [];
    const options = serverBatching({ enableBatching: true, parametersFile: '', perModel: true }, (m) => logs.push(m))!;
    const wrapped = (await wrapForBatching(new SavedModelServable(await loadSavedModel(dir)), 'probe', options)) as BatchingServable;
    assert.ok(wrapped instanceof BatchingServable);
    assert.equal(wrapped.queueOptions.inputBatchSizeLimit, 16);
    assert.deepEqual(wrapped.queueOptions.allowedBatchSizes, [8, 16]);
    assert.deepEqual(logs, ['Wrapping session to perform batch processing']);
    assert.deepEqual(read(await probe(wrapped, [[1]])).batch, [8]);
    await wrapped.dispose();
    fs.rmSync(dir, { recursive: true });
  });

  test('EXPECTED FAILURE - a bad configuration fails the load and disposes the loaded servable', async () => {
    const file = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'tfserve-batching-')), 'batching.config');
    fs.writeFileSync(file, 'max_batch_size { value: 32 } allowed_batch_sizes: 8 allowed_batch_sizes: 16');
    const options = serverBatching({ enableBatching: true, parametersFile: file, perModel: false })!;
    const plain = new SavedModelServable(await loadSavedModel(PROBE));
    await rejectsWith(
      wrapForBatching(plain, 'probe', options),
      'INVALID_ARGUMENT',
      'Last entry in allowed_batch_sizes must match max_batch_size; last entry was 16; expected 32',
    );
    await rejectsWith(plain.run({ feeds: { [X]: rows([[1]]) }, fetches: [Y] }), 'FAILED_PRECONDITION', 'the model has been disposed');
  });

  test('batching off: no set-up', () => {
    assert.equal(serverBatching({ enableBatching: false, parametersFile: '', perModel: true }), null);
  });

  test('EXPECTED FAILURE - a parameters file without --enable_batching', () => {
    assert.throws(() => serverBatching({ enableBatching: false, parametersFile: '/x.config', perModel: false }), {
      name: 'TfServeError',
      code: 'INVALID_ARGUMENT',
      message: 'server_options.batching_parameters_file is set without setting server_options.enable_batching to true.',
    });
  });
});

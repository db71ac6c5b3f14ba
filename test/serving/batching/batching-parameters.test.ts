/** BatchingParameters text files, TF Serving's defaults and the checks that fail a start or a load. */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { suite, test } from 'node:test';

import {
  MODEL_SERVER_BATCHING_PARAMETERS,
  modelBatchingParameters,
  parseBatchingParameters,
  PER_MODEL_BATCHING_FILE,
  queueOptions,
  readBatchingParametersFile,
  schedulerOptions,
} from '../../../src/serving/batching/batching-parameters.js';

const FULL = `
# every field, as TF Serving's docs write them
max_batch_size { value: 128 }
batch_timeout_micros { value: 2500 }
max_enqueued_batches { value: 100 }
num_batch_threads { value: 3 }
thread_pool_name { value: "my_pool" }
allowed_batch_sizes: 32
allowed_batch_sizes: 64
allowed_batch_sizes: 128
pad_variable_length_inputs: true
enable_large_batch_splitting { value: true }
max_execution_batch_size { value: 64 }
`;

function tempDir(): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), 'tfserve-batching-'));
}

function rejectsWith(fn: () => unknown, code: string, message: string | RegExp): void {
  assert.throws(fn, (err: unknown) => {
    const error = err as { name: string; code: string; message: string };
    assert.equal(error.name, 'TfServeError');
    assert.equal(error.code, code);
    if (typeof message === 'string') assert.equal(error.message, message);
    else assert.match(error.message, message);
    return true;
  });
}

suite('parseBatchingParameters', () => {
  test('reads every field, wrappers and repeated sizes included', () => {
    assert.deepEqual(parseBatchingParameters(FULL), {
      maxBatchSize: 128,
      batchTimeoutMicros: 2500,
      maxEnqueuedBatches: 100,
      numBatchThreads: 3,
      threadPoolName: 'my_pool',
      allowedBatchSizes: [32, 64, 128],
      padVariableLengthInputs: true,
      enableLargeBatchSplitting: true,
      maxExecutionBatchSize: 64,
    });
  });

  test('an absent field stays absent and an empty wrapper is present with its default', () => {
    assert.deepEqual(parseBatchingParameters(''), { allowedBatchSizes: [], padVariableLengthInputs: false });
    assert.deepEqual(parseBatchingParameters('max_batch_size {} enable_large_batch_splitting {}'), {
      allowedBatchSizes: [],
      padVariableLengthInputs: false,
      maxBatchSize: 0,
      enableLargeBatchSplitting: false,
    });
  });

  test('EXPECTED FAILURE - a bare number where TF Serving wants a wrapper names line and column', () => {
    rejectsWith(
      () => parseBatchingParameters('max_batch_size: 128', '/etc/batching.txt'),
      'INVALID_ARGUMENT',
      "Invalid protobuf file: '/etc/batching.txt': Error parsing text-format tensorflow.serving.BatchingParameters: 1:17: Expected \"{\", found \"128\".",
    );
  });

  test('EXPECTED FAILURE - an unknown field', () => {
    rejectsWith(
      () => parseBatchingParameters('max_batch_sizes { value: 1 }'),
      'INVALID_ARGUMENT',
      /^Error parsing text-format tensorflow\.serving\.BatchingParameters: 1:17: Message type "tensorflow\.serving\.BatchingParameters" has no field named "max_batch_sizes"\.$/,
    );
  });

  test('EXPECTED FAILURE - a value beyond what JS numbers hold exactly', () => {
    rejectsWith(
      () => parseBatchingParameters('batch_timeout_micros { value: 9007199254740993 }'),
      'INVALID_ARGUMENT',
      'batch_timeout_micros 9007199254740993 is outside the range tfserve supports (-2^53+1 to 2^53-1)',
    );
  });
});

suite('readBatchingParametersFile', () => {
  test('reads a file', () => {
    const dir = tempDir();
    const file = path.join(dir, 'batching.config');
    fs.writeFileSync(file, 'max_batch_size { value: 8 }\n');
    assert.equal(readBatchingParametersFile(file).maxBatchSize, 8);
    fs.rmSync(dir, { recursive: true });
  });

  test('EXPECTED FAILURE - a missing file is NOT_FOUND naming the path', () => {
    const file = path.join(tempDir(), 'absent.config');
    rejectsWith(() => readBatchingParametersFile(file), 'NOT_FOUND', `${file}; No such file or directory`);
  });
});

suite('modelBatchingParameters', () => {
  const common = parseBatchingParameters('max_batch_size { value: 4 }');

  test('without per-model parameters every version gets the server\'s', async () => {
    assert.equal(await modelBatchingParameters('/nonexistent/1', common, false), common);
  });

  test('with them, a version without batching_params.pbtxt is not batched', async () => {
    const dir = tempDir();
    assert.equal(await modelBatchingParameters(dir, common, true), null);
    fs.rmSync(dir, { recursive: true });
  });

  test('with them, the version\'s own file replaces the server\'s parameters', async () => {
    const dir = tempDir();
    fs.writeFileSync(path.join(dir, PER_MODEL_BATCHING_FILE), 'max_batch_size { value: 16 } batch_timeout_micros { value: 7 }');
    assert.deepEqual(await modelBatchingParameters(dir, common, true), {
      allowedBatchSizes: [],
      padVariableLengthInputs: false,
      maxBatchSize: 16,
      batchTimeoutMicros: 7,
    });
    fs.rmSync(dir, { recursive: true });
  });

  test('EXPECTED FAILURE - a version file that does not parse names itself', async () => {
    const dir = tempDir();
    const file = path.join(dir, PER_MODEL_BATCHING_FILE);
    fs.writeFileSync(file, 'max_batch_size { value: "x" }');
    await assert.rejects(modelBatchingParameters(dir, common, true), {
      name: 'TfServeError',
      code: 'INVALID_ARGUMENT',
      message: `Invalid protobuf file: '${file}': Error parsing text-format tensorflow.serving.BatchingParameters: 1:25: Expected integer, got: "x"`,
    });
    fs.rmSync(dir, { recursive: true });
  });
});

suite('schedulerOptions', () => {
  test('TF Serving\'s defaults: one thread per CPU; the pool is named after how batching was enabled', () => {
    assert.deepEqual(schedulerOptions(MODEL_SERVER_BATCHING_PARAMETERS), {
      numBatchThreads: os.availableParallelism(),
      threadPoolName: 'model_server_batch_threads',
    });
    assert.deepEqual(schedulerOptions(parseBatchingParameters('')), { numBatchThreads: os.availableParallelism(), threadPoolName: 'batch_threads' });
    assert.deepEqual(schedulerOptions(parseBatchingParameters(FULL)), { numBatchThreads: 3, threadPoolName: 'my_pool' });
  });

  test('EXPECTED FAILURE - num_batch_threads must be positive', () => {
    rejectsWith(() => schedulerOptions(parseBatchingParameters('num_batch_threads { value: 0 }')), 'INVALID_ARGUMENT', 'num_batch_threads must be positive; was 0');
  });
});

suite('queueOptions', () => {
  test('TF Serving\'s defaults', () => {
    assert.deepEqual(queueOptions(MODEL_SERVER_BATCHING_PARAMETERS), {
      inputBatchSizeLimit: 1000,
      batchTimeoutMicros: 0,
      maxEnqueuedBatches: 10,
      enableLargeBatchSplitting: false,
      maxExecutionBatchSize: 1000,
      allowedBatchSizes: [],
      padVariableLengthInputs: false,
    });
  });

  test('splitting runs batches of max_execution_batch_size, by default max_batch_size', () => {
    assert.equal(queueOptions(parseBatchingParameters(FULL)).maxExecutionBatchSize, 64);
    const splitting = queueOptions(parseBatchingParameters('max_batch_size { value: 50 } enable_large_batch_splitting { value: true }'));
    assert.equal(splitting.maxExecutionBatchSize, 50);
    // Without splitting max_execution_batch_size means nothing.
    const plain = queueOptions(parseBatchingParameters('max_batch_size { value: 50 } max_execution_batch_size { value: 10 }'));
    assert.equal(plain.maxExecutionBatchSize, 50);
  });

  test('max_enqueued_batches 0 means 1 without splitting, as AddQueue rewrites it', () => {
    assert.equal(queueOptions(parseBatchingParameters('max_enqueued_batches { value: 0 }')).maxEnqueuedBatches, 1);
  });

  const failures: [string, string][] = [
    ['allowed_batch_sizes: 8 allowed_batch_sizes: 16', 'Last entry in allowed_batch_sizes must match max_batch_size; last entry was 16; expected 1000'],
    [
      'max_batch_size { value: 32 } allowed_batch_sizes: 8 allowed_batch_sizes: 16',
      'Last entry in allowed_batch_sizes must match max_batch_size; last entry was 16; expected 32',
    ],
    ['max_batch_size { value: 32 } allowed_batch_sizes: 16 allowed_batch_sizes: 8 allowed_batch_sizes: 32', 'allowed_batch_sizes entries must be monotonically increasing'],
    ['max_batch_size { value: 32 } allowed_batch_sizes: 16 allowed_batch_sizes: 16 allowed_batch_sizes: 32', 'allowed_batch_sizes entries must be monotonically increasing'],
    ['max_batch_size { value: 0 }', 'input_batch_size_limit must be positive; was 0'],
    ['max_batch_size { value: -5 }', 'input_batch_size_limit must be positive; was -5'],
    ['batch_timeout_micros { value: -1 }', 'batch_timeout_micros must be non-negative; was -1'],
    ['max_enqueued_batches { value: 0 } enable_large_batch_splitting { value: true }', 'max_enqueued_batches must be positive; was 0'],
    ['max_enqueued_batches { value: -2 }', 'max_enqueued_batches must be positive; was -2'],
    [
      'max_batch_size { value: 16 } enable_large_batch_splitting { value: true } max_execution_batch_size { value: 32 }',
      'When enable_large_batch_splitting is true, input_batch_size_limit must be greater than or equal to max_execution_batch_size.11632',
    ],
    ['enable_large_batch_splitting { value: true } max_execution_batch_size { value: 0 }', 'max_execution_batch_size must be positive; was 0'],
    ['max_batch_size { value: 4294967296 }', 'max_batch_size 4294967296 is larger than tfserve supports (2147483647)'],
  ];
  for (const [text, message] of failures) {
    test(`EXPECTED FAILURE - ${message}`, () => {
      rejectsWith(() => queueOptions(parseBatchingParameters(text)), 'INVALID_ARGUMENT', message);
    });
  }
});

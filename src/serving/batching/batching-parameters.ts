/**
 * TF Serving's BatchingParameters (servables/tensorflow/session_bundle_config.proto): the text file
 * of `--batching_parameters_file` and of a version's `batching_params.pbtxt`
 * (`--enable_per_model_batching_parameters`), and how tensorflow_model_server turns it into the shared
 * scheduler's options and each model's queue options, with its defaults and its error texts.
 *
 * Contract: parsing keeps presence (a field left out is undefined), as TF Serving applies defaults only
 * to fields that are absent. `schedulerOptions` runs the checks TF Serving makes when the server
 * starts; `queueOptions` runs those it makes when a model version is wrapped for batching, so their
 * errors fail that version's load. Everything thrown is a TfServeError with TF's code and text.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

import { TfServeError } from '../../model/errors.js';
import { type MessageSchema, parseTextProto, type TextProtoMessage } from '../../proto/text-format.js';
import { fsErrorToStatus } from '../source.js';

/** A BatchingParameters message; an absent field is undefined (the wrappers track presence). */
export interface BatchingParameters {
  readonly maxBatchSize?: number;
  readonly batchTimeoutMicros?: number;
  readonly maxEnqueuedBatches?: number;
  readonly numBatchThreads?: number;
  readonly threadPoolName?: string;
  readonly allowedBatchSizes: readonly number[];
  readonly padVariableLengthInputs: boolean;
  readonly enableLargeBatchSplitting?: boolean;
  readonly maxExecutionBatchSize?: number;
}

/** The shared scheduler's options (SharedBatchScheduler::Options). */
export interface SchedulerOptions {
  /** Batches that may run at once, over every model's queues. */
  readonly numBatchThreads: number;
  readonly threadPoolName: string;
}

/** One model version's queue options (SharedBatchScheduler::QueueOptions plus BatchingSessionOptions). */
export interface QueueOptions {
  /** The largest task a queue accepts (max_batch_size). */
  readonly inputBatchSizeLimit: number;
  readonly batchTimeoutMicros: number;
  readonly maxEnqueuedBatches: number;
  readonly enableLargeBatchSplitting: boolean;
  /** The largest batch that runs: max_execution_batch_size with splitting, else max_batch_size. */
  readonly maxExecutionBatchSize: number;
  readonly allowedBatchSizes: readonly number[];
  readonly padVariableLengthInputs: boolean;
}

/** The file name TF Serving looks for in a version directory with per-model batching parameters. */
export const PER_MODEL_BATCHING_FILE = 'batching_params.pbtxt';

/** tensorflow_model_server's thread pool name when --enable_batching comes without a file. */
export const MODEL_SERVER_THREAD_POOL_NAME = 'model_server_batch_threads';

// SharedBatchScheduler's defaults.
const DEFAULT_THREAD_POOL_NAME = 'batch_threads';
const DEFAULT_MAX_BATCH_SIZE = 1000;
const DEFAULT_MAX_ENQUEUED_BATCHES = 10;
const DEFAULT_BATCH_TIMEOUT_MICROS = 0;
// TF keeps sizes in C++ ints; a larger value has no meaning for a batch held in memory.
const MAX_SIZE = 0x7fffffff;

function wrapper(name: string, type: 'int64' | 'string' | 'bool'): MessageSchema {
  return { name: `google.protobuf.${name}`, fields: { value: { type } } };
}

const INT64_VALUE = wrapper('Int64Value', 'int64');

/** tensorflow.serving.BatchingParameters for parseTextProto. */
export const BATCHING_PARAMETERS_SCHEMA: MessageSchema = {
  name: 'tensorflow.serving.BatchingParameters',
  fields: {
    max_batch_size: { type: INT64_VALUE },
    batch_timeout_micros: { type: INT64_VALUE },
    max_enqueued_batches: { type: INT64_VALUE },
    num_batch_threads: { type: INT64_VALUE },
    thread_pool_name: { type: wrapper('StringValue', 'string') },
    allowed_batch_sizes: { type: 'int64', repeated: true },
    pad_variable_length_inputs: { type: 'bool' },
    enable_large_batch_splitting: { type: wrapper('BoolValue', 'bool') },
    max_execution_batch_size: { type: INT64_VALUE },
  },
};

/** A wrapper's value; an empty wrapper (`max_batch_size {}`) is present with the default value. */
function wrapped<T>(message: TextProtoMessage, field: string, empty: T): T | undefined {
  const value = message[field] as TextProtoMessage | undefined;
  if (value === undefined) return undefined;
  return (value['value'] as T | undefined) ?? empty;
}

function safeNumber(value: bigint, field: string): number {
  if (value > BigInt(Number.MAX_SAFE_INTEGER) || value < BigInt(Number.MIN_SAFE_INTEGER)) {
    throw new TfServeError('INVALID_ARGUMENT', `${field} ${value} is outside the range tfserve supports (-2^53+1 to 2^53-1)`);
  }
  return Number(value);
}

function optionalNumber(message: TextProtoMessage, field: string): number | undefined {
  const value = wrapped<bigint>(message, field, 0n);
  return value === undefined ? undefined : safeNumber(value, field);
}

/**
 * Parses BatchingParameters text. `source` (a file name) is quoted in errors as TF Serving's
 * ParseProtoTextFile does: `Invalid protobuf file: '<source>'`, then protobuf's own error.
 */
export function parseBatchingParameters(text: string | Uint8Array, source?: string): BatchingParameters {
  let message: TextProtoMessage;
  try {
    message = parseTextProto(text, BATCHING_PARAMETERS_SCHEMA);
  } catch (err) {
    if (source === undefined || !(err instanceof TfServeError)) throw err;
    throw new TfServeError('INVALID_ARGUMENT', `Invalid protobuf file: '${source}': ${err.message}`, { cause: err });
  }
  const params: {
    -readonly [K in keyof BatchingParameters]: BatchingParameters[K];
  } = {
    allowedBatchSizes: ((message['allowed_batch_sizes'] as bigint[] | undefined) ?? []).map((v) => safeNumber(v, 'allowed_batch_sizes')),
    padVariableLengthInputs: (message['pad_variable_length_inputs'] as boolean | undefined) ?? false,
  };
  const maxBatchSize = optionalNumber(message, 'max_batch_size');
  if (maxBatchSize !== undefined) params.maxBatchSize = maxBatchSize;
  const timeout = optionalNumber(message, 'batch_timeout_micros');
  if (timeout !== undefined) params.batchTimeoutMicros = timeout;
  const enqueued = optionalNumber(message, 'max_enqueued_batches');
  if (enqueued !== undefined) params.maxEnqueuedBatches = enqueued;
  const threads = optionalNumber(message, 'num_batch_threads');
  if (threads !== undefined) params.numBatchThreads = threads;
  const poolName = wrapped<string>(message, 'thread_pool_name', '');
  if (poolName !== undefined) params.threadPoolName = poolName;
  const splitting = wrapped<boolean>(message, 'enable_large_batch_splitting', false);
  if (splitting !== undefined) params.enableLargeBatchSplitting = splitting;
  const maxExecution = optionalNumber(message, 'max_execution_batch_size');
  if (maxExecution !== undefined) params.maxExecutionBatchSize = maxExecution;
  return params;
}

/** Reads and parses a BatchingParameters file at startup; read failures keep TF's code and name the path. */
export function readBatchingParametersFile(file: string): BatchingParameters {
  let bytes: Uint8Array;
  try {
    bytes = fs.readFileSync(file);
  } catch (err) {
    throw fsErrorToStatus(err, file);
  }
  return parseBatchingParameters(bytes, file);
}

/**
 * GetPerModelBatchingParams: with per-model parameters on, a version is batched with its own
 * `batching_params.pbtxt` and not batched at all (null) when the file is absent; otherwise every
 * version is batched with the server's parameters.
 */
export async function modelBatchingParameters(
  versionDir: string,
  common: BatchingParameters,
  perModel: boolean,
): Promise<BatchingParameters | null> {
  if (!perModel) return common;
  const file = path.join(versionDir, PER_MODEL_BATCHING_FILE);
  let bytes: Uint8Array;
  try {
    bytes = await fs.promises.readFile(file);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw fsErrorToStatus(err, file);
  }
  return parseBatchingParameters(bytes, file);
}

/** What tensorflow_model_server batches with when --enable_batching comes without a file. */
export const MODEL_SERVER_BATCHING_PARAMETERS: BatchingParameters = Object.freeze({
  threadPoolName: MODEL_SERVER_THREAD_POOL_NAME,
  allowedBatchSizes: Object.freeze([]),
  padVariableLengthInputs: false,
});

/**
 * CreateBatchScheduler's options, checked as SharedBatchScheduler::Create checks them at startup.
 * num_batch_threads defaults to the machine's CPUs, as TF's does.
 */
export function schedulerOptions(params: BatchingParameters): SchedulerOptions {
  const numBatchThreads = params.numBatchThreads ?? os.availableParallelism();
  if (numBatchThreads < 1) throw new TfServeError('INVALID_ARGUMENT', `num_batch_threads must be positive; was ${numBatchThreads}`);
  return { numBatchThreads: Math.min(numBatchThreads, MAX_SIZE), threadPoolName: params.threadPoolName ?? DEFAULT_THREAD_POOL_NAME };
}

function checkSize(value: number, field: string): void {
  if (value > MAX_SIZE) throw new TfServeError('INVALID_ARGUMENT', `${field} ${value} is larger than tfserve supports (${MAX_SIZE})`);
}

/**
 * The queue options of one version, with the checks WrapSessionForBatching and
 * SharedBatchScheduler::AddQueue make when TF Serving wraps a session (so a failure fails the load):
 * the last allowed batch size must equal max_batch_size, then the queue limits must be positive.
 * tfserve also requires the allowed batch sizes to increase, as the proto documents and TF's
 * BatchingSession checks with splitting (TF Serving's loader skips that check and rounds up to the
 * first larger entry in file order).
 */
export function queueOptions(params: BatchingParameters): QueueOptions {
  const inputBatchSizeLimit = params.maxBatchSize ?? DEFAULT_MAX_BATCH_SIZE;
  const allowed = params.allowedBatchSizes;
  if (allowed.length > 0) {
    const last = allowed[allowed.length - 1]!;
    if (last !== inputBatchSizeLimit) {
      throw new TfServeError(
        'INVALID_ARGUMENT',
        `Last entry in allowed_batch_sizes must match max_batch_size; last entry was ${last}; expected ${inputBatchSizeLimit}`,
      );
    }
    for (let i = 1; i < allowed.length; i++) {
      if (allowed[i]! <= allowed[i - 1]!) {
        throw new TfServeError('INVALID_ARGUMENT', 'allowed_batch_sizes entries must be monotonically increasing');
      }
    }
  }
  const enableLargeBatchSplitting = params.enableLargeBatchSplitting ?? false;
  let maxEnqueuedBatches = params.maxEnqueuedBatches ?? DEFAULT_MAX_ENQUEUED_BATCHES;
  // AddQueue keeps models that rely on 0 working: without splitting it means 1.
  if (!enableLargeBatchSplitting && maxEnqueuedBatches === 0) maxEnqueuedBatches = 1;
  const batchTimeoutMicros = params.batchTimeoutMicros ?? DEFAULT_BATCH_TIMEOUT_MICROS;
  const maxExecutionBatchSize = enableLargeBatchSplitting ? (params.maxExecutionBatchSize ?? inputBatchSizeLimit) : inputBatchSizeLimit;
  if (inputBatchSizeLimit <= 0) {
    throw new TfServeError('INVALID_ARGUMENT', `input_batch_size_limit must be positive; was ${inputBatchSizeLimit}`);
  }
  if (batchTimeoutMicros < 0) {
    throw new TfServeError('INVALID_ARGUMENT', `batch_timeout_micros must be non-negative; was ${batchTimeoutMicros}`);
  }
  if (maxEnqueuedBatches <= 0) {
    throw new TfServeError('INVALID_ARGUMENT', `max_enqueued_batches must be positive; was ${maxEnqueuedBatches}`);
  }
  if (enableLargeBatchSplitting && inputBatchSizeLimit < maxExecutionBatchSize) {
    // TF's StrCat appends the bool and both sizes without separators; kept as clients may match it.
    throw new TfServeError(
      'INVALID_ARGUMENT',
      'When enable_large_batch_splitting is true, input_batch_size_limit must be greater than or equal to ' +
        `max_execution_batch_size.1${inputBatchSizeLimit}${maxExecutionBatchSize}`,
    );
  }
  if (maxExecutionBatchSize <= 0) {
    throw new TfServeError('INVALID_ARGUMENT', `max_execution_batch_size must be positive; was ${maxExecutionBatchSize}`);
  }
  checkSize(inputBatchSizeLimit, 'max_batch_size');
  checkSize(maxExecutionBatchSize, 'max_execution_batch_size');
  return {
    inputBatchSizeLimit,
    batchTimeoutMicros,
    maxEnqueuedBatches,
    enableLargeBatchSplitting,
    maxExecutionBatchSize,
    allowedBatchSizes: [...allowed],
    padVariableLengthInputs: params.padVariableLengthInputs,
  };
}

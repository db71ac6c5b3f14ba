/**
 * Model warmup (TFSERVING_SPEC.md §6; servables/tensorflow/saved_model_warmup{,_util}.cc): the
 * requests recorded in `<version>/assets.extra/tf_serving_warmup_requests` are replayed on a version
 * after it is loaded and before it becomes AVAILABLE, so its first real requests do not pay for
 * TensorFlow's lazy initialisation.
 *
 * Contract: `runWarmup` replays through the Servable it is given (the one the manager will serve, so
 * through batching when batching wraps it) with the serving layer's own checks (Inference's *With
 * calls on a handle of that Servable: the request's model name and version are ignored, its signature
 * name is honoured). The file is TFRecord (masked CRC32C) of serialized PredictionLog records:
 * predict_log, classify_log, regress_log and multi_inference_log replay their request, a record with
 * no log is skipped, session_run_log and predict_streamed_log are UNIMPLEMENTED `Unsupported log_type
 * for warmup: <field number>`. Each record runs `numRequestIterations` times (default 1). Errors, all
 * TF Serving's: a record that is not a PredictionLog is INVALID_ARGUMENT `Failed to parse warmup
 * record: <bytes> from <path>`; more than 1000 records is INVALID_ARGUMENT `Number of warmup records
 * exceeds the maximum (1000) at <path>` (raised after the 1001st has run, as TF Serving does); damaged
 * framing is DATA_LOSS `<reader's message>. Please verify your warmup data is in TFRecord format.`;
 * a replay's own error is the request's error. Any of them fails the load, which the manager retries
 * like any failed load. No file: INFO `No warmup data file found at <path>` and nothing else.
 *
 * Metrics, where TF Serving records them: model_warmup_latency and model_warmup_records_read
 * {model_path, status} once the file has been read to its end (status OK) or to damaged framing.
 */
import fs from 'node:fs';
import path from 'node:path';

import { TfServeError } from '../model/errors.js';
import { readPredictionLog } from '../proto/prediction-log.js';
import {
  decodeClassificationRequest,
  decodeMultiInferenceRequest,
  decodePredictRequest,
  decodeRegressionRequest,
} from '../proto/serving-codec.js';
import { iterateTfRecords, TFRECORD_FORMAT_HINT } from '../proto/tfrecord.js';
import { WireFormatError } from '../proto/wire.js';
import { microsSince } from './call-observer.js';
import type { Inference } from './inference.js';
import type { ServableHandle } from './manager.js';
import { statusString } from './metrics.js';
import type { Servable } from './servable.js';
import { fsErrorToStatus } from './source.js';

export const WARMUP_DIRECTORY = 'assets.extra';
export const WARMUP_FILE = 'tf_serving_warmup_requests';
/** WarmupConsts::kMaxNumRecords. */
export const MAX_WARMUP_RECORDS = 1000;

export interface WarmupOptions {
  /** The serving layer whose checks the replays go through. */
  readonly inference: Inference;
  /** Replays per record: --num_request_iterations_for_warmup when > 0; 1 when undefined. */
  readonly numRequestIterations?: number;
  readonly log: { info(message: string): void };
  readonly metrics?: { warmup(modelPath: string, status: string, latencyUs: number, records: number): void };
}

export function warmupFilePath(versionDir: string): string {
  return path.join(versionDir, WARMUP_DIRECTORY, WARMUP_FILE);
}

/** ModelWarmupOptions::DebugString() as TF Serving logs it (without the final line feed). */
function optionsDebugString(iterations: number | undefined): string {
  return iterations === undefined ? '' : `num_request_iterations {\n  value: ${iterations}\n}`;
}

/** Replays one warmup record on `handle` (its errors as runWarmup's); `file` names the file in parse errors. */
export async function replayWarmupRecord(record: Buffer, handle: ServableHandle, inference: Inference, file: string): Promise<void> {
  let log: ReturnType<typeof readPredictionLog>;
  try {
    log = readPredictionLog(record);
  } catch (error) {
    if (!(error instanceof WireFormatError)) throw error;
    throw new TfServeError('INVALID_ARGUMENT', `Failed to parse warmup record: ${record.toString('utf8')} from ${file}`);
  }
  switch (log.logType) {
    case 0:
      return;
    case 6: {
      const { modelSpec, inputs, outputFilter } = decodePredictRequest(log.request);
      await inference.predictWith(handle, { modelSpec, inputs, outputFilter });
      return;
    }
    case 2: {
      const { modelSpec, examples } = decodeClassificationRequest(log.request);
      await inference.classifyWith(handle, { modelSpec, input: { serialized: examples } });
      return;
    }
    case 3: {
      const { modelSpec, examples } = decodeRegressionRequest(log.request);
      await inference.regressWith(handle, { modelSpec, input: { serialized: examples } });
      return;
    }
    case 4: {
      const { tasks, examples } = decodeMultiInferenceRequest(log.request);
      await inference.multiInferenceWith(handle, {
        tasks: tasks.map((task) => ({ modelSpec: task.modelSpec ?? { name: '' }, methodName: task.methodName })),
        input: { serialized: examples },
      });
      return;
    }
    default:
      throw new TfServeError('UNIMPLEMENTED', `Unsupported log_type for warmup: ${log.logType}`);
  }
}

/** Replays `servable`'s warmup file, if it has one; rejects with the error that must fail its load. */
export async function runWarmup(servable: Servable, name: string, version: number, options: WarmupOptions): Promise<void> {
  const { inference, log, metrics } = options;
  const started = process.hrtime.bigint();
  const file = warmupFilePath(servable.path);
  if (!fs.existsSync(file)) {
    log.info(`No warmup data file found at ${file}`);
    return;
  }
  const iterations = options.numRequestIterations;
  log.info(`Starting to read warmup data for model at ${file} with model-warmup-options ${optionsDebugString(iterations)}`);
  let bytes: Buffer;
  try {
    bytes = await fs.promises.readFile(file);
  } catch (err) {
    throw fsErrorToStatus(err, file);
  }
  const handle: ServableHandle = { name, version, servable, release() {} };
  let records = 0;
  let failure: TfServeError | null = null;
  const reader = iterateTfRecords(bytes);
  for (;;) {
    let next: IteratorResult<Buffer>;
    try {
      next = reader.next();
    } catch (error) {
      // The reader's errors (DATA_LOSS) are the only ones TF Serving's metric sees; the others return before it.
      failure = error as TfServeError;
      break;
    }
    if (next.done) break;
    for (let i = 0; i < (iterations ?? 1); i++) await replayWarmupRecord(next.value, handle, inference, file);
    records += 1;
    if (records > MAX_WARMUP_RECORDS) {
      throw new TfServeError('INVALID_ARGUMENT', `Number of warmup records exceeds the maximum (${MAX_WARMUP_RECORDS}) at ${file}`);
    }
  }
  const latencyUs = Math.round(microsSince(started));
  const status = failure === null ? 'OK' : statusString({ code: failure.code, message: failure.message.replace(TFRECORD_FORMAT_HINT, '') });
  metrics?.warmup(servable.path, status, latencyUs, records);
  if (failure !== null) throw failure;
  log.info(
    `Finished reading warmup data for model at ${file}. Number of warmup records read: ${records}. Elapsed time (microseconds): ${latencyUs}.`,
  );
}

/**
 * Request logging: TF Serving's `logging_config` of a model config, which samples a model's requests
 * and writes each sampled request and its response as a tensorflow.serving.PredictionLog
 * (core/server_request_logger.cc, core/request_logger.cc).
 *
 *     logging_config {
 *       log_collector_config { type: "tfrecord" filename_prefix: "/var/log/tfserve/celsius" }
 *       sampling_config { sampling_rate: 0.1 }
 *     }
 *
 * Contract, as TF Serving's: every successful Predict, Classify, Regress and MultiInference call of a
 * model with a logging_config, REST or gRPC, is logged with probability `sampling_rate` (uniform);
 * failed calls never are. A record's log_metadata holds the served model spec (name, version, the
 * signature that ran), the sampling_config and the SavedModel tags. Models with the same logging_config
 * share one logger. A collector type tfserve does not know fails the config (startup or reload) with
 * TF Serving's NOT_FOUND `Cannot find LogCollector::Factory for type: <type>`.
 *
 * Collectors (TF Serving's open-source build registers none, so its server refuses every logging_config
 * with "No request-logger-creator provided."; these are tfserve's):
 *   "tfrecord"  a TFRecord file of serialized PredictionLogs at `<filename_prefix>.<start>.<pid>.tfrecord`
 *               (start: the server's start in Unix seconds), the format of warmup files, so that
 *               tf.data.TFRecordDataset and TF Serving's own tools read it and a log can become a
 *               warmup file. Directories are created; a file that cannot be opened fails the config.
 * `per_task_sampling_configs` and `attributes` are copied into the records but do not change the
 * sampling: they select data centres and tasks, which a single tfserve does not have.
 *
 * Threads: everything runs on the event loop; records are encoded only when sampled, and written by
 * an fs.WriteStream per file (asynchronous, in order). `close()` ends the files once written.
 */
import fs from 'node:fs';
import path from 'node:path';

import { TfServeError } from '../model/errors.js';
import { type Tensor, type TensorInput, toNativeData } from '../model/tensor.js';
import { type Example, serializeExample } from '../proto/example.js';
import {
  encodeClassificationResponseMessage,
  encodeExamplesRequestMessage,
  encodeMultiInferenceRequestMessage,
  encodeMultiInferenceResponseMessage,
  encodePredictionLog,
  encodePredictRequestMessage,
  encodePredictResponseMessage,
  encodeRegressionResponseMessage,
  type LogTypeName,
  type SerializedInput,
} from '../proto/prediction-log.js';
import { encodeTfRecords } from '../proto/tfrecord.js';
import type { Exchange, InferenceObserver, ObservedCall } from './call-observer.js';
import type { ExamplesInput } from './inference.js';
import type { LoggingConfig, ModelConfig } from './model-config.js';

/** Where a logger's records go (TF Serving's LogCollector). */
export interface LogCollector {
  collect(record: Uint8Array): void;
  close(): Promise<void>;
}

export interface RequestLoggingOptions {
  /** The SavedModel tags the server loads (--saved_model_tags), for log_metadata. */
  readonly savedModelTags: readonly string[];
  /** Uniform in [0, 1); Math.random by default. */
  readonly random?: () => number;
  /** Distinguishes this server's files from another's (TF Serving's collector id); default `<start s>.<pid>`. */
  readonly id?: string;
  /** request_log_count{model_name, status_code}: told about each sampled request. */
  readonly onLogged?: (model: string, statusCode: string) => void;
  readonly log?: { error(message: string): void };
}

// ---------------------------------------------------------------------------------------------------
// The PredictionLog of an exchange

/** A TensorInput (typed array or nested array) as the Tensor the TensorProto encoder takes. */
function asTensor(input: unknown, alias: string): Tensor {
  const value = (typeof input === 'function' ? (input as () => TensorInput)() : input) as TensorInput;
  const data = toNativeData(value, alias);
  const shape = [...value.shape];
  if (value.dtype !== 'string') return { dtype: value.dtype, shape, data } as Tensor;
  const strings = (data as Array<string | Uint8Array>).map((s) => (typeof s === 'string' ? Buffer.from(s, 'utf8') : s));
  return { dtype: 'string', shape, data: strings };
}

/** Request inputs (TensorInputs, or gRPC's undecoded inputs) as the Tensors the TensorProto encoder takes. */
export function asTensorMap(inputs: Readonly<Record<string, unknown>>): Record<string, Tensor> {
  const tensors: Record<string, Tensor> = {};
  for (const [alias, input] of Object.entries(inputs)) tensors[alias] = asTensor(input, alias);
  return tensors;
}

function serializedInput(input: ExamplesInput): SerializedInput {
  if ('serialized' in input) return { examples: input.serialized };
  const examples = input.examples.map((example: Example) => serializeExample(example));
  return input.context === undefined ? { examples } : { examples, context: serializeExample(input.context) };
}

/** The request and response messages of an exchange, and which PredictionLog member holds them. */
export function exchangeMessages(exchange: Exchange): { logType: LogTypeName; request: Uint8Array; response: Uint8Array } {
  switch (exchange.kind) {
    case 'predict': {
      const { request, response } = exchange;
      return {
        logType: 'predict_log',
        request: encodePredictRequestMessage({ modelSpec: request.modelSpec, inputs: asTensorMap(request.inputs), outputFilter: request.outputFilter }),
        response: encodePredictResponseMessage(response),
      };
    }
    case 'classify':
      return {
        logType: 'classify_log',
        request: encodeExamplesRequestMessage({ modelSpec: exchange.request.modelSpec, input: serializedInput(exchange.request.input) }),
        response: encodeClassificationResponseMessage(exchange.response),
      };
    case 'regress':
      return {
        logType: 'regress_log',
        request: encodeExamplesRequestMessage({ modelSpec: exchange.request.modelSpec, input: serializedInput(exchange.request.input) }),
        response: encodeRegressionResponseMessage(exchange.response),
      };
    case 'multi_inference':
      return {
        logType: 'multi_inference_log',
        request: encodeMultiInferenceRequestMessage({ tasks: exchange.request.tasks, input: serializedInput(exchange.request.input) }),
        response: encodeMultiInferenceResponseMessage(exchange.response),
      };
  }
}

/** The served spec the log_metadata names: the first result's for MultiInference. */
function servedSpec(exchange: Exchange): { name: string; version: number; signatureName: string } | undefined {
  if (exchange.kind === 'multi_inference') return exchange.response.results[0]?.modelSpec;
  return exchange.response.modelSpec;
}

// ---------------------------------------------------------------------------------------------------
// Collectors

class TfRecordFileCollector implements LogCollector {
  readonly #stream: fs.WriteStream;
  readonly #closed: Promise<void>;
  #failed = false;

  constructor(
    readonly file: string,
    log: RequestLoggingOptions['log'],
  ) {
    fs.mkdirSync(path.dirname(file), { recursive: true });
    // Opened now, so that a file that cannot be written fails the config rather than the first request.
    const fd = fs.openSync(file, 'a');
    this.#stream = fs.createWriteStream(file, { fd });
    this.#closed = new Promise((resolve) => this.#stream.once('close', () => resolve()));
    this.#stream.on('error', (err) => {
      if (!this.#failed) log?.error(`Request log ${file} failed: ${err.message}`);
      this.#failed = true;
    });
  }

  collect(record: Uint8Array): void {
    if (!this.#failed) this.#stream.write(encodeTfRecords([record]));
  }

  close(): Promise<void> {
    this.#stream.end();
    return this.#closed;
  }
}

const COLLECTOR_TYPES: Readonly<Record<string, (prefix: string, id: string, log: RequestLoggingOptions['log']) => LogCollector>> = {
  tfrecord: (prefix, id, log) => {
    if (prefix === '') throw new TfServeError('INVALID_ARGUMENT', 'LogCollectorConfig of type tfrecord needs a filename_prefix');
    return new TfRecordFileCollector(`${prefix}.${id}.tfrecord`, log);
  },
};

// ---------------------------------------------------------------------------------------------------
// The loggers

interface ModelLogger {
  readonly config: LoggingConfig;
  readonly collector: LogCollector;
}

/** A prepared update (see `prepare`): apply it once the config it came from is accepted, or discard it. */
export interface LoggingUpdate {
  apply(): void;
  discard(): Promise<void>;
}

export class RequestLogging implements InferenceObserver {
  readonly #options: RequestLoggingOptions;
  readonly #random: () => number;
  readonly #id: string;
  /** By the logging config (its JSON), shared by the models that have it. */
  #loggers = new Map<string, ModelLogger>();
  #models = new Map<string, ModelLogger>();

  constructor(options: RequestLoggingOptions) {
    this.#options = options;
    this.#random = options.random ?? Math.random;
    this.#id = options.id ?? `${Math.floor(Date.now() / 1000)}.${process.pid}`;
  }

  /**
   * The loggers `configs` need, made ready (collectors opened) without changing what is logged yet.
   * Throws TF Serving's errors for a config it cannot log with.
   */
  prepare(configs: readonly ModelConfig[]): LoggingUpdate {
    const loggers = new Map<string, ModelLogger>();
    const models = new Map<string, ModelLogger>();
    const opened: LogCollector[] = [];
    try {
      for (const config of configs) {
        if (config.loggingConfig === undefined) continue;
        const key = JSON.stringify(config.loggingConfig);
        let logger = loggers.get(key) ?? this.#loggers.get(key);
        if (logger === undefined) {
          const { type, filenamePrefix } = config.loggingConfig.logCollectorConfig;
          const factory = Object.prototype.hasOwnProperty.call(COLLECTOR_TYPES, type) ? COLLECTOR_TYPES[type] : undefined;
          if (factory === undefined) throw new TfServeError('NOT_FOUND', `Cannot find LogCollector::Factory for type: ${type}`);
          logger = { config: config.loggingConfig, collector: factory(filenamePrefix, this.#id, this.#options.log) };
          opened.push(logger.collector);
        }
        loggers.set(key, logger);
        models.set(config.name, logger);
      }
    } catch (error) {
      for (const collector of opened) void collector.close();
      throw error;
    }
    return {
      apply: () => {
        const dropped = [...this.#loggers].filter(([key]) => !loggers.has(key)).map(([, logger]) => logger.collector);
        this.#loggers = loggers;
        this.#models = models;
        for (const collector of dropped) void collector.close();
      },
      discard: async () => {
        await Promise.all(opened.map((collector) => collector.close()));
      },
    };
  }

  /** prepare() and apply() at once. */
  update(configs: readonly ModelConfig[]): void {
    this.prepare(configs).apply();
  }

  /** Whether any model logs requests. */
  get active(): boolean {
    return this.#models.size > 0;
  }

  callEnded(call: ObservedCall, error: unknown): void {
    if (error !== null || call.exchange === undefined) return;
    const logger = this.#models.get(call.model);
    if (logger === undefined) return;
    const { samplingConfig } = logger.config;
    if (!(samplingConfig.samplingRate > 0 && this.#random() < samplingConfig.samplingRate)) return;
    let statusCode = 'OK';
    try {
      const { logType, request, response } = exchangeMessages(call.exchange);
      const record = encodePredictionLog({
        metadata: { modelSpec: servedSpec(call.exchange), samplingConfig, savedModelTags: this.#options.savedModelTags },
        logType,
        request,
        response,
      });
      logger.collector.collect(record);
    } catch (err) {
      statusCode = err instanceof TfServeError ? err.code : 'INTERNAL';
      this.#options.log?.error(`Request logging failed for model ${call.model}: ${(err as Error).message}`);
    }
    this.#options.onLogged?.(call.model, statusCode);
  }

  /** Stops logging and closes every file once what was collected is written. */
  async close(): Promise<void> {
    const collectors = [...this.#loggers.values()].map((logger) => logger.collector);
    this.#loggers = new Map();
    this.#models = new Map();
    await Promise.all(collectors.map((collector) => collector.close()));
  }
}

/**
 * tensorflow.serving.PredictionLog (apis/prediction_log.proto): the record of warmup files
 * (`assets.extra/tf_serving_warmup_requests`) and of request logs, both TFRecord files.
 *
 * Contract: pure functions over bytes. `readPredictionLog` checks a record as protobuf's parser does
 * (the whole message, every nested field; WireFormatError, INTERNAL, otherwise) and hands back which
 * `log_type` member is set and its request's bytes, for the per-RPC decoders of serving-codec.ts.
 * The encoders write the canonical encoding protobuf C++ writes (fields in number order, map entries
 * sorted by key as deterministic serialization does), so a record reads back the same in TensorFlow
 * Serving's tools and in ours; requests and responses are taken as plain values, tensors as Tensors,
 * tf.Examples already serialized.
 */
import protobuf from 'protobufjs';

import type { Tensor } from '../model/tensor.js';
import { type ModelSpecMessage, ModelSpec as ModelSpecCodec, PredictionLog } from './serving-protos.js';
import type { ModelSpec } from './serving-codec.js';
import { writeTensorProto } from './tensor-proto.js';
import { concatBytes, LEN, WireReader } from './wire.js';

/** PredictionLog's `log_type` members, by field number. */
export const LOG_TYPES = {
  classify_log: 2,
  regress_log: 3,
  multi_inference_log: 4,
  session_run_log: 5,
  predict_log: 6,
  predict_streamed_log: 7,
} as const;
export type LogTypeName = keyof typeof LOG_TYPES;

export interface PredictionLogRequest {
  /** The field number of the `log_type` member that is set (see LOG_TYPES), 0 when none is. */
  readonly logType: number;
  /** That member's `request` (field 1 of every *Log message), merged as protobuf merges repeats; empty when absent. */
  readonly request: Uint8Array;
}

function fieldParts(reader: WireReader, field: number): Uint8Array[] {
  const parts: Uint8Array[] = [];
  while (!reader.done()) {
    const tag = reader.tag();
    if (tag === ((field << 3) | LEN)) parts.push(reader.bytes());
    else reader.skip(tag & 7);
  }
  return parts;
}

/** Which log a PredictionLog record holds, and its request's bytes. Throws WireFormatError for bytes that are not one. */
export function readPredictionLog(record: Uint8Array): PredictionLogRequest {
  PredictionLog.decode(record);
  const what = 'tensorflow.serving.PredictionLog';
  const reader = new WireReader(record, what);
  let logType = 0;
  let parts: Uint8Array[] = [];
  while (!reader.done()) {
    const tag = reader.tag();
    const field = tag >>> 3;
    if ((tag & 7) === LEN && field >= 2 && field <= 7) {
      const member = reader.bytes();
      // A oneof: another member replaces the one before; the same member again merges into it.
      if (field !== logType) parts = [];
      logType = field;
      parts.push(member);
    } else reader.skip(tag & 7);
  }
  if (logType === 0) return { logType, request: new Uint8Array(0) };
  const log = concatBytes(parts);
  const request = concatBytes(fieldParts(new WireReader(log, what), 1));
  return { logType, request };
}

// ---------------------------------------------------------------------------------------------------
// Encoding

function modelSpecMessage(spec: Partial<ModelSpec> & { name: string }): ModelSpecMessage {
  const message: ModelSpecMessage = { name: spec.name };
  // protobufjs takes int64 values as numbers or decimal strings, not bigints.
  if (spec.version !== undefined) message.version = { value: typeof spec.version === 'bigint' ? String(spec.version) : spec.version };
  else if (spec.versionLabel !== undefined) message.version_label = spec.versionLabel;
  if (spec.signatureName) message.signature_name = spec.signatureName;
  return message;
}

function writeModelSpec(writer: protobuf.Writer, field: number, spec: (Partial<ModelSpec> & { name: string }) | undefined): void {
  if (spec === undefined) return;
  writer.uint32((field << 3) | LEN).bytes(ModelSpecCodec.encode(modelSpecMessage(spec)));
}

function writeTensorMap(writer: protobuf.Writer, field: number, tensors: Readonly<Record<string, Tensor>>): void {
  for (const key of Object.keys(tensors).sort()) {
    writer.uint32((field << 3) | LEN).fork();
    writer.uint32((1 << 3) | LEN).string(key);
    writer.uint32((2 << 3) | LEN).fork();
    writeTensorProto(writer, tensors[key]!);
    writer.ldelim().ldelim();
  }
}

function finish(writer: protobuf.Writer): Uint8Array {
  return writer.finish();
}

type Spec = Partial<ModelSpec> & { name: string };

export function encodePredictRequestMessage(request: { modelSpec?: Spec; inputs: Readonly<Record<string, Tensor>>; outputFilter?: readonly string[] }): Uint8Array {
  const writer = protobuf.Writer.create();
  writeModelSpec(writer, 1, request.modelSpec);
  writeTensorMap(writer, 2, request.inputs);
  for (const alias of request.outputFilter ?? []) writer.uint32((3 << 3) | LEN).string(alias);
  return finish(writer);
}

export function encodePredictResponseMessage(response: { modelSpec?: Spec; outputs: Readonly<Record<string, Tensor>> }): Uint8Array {
  const writer = protobuf.Writer.create();
  writeTensorMap(writer, 1, response.outputs);
  writeModelSpec(writer, 2, response.modelSpec);
  return finish(writer);
}

/** tensorflow.serving.Input: an ExampleList, or an ExampleListWithContext when there is a context. */
export interface SerializedInput {
  readonly examples: readonly Uint8Array[];
  readonly context?: Uint8Array;
}

function writeInput(writer: protobuf.Writer, field: number, input: SerializedInput): void {
  writer.uint32((field << 3) | LEN).fork();
  writer.uint32(((input.context === undefined ? 1 : 2) << 3) | LEN).fork();
  for (const example of input.examples) writer.uint32((1 << 3) | LEN).bytes(example);
  if (input.context !== undefined) writer.uint32((2 << 3) | LEN).bytes(input.context);
  writer.ldelim().ldelim();
}

/** ClassificationRequest and RegressionRequest have the same fields. */
export function encodeExamplesRequestMessage(request: { modelSpec?: Spec; input: SerializedInput }): Uint8Array {
  const writer = protobuf.Writer.create();
  writeModelSpec(writer, 1, request.modelSpec);
  writeInput(writer, 2, request.input);
  return finish(writer);
}

export function encodeMultiInferenceRequestMessage(request: {
  tasks: readonly { modelSpec?: Spec; methodName: string }[];
  input: SerializedInput;
}): Uint8Array {
  const writer = protobuf.Writer.create();
  for (const task of request.tasks) {
    writer.uint32((1 << 3) | LEN).fork();
    writeModelSpec(writer, 1, task.modelSpec);
    if (task.methodName) writer.uint32((2 << 3) | LEN).string(task.methodName);
    writer.ldelim();
  }
  writeInput(writer, 2, request.input);
  return finish(writer);
}

export interface ClassesValue {
  /** Per example, its classes: the label's raw bytes (a proto `string`, written as they are) and the score. */
  readonly classifications: readonly { readonly classes: readonly { readonly label: Uint8Array; readonly score: number }[] }[];
}

export interface RegressionsValue {
  readonly regressions: readonly { readonly value: number }[];
}

function writeClassificationResult(writer: protobuf.Writer, field: number, result: ClassesValue): void {
  writer.uint32((field << 3) | LEN).fork();
  for (const { classes } of result.classifications) {
    writer.uint32((1 << 3) | LEN).fork();
    for (const { label, score } of classes) {
      writer.uint32((1 << 3) | LEN).fork();
      if (label.length > 0) writer.uint32((1 << 3) | LEN).bytes(label);
      if (score !== 0 || Object.is(score, -0)) writer.uint32((2 << 3) | 5).float(score);
      writer.ldelim();
    }
    writer.ldelim();
  }
  writer.ldelim();
}

function writeRegressionResult(writer: protobuf.Writer, field: number, result: RegressionsValue): void {
  writer.uint32((field << 3) | LEN).fork();
  for (const { value } of result.regressions) {
    writer.uint32((1 << 3) | LEN).fork();
    if (value !== 0 || Object.is(value, -0)) writer.uint32((1 << 3) | 5).float(value);
    writer.ldelim();
  }
  writer.ldelim();
}

export function encodeClassificationResponseMessage(response: { modelSpec?: Spec; result: ClassesValue }): Uint8Array {
  const writer = protobuf.Writer.create();
  writeClassificationResult(writer, 1, response.result);
  writeModelSpec(writer, 2, response.modelSpec);
  return finish(writer);
}

export function encodeRegressionResponseMessage(response: { modelSpec?: Spec; result: RegressionsValue }): Uint8Array {
  const writer = protobuf.Writer.create();
  writeRegressionResult(writer, 1, response.result);
  writeModelSpec(writer, 2, response.modelSpec);
  return finish(writer);
}

export function encodeMultiInferenceResponseMessage(response: {
  results: readonly ({ modelSpec?: Spec } & ({ classificationResult: ClassesValue } | { regressionResult: RegressionsValue }))[];
}): Uint8Array {
  const writer = protobuf.Writer.create();
  for (const result of response.results) {
    writer.uint32((1 << 3) | LEN).fork();
    writeModelSpec(writer, 1, result.modelSpec);
    if ('classificationResult' in result) writeClassificationResult(writer, 2, result.classificationResult);
    else writeRegressionResult(writer, 3, result.regressionResult);
    writer.ldelim();
  }
  return finish(writer);
}

export interface SamplingConfigValue {
  readonly samplingRate: number;
  readonly attributes: number;
  readonly perTaskSamplingConfigs: readonly { readonly dc: string; readonly taskIndex?: number; readonly samplingRate: number }[];
}

/** tensorflow.serving.LogMetadata: what TF Serving's request logger fills in. */
export interface LogMetadataValue {
  readonly modelSpec?: Spec;
  readonly samplingConfig?: SamplingConfigValue;
  readonly savedModelTags?: readonly string[];
}

function writeSamplingConfig(writer: protobuf.Writer, field: number, config: SamplingConfigValue): void {
  writer.uint32((field << 3) | LEN).fork();
  if (config.samplingRate !== 0) writer.uint32((1 << 3) | 1).double(config.samplingRate);
  if (config.attributes !== 0) writer.uint32((2 << 3) | 0).int32(config.attributes);
  for (const task of config.perTaskSamplingConfigs) {
    writer.uint32((3 << 3) | LEN).fork();
    if (task.dc) writer.uint32((1 << 3) | LEN).string(task.dc);
    if (task.taskIndex !== undefined) writer.uint32((2 << 3) | 0).int32(task.taskIndex);
    if (task.samplingRate !== 0) writer.uint32((3 << 3) | 1).double(task.samplingRate);
    writer.ldelim();
  }
  writer.ldelim();
}

/** One PredictionLog record: `log_metadata` (if any), then the log of `logType` holding request and response. */
export function encodePredictionLog(log: {
  metadata?: LogMetadataValue;
  logType: LogTypeName;
  request: Uint8Array;
  response?: Uint8Array;
}): Uint8Array {
  const writer = protobuf.Writer.create();
  if (log.metadata !== undefined) {
    const { modelSpec, samplingConfig, savedModelTags } = log.metadata;
    writer.uint32((1 << 3) | LEN).fork();
    writeModelSpec(writer, 1, modelSpec);
    if (samplingConfig !== undefined) writeSamplingConfig(writer, 2, samplingConfig);
    for (const tag of savedModelTags ?? []) writer.uint32((3 << 3) | LEN).string(tag);
    writer.ldelim();
  }
  writer.uint32((LOG_TYPES[log.logType] << 3) | LEN).fork();
  writer.uint32((1 << 3) | LEN).bytes(log.request);
  if (log.response !== undefined) writer.uint32((2 << 3) | LEN).bytes(log.response);
  writer.ldelim();
  return finish(writer);
}

/**
 * TF Serving's gRPC requests and responses <-> the plain values a transport adapter hands the serving
 * layer: model specs, tensors, serialized tf.Examples, results, version statuses, model configs.
 *
 * Contract: pure functions, no I/O. Decoders take the request's bytes (the Buffer grpc-js gives, see
 * `serviceDefinition`) and throw WireFormatError (INTERNAL) for bytes that are not the message, or
 * `tensor parsing error: <alias>` (INVALID_ARGUMENT) for a bad TensorProto; encoders return the
 * canonical encoding (what protobuf C++ writes) as a Buffer. Semantic checks (missing model spec,
 * "Input is empty.", unknown signature, …) are the serving layer's, in TF Serving's order; that is
 * why `readPredictRequest` exists beside `decodePredictRequest`: TF Serving parses an input's
 * TensorProto only after the servable and the signature are found, so an adapter that wants the
 * same error order reads the envelope first and calls `tensorFromProto` per input later.
 * Tensor values and the Examples are never copied into JS objects: numeric tensors are copied once
 * into aligned memory, strings and Examples are views of the request (or, with a context, one buffer
 * holding the merged Examples).
 */
import protobuf from 'protobufjs';

import type { StatusCode } from '../model/errors.js';
import { TfServeError } from '../model/errors.js';
import type { Tensor } from '../model/tensor.js';
import {
  ClassificationResponse,
  GetModelMetadataResponse,
  GetModelStatusResponse,
  ModelSpec as ModelSpecCodec,
  MultiInferenceResponse,
  RegressionResponse,
  ReloadConfigRequest,
  ReloadConfigResponse,
  SIGNATURE_DEF_MAP_TYPE_URL,
  SignatureDefMap,
  type ClassificationResultMessage,
  type ModelConfigMessage,
  type ModelSpecMessage,
  type RegressionResultMessage,
  type ServableVersionPolicyMessage,
  type SignatureDefMessage,
  type StatusProtoMessage,
} from './serving-protos.js';
import { tensorFromProto, type TensorProtoOptions, writeTensorProto } from './tensor-proto.js';
import { concatBytes, LEN, WireReader } from './wire.js';

// ---------------------------------------------------------------------------------------------------
// Model spec

export interface ModelSpec {
  name: string;
  /** ModelSpec.version (an Int64Value), when set: a number, or a bigint beyond 2^53 (never one that fits). */
  version?: number | bigint;
  /** ModelSpec.version_label, when set (the other member of the version oneof). */
  versionLabel?: string;
  /** "" when not set: the serving layer defaults it to serving_default. */
  signatureName: string;
}

function modelSpecFromMessage(message: ModelSpecMessage): ModelSpec {
  const spec: ModelSpec = { name: message.name ?? '', signatureName: message.signature_name ?? '' };
  if (message.version !== undefined) spec.version = toSafeNumber(message.version.value ?? 0);
  if (message.version_label !== undefined) spec.versionLabel = message.version_label;
  return spec;
}

function modelSpecMessage(spec: ModelSpec): ModelSpecMessage {
  const message: ModelSpecMessage = { name: spec.name };
  if (spec.version !== undefined) message.version = { value: typeof spec.version === 'bigint' ? String(spec.version) : spec.version };
  else if (spec.versionLabel !== undefined) message.version_label = spec.versionLabel;
  if (spec.signatureName) message.signature_name = spec.signatureName;
  return message;
}

function decodeModelSpec(parts: Uint8Array[]): ModelSpec | undefined {
  return parts.length === 0 ? undefined : modelSpecFromMessage(ModelSpecCodec.decode(concatBytes(parts)));
}

function writeModelSpec(writer: protobuf.Writer, field: number, spec: ModelSpec): void {
  writer.uint32((field << 3) | LEN).bytes(ModelSpecCodec.encode(modelSpecMessage(spec)));
}

function finish(writer: protobuf.Writer): Buffer {
  return writer.finish() as Buffer;
}

function readString(reader: WireReader): string {
  return reader.string();
}

// ---------------------------------------------------------------------------------------------------
// Predict

export interface PredictRequestParts {
  modelSpec: ModelSpec | undefined;
  /** Each input's serialized TensorProto, a view of the request; `tensorFromProto(bytes, alias)` decodes it. */
  inputs: Record<string, Uint8Array>;
  outputFilter: string[];
}

export interface PredictCall {
  modelSpec: ModelSpec | undefined;
  inputs: Record<string, Tensor>;
  outputFilter: string[];
}

/** A map entry's key (1) and value (2); several values merge. A missing value is an empty message. */
function readMapEntry(reader: WireReader, what: string): { key: string; value: Uint8Array } {
  const end = reader.len();
  const entry = new WireReader(reader.buf, what, reader.start, end);
  let key = '';
  const values: Uint8Array[] = [];
  while (!entry.done()) {
    const tag = entry.tag();
    if (tag === ((1 << 3) | LEN)) key = readString(entry);
    else if (tag === ((2 << 3) | LEN)) values.push(entry.bytes());
    else entry.skip(tag & 7);
  }
  return { key, value: values.length === 0 ? new Uint8Array(0) : concatBytes(values) };
}

/** PredictRequest's model_spec, inputs and output_filter, without decoding any tensor. */
export function readPredictRequest(bytes: Uint8Array): PredictRequestParts {
  const reader = new WireReader(bytes, 'tensorflow.serving.PredictRequest');
  const specParts: Uint8Array[] = [];
  const inputs: Record<string, Uint8Array> = Object.create(null);
  const outputFilter: string[] = [];
  while (!reader.done()) {
    const tag = reader.tag();
    if (tag === ((1 << 3) | LEN)) specParts.push(reader.bytes());
    else if (tag === ((2 << 3) | LEN)) {
      const { key, value } = readMapEntry(reader, 'tensorflow.serving.PredictRequest.InputsEntry');
      inputs[key] = value; // a repeated key: the last entry wins, as in a protobuf map
    } else if (tag === ((3 << 3) | LEN)) outputFilter.push(readString(reader));
    else reader.skip(tag & 7);
  }
  return { modelSpec: decodeModelSpec(specParts), inputs: { ...inputs }, outputFilter };
}

/** PredictRequest -> { modelSpec, inputs: Tensors by alias, outputFilter }. */
export function decodePredictRequest(bytes: Uint8Array): PredictCall {
  const parts = readPredictRequest(bytes);
  // fromEntries defines own properties, so even an alias "__proto__" stays an input.
  const inputs = Object.fromEntries(Object.entries(parts.inputs).map(([alias, proto]) => [alias, tensorFromProto(proto, alias)]));
  return { modelSpec: parts.modelSpec, inputs, outputFilter: parts.outputFilter };
}

function writeTensorMap(writer: protobuf.Writer, field: number, tensors: Readonly<Record<string, Tensor>>, options?: TensorProtoOptions): void {
  for (const [key, tensor] of Object.entries(tensors)) {
    writer.uint32((field << 3) | LEN).fork();
    writer.uint32((1 << 3) | LEN).string(key);
    writer.uint32((2 << 3) | LEN).fork();
    writeTensorProto(writer, tensor, options);
    writer.ldelim().ldelim();
  }
}

/** PredictResponse: outputs (typed fields, or tensor_content with `tensorContent`), then model_spec. */
export function encodePredictResponse(
  response: { modelSpec?: ModelSpec; outputs: Readonly<Record<string, Tensor>> },
  options?: TensorProtoOptions,
): Buffer {
  const writer = protobuf.Writer.create();
  writeTensorMap(writer, 1, response.outputs, options);
  if (response.modelSpec) writeModelSpec(writer, 2, response.modelSpec);
  return finish(writer);
}

/** PredictRequest from tensors, for clients. */
export function encodePredictRequest(
  request: { modelSpec?: ModelSpec; inputs: Readonly<Record<string, Tensor>>; outputFilter?: readonly string[] },
  options?: TensorProtoOptions,
): Buffer {
  const writer = protobuf.Writer.create();
  if (request.modelSpec) writeModelSpec(writer, 1, request.modelSpec);
  writeTensorMap(writer, 2, request.inputs, options);
  for (const alias of request.outputFilter ?? []) writer.uint32((3 << 3) | LEN).string(alias);
  return finish(writer);
}

/** PredictResponse -> { modelSpec, outputs }, for clients. */
export function decodePredictResponse(bytes: Uint8Array): { modelSpec: ModelSpec | undefined; outputs: Record<string, Tensor> } {
  const reader = new WireReader(bytes, 'tensorflow.serving.PredictResponse');
  const specParts: Uint8Array[] = [];
  const protos: Record<string, Uint8Array> = Object.create(null);
  while (!reader.done()) {
    const tag = reader.tag();
    if (tag === ((1 << 3) | LEN)) {
      const { key, value } = readMapEntry(reader, 'tensorflow.serving.PredictResponse.OutputsEntry');
      protos[key] = value;
    } else if (tag === ((2 << 3) | LEN)) specParts.push(reader.bytes());
    else reader.skip(tag & 7);
  }
  const outputs = Object.fromEntries(Object.entries(protos).map(([alias, proto]) => [alias, tensorFromProto(proto, alias)]));
  return { modelSpec: decodeModelSpec(specParts), outputs };
}

// ---------------------------------------------------------------------------------------------------
// tf.Example inputs: Classify, Regress, MultiInference

/** Field layouts of Example and what it holds, for checking an Example's bytes without decoding them. */
interface WireSchema {
  readonly [field: number]: WireSchema | 'fixed32' | 'varint' | 'bytes';
}
const FEATURE_SCHEMA: WireSchema = { 1: { 1: 'bytes' }, 2: { 1: 'fixed32' }, 3: { 1: 'varint' } };
const EXAMPLE_SCHEMA: WireSchema = { 1: { 1: { 1: 'bytes', 2: FEATURE_SCHEMA } } };

/**
 * Walks an Example as protobuf's parser would, so that bytes TF Serving could not parse are refused
 * here (gRPC's INTERNAL) instead of reaching the graph's ParseExample.
 */
function checkWire(buf: Uint8Array, start: number, end: number, schema: WireSchema, what: string): void {
  const reader = new WireReader(buf, what, start, end);
  while (!reader.done()) {
    const tag = reader.tag();
    const kind = schema[tag >>> 3];
    const wireType = tag & 7;
    if (typeof kind === 'object' && wireType === LEN) {
      const fieldEnd = reader.len();
      checkWire(buf, reader.start, fieldEnd, kind, what);
    } else if (kind === 'fixed32' && wireType === LEN) {
      const fieldEnd = reader.len();
      if ((fieldEnd - reader.start) % 4 !== 0) reader.fail('packed fixed32 field of a length not divisible by 4');
    } else if (kind === 'varint' && wireType === LEN) {
      const fieldEnd = reader.len();
      if (fieldEnd > reader.start && buf[fieldEnd - 1]! >= 0x80) reader.fail('truncated varint in packed field');
    } else reader.skip(wireType);
  }
}

interface ExamplesState {
  kind: 0 | 1 | 2;
  examples: Uint8Array[];
  context: Uint8Array[];
}

/** Input: a oneof of ExampleList (1) and ExampleListWithContext (2); the last member seen wins. */
function readInput(buf: Uint8Array, start: number, end: number, state: ExamplesState): void {
  const input = new WireReader(buf, 'tensorflow.serving.Input', start, end);
  while (!input.done()) {
    const tag = input.tag();
    const field = tag >>> 3;
    if ((field === 1 || field === 2) && (tag & 7) === LEN) {
      const listEnd = input.len();
      if (state.kind !== field) {
        state.kind = field;
        state.examples = [];
        state.context = [];
      }
      const list = new WireReader(buf, 'tensorflow.serving.ExampleList', input.start, listEnd);
      while (!list.done()) {
        const listTag = list.tag();
        if (listTag === ((1 << 3) | LEN)) {
          const example = list.bytes();
          state.examples.push(example);
        } else if (field === 2 && listTag === ((2 << 3) | LEN)) state.context.push(list.bytes());
        else list.skip(listTag & 7);
      }
    } else input.skip(tag & 7);
  }
}

/**
 * The serialized Examples TF Serving feeds: each example as sent, or, with a context, the context's
 * bytes followed by the example's (protobuf merge: the example's features win on a clash), all in
 * one buffer of which the returned arrays are views.
 */
function serializedExamples(state: ExamplesState): Uint8Array[] {
  const context = state.context.length === 0 ? null : concatBytes(state.context);
  for (const bytes of [...state.examples, ...(context ? [context] : [])]) {
    checkWire(bytes, 0, bytes.length, EXAMPLE_SCHEMA, 'tensorflow.Example');
  }
  if (!context || context.length === 0) return state.examples;
  let total = 0;
  for (const example of state.examples) total += context.length + example.length;
  const merged = Buffer.allocUnsafe(total);
  const out: Uint8Array[] = [];
  let pos = 0;
  for (const example of state.examples) {
    merged.set(context, pos);
    merged.set(example, pos + context.length);
    out.push(merged.subarray(pos, pos + context.length + example.length));
    pos += context.length + example.length;
  }
  return out;
}

export interface ExamplesCall {
  modelSpec: ModelSpec | undefined;
  /** One serialized tf.Example per example of the Input ([] when the Input is unset or empty). */
  examples: Uint8Array[];
}

function decodeExamplesRequest(bytes: Uint8Array, what: string): ExamplesCall {
  const reader = new WireReader(bytes, what);
  const specParts: Uint8Array[] = [];
  const state: ExamplesState = { kind: 0, examples: [], context: [] };
  while (!reader.done()) {
    const tag = reader.tag();
    if (tag === ((1 << 3) | LEN)) specParts.push(reader.bytes());
    else if (tag === ((2 << 3) | LEN)) {
      const inputEnd = reader.len();
      readInput(bytes, reader.start, inputEnd, state);
    }
    else reader.skip(tag & 7);
  }
  return { modelSpec: decodeModelSpec(specParts), examples: serializedExamples(state) };
}

export function decodeClassificationRequest(bytes: Uint8Array): ExamplesCall {
  return decodeExamplesRequest(bytes, 'tensorflow.serving.ClassificationRequest');
}

export function decodeRegressionRequest(bytes: Uint8Array): ExamplesCall {
  return decodeExamplesRequest(bytes, 'tensorflow.serving.RegressionRequest');
}

export interface MultiInferenceCall {
  tasks: { modelSpec: ModelSpec | undefined; methodName: string }[];
  examples: Uint8Array[];
}

export function decodeMultiInferenceRequest(bytes: Uint8Array): MultiInferenceCall {
  const what = 'tensorflow.serving.MultiInferenceRequest';
  const reader = new WireReader(bytes, what);
  const tasks: MultiInferenceCall['tasks'] = [];
  const state: ExamplesState = { kind: 0, examples: [], context: [] };
  while (!reader.done()) {
    const tag = reader.tag();
    if (tag === ((1 << 3) | LEN)) {
      const taskEnd = reader.len();
      const task = new WireReader(bytes, 'tensorflow.serving.InferenceTask', reader.start, taskEnd);
      const specParts: Uint8Array[] = [];
      let methodName = '';
      while (!task.done()) {
        const taskTag = task.tag();
        if (taskTag === ((1 << 3) | LEN)) specParts.push(task.bytes());
        else if (taskTag === ((2 << 3) | LEN)) methodName = readString(task);
        else task.skip(taskTag & 7);
      }
      tasks.push({ modelSpec: decodeModelSpec(specParts), methodName });
    } else if (tag === ((2 << 3) | LEN)) {
      const inputEnd = reader.len();
      readInput(bytes, reader.start, inputEnd, state);
    }
    else reader.skip(tag & 7);
  }
  return { tasks, examples: serializedExamples(state) };
}

export interface ClassificationResult {
  /** One entry per example: its classes, in the order the signature's outputs give them. */
  classifications: { classes: { label?: string; score?: number }[] }[];
}

export interface RegressionResult {
  regressions: { value: number }[];
}

function classificationMessage(result: ClassificationResult): ClassificationResultMessage {
  return { classifications: result.classifications.map((c) => ({ classes: c.classes.map((k) => ({ ...k })) })) };
}

function regressionMessage(result: RegressionResult): RegressionResultMessage {
  return { regressions: result.regressions.map((r) => ({ value: r.value })) };
}

export function encodeClassificationResponse(response: { modelSpec?: ModelSpec; result: ClassificationResult }): Buffer {
  return asBuffer(
    ClassificationResponse.encode({
      ...(response.modelSpec ? { model_spec: modelSpecMessage(response.modelSpec) } : {}),
      result: classificationMessage(response.result),
    }),
  );
}

export function encodeRegressionResponse(response: { modelSpec?: ModelSpec; result: RegressionResult }): Buffer {
  return asBuffer(
    RegressionResponse.encode({
      ...(response.modelSpec ? { model_spec: modelSpecMessage(response.modelSpec) } : {}),
      result: regressionMessage(response.result),
    }),
  );
}

export interface InferenceResult {
  modelSpec?: ModelSpec;
  classificationResult?: ClassificationResult;
  regressionResult?: RegressionResult;
}

export function encodeMultiInferenceResponse(response: { results: readonly InferenceResult[] }): Buffer {
  return asBuffer(
    MultiInferenceResponse.encode({
      results: response.results.map((r) => ({
        ...(r.modelSpec ? { model_spec: modelSpecMessage(r.modelSpec) } : {}),
        ...(r.classificationResult ? { classification_result: classificationMessage(r.classificationResult) } : {}),
        ...(r.regressionResult ? { regression_result: regressionMessage(r.regressionResult) } : {}),
      })),
    }),
  );
}

// ---------------------------------------------------------------------------------------------------
// GetModelMetadata

function readSpecAndStrings(bytes: Uint8Array, what: string): { modelSpec: ModelSpec | undefined; strings: string[] } {
  const reader = new WireReader(bytes, what);
  const specParts: Uint8Array[] = [];
  const strings: string[] = [];
  while (!reader.done()) {
    const tag = reader.tag();
    if (tag === ((1 << 3) | LEN)) specParts.push(reader.bytes());
    else if (tag === ((2 << 3) | LEN)) strings.push(readString(reader));
    else reader.skip(tag & 7);
  }
  return { modelSpec: decodeModelSpec(specParts), strings };
}

export function decodeGetModelMetadataRequest(bytes: Uint8Array): { modelSpec: ModelSpec | undefined; metadataFields: string[] } {
  const { modelSpec, strings } = readSpecAndStrings(bytes, 'tensorflow.serving.GetModelMetadataRequest');
  return { modelSpec, metadataFields: strings };
}

/**
 * GetModelMetadataResponse with metadata["signature_def"] = Any(SignatureDefMap). The SignatureDefs
 * are protobuf's object form with proto field names: `Servable.signatureDefs` as it is.
 */
export function encodeGetModelMetadataResponse(response: {
  modelSpec?: ModelSpec;
  signatureDefs: Readonly<Record<string, unknown>>;
}): Buffer {
  const map = SignatureDefMap.encode({ signature_def: response.signatureDefs as Record<string, SignatureDefMessage> });
  return asBuffer(
    GetModelMetadataResponse.encode({
      ...(response.modelSpec ? { model_spec: modelSpecMessage(response.modelSpec) } : {}),
      metadata: { signature_def: { type_url: SIGNATURE_DEF_MAP_TYPE_URL, value: map } },
    }),
  );
}

// ---------------------------------------------------------------------------------------------------
// GetModelStatus

export function decodeGetModelStatusRequest(bytes: Uint8Array): { modelSpec: ModelSpec | undefined } {
  return { modelSpec: readSpecAndStrings(bytes, 'tensorflow.serving.GetModelStatusRequest').modelSpec };
}

/** A TensorFlow status: null or absent for OK. */
export type StatusValue = { readonly code: StatusCode; readonly message: string } | null | undefined;

function statusMessage(status: StatusValue): StatusProtoMessage {
  // Always present, as TF Serving fills it; OK is the empty message.
  return status && status.code !== 'OK' ? { error_code: status.code, error_message: status.message } : {};
}

export interface VersionStatusValue {
  readonly version: number;
  readonly state: 'UNKNOWN' | 'START' | 'LOADING' | 'AVAILABLE' | 'UNLOADING' | 'END';
  /** The load error of a version that ended in failure (the manager's `error`). */
  readonly error?: StatusValue;
}

/** GetModelStatusResponse from the manager's statuses (`{ version, state, error }`), in the given order. */
export function encodeGetModelStatusResponse(statuses: readonly VersionStatusValue[]): Buffer {
  return asBuffer(
    GetModelStatusResponse.encode({
      model_version_status: statuses.map((s) => ({ version: s.version, state: s.state, status: statusMessage(s.error) })),
    }),
  );
}

// ---------------------------------------------------------------------------------------------------
// HandleReloadConfigRequest

export type VersionPolicyValue =
  | { kind: 'latest'; numVersions: number }
  | { kind: 'all' }
  | { kind: 'specific'; versions: number[] };

/** A ModelConfig in the serving layer's form (src/serving/model-config.ts ModelConfig). */
export interface ModelConfigValue {
  name: string;
  basePath: string;
  platform: string;
  versionPolicy: VersionPolicyValue;
  versionLabels: Map<string, bigint | number>;
  modelType?: 'TENSORFLOW' | 'OTHER' | number;
}

export interface ReloadConfigCall {
  /** model_config_list's entries; undefined when the config is not a ModelConfigList (custom or unset). */
  configs: ModelConfigValue[] | undefined;
  metricNames: string[];
}

function toSafeNumber(value: string | number): number | bigint {
  const big = BigInt(value);
  return big >= BigInt(Number.MIN_SAFE_INTEGER) && big <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(big) : big;
}

function versionPolicy(name: string, policy: ServableVersionPolicyMessage | undefined): VersionPolicyValue {
  if (policy?.latest) return { kind: 'latest', numVersions: policy.latest.num_versions ?? 0 };
  if (policy?.all) return { kind: 'all' };
  if (policy?.specific) {
    const versions = (policy.specific.versions ?? []).map((v) => {
      const version = toSafeNumber(v);
      if (typeof version === 'bigint') {
        throw new TfServeError('INVALID_ARGUMENT', `Version ${version} of model ${name} is outside the range tfserve supports (-2^53+1 to 2^53-1)`);
      }
      return version;
    });
    return { kind: 'specific', versions };
  }
  // No policy, or an empty one: TF Serving's default, the latest version.
  return { kind: 'latest', numVersions: 1 };
}

function modelConfig(message: ModelConfigMessage): ModelConfigValue {
  const name = message.name ?? '';
  const labels = new Map<string, bigint | number>();
  for (const [label, version] of Object.entries(message.version_labels ?? {})) labels.set(label, toSafeNumber(version));
  const config: ModelConfigValue = {
    name,
    basePath: message.base_path ?? '',
    platform: message.model_platform ?? '',
    versionPolicy: versionPolicy(name, message.model_version_policy),
    versionLabels: labels,
  };
  const type = message.model_type;
  if (type === 'TENSORFLOW' || type === 'OTHER' || (typeof type === 'number' && type !== 0)) config.modelType = type;
  return config;
}

/**
 * ReloadConfigRequest -> the configs, as the serving layer validates and applies them. Specific
 * versions beyond 2^53 are INVALID_ARGUMENT, as in config files; label values beyond it are bigints.
 */
export function decodeReloadConfigRequest(bytes: Uint8Array): ReloadConfigCall {
  const request = ReloadConfigRequest.decode(bytes);
  const list = request.config?.model_config_list;
  return {
    configs: list ? (list.config ?? []).map(modelConfig) : undefined,
    metricNames: request.metric_names ?? [],
  };
}

export function encodeReloadConfigResponse(response: {
  status?: StatusValue;
  metrics?: readonly { name: string; int64ValueIncrease?: number | bigint }[];
}): Buffer {
  return asBuffer(
    ReloadConfigResponse.encode({
      status: statusMessage(response.status),
      metric: (response.metrics ?? []).map((m) => ({
        name: m.name,
        ...(m.int64ValueIncrease !== undefined ? { int64_value_increase: String(m.int64ValueIncrease) } : {}),
      })),
    }),
  );
}

function asBuffer(bytes: Uint8Array): Buffer {
  return Buffer.isBuffer(bytes) ? bytes : Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}

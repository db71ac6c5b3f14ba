/**
 * TensorFlow Serving's gRPC messages and services (and KServe v2's), loaded at run time from
 * tfserve's own `.proto` files in `proto/` with protobufjs, and typed accessors for them.
 *
 * Contract: the root is loaded once, on first use (~25 ms), so importing this module costs nothing.
 * Field names are the `.proto` names (`keepCase`): `model_spec`, `tensor_shape`, `error_code`. That is
 * the naming of TF Serving's docs, its Python stubs and protobuf's JSON with proto names, which the
 * signatures' JSON (`Servable.signatureDefs`) already uses, so those objects encode as they are; and it
 * is what `@grpc/proto-loader` gives with `keepCase: true` when a client loads these same files.
 * Nothing here hands message objects to proto-loader: the services are served and called with raw
 * bytes (`serviceDefinition`), and the transports decode with src/proto/serving-codec.ts.
 *
 * A codec's `decode` returns protobuf's object form: int64 as decimal strings, enums as names, bytes
 * as Uint8Array views of the input, default values left out. `encode` takes the same form (numbers are
 * fine for int64, numbers or names for enums) and writes the canonical encoding, as protobuf C++ does:
 * fields in number order, packed repeated scalars, and no field of proto3 implicit presence that holds
 * its default value. Bytes that are not the message throw WireFormatError (INTERNAL).
 */
import fs from 'node:fs';
import path from 'node:path';

import type { MethodDefinition, ServiceDefinition } from '@grpc/grpc-js';
import protobuf from 'protobufjs';

import { WireFormatError } from './wire.js';

/** The files whose imports pull in every message tfserve uses. */
const ENTRY_FILES = [
  'tensorflow_serving/apis/prediction_service.proto',
  'tensorflow_serving/apis/model_service.proto',
  'tensorflow_serving/apis/prediction_log.proto',
  'kserve/grpc_predict_v2.proto',
];

/** `proto/` of the package: dist/proto/ in a package, dist-test/src/proto/ in the test build. */
export function protoDir(): string {
  for (const up of [['..', '..'], ['..', '..', '..']]) {
    const candidate = path.resolve(__dirname, ...up, 'proto');
    if (fs.existsSync(path.join(candidate, 'tensorflow_serving'))) return candidate;
  }
  throw new Error(`tfserve's proto/ folder was not found above ${__dirname}`);
}

let loadedRoot: protobuf.Root | undefined;

export function protoRoot(): protobuf.Root {
  if (loadedRoot) return loadedRoot;
  const dir = protoDir();
  const root = new protobuf.Root();
  // Imports are relative to proto/, as protoc's -I would take them; google/protobuf/* are bundled.
  root.resolvePath = (_origin, target) => (path.isAbsolute(target) ? target : path.join(dir, target));
  root.loadSync(ENTRY_FILES, { keepCase: true });
  root.resolveAll();
  loadedRoot = root;
  return root;
}

// ---------------------------------------------------------------------------------------------------
// Object forms (decode output, encode input). int64: string on decode, number | string on encode.

export type Int64 = string | number;

export interface ModelSpecMessage {
  name?: string;
  version?: { value?: Int64 };
  version_label?: string;
  signature_name?: string;
}

export interface TensorShapeMessage {
  dim?: { size?: Int64; name?: string }[];
  unknown_rank?: boolean;
}

export interface TensorProtoMessage {
  dtype?: string | number;
  tensor_shape?: TensorShapeMessage;
  version_number?: number;
  tensor_content?: Uint8Array;
  half_val?: number[];
  float_val?: number[];
  double_val?: number[];
  int_val?: number[];
  string_val?: Uint8Array[];
  int64_val?: Int64[];
  bool_val?: boolean[];
  uint32_val?: number[];
  uint64_val?: Int64[];
  [other: string]: unknown;
}

export interface TensorInfoMessage {
  name?: string;
  coo_sparse?: { values_tensor_name?: string; indices_tensor_name?: string; dense_shape_tensor_name?: string };
  composite_tensor?: { type_spec?: Uint8Array; components?: TensorInfoMessage[] };
  dtype?: string | number;
  tensor_shape?: TensorShapeMessage;
}

export interface SignatureDefMessage {
  inputs?: Record<string, TensorInfoMessage>;
  outputs?: Record<string, TensorInfoMessage>;
  method_name?: string;
  defaults?: Record<string, TensorProtoMessage>;
}

export interface AnyMessage {
  type_url?: string;
  value?: Uint8Array;
}

export interface FeatureMessage {
  bytes_list?: { value?: Uint8Array[] };
  float_list?: { value?: number[] };
  int64_list?: { value?: Int64[] };
}

export interface ExampleMessage {
  features?: { feature?: Record<string, FeatureMessage> };
}

export interface InputMessage {
  example_list?: { examples?: ExampleMessage[] };
  example_list_with_context?: { examples?: ExampleMessage[]; context?: ExampleMessage };
}

export interface PredictRequestMessage {
  model_spec?: ModelSpecMessage;
  inputs?: Record<string, TensorProtoMessage>;
  output_filter?: string[];
  [other: string]: unknown;
}

export interface PredictResponseMessage {
  model_spec?: ModelSpecMessage;
  outputs?: Record<string, TensorProtoMessage>;
}

export interface ClassificationResultMessage {
  classifications?: { classes?: { label?: string; score?: number }[] }[];
}

export interface RegressionResultMessage {
  regressions?: { value?: number }[];
}

export interface ClassificationRequestMessage {
  model_spec?: ModelSpecMessage;
  input?: InputMessage;
}

export type RegressionRequestMessage = ClassificationRequestMessage;

export interface ClassificationResponseMessage {
  model_spec?: ModelSpecMessage;
  result?: ClassificationResultMessage;
}

export interface RegressionResponseMessage {
  model_spec?: ModelSpecMessage;
  result?: RegressionResultMessage;
}

export interface MultiInferenceRequestMessage {
  tasks?: { model_spec?: ModelSpecMessage; method_name?: string }[];
  input?: InputMessage;
}

export interface MultiInferenceResponseMessage {
  results?: {
    model_spec?: ModelSpecMessage;
    classification_result?: ClassificationResultMessage;
    regression_result?: RegressionResultMessage;
  }[];
}

export interface GetModelMetadataRequestMessage {
  model_spec?: ModelSpecMessage;
  metadata_field?: string[];
}

export interface GetModelMetadataResponseMessage {
  model_spec?: ModelSpecMessage;
  metadata?: Record<string, AnyMessage>;
}

export interface StatusProtoMessage {
  error_code?: string | number;
  error_message?: string;
}

export interface GetModelStatusRequestMessage {
  model_spec?: ModelSpecMessage;
}

export interface ModelVersionStatusMessage {
  version?: Int64;
  state?: string | number;
  status?: StatusProtoMessage;
}

export interface GetModelStatusResponseMessage {
  model_version_status?: ModelVersionStatusMessage[];
}

export interface ServableVersionPolicyMessage {
  latest?: { num_versions?: number };
  all?: Record<string, never>;
  specific?: { versions?: Int64[] };
}

export interface ModelConfigMessage {
  name?: string;
  base_path?: string;
  model_type?: string | number;
  model_platform?: string;
  model_version_policy?: ServableVersionPolicyMessage;
  version_labels?: Record<string, Int64>;
  logging_config?: {
    log_collector_config?: { type?: string; filename_prefix?: string };
    sampling_config?: { sampling_rate?: number; attributes?: number; per_task_sampling_configs?: unknown[] };
    custom_logging_config?: AnyMessage;
  };
}

export interface ModelServerConfigMessage {
  model_config_list?: { config?: ModelConfigMessage[] };
  custom_model_config?: AnyMessage;
}

export interface ReloadConfigRequestMessage {
  config?: ModelServerConfigMessage;
  metric_names?: string[];
}

export interface ReloadConfigResponseMessage {
  status?: StatusProtoMessage;
  metric?: { name?: string; int64_value_increase?: Int64 }[];
}

/** PredictionLog and the other messages tfserve only passes through. */
export type ProtoObject = Record<string, unknown>;

export interface InferParameterMessage {
  bool_param?: boolean;
  int64_param?: Int64;
  string_param?: string;
  double_param?: number;
  uint64_param?: Int64;
}

export interface InferTensorContentsMessage {
  bool_contents?: boolean[];
  int_contents?: number[];
  int64_contents?: Int64[];
  uint_contents?: number[];
  uint64_contents?: Int64[];
  fp32_contents?: number[];
  fp64_contents?: number[];
  bytes_contents?: Uint8Array[];
}

export interface InferTensorMessage {
  name?: string;
  datatype?: string;
  shape?: Int64[];
  parameters?: Record<string, InferParameterMessage>;
  contents?: InferTensorContentsMessage;
}

export interface ModelInferRequestMessage {
  model_name?: string;
  model_version?: string;
  id?: string;
  parameters?: Record<string, InferParameterMessage>;
  inputs?: InferTensorMessage[];
  outputs?: { name?: string; parameters?: Record<string, InferParameterMessage> }[];
  raw_input_contents?: Uint8Array[];
}

export interface ModelInferResponseMessage {
  model_name?: string;
  model_version?: string;
  id?: string;
  parameters?: Record<string, InferParameterMessage>;
  outputs?: InferTensorMessage[];
  raw_output_contents?: Uint8Array[];
}

// ---------------------------------------------------------------------------------------------------
// Codecs

export interface MessageCodec<T> {
  /** The full protobuf name, e.g. "tensorflow.serving.PredictRequest". */
  readonly name: string;
  readonly type: protobuf.Type;
  encode(message: T): Uint8Array;
  decode(bytes: Uint8Array): T;
}

const TO_OBJECT: protobuf.IConversionOptions = { longs: String, enums: String, defaults: false };

function isDefaultScalar(value: unknown): boolean {
  if (value === 0 || value === false || value === '') return true;
  if (value instanceof Uint8Array) return value.length === 0;
  // int64 values: protobufjs holds them as Long objects ({ low, high }).
  if (typeof value === 'object' && value !== null && 'low' in value && 'high' in value) {
    const long = value as { low: number; high: number };
    return long.low === 0 && long.high === 0;
  }
  return false;
}

/**
 * Drops what protobuf C++ would not write: fields of implicit presence (proto3 scalars outside any
 * oneof, proto3 `optional` included in "oneof") that hold their default. Messages are walked; repeated
 * scalars and bytes are left as they are.
 */
function canonicalize(message: protobuf.Message, type: protobuf.Type): void {
  const record = message as unknown as Record<string, unknown>;
  for (const field of type.fieldsArray) {
    const value = record[field.name];
    if (value === undefined || value === null) continue;
    const nested = field.resolvedType instanceof protobuf.Type ? field.resolvedType : null;
    if (field.map) {
      if (nested) for (const entry of Object.values(value as object)) canonicalize(entry, nested);
    } else if (field.repeated) {
      if (nested) for (const entry of value as protobuf.Message[]) canonicalize(entry, nested);
    } else if (nested) {
      canonicalize(value as protobuf.Message, nested);
    } else if (!field.partOf && isDefaultScalar(value)) {
      delete record[field.name];
    }
  }
}

const codecs = new Map<string, MessageCodec<unknown>>();

/** The codec of any message in the root, by full name. */
export function messageCodec<T = ProtoObject>(name: string): MessageCodec<T> {
  let codec = codecs.get(name);
  if (!codec) {
    const type = protoRoot().lookupType(name);
    codec = {
      name,
      type,
      encode(object: unknown): Uint8Array {
        const message = type.fromObject(object as Record<string, unknown>);
        canonicalize(message, type);
        return type.encode(message).finish();
      },
      decode(bytes: Uint8Array): unknown {
        let message: protobuf.Message;
        try {
          message = type.decode(bytes);
        } catch (error) {
          throw new WireFormatError(name, (error as Error).message);
        }
        return type.toObject(message, TO_OBJECT);
      },
    };
    codecs.set(name, codec);
  }
  return codec as MessageCodec<T>;
}

/** A codec resolved on first use, so that the module can export them all as constants. */
function lazyCodec<T>(name: string): MessageCodec<T> {
  return {
    name,
    get type() {
      return messageCodec<T>(name).type;
    },
    encode: (message: T) => messageCodec<T>(name).encode(message),
    decode: (bytes: Uint8Array) => messageCodec<T>(name).decode(bytes),
  };
}

const TF = 'tensorflow.';
const TFS = 'tensorflow.serving.';

export const TensorProto = lazyCodec<TensorProtoMessage>(`${TF}TensorProto`);
export const TensorShapeProto = lazyCodec<TensorShapeMessage>(`${TF}TensorShapeProto`);
export const SignatureDef = lazyCodec<SignatureDefMessage>(`${TF}SignatureDef`);
export const Example = lazyCodec<ExampleMessage>(`${TF}Example`);
export const ModelSpec = lazyCodec<ModelSpecMessage>(`${TFS}ModelSpec`);
export const PredictRequest = lazyCodec<PredictRequestMessage>(`${TFS}PredictRequest`);
export const PredictResponse = lazyCodec<PredictResponseMessage>(`${TFS}PredictResponse`);
export const ClassificationRequest = lazyCodec<ClassificationRequestMessage>(`${TFS}ClassificationRequest`);
export const ClassificationResponse = lazyCodec<ClassificationResponseMessage>(`${TFS}ClassificationResponse`);
export const RegressionRequest = lazyCodec<RegressionRequestMessage>(`${TFS}RegressionRequest`);
export const RegressionResponse = lazyCodec<RegressionResponseMessage>(`${TFS}RegressionResponse`);
export const MultiInferenceRequest = lazyCodec<MultiInferenceRequestMessage>(`${TFS}MultiInferenceRequest`);
export const MultiInferenceResponse = lazyCodec<MultiInferenceResponseMessage>(`${TFS}MultiInferenceResponse`);
export const SignatureDefMap = lazyCodec<{ signature_def?: Record<string, SignatureDefMessage> }>(`${TFS}SignatureDefMap`);
export const GetModelMetadataRequest = lazyCodec<GetModelMetadataRequestMessage>(`${TFS}GetModelMetadataRequest`);
export const GetModelMetadataResponse = lazyCodec<GetModelMetadataResponseMessage>(`${TFS}GetModelMetadataResponse`);
export const GetModelStatusRequest = lazyCodec<GetModelStatusRequestMessage>(`${TFS}GetModelStatusRequest`);
export const GetModelStatusResponse = lazyCodec<GetModelStatusResponseMessage>(`${TFS}GetModelStatusResponse`);
export const ReloadConfigRequest = lazyCodec<ReloadConfigRequestMessage>(`${TFS}ReloadConfigRequest`);
export const ReloadConfigResponse = lazyCodec<ReloadConfigResponseMessage>(`${TFS}ReloadConfigResponse`);
export const ModelServerConfig = lazyCodec<ModelServerConfigMessage>(`${TFS}ModelServerConfig`);
export const PredictionLog = lazyCodec<ProtoObject>(`${TFS}PredictionLog`);
export const ModelInferRequest = lazyCodec<ModelInferRequestMessage>('inference.ModelInferRequest');
export const ModelInferResponse = lazyCodec<ModelInferResponseMessage>('inference.ModelInferResponse');
export const ModelMetadataResponse = lazyCodec<ProtoObject>('inference.ModelMetadataResponse');

/** The type URL of GetModelMetadataResponse.metadata["signature_def"]. */
export const SIGNATURE_DEF_MAP_TYPE_URL = 'type.googleapis.com/tensorflow.serving.SignatureDefMap';

// ---------------------------------------------------------------------------------------------------
// Services

export const PREDICTION_SERVICE = 'tensorflow.serving.PredictionService';
export const MODEL_SERVICE = 'tensorflow.serving.ModelService';
export const GRPC_INFERENCE_SERVICE = 'inference.GRPCInferenceService';

function asBuffer(bytes: Uint8Array): Buffer {
  return Buffer.isBuffer(bytes) ? bytes : Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}

/**
 * A @grpc/grpc-js service definition for one of the services above whose methods carry raw bytes
 * both ways: handlers get the request's Buffer and answer a Uint8Array, clients likewise. Decoding
 * inside the handler is deliberate: grpc-js turns a throwing deserializer into INTERNAL, while a
 * bad tensor must answer INVALID_ARGUMENT `tensor parsing error: <alias>`. Method paths come from
 * the `.proto` (`/tensorflow.serving.PredictionService/Predict`), keys are the method names.
 */
export function serviceDefinition(serviceName: string): ServiceDefinition {
  const service = protoRoot().lookupService(serviceName);
  const definition: Record<string, MethodDefinition<Uint8Array, Uint8Array>> = {};
  for (const method of service.methodsArray) {
    definition[method.name] = {
      path: `/${serviceName}/${method.name}`,
      requestStream: Boolean(method.requestStream),
      responseStream: Boolean(method.responseStream),
      requestSerialize: asBuffer,
      requestDeserialize: (bytes: Buffer) => bytes,
      responseSerialize: asBuffer,
      responseDeserialize: (bytes: Buffer) => bytes,
      originalName: method.name,
    };
  }
  return definition as ServiceDefinition;
}

/**
 * The gRPC transport of TFServingClient (`grpc://host:port`, `grpcs://host:port` for TLS): TF Serving's
 * PredictionService and ModelService through @grpc/grpc-js, with the same methods, arguments and
 * answers as the REST transport, so code written for one runs on the other. Messages are written and
 * read with the project's own codecs (src/proto), never through the server's code.
 *
 * How the REST shapes are kept: a predict body (`instances` / `inputs` of plain values) is turned into
 * tensors exactly as TF Serving's REST handler would (src/json's decoder, with the dtypes of the
 * signature, which GetModelMetadata gives once per model, target and signature and is then cached) and
 * the output tensors are rendered as the REST answer would be; classify/regress examples go through the
 * same JSON rules into tf.Examples; status and metadata are the REST JSON. `predictTensors` is the
 * direct path: typed tensors in, typed tensors out, no JSON anywhere.
 *
 * Errors: a non-OK status rejects with TfServeError whose code is the status (TF Serving's codes and
 * texts); the time limit is the call's deadline (DEADLINE_EXCEEDED); an unreachable server is UNAVAILABLE.
 */
import * as grpc from '@grpc/grpc-js';
import protobuf from 'protobufjs';

import { dtypeFromTf } from '../model/dtypes.js';
import { invalidArgument, TfServeError } from '../model/errors.js';
import type { SignatureDefJson, SignatureInfo, TensorInfo } from '../model/signature.js';
import type { Tensor } from '../model/tensor.js';
import { formatFloat32 } from '../json/float-format.js';
import { parseExamplesBody } from '../json/examples-codec.js';
import { parseJson } from '../json/parse.js';
import { decodePredictInputs, encodePredictResponse, parsePredictBody } from '../json/predict-codec.js';
import { type Example, serializeExample } from '../proto/example.js';
import { errorFromGrpcStatus } from '../proto/grpc-status.js';
import {
  decodePredictResponse,
  encodePredictRequest,
  type ModelSpec as WireModelSpec,
} from '../proto/serving-codec.js';
import {
  ClassificationResponse,
  GetModelMetadataRequest,
  GetModelMetadataResponse,
  GetModelStatusRequest,
  GetModelStatusResponse,
  MODEL_SERVICE,
  type ModelSpecMessage,
  PREDICTION_SERVICE,
  protoRoot,
  RegressionResponse,
  SignatureDefMap,
  serviceDefinition,
} from '../proto/serving-protos.js';
import { LEN } from '../proto/wire.js';
import type {
  ClassifyResponse,
  ExamplesRequest,
  ModelMetadataResponse,
  ModelStatusResponse,
  ModelTarget,
  PredictRequest,
  PredictResponse,
} from './rest-client.js';
import { jsonToValue, writeJson } from './rest-client.js';

export interface GrpcClientOptions {
  /** Per-call deadline in ms; 0 = none. */
  timeoutMs: number;
  /** Sent as call metadata with every call. */
  headers: Record<string, string>;
  /** grpcs://: PEM root certificates (default: the system's), and a client key and certificate for mutual TLS. */
  ca?: Buffer | string;
  key?: Buffer | string;
  cert?: Buffer | string;
  /** grpc-js channel options, e.g. { 'grpc.ssl_target_name_override': 'localhost' }. */
  channelOptions?: grpc.ChannelOptions;
}

export interface PredictTensorsOptions {
  signatureName?: string;
  /** Output aliases to compute (TF Serving's output_filter); default all. */
  outputFilter?: string[];
  target?: ModelTarget;
}

export interface PredictTensorsResponse {
  /** The model, version and signature that answered. */
  /** `version` is a bigint beyond 2^53 (int64, as TF Serving sends it). */
  modelSpec: { name: string; version: number | bigint; signatureName: string };
  outputs: Record<string, Tensor>;
}

// The whole message either way, as TF Serving allows (INT32_MAX); grpc-js's default receive limit is 4 MiB.
const UNLIMITED = { 'grpc.max_receive_message_length': -1, 'grpc.max_send_message_length': -1 };
const PROTO_TO_JSON: protobuf.IConversionOptions = { longs: String, enums: String, bytes: String, defaults: false };

const toBuffer = (bytes: Uint8Array): Buffer => (Buffer.isBuffer(bytes) ? bytes : Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength));
const identity = (bytes: Buffer): Buffer => bytes;

function pem(value: Buffer | string | undefined): Buffer | null {
  return value === undefined ? null : Buffer.isBuffer(value) ? value : Buffer.from(value);
}

function modelSpec(model: string, target: ModelTarget | undefined, signatureName = ''): WireModelSpec {
  if (typeof model !== 'string' || model.length === 0) throw invalidArgument(`Expected non-empty string for model but received ${JSON.stringify(model)}`);
  const spec: WireModelSpec = { name: model, signatureName };
  if (target === undefined) return spec;
  if (typeof target !== 'object' || target === null) throw invalidArgument('Expected object of { version } or { label } for target');
  const { version, label } = target;
  if (version !== undefined && label !== undefined) throw invalidArgument('Expected only one of target.version and target.label');
  if (version !== undefined) {
    if (!Number.isSafeInteger(version) || version < 0) throw invalidArgument(`Expected non-negative integer for target.version but received ${String(version)}`);
    spec.version = version;
  } else if (label !== undefined) {
    if (typeof label !== 'string' || label.length === 0) throw invalidArgument(`Expected non-empty string for target.label but received ${JSON.stringify(label)}`);
    spec.versionLabel = label;
  }
  return spec;
}

function specMessage(spec: WireModelSpec): ModelSpecMessage {
  const message: ModelSpecMessage = { name: spec.name };
  // protobufjs takes int64 values as numbers or decimal strings, not bigints.
  if (spec.version !== undefined) message.version = { value: typeof spec.version === 'bigint' ? String(spec.version) : spec.version };
  else if (spec.versionLabel !== undefined) message.version_label = spec.versionLabel;
  if (spec.signatureName) message.signature_name = spec.signatureName;
  return message;
}

// ---------------------------------------------------------------------------------------------------
// SignatureDefs off the wire -> the REST JSON (src/model/signature.ts's form) and SignatureInfo

type Proto = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

const TENSOR_VALUE_FIELDS = ['float_val', 'double_val', 'int_val', 'string_val', 'int64_val', 'bool_val', 'half_val', 'uint32_val', 'uint64_val'];

function shapeJson(shape: Proto): Proto {
  return { dim: ((shape['dim'] ?? []) as Proto[]).map((d) => ({ size: String(d['size'] ?? '0'), name: d['name'] ?? '' })), unknown_rank: shape['unknown_rank'] ?? false };
}

function tensorInfoJson(info: Proto): Proto {
  return { dtype: info['dtype'] ?? 'DT_INVALID', ...(info['tensor_shape'] ? { tensor_shape: shapeJson(info['tensor_shape']) } : {}), name: info['name'] ?? '' };
}

function tensorProtoJson(tensor: Proto): Proto {
  const json: Proto = { dtype: tensor['dtype'] ?? 'DT_INVALID' };
  if (tensor['tensor_shape']) json['tensor_shape'] = shapeJson(tensor['tensor_shape']);
  if (tensor['tensor_content']) json['tensor_content'] = tensor['tensor_content'];
  for (const field of TENSOR_VALUE_FIELDS) if ((tensor[field] ?? []).length > 0) json[field] = tensor[field];
  return json;
}

function mapValues(map: Proto | undefined, render: (value: Proto) => Proto): Proto {
  return Object.fromEntries(Object.entries(map ?? {}).map(([key, value]) => [key, render(value as Proto)]));
}

function signatureDefsJson(map: Proto): Record<string, SignatureDefJson> {
  return mapValues(map['signature_def'], (def) => ({
    inputs: mapValues(def['inputs'], tensorInfoJson),
    outputs: mapValues(def['outputs'], tensorInfoJson),
    method_name: def['method_name'] ?? '',
    defaults: mapValues(def['defaults'], tensorProtoJson),
  })) as Record<string, SignatureDefJson>;
}

let dataTypes: Readonly<Record<string, number>> | undefined;

function tensorInfo(json: Proto): TensorInfo {
  dataTypes ??= protoRoot().lookupEnum('tensorflow.DataType').values;
  const raw = dataTypes[json['dtype'] as string] ?? 0;
  const tfType = raw > 100 ? raw - 100 : raw;
  const shape = json['tensor_shape'] && !json['tensor_shape'].unknown_rank ? (json['tensor_shape'].dim as Proto[]).map((d) => Number(d['size'])) : null;
  return { name: json['name'], dtype: dtypeFromTf(tfType) ?? `type ${tfType}`, shape, tfType };
}

function signatureInfo(def: SignatureDefJson): SignatureInfo {
  return {
    methodName: def.method_name ?? '',
    inputs: mapValues(def.inputs as Proto, tensorInfo) as Record<string, TensorInfo>,
    outputs: mapValues(def.outputs as Proto, tensorInfo) as Record<string, TensorInfo>,
  };
}

// ---------------------------------------------------------------------------------------------------

/** ClassificationRequest / RegressionRequest: model_spec, then Input with the serialized Examples. */
function examplesRequest(spec: WireModelSpec, examples: readonly Example[], context: Example | undefined): Buffer {
  const writer = protobuf.Writer.create();
  writer.uint32((1 << 3) | LEN).bytes(protoRoot().lookupType('tensorflow.serving.ModelSpec').encode(specMessage(spec)).finish());
  writer.uint32((2 << 3) | LEN).fork();
  writer.uint32(((context === undefined ? 1 : 2) << 3) | LEN).fork();
  for (const example of examples) writer.uint32((1 << 3) | LEN).bytes(serializeExample(example));
  if (context !== undefined) writer.uint32((2 << 3) | LEN).bytes(serializeExample(context));
  writer.ldelim().ldelim();
  return toBuffer(writer.finish());
}

/** A float as the REST answer carries it: TF Serving's float text, read back as a number. */
const restFloat = (value: number | undefined): number => Number(formatFloat32(value ?? 0));

export class GrpcTransport {
  readonly #client: grpc.Client;
  readonly #options: GrpcClientOptions;
  readonly #paths = new Map<string, string>();
  readonly #signatures = new Map<string, Promise<Record<string, SignatureDefJson>>>();

  constructor(address: string, secure: boolean, options: GrpcClientOptions) {
    this.#options = options;
    const credentials = secure
      ? grpc.credentials.createSsl(pem(options.ca), pem(options.key), pem(options.cert))
      : grpc.credentials.createInsecure();
    this.#client = new grpc.Client(address, credentials, { ...UNLIMITED, ...options.channelOptions });
    for (const service of [PREDICTION_SERVICE, MODEL_SERVICE]) {
      for (const [method, definition] of Object.entries(serviceDefinition(service))) this.#paths.set(method, definition.path);
    }
  }

  close(): void {
    this.#client.close();
  }

  #call(method: string, request: Uint8Array): Promise<Buffer> {
    const metadata = new grpc.Metadata();
    for (const [key, value] of Object.entries(this.#options.headers)) metadata.set(key, value);
    const options: grpc.CallOptions = this.#options.timeoutMs > 0 ? { deadline: Date.now() + this.#options.timeoutMs } : {};
    return new Promise((resolve, reject) => {
      this.#client.makeUnaryRequest(this.#paths.get(method)!, identity, identity, toBuffer(request), metadata, options, (error, response) => {
        if (error) reject(errorFromGrpcStatus({ code: error.code, details: error.details }));
        else resolve(response!);
      });
    });
  }

  async #signatureDefs(model: string, target: ModelTarget | undefined): Promise<Record<string, SignatureDefJson>> {
    return (await this.metadata(model, target)).metadata.signature_def.signature_def as Record<string, SignatureDefJson>;
  }

  /** The signature a JSON predict body is converted with, from GetModelMetadata, once per model, target and name. */
  async #signature(model: string, target: ModelTarget | undefined, signatureName: string | undefined): Promise<SignatureInfo> {
    const key = JSON.stringify([model, target?.version ?? null, target?.label ?? null]);
    let defs = this.#signatures.get(key);
    if (defs === undefined) {
      defs = this.#signatureDefs(model, target);
      this.#signatures.set(key, defs);
      defs.catch(() => this.#signatures.delete(key));
    }
    const name = signatureName ? signatureName : 'serving_default';
    const def = (await defs)[name];
    if (def === undefined) throw invalidArgument(`Serving signature name: "${name}" not found in signature def`);
    return signatureInfo(def);
  }

  async predict(model: string, body: PredictRequest, target?: ModelTarget): Promise<PredictResponse> {
    modelSpec(model, target);
    const request: Record<string, unknown> = {};
    if (body.signatureName !== undefined) request['signature_name'] = body.signatureName;
    if (body.instances !== undefined) request['instances'] = body.instances;
    else request['inputs'] = body.inputs;
    const parsed = parsePredictBody(writeJson(request));
    const signature = await this.#signature(model, target, parsed.signatureName);
    const inputs = decodePredictInputs(parsed, signature) as Record<string, Tensor>;
    const response = await this.#predict(modelSpec(model, target, parsed.signatureName ?? ''), inputs, []);
    return jsonToValue(parseJson(encodePredictResponse(parsed.format, response.outputs))) as PredictResponse;
  }

  async predictTensors(model: string, inputs: Record<string, Tensor>, options: PredictTensorsOptions = {}): Promise<PredictTensorsResponse> {
    if (typeof inputs !== 'object' || inputs === null) throw invalidArgument('Expected object of tensors for inputs');
    const response = await this.#predict(modelSpec(model, options.target, options.signatureName ?? ''), inputs, options.outputFilter ?? []);
    const spec = response.modelSpec;
    return { modelSpec: { name: spec?.name ?? model, version: spec?.version ?? 0, signatureName: spec?.signatureName ?? '' }, outputs: response.outputs };
  }

  async #predict(spec: WireModelSpec, inputs: Record<string, Tensor>, outputFilter: string[]) {
    return decodePredictResponse(await this.#call('Predict', encodePredictRequest({ modelSpec: spec, inputs, outputFilter })));
  }

  async classify(model: string, body: ExamplesRequest, target?: ModelTarget): Promise<ClassifyResponse> {
    const bytes = await this.#examples('Classify', model, body, target);
    const result = ClassificationResponse.decode(bytes).result;
    return {
      results: (result?.classifications ?? []).map((row) => (row.classes ?? []).map((c): [string, number] => [c.label ?? '', restFloat(c.score)])),
    };
  }

  async regress(model: string, body: ExamplesRequest, target?: ModelTarget): Promise<{ results: number[] }> {
    const bytes = await this.#examples('Regress', model, body, target);
    return { results: (RegressionResponse.decode(bytes).result?.regressions ?? []).map((r) => restFloat(r.value)) };
  }

  async #examples(method: 'Classify' | 'Regress', model: string, body: ExamplesRequest, target: ModelTarget | undefined): Promise<Buffer> {
    modelSpec(model, target);
    if (typeof body !== 'object' || body === null) throw invalidArgument('Expected object for body');
    if (!Array.isArray(body.examples)) throw invalidArgument('Expected array of objects for body.examples');
    const request: Record<string, unknown> = {};
    if (body.signatureName !== undefined) request['signature_name'] = body.signatureName;
    if (body.context !== undefined) request['context'] = body.context;
    request['examples'] = body.examples;
    const parsed = parseExamplesBody(writeJson(request));
    return this.#call(method, examplesRequest(modelSpec(model, target, parsed.signatureName ?? ''), parsed.examples, parsed.context));
  }

  async status(model: string, target?: ModelTarget): Promise<ModelStatusResponse> {
    const request = GetModelStatusRequest.encode({ model_spec: specMessage(modelSpec(model, target)) });
    const response = GetModelStatusResponse.decode(await this.#call('GetModelStatus', request));
    return {
      model_version_status: (response.model_version_status ?? []).map((s) => ({
        version: String(s.version ?? '0'),
        state: String(s.state ?? 'UNKNOWN'),
        status: { error_code: String(s.status?.error_code ?? 'OK'), error_message: s.status?.error_message ?? '' },
      })),
    };
  }

  async metadata(model: string, target?: ModelTarget): Promise<ModelMetadataResponse> {
    const request = GetModelMetadataRequest.encode({ model_spec: specMessage(modelSpec(model, target)), metadata_field: ['signature_def'] });
    const response = GetModelMetadataResponse.decode(await this.#call('GetModelMetadata', request));
    const any = response.metadata?.['signature_def'];
    if (any?.value === undefined) throw new TfServeError('DATA_LOSS', 'GetModelMetadataResponse has no signature_def');
    const map = SignatureDefMap.type.toObject(SignatureDefMap.type.decode(any.value), PROTO_TO_JSON) as Proto;
    return {
      model_spec: { name: response.model_spec?.name ?? model, signature_name: '', version: String(response.model_spec?.version?.value ?? '0') },
      metadata: { signature_def: { signature_def: signatureDefsJson(map) } },
    };
  }
}

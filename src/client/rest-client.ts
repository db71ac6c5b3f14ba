/**
 * TFServingClient: a typed client for TensorFlow Serving's REST API (predict in row or columnar form,
 * classify, regress, model status and metadata), for tfserve and for TensorFlow Serving itself. It is
 * plain `fetch` and JSON; nothing native is loaded. A `grpc://host:port` (or `grpcs://`, TLS) base URL
 * speaks TF Serving's gRPC API instead, with the same methods and answers (src/client/grpc-client.ts),
 * plus `predictTensors` (typed tensors both ways, gRPC only). Plus `predictImage`, tfserve's extension: the encoded
 * image is POSTed to `:predict` as it is (one image as image/jpeg|png|webp, several as multipart/form-data)
 * and the server preprocesses it as the model's tfserve.json says.
 *
 * Requests: `instances`/`inputs` may hold plain JSON values, typed arrays (written as number lists),
 * tensors `{dtype, shape, data: TypedArray}` such as preprocessImage returns (written as nested lists
 * of their shape), Buffers (written as `{"b64": ...}`, TF Serving's binary string form), bigints, and
 * NaN/±Infinity (written as TF Serving's NaN/Infinity tokens). Float32Array/Float64Array values are
 * written as TF Serving writes floats ("1.0", shortest exact text). A plain JS number that is an integer
 * is written as one ("1"): TF Serving reads it as int64 in a tf.Example, so send float features with
 * integral values as a Float32Array (`{"x": new Float32Array([1])}` is `{"x": [1.0]}`). Responses are parsed with tfserve's own JSON parser, which reads TF Serving's
 * NaN/Infinity tokens; integers beyond 2^53 arrive as (rounded) numbers, as with JSON.parse.
 *
 * Errors: a non-2xx answer rejects with TfServingHttpError (`status`, the server's `error` text);
 * bad arguments, timeouts (DEADLINE_EXCEEDED) and unreachable servers (UNAVAILABLE) reject with
 * TfServeError. Nothing throws synchronously.
 */
import fs from 'node:fs/promises';
import { STATUS_CODES } from 'node:http';

import { invalidArgument, TfServeError } from '../model/errors.js';
import { formatFloat32, formatFloat64 } from '../json/float-format.js';
import { type JsonNumbers, type JsonValue, parseJson, stringText } from '../json/parse.js';
import type { Tensor } from '../model/tensor.js';
import { type GrpcClientOptions, GrpcTransport, type PredictTensorsOptions, type PredictTensorsResponse } from './grpc-client.js';

export type { PredictTensorsOptions, PredictTensorsResponse } from './grpc-client.js';

export interface ClientOptions {
  /** Per-request time limit in ms, connection included; 0 = none. Default 30 s. */
  timeoutMs?: number;
  /** A fetch implementation (default: the global fetch). */
  fetch?: typeof fetch;
  /** Headers sent with every request (authentication, say); over gRPC, call metadata. */
  headers?: Record<string, string>;
  /** grpcs:// only: PEM root certificates (default: the system's), and a client key and certificate for mutual TLS. */
  ca?: Buffer | string;
  key?: Buffer | string;
  cert?: Buffer | string;
  /** grpc:// and grpcs:// only: grpc-js channel options. */
  channelOptions?: GrpcClientOptions['channelOptions'];
}

/** Which version answers: the latest available by default, or one version, or a version label. */
export interface ModelTarget {
  version?: number;
  label?: string;
}

export interface PredictRequest {
  /** Row format: one entry per example. */
  instances?: unknown[];
  /** Columnar format: a value, or an object of named inputs. */
  inputs?: unknown;
  signatureName?: string;
}

export interface ImageLabel {
  label: string;
  score: number;
}

export interface PredictResponse {
  /** Row-format answer. */
  predictions?: unknown;
  /** Columnar answer. */
  outputs?: unknown;
  /** tfserve's image answers, when the model's tfserve.json names labels: top-k per image. */
  labels?: ImageLabel[][];
}

export interface ExamplesRequest {
  /** tf.Example features as JSON: `{"feature": value | [values] | {"b64": ...}}`. */
  examples: Record<string, unknown>[];
  /** Features shared by every example. */
  context?: Record<string, unknown>;
  signatureName?: string;
}

/** classify: `[[label, score], ...]` per example; regress: one number per example. */
export interface ClassifyResponse {
  results: [string, number][][];
}

export interface RegressResponse {
  results: number[];
}

export interface ModelVersionStatus {
  version: string;
  state: string;
  status: { error_code: string; error_message: string };
}

export interface ModelStatusResponse {
  model_version_status: ModelVersionStatus[];
}

export interface ModelMetadataResponse {
  model_spec: { name: string; signature_name: string; version: string };
  metadata: { signature_def: { signature_def: Record<string, unknown> } };
}

export type ImageSource = Buffer | Uint8Array | string;

export interface PredictImageOptions {
  /** The image's media type; default: recognised from its first bytes (JPEG, PNG, WebP). */
  contentType?: string;
}

/** A non-2xx answer. `error` is the server's `{"error": ...}` text, or the body itself when it has none. */
export class TfServingHttpError extends Error {
  override name = 'TfServingHttpError';
  readonly status: number;
  readonly error: string;
  readonly body: string;

  constructor(status: number, error: string, body: string) {
    super(`HTTP ${status}: ${error}`);
    this.status = status;
    this.error = error;
    this.body = body;
  }
}

const DEFAULT_TIMEOUT_MS = 30_000;
const MAX_DEPTH = 1000;

export class TFServingClient {
  readonly baseUrl: string;
  readonly #timeoutMs: number;
  readonly #fetch: typeof fetch;
  readonly #headers: Record<string, string>;
  readonly #grpc: GrpcTransport | undefined;

  constructor(baseUrl: string, options: ClientOptions = {}) {
    if (typeof baseUrl !== 'string' || !/^(https?|grpcs?):\/\/[^/]/i.test(baseUrl)) {
      throw invalidArgument(`Expected http(s):// or grpc(s):// URL for baseUrl but received ${JSON.stringify(baseUrl)}`);
    }
    if (typeof options !== 'object' || options === null) throw invalidArgument('Expected object for options');
    const { timeoutMs = DEFAULT_TIMEOUT_MS, fetch: fetchFn = globalThis.fetch, headers = {} } = options;
    if (!Number.isFinite(timeoutMs) || timeoutMs < 0) {
      throw invalidArgument(`Expected non-negative number for options.timeoutMs but received ${String(timeoutMs)}`);
    }
    if (typeof fetchFn !== 'function') throw invalidArgument('Expected function for options.fetch (Node >= 18 has a global fetch)');
    this.baseUrl = baseUrl.replace(/\/+$/, '');
    this.#timeoutMs = timeoutMs;
    this.#fetch = fetchFn;
    this.#headers = { ...headers };
    const grpcUrl = /^(grpcs?):\/\/([^/]+)\/*$/i.exec(baseUrl);
    if (/^grpc/i.test(baseUrl)) {
      if (grpcUrl === null) throw invalidArgument(`Expected grpc(s)://host:port without a path but received ${JSON.stringify(baseUrl)}`);
      const { ca, key, cert, channelOptions } = options;
      this.#grpc = new GrpcTransport(grpcUrl[2]!, grpcUrl[1]!.toLowerCase() === 'grpcs', { timeoutMs, headers: this.#headers, ca, key, cert, channelOptions });
    }
  }

  /** Closes the gRPC channel (REST holds none; fetch's connections close themselves). */
  close(): void {
    this.#grpc?.close();
  }

  /**
   * gRPC only: Predict with typed tensors in (`{ dtype, shape, data: TypedArray }`, strings as Buffers)
   * and out, the model spec that answered, and TF Serving's output_filter.
   */
  async predictTensors(model: string, inputs: Record<string, Tensor>, options?: PredictTensorsOptions): Promise<PredictTensorsResponse> {
    if (this.#grpc === undefined) throw new TfServeError('UNIMPLEMENTED', 'predictTensors needs a grpc:// or grpcs:// base URL');
    return this.#grpc.predictTensors(model, inputs, options);
  }

  /** POST .../:predict with `instances` (row format) or `inputs` (columnar). */
  async predict(model: string, body: PredictRequest, target?: ModelTarget): Promise<PredictResponse> {
    if (this.#grpc !== undefined) return this.#grpc.predict(model, checkPredictBody(body), target);
    const url = this.#modelUrl(model, target, ':predict');
    checkPredictBody(body);
    const hasInstances = body.instances !== undefined;
    const request: Record<string, unknown> = {};
    if (body.signatureName !== undefined) request.signature_name = signatureName(body.signatureName);
    if (hasInstances) request.instances = body.instances;
    else request.inputs = body.inputs;
    return (await this.#send('POST', url, writeJson(request), 'application/json')) as PredictResponse;
  }

  /** POST .../:classify: tf.Examples through a classification signature. */
  async classify(model: string, body: ExamplesRequest, target?: ModelTarget): Promise<ClassifyResponse> {
    if (this.#grpc !== undefined) return this.#grpc.classify(model, body, target);
    const url = this.#modelUrl(model, target, ':classify');
    return (await this.#send('POST', url, examplesBody(body), 'application/json')) as ClassifyResponse;
  }

  /** POST .../:regress: tf.Examples through a regression signature. */
  async regress(model: string, body: ExamplesRequest, target?: ModelTarget): Promise<RegressResponse> {
    if (this.#grpc !== undefined) return this.#grpc.regress(model, body, target);
    const url = this.#modelUrl(model, target, ':regress');
    return (await this.#send('POST', url, examplesBody(body), 'application/json')) as RegressResponse;
  }

  /** GET /v1/models/NAME[/versions/N]: the state of each version. */
  async status(model: string, target?: ModelTarget): Promise<ModelStatusResponse> {
    if (this.#grpc !== undefined) return this.#grpc.status(model, target);
    return (await this.#send('GET', this.#modelUrl(model, target, ''))) as ModelStatusResponse;
  }

  /** GET .../metadata: the model spec and every SignatureDef. */
  async metadata(model: string, target?: ModelTarget): Promise<ModelMetadataResponse> {
    if (this.#grpc !== undefined) return this.#grpc.metadata(model, target);
    return (await this.#send('GET', this.#modelUrl(model, target, '/metadata'))) as ModelMetadataResponse;
  }

  /**
   * tfserve only: POSTs encoded images to :predict for server-side preprocessing (the model's
   * tfserve.json). One image is sent as its own body; an array as multipart/form-data, one part each,
   * answered as one batch. Paths are read from disk here.
   */
  async predictImage(model: string, image: ImageSource | readonly ImageSource[], target?: ModelTarget, options: PredictImageOptions = {}): Promise<PredictResponse> {
    if (this.#grpc !== undefined) throw new TfServeError('UNIMPLEMENTED', 'predictImage is tfserve\'s REST extension: use an http(s):// base URL');
    const url = this.#modelUrl(model, target, ':predict');
    if (typeof options !== 'object' || options === null) throw invalidArgument('Expected object for options');
    if (options.contentType !== undefined && (typeof options.contentType !== 'string' || !/^[\w.+-]+\/[\w.+-]+/.test(options.contentType))) {
      throw invalidArgument(`Expected media type for options.contentType but received ${JSON.stringify(options.contentType)}`);
    }
    if (!Array.isArray(image)) {
      const bytes = await readImage(image as ImageSource, 'image');
      return (await this.#send('POST', url, bytes, options.contentType ?? sniffImageType(bytes, 'image'))) as PredictResponse;
    }
    if (image.length === 0) throw invalidArgument('Expected at least one image');
    const form = new FormData();
    for (let i = 0; i < image.length; i++) {
      const bytes = await readImage(image[i]!, `image[${i}]`);
      const type = options.contentType ?? sniffImageType(bytes, `image[${i}]`);
      const name = typeof image[i] === 'string' ? (image[i] as string).split(/[\\/]/).pop()! : `image${i}.${type.split('/')[1]}`;
      form.append(`image${i}`, new Blob([bytes], { type }), name);
    }
    return (await this.#send('POST', url, form)) as PredictResponse;
  }

  #modelUrl(model: string, target: ModelTarget | undefined, suffix: string): string {
    if (typeof model !== 'string' || model.length === 0) throw invalidArgument(`Expected non-empty string for model but received ${JSON.stringify(model)}`);
    let path = `${this.baseUrl}/v1/models/${encodeURIComponent(model)}`;
    if (target !== undefined) {
      if (typeof target !== 'object' || target === null) throw invalidArgument('Expected object of { version } or { label } for target');
      const { version, label } = target;
      if (version !== undefined && label !== undefined) throw invalidArgument('Expected only one of target.version and target.label');
      if (version !== undefined) {
        if (!Number.isSafeInteger(version) || version < 0) throw invalidArgument(`Expected non-negative integer for target.version but received ${String(version)}`);
        path += `/versions/${version}`;
      } else if (label !== undefined) {
        if (typeof label !== 'string' || label.length === 0) throw invalidArgument(`Expected non-empty string for target.label but received ${JSON.stringify(label)}`);
        path += `/labels/${encodeURIComponent(label)}`;
      }
    }
    return path + suffix;
  }

  async #send(method: 'GET' | 'POST', url: string, body?: string | Uint8Array | FormData, contentType?: string): Promise<unknown> {
    const headers: Record<string, string> = { accept: 'application/json', ...this.#headers };
    if (contentType !== undefined) headers['content-type'] = contentType;
    let response: Response;
    let text: Buffer;
    try {
      response = await this.#fetch(url, {
        method,
        headers,
        body: body as RequestInit['body'],
        signal: this.#timeoutMs > 0 ? AbortSignal.timeout(this.#timeoutMs) : undefined,
      });
      text = Buffer.from(await response.arrayBuffer());
    } catch (err) {
      const error = err as Error;
      if (error.name === 'TimeoutError' || error.name === 'AbortError') {
        throw new TfServeError('DEADLINE_EXCEEDED', `${method} ${url} took longer than ${this.#timeoutMs} ms`, { cause: err });
      }
      const cause = (error as { cause?: { message?: string } }).cause?.message;
      throw new TfServeError('UNAVAILABLE', `${method} ${url} failed: ${error.message}${cause ? ` (${cause})` : ''}`, { cause: err });
    }
    if (!response.ok) throw httpError(response.status, response.statusText, text);
    let parsed: JsonValue;
    try {
      parsed = parseJson(text);
    } catch (err) {
      throw new TfServeError('DATA_LOSS', `${method} ${url} answered ${response.status} with a body that is not JSON: ${(err as Error).message}`, { cause: err });
    }
    return jsonToValue(parsed, 0);
  }
}

function httpError(status: number, statusText: string, body: Buffer): TfServingHttpError {
  const raw = body.toString('utf8');
  let error = raw.trim() === '' ? statusText || STATUS_CODES[status] || `HTTP ${status}` : raw;
  try {
    const parsed = parseJson(body);
    const message = parsed.kind === 'object' ? parsed.members.get('error') : undefined;
    if (message?.kind === 'string') error = stringText(message);
  } catch {
    // Not JSON (an HTML 404, an empty body): the text itself is the message.
  }
  return new TfServingHttpError(status, error, raw);
}

function checkPredictBody(body: PredictRequest): PredictRequest {
  if (typeof body !== 'object' || body === null) throw invalidArgument('Expected object for body');
  const hasInstances = body.instances !== undefined;
  if (hasInstances === (body.inputs !== undefined)) throw invalidArgument('Expected exactly one of body.instances and body.inputs');
  if (hasInstances && !Array.isArray(body.instances) && !ArrayBuffer.isView(body.instances) && !isTensor(body.instances)) {
    throw invalidArgument('Expected array, typed array or tensor for body.instances');
  }
  if (body.signatureName !== undefined) signatureName(body.signatureName);
  return body;
}

function signatureName(value: unknown): string {
  if (typeof value !== 'string') throw invalidArgument(`Expected string for signatureName but received ${typeof value}`);
  return value;
}

function examplesBody(body: ExamplesRequest): string {
  if (typeof body !== 'object' || body === null) throw invalidArgument('Expected object for body');
  if (!Array.isArray(body.examples)) throw invalidArgument('Expected array of objects for body.examples');
  const request: Record<string, unknown> = {};
  if (body.signatureName !== undefined) request.signature_name = signatureName(body.signatureName);
  if (body.context !== undefined) request.context = body.context;
  request.examples = body.examples;
  return writeJson(request);
}

async function readImage(image: ImageSource, what: string): Promise<Uint8Array> {
  if (typeof image === 'string') {
    try {
      return await fs.readFile(image);
    } catch (err) {
      throw new TfServeError('NOT_FOUND', `Cannot read ${what} from ${image}: ${(err as Error).message}`, { cause: err });
    }
  }
  if (!(image instanceof Uint8Array)) throw invalidArgument(`Expected Buffer, Uint8Array or file path for ${what}`);
  return image;
}

/** The media type from the first bytes: JPEG, PNG and WebP, the types tfserve accepts. */
export function sniffImageType(bytes: Uint8Array, what = 'image'): string {
  if (bytes.length >= 3 && bytes[0] === 0xff && bytes[1] === 0xd8 && bytes[2] === 0xff) return 'image/jpeg';
  if (bytes.length >= 8 && Buffer.from(bytes.subarray(0, 8)).equals(Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]))) return 'image/png';
  if (bytes.length >= 12 && Buffer.from(bytes.subarray(0, 4)).toString('latin1') === 'RIFF' && Buffer.from(bytes.subarray(8, 12)).toString('latin1') === 'WEBP') {
    return 'image/webp';
  }
  throw invalidArgument(`Cannot tell the type of ${what} from its first bytes (not JPEG, PNG or WebP): pass options.contentType`);
}

// ---------------------------------------------------------------------------------------------------
// Request JSON

interface TensorLike {
  dtype: string;
  shape: readonly number[];
  data: ArrayBufferView & ArrayLike<number | bigint>;
}

function isTensor(value: unknown): value is TensorLike {
  if (typeof value !== 'object' || value === null) return false;
  const v = value as Partial<TensorLike>;
  return typeof v.dtype === 'string' && Array.isArray(v.shape) && ArrayBuffer.isView(v.data) && !(v.data instanceof DataView);
}

function numberText(value: number): string {
  if (Number.isNaN(value)) return 'NaN';
  if (value === Infinity) return 'Infinity';
  if (value === -Infinity) return '-Infinity';
  return String(value);
}

/** Float arrays are written as floats ("1.0"), so TF Serving reads tf.Example features as float_list. */
function typedText(data: ArrayLike<number | bigint>): (index: number) => string {
  if (data instanceof Float32Array) return (i) => formatFloat32(data[i]!);
  if (data instanceof Float64Array) return (i) => formatFloat64(data[i]!);
  return (i) => {
    const v = data[i]!;
    return typeof v === 'bigint' ? v.toString() : numberText(v);
  };
}

/** A tensor's flat data as nested lists of its shape. */
function tensorText(tensor: TensorLike): string {
  const { shape, data } = tensor;
  let count = 1;
  for (const dim of shape) {
    if (!Number.isSafeInteger(dim) || dim < 0) throw invalidArgument(`Tensor shape [${shape.join(',')}] is invalid`);
    count *= dim;
  }
  if (count !== data.length) throw invalidArgument(`Tensor shape [${shape.join(',')}] needs ${count} values but data has ${data.length}`);
  const text = typedText(data);
  if (shape.length === 0) return text(0);
  const parts: string[] = [];
  let index = 0;
  const write = (dim: number): void => {
    parts.push('[');
    for (let i = 0; i < shape[dim]!; i++) {
      if (i > 0) parts.push(',');
      if (dim === shape.length - 1) parts.push(text(index++));
      else write(dim + 1);
    }
    parts.push(']');
  };
  write(0);
  return parts.join('');
}

/** JSON text for a request body, with the extensions the header lists. */
export function writeJson(value: unknown, depth = 0): string {
  if (depth > MAX_DEPTH) throw invalidArgument(`Request nests deeper than ${MAX_DEPTH} levels`);
  if (value === null || value === undefined) return 'null';
  switch (typeof value) {
    case 'number':
      return numberText(value);
    case 'bigint':
      return value.toString();
    case 'boolean':
      return value ? 'true' : 'false';
    case 'string':
      return JSON.stringify(value);
    case 'object':
      break;
    default:
      throw invalidArgument(`Cannot write a ${typeof value} as JSON`);
  }
  if (Buffer.isBuffer(value)) return `{"b64":"${value.toString('base64')}"}`;
  if (ArrayBuffer.isView(value) && !(value instanceof DataView)) {
    const data = value as unknown as TensorLike['data'];
    return tensorText({ dtype: 'typed array', shape: [data.length], data });
  }
  if (isTensor(value)) return tensorText(value);
  if (Array.isArray(value)) return `[${value.map((item) => writeJson(item, depth + 1)).join(',')}]`;
  const members: string[] = [];
  for (const [key, member] of Object.entries(value as Record<string, unknown>)) {
    if (member === undefined) continue;
    members.push(`${JSON.stringify(key)}:${writeJson(member, depth + 1)}`);
  }
  return `{${members.join(',')}}`;
}

// ---------------------------------------------------------------------------------------------------
// Response JSON

function numbersToValue(node: JsonNumbers): unknown {
  const { shape, values } = node;
  let index = 0;
  const build = (dim: number): unknown[] => {
    const out = new Array<unknown>(shape[dim]!);
    for (let i = 0; i < out.length; i++) out[i] = dim === shape.length - 1 ? values[index++]! : build(dim + 1);
    return out;
  };
  return build(0);
}

/** tfserve's JSON DOM -> plain values (NaN and ±Infinity included). */
export function jsonToValue(node: JsonValue, depth = 0): unknown {
  if (depth > MAX_DEPTH) throw new TfServeError('DATA_LOSS', `Response nests deeper than ${MAX_DEPTH} levels`);
  switch (node.kind) {
    case 'null':
      return null;
    case 'bool':
    case 'number':
      return node.value;
    case 'string':
      return stringText(node);
    case 'numbers':
      return numbersToValue(node);
    case 'array':
      return node.items.map((item) => jsonToValue(item, depth + 1));
    case 'object':
      // fromEntries defines own properties, so a "__proto__" key stays a key.
      return Object.fromEntries([...node.members].map(([key, value]) => [key, jsonToValue(value, depth + 1)]));
  }
}

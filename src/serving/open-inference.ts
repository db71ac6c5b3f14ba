/**
 * The Open Inference Protocol (KServe v2) on the serving layer: health, server and model metadata
 * and inference over the protocol's objects (src/proto/kserve-codec.ts), for the REST routes
 * (src/server/routes/v2.ts) and the gRPC GRPCInferenceService (src/grpc/inference-service.ts) alike.
 *
 * Mapping: a v2 model is one signature of the served SavedModel, `serving_default` unless the
 * request parameter `signature_name` names another; its inputs and outputs are the signature's
 * aliases, with the v2 datatype of their dtype. Without a version the model's highest AVAILABLE
 * version serves, as in TF Serving. Inference checks the request against the signature with the
 * protocol's texts (unknown or missing input, datatype, shape, unknown output), then runs it through
 * `Inference.predictWith`, which holds the version until the run settles.
 *
 * Readiness means ready: the server is ready only when every configured model has an AVAILABLE
 * version (one still loading its first version, or whose base path holds none yet, holds it back);
 * a model (version) is ready when it is AVAILABLE; live means the process answers. Errors are
 * TfServeError: NOT_FOUND for an unknown model or version, UNAVAILABLE for a known one that cannot
 * serve now, INVALID_ARGUMENT for a request the model cannot take.
 */
import { TfServeError } from '../model/errors.js';
import type { SignatureInfo, TensorInfo } from '../model/signature.js';
import type { Tensor } from '../model/tensor.js';
import {
  datatypeOf,
  type InferRequest,
  type InferResponse,
  type ModelMetadata,
  type ServerMetadata,
  type TensorMetadata,
  V2_DATATYPES,
} from '../proto/kserve-codec.js';
import { type CallOptions, DEFAULT_SIGNATURE, type Inference } from './inference.js';
import type { ModelManager, ServableHandle } from './manager.js';

/** The request parameter that picks the signature a v2 model is. */
export const SIGNATURE_PARAMETER = 'signature_name';
/** The platform the protocol names TensorFlow SavedModels with. */
export const PLATFORM = 'tensorflow_savedmodel';
/** The protocol extensions tfserve implements (the only ones `GET /v2` may list). */
export const EXTENSIONS: readonly string[] = ['binary_tensor_data'];

/** What readiness needs to know of the server beyond the manager: its configured models. */
export interface Readiness {
  /** Every configured model has an AVAILABLE version. */
  ready(): boolean;
  /** `name` is a configured model (it may have no AVAILABLE version yet). */
  isConfigured(name: string): boolean;
}

/**
 * Readiness for a server without a config (a manager fed by hand): the models the manager knows are
 * the configured ones. ServerCore is the real one: it knows models whose base path holds nothing yet.
 */
export function managerReadiness(manager: ModelManager): Readiness {
  return {
    ready: () => manager.modelNames().every((name) => manager.status(name).some((status) => status.state === 'AVAILABLE')),
    isConfigured: (name) => manager.hasModel(name),
  };
}

/** The model a request names; a version of "" or undefined lets the server choose. */
export interface ModelTarget {
  readonly name: string;
  readonly version?: string;
}

export interface ModelReadiness {
  readonly ready: boolean;
  /** Why not, for the REST body ("" when ready). */
  readonly reason: string;
}

export interface OpenInferenceOptions {
  readonly inference: Inference;
  /** Default: managerReadiness(inference.manager). */
  readonly readiness?: Readiness;
}

function invalid(message: string): TfServeError {
  return new TfServeError('INVALID_ARGUMENT', message);
}

function hasOwn(object: object, key: string): boolean {
  return Object.prototype.hasOwnProperty.call(object, key);
}

function formatShape(shape: readonly number[]): string {
  return `[${shape.join(',')}]`;
}

function quotedList(names: readonly string[]): string {
  return `[${names.map((name) => `'${name}'`).join(',')}]`;
}

function tensorMetadata(tensors: Readonly<Record<string, TensorInfo>>): TensorMetadata[] {
  // An unknown rank has no v2 spelling: one variable dimension is the nearest.
  return Object.keys(tensors)
    .sort()
    .map((alias) => ({ name: alias, datatype: datatypeOf(tensors[alias]!.dtype), shape: tensors[alias]!.shape ?? [-1] }));
}

/** A shape fits a signature's when the ranks agree and every known dimension is equal. */
function shapeFits(expected: readonly number[] | null, actual: readonly number[]): boolean {
  if (expected === null) return true;
  return expected.length === actual.length && expected.every((dim, i) => dim < 0 || dim === actual[i]);
}

let packageVersion: string | undefined;

function serverVersion(): string {
  // The package resolves itself by name (its exports list package.json), from dist/ and dist-test/ alike.
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  packageVersion ??= (require('tfserve/package.json') as { version: string }).version;
  return packageVersion;
}

export class OpenInference {
  readonly #inference: Inference;
  readonly #readiness: Readiness;

  constructor(options: OpenInferenceOptions) {
    this.#inference = options.inference;
    this.#readiness = options.readiness ?? managerReadiness(options.inference.manager);
  }

  /** The process answers: that is all liveness asks. */
  serverLive(): boolean {
    return true;
  }

  serverReady(): boolean {
    return this.#readiness.ready();
  }

  /** A version, or with none the model, that can serve inference now. An unknown model is not ready (no error). */
  modelReady(target: ModelTarget): ModelReadiness {
    let version: number | undefined;
    try {
      version = this.#version(target);
    } catch (error) {
      return { ready: false, reason: (error as Error).message };
    }
    const available = this.#readiness.isConfigured(target.name) ? this.#available(target.name) : [];
    if (version === undefined ? available.length > 0 : available.includes(version)) return { ready: true, reason: '' };
    return { ready: false, reason: this.#unavailable(target.name, version).message };
  }

  serverMetadata(): ServerMetadata {
    return { name: 'tfserve', version: serverVersion(), extensions: EXTENSIONS };
  }

  /** The model as its signature `signatureName` (default serving_default) describes it, at the version that would serve. */
  modelMetadata(target: ModelTarget, signatureName: string = DEFAULT_SIGNATURE): ModelMetadata {
    const handle = this.#acquire(target);
    try {
      const signature = this.#signature(handle, signatureName);
      return {
        name: handle.name,
        versions: this.#available(handle.name).map(String),
        platform: PLATFORM,
        inputs: tensorMetadata(signature.inputs),
        outputs: tensorMetadata(signature.outputs),
      };
    } finally {
      handle.release();
    }
  }

  async infer(target: ModelTarget, request: InferRequest, call: CallOptions = {}): Promise<InferResponse> {
    const signatureName = this.#signatureName(request);
    const handle = this.#acquire(target);
    let inputs: Record<string, Tensor>;
    let outputFilter: string[];
    let order: string[];
    try {
      const signature = this.#signature(handle, signatureName);
      inputs = this.#feeds(handle, signatureName, signature, request);
      outputFilter = this.#outputFilter(handle.name, signature, request);
      order = outputFilter.length > 0 ? outputFilter : Object.keys(signature.outputs).sort();
    } catch (error) {
      handle.release();
      throw error;
    }
    const modelSpec = { name: handle.name, version: handle.version, signatureName };
    const { outputs } = await this.#inference.predictWith(handle, { modelSpec, inputs, outputFilter }, call);
    return {
      modelName: handle.name,
      modelVersion: String(handle.version),
      id: request.id,
      outputs: order.map((name) => {
        const tensor = outputs[name]!;
        return { name, datatype: V2_DATATYPES[tensor.dtype], shape: tensor.shape, tensor };
      }),
    };
  }

  #signatureName(request: InferRequest): string {
    const value = request.parameters.get(SIGNATURE_PARAMETER);
    if (value === undefined) return DEFAULT_SIGNATURE;
    if (typeof value !== 'string') throw invalid(`parameter '${SIGNATURE_PARAMETER}' must be a string, got ${typeof value === 'bigint' ? 'number' : typeof value} ${String(value)}`);
    return value === '' ? DEFAULT_SIGNATURE : value;
  }

  /** The version a target names: undefined for the server's choice. */
  #version(target: ModelTarget): number | undefined {
    const text = target.version ?? '';
    if (text === '') return undefined;
    const version = /^\d+$/.test(text) ? Number(text) : NaN;
    if (!Number.isSafeInteger(version)) throw invalid(`Unable to parse version '${text}' of model '${target.name}': expected a decimal integer`);
    return version;
  }

  /** The AVAILABLE versions of `name`, lowest first. */
  #available(name: string): number[] {
    return this.#inference.manager
      .status(name)
      .filter((status) => status.state === 'AVAILABLE')
      .map((status) => status.version)
      .sort((a, b) => a - b);
  }

  #acquire(target: ModelTarget): ServableHandle {
    const version = this.#version(target);
    if (!this.#readiness.isConfigured(target.name)) throw this.#unavailable(target.name, version);
    try {
      return this.#inference.acquire({ name: target.name, version });
    } catch (error) {
      if (!(error instanceof TfServeError) || error.code !== 'NOT_FOUND') throw error;
      throw this.#unavailable(target.name, version);
    }
  }

  /** Why `name` (at `version`) cannot serve: NOT_FOUND if the server has no such model or version, else UNAVAILABLE. */
  #unavailable(name: string, version: number | undefined): TfServeError {
    if (!this.#readiness.isConfigured(name)) return new TfServeError('NOT_FOUND', `Request for unknown model: '${name}' is not found`);
    const statuses = this.#inference.manager.status(name);
    if (version === undefined) {
      const loading = statuses.filter((status) => status.state === 'START' || status.state === 'LOADING').map((status) => status.version);
      const detail = loading.length > 0 ? `; loading version ${loading.join(', ')}` : statuses.length === 0 ? '; its base path holds no version yet' : '';
      return new TfServeError('UNAVAILABLE', `model '${name}' has no available version${detail}`);
    }
    const status = statuses.find((s) => s.version === version);
    if (status === undefined) return new TfServeError('NOT_FOUND', `Request for unknown model: '${name}' version ${version} is not found`);
    const error = status.error ? ` (${status.error.code}: ${status.error.message})` : '';
    return new TfServeError('UNAVAILABLE', `version ${version} of model '${name}' is not available: it is ${status.state}${error}`);
  }

  #signature(handle: ServableHandle, key: string): SignatureInfo {
    const { signatures } = handle.servable;
    if (hasOwn(signatures, key)) return signatures[key]!;
    const names = Object.keys(signatures).sort();
    throw invalid(
      `model '${handle.name}' has no signature '${key}'` +
        (names.length > 0 ? `; choose one of ${names.join(', ')} with the parameter '${SIGNATURE_PARAMETER}'` : ''),
    );
  }

  /** The request's inputs by alias, each checked against the signature as the protocol checks it. */
  #feeds(handle: ServableHandle, signatureName: string, signature: SignatureInfo, request: InferRequest): Record<string, Tensor> {
    const model = handle.name;
    const entries: [string, Tensor][] = [];
    const seen = new Set<string>();
    for (const input of request.inputs) {
      if (seen.has(input.name)) throw invalid(`input '${input.name}' already exists in request`);
      seen.add(input.name);
      if (!hasOwn(signature.inputs, input.name)) throw invalid(`unexpected inference input '${input.name}' for model '${model}'`);
      const info = signature.inputs[input.name]!;
      const expected = datatypeOf(info.dtype);
      if (input.datatype !== expected) {
        throw invalid(`inference input '${input.name}' data-type is '${input.datatype}', but model '${model}' expects '${expected}'`);
      }
      if (!shapeFits(info.shape, input.shape)) {
        throw invalid(`unexpected shape for input '${input.name}' for model '${model}'. Expected ${formatShape(info.shape!)}, got ${formatShape(input.shape)}`);
      }
      entries.push([input.name, input.tensor]);
    }
    const required = Object.keys(signature.inputs).sort();
    const missing = required.filter((alias) => !seen.has(alias));
    // Inputs with defaults (TF1 signatures) may be left out: the serving layer fills them.
    const defaults = Object.keys(handle.servable.signatureDefs[signatureName]?.defaults ?? {});
    if (missing.length > 0 && defaults.length === 0) {
      throw invalid(
        `expected ${required.length} inputs but got ${seen.size} inputs for model '${model}'. Got input(s) ${quotedList([...seen])}, ` +
          `but missing required input(s) ${quotedList(missing)}. Please provide all required input(s).`,
      );
    }
    return Object.fromEntries(entries);
  }

  #outputFilter(model: string, signature: SignatureInfo, request: InferRequest): string[] {
    const names: string[] = [];
    for (const output of request.outputs) {
      if (!hasOwn(signature.outputs, output.name)) throw invalid(`unexpected inference output '${output.name}' for model '${model}'`);
      if (names.includes(output.name)) throw invalid(`output '${output.name}' is requested twice for model '${model}'`);
      names.push(output.name);
    }
    return names;
  }
}

/**
 * The serving layer: TensorFlow Serving's RPCs (Predict, Classify, Regress, MultiInference,
 * GetModelMetadata, GetModelStatus, HandleReloadConfigRequest) as functions over plain request and
 * response objects that hold tensors, with TF Serving's checks, defaults and error texts
 * (servables/tensorflow/{predict_util,classifier,regressor,multi_inference,get_model_metadata_impl,
 * get_model_status_impl}.cc). Every transport (REST, gRPC, KServe v2) calls these functions and only
 * converts its wire format to and from these objects.
 *
 * Requests resolve a ServableHandle from the manager, run the Servable by graph tensor names, and
 * release the handle when the run settles, so an unload waits for them. Everything thrown is a
 * TfServeError. Nothing here runs TensorFlow on the event loop: Servable.run goes to native threads.
 */
import { DTYPES, isDType, tfTypeName } from '../model/dtypes.js';
import { type StatusCode, TfServeError } from '../model/errors.js';
import type { SignatureDefJson, SignatureInfo } from '../model/signature.js';
import type { Tensor, TensorInput } from '../model/tensor.js';
import { type Example, serializeExamples } from '../proto/example.js';
import { TensorProto, type TensorProtoMessage } from '../proto/serving-protos.js';
import { tensorFromProto } from '../proto/tensor-proto.js';
import {
  CLASSIFY_METHOD,
  type ClassificationResult,
  classificationPlan,
  classificationResult,
  type ExamplesPlan,
  REGRESS_METHOD,
  type RegressionResult,
  regressionPlan,
  regressionResult,
} from './examples-signatures.js';
import { type CallInfo, type InferenceObserver, microsSince, ObservedCall } from './call-observer.js';
import type { ModelManager, ServableHandle, VersionState } from './manager.js';
import type { VersionId } from './version-id.js';

export const DEFAULT_SIGNATURE = 'serving_default';
export const PREDICT_METHOD = 'tensorflow/serving/predict';
export { CLASSIFY_METHOD, type ClassificationResult, type ClassLabel, REGRESS_METHOD, type RegressionResult } from './examples-signatures.js';

/** Which model, version and signature a request is for (tensorflow.serving.ModelSpec). */
export interface ModelSpec {
  readonly name: string;
  /** A specific version; with neither this nor a label, the highest available one. */
  readonly version?: VersionId;
  readonly versionLabel?: string;
  /** Empty or absent means serving_default. */
  readonly signatureName?: string;
}

/** The ModelSpec a response carries: the version that served it and the signature that ran. */
export interface ServedModelSpec {
  readonly name: string;
  readonly version: number;
  readonly signatureName: string;
}

export interface CallOptions {
  /** The session-run deadline in milliseconds; none when undefined. */
  readonly timeoutMs?: number;
  /**
   * A cancelled call (a gRPC client that went away): the request rejects with CANCELLED and releases
   * its handle at once. A run already on a native thread cannot be stopped; it finishes and its
   * result is dropped (the model's close waits for it).
   */
  readonly signal?: CancelSignal;
  /**
   * Who calls, for metrics and logs (see call-observer.ts): TF Serving's entrypoint ('REST', 'GRPC')
   * and API label ('Predict'...). A call that names an entrypoint is observed; one without is not.
   */
  readonly entrypoint?: string;
  readonly api?: string;
  readonly requestId?: string;
  /** A call its transport observes itself (Inference.startCall); the serving layer adds what it learns. */
  readonly observation?: ObservedCall;
}

/** What a call's cancellation needs of an AbortSignal (which is one); transports may pass a lighter object. */
export interface CancelSignal {
  readonly aborted: boolean;
  addEventListener(type: 'abort', listener: () => void): void;
  removeEventListener(type: 'abort', listener: () => void): void;
}

/**
 * A CancelSignal for one listener at a time, which is all a request registers at each layer: an
 * AbortController with a listener costs ~5 µs per call; this costs nothing.
 */
export class Cancellation implements CancelSignal {
  aborted = false;
  #listener: (() => void) | undefined;

  addEventListener(_type: 'abort', listener: () => void): void {
    this.#listener = listener;
  }

  removeEventListener(_type: 'abort', listener: () => void): void {
    if (this.#listener === listener) this.#listener = undefined;
  }

  abort(): void {
    if (this.aborted) return;
    this.aborted = true;
    this.#listener?.();
  }
}

/**
 * An input as a tensor, or as a function that decodes it: TF Serving parses each input's TensorProto
 * only once the servable, the signature and the input count have been checked, so a transport that
 * reads tensors off the wire (gRPC) hands them in undecoded to keep that error order.
 */
export type PredictInput = TensorInput | (() => TensorInput);

export interface PredictRequest {
  readonly modelSpec?: ModelSpec;
  /** Input tensors by signature alias; missing ones are taken from the SignatureDef's defaults. */
  readonly inputs: Readonly<Record<string, PredictInput>>;
  /** Output aliases to compute; empty or absent means every output of the signature. */
  readonly outputFilter?: readonly string[];
}

export interface PredictResponse {
  readonly modelSpec: ServedModelSpec;
  /** Output tensors by alias, in the signature's (sorted) alias order unless filtered. */
  readonly outputs: Record<string, Tensor>;
}

/**
 * tensorflow.serving.Input: Examples, optionally merged onto a shared context Example; or, from a
 * transport that reads them off the wire (gRPC), already serialized (each one context + example).
 */
export type ExamplesInput =
  | { readonly examples: readonly Example[]; readonly context?: Example }
  | { readonly serialized: readonly Uint8Array[] };

export interface ClassificationRequest {
  readonly modelSpec?: ModelSpec;
  readonly input: ExamplesInput;
}

export interface ClassificationResponse {
  readonly modelSpec: ServedModelSpec;
  readonly result: ClassificationResult;
}

export interface RegressionRequest {
  readonly modelSpec?: ModelSpec;
  readonly input: ExamplesInput;
}

export interface RegressionResponse {
  readonly modelSpec: ServedModelSpec;
  readonly result: RegressionResult;
}

export interface InferenceTask {
  readonly modelSpec: ModelSpec;
  readonly methodName: string;
}

export interface MultiInferenceRequest {
  readonly tasks: readonly InferenceTask[];
  readonly input: ExamplesInput;
}

export type InferenceResult =
  | { readonly modelSpec: ServedModelSpec; readonly classificationResult: ClassificationResult }
  | { readonly modelSpec: ServedModelSpec; readonly regressionResult: RegressionResult };

export interface MultiInferenceResponse {
  readonly results: InferenceResult[];
}

export interface ModelMetadataRequest {
  readonly modelSpec?: ModelSpec;
  readonly metadataField: readonly string[];
}

export interface ModelMetadataResponse {
  readonly modelSpec: { readonly name: string; readonly version: number };
  /** The only metadata TF Serving has: every SignatureDef by key. */
  readonly signatureDef: Readonly<Record<string, SignatureDefJson>>;
}

export interface ModelStatusRequest {
  readonly modelSpec?: ModelSpec;
}

export interface StatusProto {
  readonly errorCode: StatusCode;
  readonly errorMessage: string;
}

export interface ModelVersionStatus {
  readonly version: number;
  readonly state: VersionState;
  readonly status: StatusProto;
}

export interface ModelStatusResponse {
  readonly modelVersionStatus: ModelVersionStatus[];
}

/** What HandleReloadConfigRequest applies; see ServerCore.reloadConfig. */
export interface ConfigReloader<Config> {
  reloadConfig(config: Config): Promise<void>;
  /** The current value of an int64 counter by its TF name, for ReloadConfigResponse.metric; undefined if unknown. */
  counterValue?(name: string): number | undefined;
}

export interface ReloadConfigRequest<Config> {
  readonly config: Config;
  readonly metricNames?: readonly string[];
}

export interface ReloadConfigResponse {
  readonly status: StatusProto;
  readonly metric: { readonly name: string; readonly int64ValueIncrease: number }[];
}

export interface InferenceOptions<Config = unknown> {
  readonly manager: ModelManager;
  /** --enable_signature_method_name_check. */
  readonly methodNameCheck?: boolean;
  readonly reloader?: ConfigReloader<Config>;
  /** Told about every observed call (metrics, access log, request logging). */
  readonly observer?: InferenceObserver;
}

function invalid(message: string): TfServeError {
  return new TfServeError('INVALID_ARGUMENT', message);
}

function has<T>(map: Readonly<Record<string, T>> | undefined, key: string): boolean {
  return map !== undefined && Object.prototype.hasOwnProperty.call(map, key);
}

function sortedKeys(map: Readonly<Record<string, unknown>> | undefined): string[] {
  return Object.keys(map ?? {}).sort();
}

function signatureKey(spec: ModelSpec | undefined): string {
  return spec?.signatureName ? spec.signatureName : DEFAULT_SIGNATURE;
}

const EMPTY_SIGNATURE: SignatureInfo = Object.freeze({ methodName: '', inputs: {}, outputs: {} });

/**
 * The one signature lookup: the SignatureDef under `key` (TF Serving's map holds the TF2 init op
 * too) and what a request can feed and fetch of it (nothing, for the init op). Null if absent.
 */
function findSignature(handle: ServableHandle, key: string): { def: SignatureDefJson; info: SignatureInfo } | null {
  const { signatureDefs, signatures } = handle.servable;
  if (!has(signatureDefs, key)) return null;
  return { def: signatureDefs[key]!, info: has(signatures, key) ? signatures[key]! : EMPTY_SIGNATURE };
}

// The binding checks each feed against its graph tensor before TF runs ("input 'x:0' expects float32
// but got string"); TF's executor, which TF Serving reports, words it as below with the feed's index.
const GRAPH_DTYPE_MISMATCH = /^input '([^']*)' expects (\w+) but got (\w+)$/;

/** A run's error as TF Serving would report it: the binding's dtype check in TF's words. */
function asSessionError(error: unknown, feedNames: readonly string[]): unknown {
  if (!(error instanceof TfServeError) || error.code !== 'INVALID_ARGUMENT') return error;
  const match = GRAPH_DTYPE_MISMATCH.exec(error.message);
  if (match === null || !isDType(match[2]!) || !isDType(match[3]!)) return error;
  const index = Math.max(0, feedNames.indexOf(match[1]!));
  return invalid(
    `Expects arg[${index}] to be ${tfTypeName(DTYPES[match[2]].tfType)} but ${tfTypeName(DTYPES[match[3]].tfType)} is provided`,
  );
}

/** Runs `handle`'s servable and releases the handle once the run settles, or once the call is cancelled. */
async function runAndRelease(
  handle: ServableHandle,
  feeds: Record<string, TensorInput>,
  fetches: readonly string[],
  call: CallOptions,
): Promise<Tensor[]> {
  const { signal } = call;
  if (signal === undefined) {
    try {
      return await handle.servable.run({ feeds, fetches, timeoutMs: call.timeoutMs });
    } catch (error) {
      throw asSessionError(error, Object.keys(feeds));
    } finally {
      handle.release();
    }
  }
  if (signal.aborted) {
    handle.release();
    throw cancelled();
  }
  return new Promise<Tensor[]>((resolve, reject) => {
    let settled = false;
    // The servable's own signal, so that a run still queued (batching) leaves its queue.
    const run = new Cancellation();
    const settle = (): boolean => {
      if (settled) return false;
      settled = true;
      signal.removeEventListener('abort', onAbort);
      handle.release();
      return true;
    };
    const onAbort = (): void => {
      run.abort();
      if (settle()) reject(cancelled());
    };
    signal.addEventListener('abort', onAbort);
    handle.servable.run({ feeds, fetches, timeoutMs: call.timeoutMs, signal: run }).then(
      (tensors) => {
        if (settle()) resolve(tensors);
      },
      (error: unknown) => {
        if (settle()) reject(asSessionError(error, Object.keys(feeds)));
      },
    );
  });
}

function cancelled(): TfServeError {
  return new TfServeError('CANCELLED', 'The client cancelled the call');
}

/** A SignatureDef TensorInfo's graph tensor name ("" for sparse and composite tensors). */
function tensorName(tensorInfo: unknown): string {
  const name = (tensorInfo as { name?: unknown } | undefined)?.name;
  return typeof name === 'string' ? name : '';
}

/**
 * A SignatureDef default as a tensor. The SignatureDefs hold it as protobuf's JSON (bytes as base64),
 * which protobufjs encodes back to the TensorProto it was; TF's FromProto rules then apply.
 */
function defaultTensor(json: unknown, alias: string): TensorInput {
  let bytes: Uint8Array;
  try {
    bytes = TensorProto.encode(json as TensorProtoMessage);
  } catch (error) {
    throw new TfServeError('INVALID_ARGUMENT', `tensor parsing error: ${alias}`, { cause: error });
  }
  return tensorFromProto(bytes, alias);
}

/** `run`, with its time told to the observation under TF Serving's runtime_latency API label. */
async function timed<T>(observation: ObservedCall | undefined, api: string, run: () => Promise<T>): Promise<T> {
  if (observation === undefined) return run();
  const start = process.hrtime.bigint();
  try {
    return await run();
  } finally {
    observation.runtimeApi = api;
    observation.runtimeUs = microsSince(start);
  }
}

/** The serialized Examples as the one DT_STRING [N] tensor a classify/regress signature takes. */
function examplesTensor(input: ExamplesInput): { tensor: TensorInput; count: number } {
  const examples = 'serialized' in input ? [...input.serialized] : serializeExamples(input);
  if (examples.length === 0) throw invalid('Input is empty.');
  return { tensor: { dtype: 'string', shape: [examples.length], data: examples }, count: examples.length };
}

// ---------------------------------------------------------------------------------------------------

export class Inference<Config = unknown> {
  readonly manager: ModelManager;
  readonly #methodNameCheck: boolean;
  readonly #reloader: ConfigReloader<Config> | undefined;
  readonly #observer: InferenceObserver | undefined;

  constructor(options: InferenceOptions<Config>) {
    this.manager = options.manager;
    this.#methodNameCheck = options.methodNameCheck ?? false;
    this.#reloader = options.reloader;
    this.#observer = options.observer;
  }

  /** Whether calls are observed (an observer was given). */
  get observing(): boolean {
    return this.#observer !== undefined;
  }

  /**
   * Starts observing a request its transport will end itself (`observation.end(error)`), or undefined
   * when nothing observes. Pass it on in CallOptions.observation.
   */
  startCall(info: CallInfo): ObservedCall | undefined {
    return this.#observer === undefined ? undefined : new ObservedCall(info, this.#observer);
  }

  /** Runs `body` observed, when the call names an entrypoint and nobody observes it yet. */
  async #observed<T>(call: CallOptions, model: string, body: (call: CallOptions) => Promise<T>): Promise<T> {
    if (this.#observer === undefined || call.observation !== undefined || call.entrypoint === undefined) return body(call);
    const observation = new ObservedCall({ entrypoint: call.entrypoint, api: call.api ?? '', model, requestId: call.requestId }, this.#observer);
    try {
      const result = await body({ ...call, observation });
      observation.end(null);
      return result;
    } catch (error) {
      observation.end(error);
      throw error;
    }
  }

  #observedSync<T>(call: CallOptions, model: string, body: (call: CallOptions) => T): T {
    if (this.#observer === undefined || call.observation !== undefined || call.entrypoint === undefined) return body(call);
    const observation = new ObservedCall({ entrypoint: call.entrypoint, api: call.api ?? '', model, requestId: call.requestId }, this.#observer);
    try {
      const result = body({ ...call, observation });
      observation.end(null);
      return result;
    } catch (error) {
      observation.end(error);
      throw error;
    }
  }

  /** A handle on the version `spec` names (ServerCore::GetServableHandle); release it when done. */
  acquire(spec: ModelSpec | undefined): ServableHandle {
    if (spec === undefined) throw invalid('Missing ModelSpec');
    if (!spec.name) throw invalid('ModelSpec has no name specified.');
    return this.manager.acquire(spec.name, { version: spec.version, label: spec.versionLabel });
  }

  /**
   * The inputs a REST predict body is decoded against, with the REST handler's texts (its JSON
   * decoding looks the signature up itself, before Predict does).
   */
  restPredictSignature(handle: ServableHandle, signatureName: string | undefined): SignatureInfo {
    const key = signatureName ? signatureName : DEFAULT_SIGNATURE;
    const found = findSignature(handle, key);
    if (found === null) throw invalid(`Serving signature name: "${key}" not found in signature def`);
    if (Object.keys(found.info.inputs).length === 0) {
      throw invalid(`Failed to get input map for signature: ${signatureName ? signatureName : 'DEFAULT'}`);
    }
    return found.info;
  }

  async predict(request: PredictRequest, call: CallOptions = {}): Promise<PredictResponse> {
    return this.#observed(call, request.modelSpec?.name ?? '', (observed) => this.predictWith(this.acquire(request.modelSpec), request, observed));
  }

  /**
   * Predict on a handle already acquired (the REST path decodes against its signature first, warmup
   * replays on the version being loaded); releases it.
   */
  async predictWith(handle: ServableHandle, request: PredictRequest, call: CallOptions = {}): Promise<PredictResponse> {
    return this.#observed(call, handle.name, (observed) => this.#predictOn(handle, request, observed));
  }

  async #predictOn(handle: ServableHandle, request: PredictRequest, call: CallOptions): Promise<PredictResponse> {
    const observation = call.observation;
    if (observation) observation.version = handle.version;
    let feeds: Record<string, TensorInput>;
    let aliases: string[];
    let fetches: string[];
    let modelSpec: ServedModelSpec;
    try {
      const key = signatureKey(request.modelSpec);
      const found = findSignature(handle, key);
      if (found === null) throw new TfServeError('FAILED_PRECONDITION', `Serving signature key "${key}" not found.`);
      const { def, info } = found;
      if (this.#methodNameCheck && ![PREDICT_METHOD, CLASSIFY_METHOD, REGRESS_METHOD].includes(def.method_name ?? '')) {
        throw new TfServeError(
          'INTERNAL',
          `Expected prediction signature method_name to be one of {${PREDICT_METHOD}, ${CLASSIFY_METHOD}, ${REGRESS_METHOD}}. Was: ${def.method_name ?? ''}`,
        );
      }
      feeds = this.#predictFeeds(def, info, request.inputs);
      ({ aliases, fetches } = this.#predictFetches(def, info, request.outputFilter));
      modelSpec = { name: handle.name, version: handle.version, signatureName: key };
    } catch (error) {
      handle.release();
      throw error;
    }
    const tensors = await timed(observation, 'Predict', () => runAndRelease(handle, feeds, fetches, call));
    const outputs: Record<string, Tensor> = {};
    for (let i = 0; i < aliases.length; i++) outputs[aliases[i]!] = tensors[i]!;
    const response = { modelSpec, outputs };
    if (observation) observation.exchange = { kind: 'predict', request, response };
    return response;
  }

  /**
   * VerifyRequestInputsSize, then TF's GetInputValues (tensorflow/cc/saved_model/util.cc): each
   * signature input, in alias order, from the request or else from the SignatureDef's defaults,
   * decoded as it is reached; then every request input must have been one of the signature's.
   */
  #predictFeeds(def: SignatureDefJson, info: SignatureInfo, inputs: Readonly<Record<string, PredictInput>>): Record<string, TensorInput> {
    const sent = Object.keys(inputs).sort();
    const expected = sortedKeys(def.inputs);
    const defaults = def.defaults ?? {};
    const defaultKeys = sortedKeys(defaults);
    if (sent.length > expected.length || (sent.length < expected.length && defaultKeys.length === 0)) {
      const extra = sent.filter((alias) => !has(def.inputs, alias));
      const missing = expected.filter((alias) => !has(inputs, alias));
      throw invalid(
        `input size does not match signature: ${sent.length}!=${expected.length} len({${sent.join(',')}}) != len({${expected.join(',')}}). ` +
          `Sent extra: {${extra.join(',')}}. Missing but required: {${missing.join(',')}}.`,
      );
    }
    const feeds: Record<string, TensorInput> = {};
    const used: string[] = [];
    for (const alias of expected) {
      const feedName = tensorName(def.inputs![alias]);
      let tensor: TensorInput;
      if (has(inputs, alias)) {
        const input = inputs[alias]!;
        tensor = typeof input === 'function' ? input() : input;
        used.push(alias);
      } else if (has(defaults, alias)) {
        tensor = defaultTensor(defaults[alias], alias);
      } else {
        throw invalid(
          `Signature input alias: ${alias}(feed name: ${feedName}) not found in request and no default value provided. ` +
            `Inputs expected to be in the request {${sent.join(',')}}, or default input alias set: ${defaultKeys.join(',')}`,
        );
      }
      const tensorInfo = info.inputs[alias];
      if (tensorInfo === undefined || tensorInfo.name === '') {
        throw new TfServeError('UNIMPLEMENTED', `input '${alias}' is a sparse or composite tensor, which tfserve cannot feed`);
      }
      feeds[tensorInfo.name] = tensor;
    }
    if (sent.length > 0 && used.length !== sent.length) {
      throw invalid(`Inputs contains invalid name. Used request inputs: ${used.join(',')}, request input: ${sent.join(',')}`);
    }
    return feeds;
  }

  #predictFetches(def: SignatureDefJson, info: SignatureInfo, filter: readonly string[] | undefined): { aliases: string[]; fetches: string[] } {
    const aliases: string[] = [];
    const seen = new Set<string>();
    for (const alias of filter ?? []) {
      if (!has(def.outputs, alias)) {
        throw invalid(`output tensor alias not found in signature: ${alias} Outputs expected to be in the set {${sortedKeys(def.outputs).join(',')}}.`);
      }
      if (seen.has(alias)) throw invalid(`duplicate output tensor alias: ${alias}`);
      seen.add(alias);
      aliases.push(alias);
    }
    if (aliases.length === 0) aliases.push(...sortedKeys(def.outputs));
    const fetches = aliases.map((alias) => {
      const tensorInfo = info.outputs[alias];
      if (tensorInfo === undefined || tensorInfo.name === '') {
        throw new TfServeError('UNIMPLEMENTED', `output '${alias}' is a sparse or composite tensor, which tfserve cannot fetch`);
      }
      return tensorInfo.name;
    });
    return { aliases, fetches };
  }

  async classify(request: ClassificationRequest, call: CallOptions = {}): Promise<ClassificationResponse> {
    return this.#observed(call, request.modelSpec?.name ?? '', (observed) => this.classifyWith(this.acquire(request.modelSpec), request, observed));
  }

  /** Classify on a handle already acquired (warmup replays on the version being loaded); releases it. */
  async classifyWith(handle: ServableHandle, request: ClassificationRequest, call: CallOptions = {}): Promise<ClassificationResponse> {
    return this.#observed(call, handle.name, async (observed) => {
      const response = await this.#examples(handle, request, observed, 'Classify', classificationPlan, (def, count, names, tensors, modelSpec) => ({
        modelSpec,
        result: classificationResult(def, count, names, tensors),
      }));
      if (observed.observation) observed.observation.exchange = { kind: 'classify', request, response };
      return response;
    });
  }

  async regress(request: RegressionRequest, call: CallOptions = {}): Promise<RegressionResponse> {
    return this.#observed(call, request.modelSpec?.name ?? '', (observed) => this.regressWith(this.acquire(request.modelSpec), request, observed));
  }

  /** Regress on a handle already acquired (warmup replays on the version being loaded); releases it. */
  async regressWith(handle: ServableHandle, request: RegressionRequest, call: CallOptions = {}): Promise<RegressionResponse> {
    return this.#observed(call, handle.name, async (observed) => {
      const response = await this.#examples(handle, request, observed, 'Regress', regressionPlan, (def, count, names, tensors, modelSpec) => ({
        modelSpec,
        result: regressionResult(def, count, names, tensors),
      }));
      if (observed.observation) observed.observation.exchange = { kind: 'regress', request, response };
      return response;
    });
  }

  async #examples<R>(
    handle: ServableHandle,
    request: ClassificationRequest | RegressionRequest,
    call: CallOptions,
    runtimeApi: string,
    plan: (def: SignatureDefJson, methodNameCheck: boolean) => ExamplesPlan,
    result: (def: SignatureDefJson, count: number, names: readonly string[], tensors: readonly Tensor[], modelSpec: ServedModelSpec) => R,
  ): Promise<R> {
    const observation = call.observation;
    if (observation) observation.version = handle.version;
    let def: SignatureDefJson;
    let steps: ExamplesPlan;
    let examples: { tensor: TensorInput; count: number };
    let modelSpec: ServedModelSpec;
    try {
      const key = signatureKey(request.modelSpec);
      const found = findSignature(handle, key);
      if (found === null) throw invalid(`No signature was found with the name: ${key}`);
      def = found.def;
      steps = plan(def, this.#methodNameCheck);
      examples = examplesTensor(request.input);
      modelSpec = { name: handle.name, version: handle.version, signatureName: key };
    } catch (error) {
      handle.release();
      throw error;
    }
    if (observation) observation.examples = examples.count;
    const tensors = await timed(observation, runtimeApi, () => runAndRelease(handle, { [steps.input]: examples.tensor }, steps.outputs, call));
    return result(def, examples.count, steps.outputs, tensors, modelSpec);
  }

  /** One session run for several classify/regress signatures over the same Examples. */
  async multiInference(request: MultiInferenceRequest, call: CallOptions = {}): Promise<MultiInferenceResponse> {
    const first = request.tasks[0]?.modelSpec;
    return this.#observed(call, first?.name ?? '', (observed) => this.multiInferenceWith(this.acquire(first ?? { name: '' }), request, observed));
  }

  /** MultiInference on a handle already acquired (warmup replays on the version being loaded); releases it. */
  async multiInferenceWith(handle: ServableHandle, request: MultiInferenceRequest, call: CallOptions = {}): Promise<MultiInferenceResponse> {
    return this.#observed(call, handle.name, (observed) => this.#multiInferenceOn(handle, request, observed));
  }

  async #multiInferenceOn(handle: ServableHandle, request: MultiInferenceRequest, call: CallOptions): Promise<MultiInferenceResponse> {
    const observation = call.observation;
    if (observation) observation.version = handle.version;
    let tasks: { task: InferenceTask; key: string; def: SignatureDefJson }[];
    let input = '';
    let fetches: string[];
    let examples: { tensor: TensorInput; count: number };
    try {
      let modelName = '';
      const keys = new Set<string>();
      const outputs = new Set<string>();
      tasks = request.tasks.map((task) => {
        if (!task.modelSpec?.name) throw invalid('Found ModelSpec with an empty model name.');
        if (modelName === '') modelName = task.modelSpec.name;
        else if (modelName !== task.modelSpec.name) throw invalid('All ModelSpecs in a MultiInferenceRequest must access the same model name.');
        const key = signatureKey(task.modelSpec);
        if (keys.has(key)) throw invalid(`Duplicate evaluation of signature: ${key}`);
        keys.add(key);
        const found = findSignature(handle, key);
        if (found === null) throw invalid(`Requested signature not found in model graph: ${key}`);
        let steps: ExamplesPlan;
        if (task.methodName === CLASSIFY_METHOD) steps = classificationPlan(found.def, this.#methodNameCheck);
        else if (task.methodName === REGRESS_METHOD) steps = regressionPlan(found.def, this.#methodNameCheck);
        else throw new TfServeError('UNIMPLEMENTED', `Unsupported signature method_name: ${task.methodName}`);
        if (input === '') input = steps.input;
        else if (input !== steps.input) throw invalid('Input tensor must be the same for all Signatures.');
        for (const name of steps.outputs) outputs.add(name);
        return { task, key, def: found.def };
      });
      // TF Serving fetches the union of the tasks' outputs once each, in name order (a std::set).
      fetches = [...outputs].sort();
      examples = examplesTensor(request.input);
    } catch (error) {
      handle.release();
      throw error;
    }
    if (observation) observation.examples = examples.count;
    const tensors = await timed(observation, 'MultiInference', () => runAndRelease(handle, { [input]: examples.tensor }, fetches, call));
    const results = tasks.map(({ task, key, def }): InferenceResult => {
      const modelSpec = { name: task.modelSpec.name, version: handle.version, signatureName: key };
      return task.methodName === CLASSIFY_METHOD
        ? { modelSpec, classificationResult: classificationResult(def, examples.count, fetches, tensors) }
        : { modelSpec, regressionResult: regressionResult(def, examples.count, fetches, tensors) };
    });
    const response = { results };
    if (observation) observation.exchange = { kind: 'multi_inference', request, response };
    return response;
  }

  getModelMetadata(request: ModelMetadataRequest, call: CallOptions = {}): ModelMetadataResponse {
    return this.#observedSync(call, request.modelSpec?.name ?? '', (observed) => this.#getModelMetadata(request, observed));
  }

  #getModelMetadata(request: ModelMetadataRequest, call: CallOptions): ModelMetadataResponse {
    if (request.metadataField.length === 0) throw invalid('GetModelMetadataRequest must specify at least one metadata_field');
    for (const field of request.metadataField) {
      if (field !== 'signature_def') throw invalid(`Metadata field ${field} is not supported`);
    }
    const handle = this.acquire(request.modelSpec);
    if (call.observation) call.observation.version = handle.version;
    try {
      return { modelSpec: { name: handle.name, version: handle.version }, signatureDef: handle.servable.signatureDefs };
    } finally {
      handle.release();
    }
  }

  /** GetModelStatusImpl: every version seen, highest first; a label is ignored, as TF Serving does. */
  getModelStatus(request: ModelStatusRequest, call: CallOptions = {}): ModelStatusResponse {
    return this.#observedSync(call, request.modelSpec?.name ?? '', () => this.#getModelStatus(request));
  }

  #getModelStatus(request: ModelStatusRequest): ModelStatusResponse {
    const spec = request.modelSpec;
    if (spec === undefined) throw invalid('Missing ModelSpec');
    let statuses = this.manager.status(spec.name);
    if (statuses.length === 0) throw new TfServeError('NOT_FOUND', `Could not find any versions of model ${spec.name}`);
    if (spec.version !== undefined) {
      statuses = statuses.filter((status) => status.version === spec.version);
      if (statuses.length === 0) throw new TfServeError('NOT_FOUND', `Could not find version ${spec.version} of model ${spec.name}`);
    }
    return {
      modelVersionStatus: statuses.map((status) => ({
        version: status.version,
        state: status.state,
        status: { errorCode: status.error?.code ?? 'OK', errorMessage: status.error?.message ?? '' },
      })),
    };
  }

  /**
   * HandleReloadConfigRequest: applies the config as a config-file reload does and reports how much
   * each requested counter grew meanwhile. A failure is both the response status and the thrown error,
   * as TF Serving returns it both ways; the caller picks.
   */
  async reloadConfig(request: ReloadConfigRequest<Config>): Promise<ReloadConfigResponse> {
    const reloader = this.#reloader;
    if (reloader === undefined) throw new TfServeError('UNIMPLEMENTED', 'this server does not reload its config');
    const names = request.metricNames ?? [];
    const before = names.map((name) => reloader.counterValue?.(name));
    await reloader.reloadConfig(request.config);
    const metric = names.flatMap((name, i) => {
      const start = before[i];
      const end = reloader.counterValue?.(name);
      return start === undefined || end === undefined ? [] : [{ name, int64ValueIncrease: end - start }];
    });
    return { status: { errorCode: 'OK', errorMessage: '' }, metric };
  }
}

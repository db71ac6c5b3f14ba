/**
 * Observing calls: what metrics, the access log and request logging learn about each transport call,
 * from the serving layer (src/serving/inference.ts) rather than from each transport, so REST, gRPC and
 * whatever comes next report alike.
 *
 * Contract: an `ObservedCall` is one transport request. Either the transport starts it
 * (`Inference.startCall`: REST does, from the request's arrival, so that requests refused before
 * they reach a model count too) and hands it in `CallOptions.observation`, and ends it once its
 * response is written; or the serving layer starts and ends it around the call when `CallOptions`
 * only names the `entrypoint` and `api` (gRPC adapters pass `{ entrypoint: 'GRPC', api: 'Predict' }`).
 * A call with neither (warmup replays, library use) is not observed. While it runs, the serving
 * layer fills in the version that served it, the time of its TensorFlow run, its number of Examples
 * and, on success, the request and response (for request logging). Observers are called on the event
 * loop, synchronously, once at the start and once at the end; they must not throw.
 */
import type { ClassificationRequest, ClassificationResponse, MultiInferenceRequest, MultiInferenceResponse, PredictRequest, PredictResponse, RegressionRequest, RegressionResponse } from './inference.js';

/** A successful call's request and response, as the serving layer saw them. */
export type Exchange =
  | { readonly kind: 'predict'; readonly request: PredictRequest; readonly response: PredictResponse }
  | { readonly kind: 'classify'; readonly request: ClassificationRequest; readonly response: ClassificationResponse }
  | { readonly kind: 'regress'; readonly request: RegressionRequest; readonly response: RegressionResponse }
  | { readonly kind: 'multi_inference'; readonly request: MultiInferenceRequest; readonly response: MultiInferenceResponse };

export interface CallInfo {
  /** TF Serving's entrypoint label: 'REST' or 'GRPC'. */
  readonly entrypoint: string;
  /**
   * TF Serving's API label: on REST 'predict', 'classify', 'regress' or '' (GETs); on gRPC the method
   * name ('Predict', 'GetModelMetadata'...).
   */
  readonly api: string;
  /** The model the request names ('' when it names none). */
  readonly model: string;
  readonly requestId?: string;
}

export interface InferenceObserver {
  callStarted?(call: ObservedCall): void;
  /** `error` is what the call failed with, or null; `latencyUs` runs from the start to end(). */
  callEnded?(call: ObservedCall, error: unknown, latencyUs: number): void;
}

export class ObservedCall {
  readonly entrypoint: string;
  readonly api: string;
  readonly requestId: string | undefined;
  model: string;
  /** The version that served the call, once the serving layer resolved it. */
  version: number | undefined;
  /** The TensorFlow run: TF Serving's runtime_latency API label ('Predict', 'Classify', ...) and its time. */
  runtimeApi: string | undefined;
  runtimeUs: number | undefined;
  /** tf.Examples in a Classify, Regress or MultiInference request. */
  examples: number | undefined;
  exchange: Exchange | undefined;
  /** Sizes on the wire, when the transport knows them. */
  bytesIn: number | undefined;
  bytesOut: number | undefined;
  /** The HTTP status a REST call was answered with. */
  httpStatus: number | undefined;
  readonly #observer: InferenceObserver;
  readonly #started = process.hrtime.bigint();
  #ended = false;

  constructor(info: CallInfo, observer: InferenceObserver) {
    this.entrypoint = info.entrypoint;
    this.api = info.api;
    this.model = info.model;
    this.requestId = info.requestId;
    this.#observer = observer;
    observer.callStarted?.(this);
  }

  get ended(): boolean {
    return this.#ended;
  }

  /** Ends the call (later calls do nothing): `error` is null for a success. */
  end(error: unknown): void {
    if (this.#ended) return;
    this.#ended = true;
    this.#observer.callEnded?.(this, error, Number(process.hrtime.bigint() - this.#started) / 1000);
  }
}

/** One observer that calls each of `observers` in turn. */
export function combineObservers(observers: readonly (InferenceObserver | undefined)[]): InferenceObserver | undefined {
  const list = observers.filter((o): o is InferenceObserver => o !== undefined);
  if (list.length <= 1) return list[0];
  return {
    callStarted(call) {
      for (const observer of list) observer.callStarted?.(call);
    },
    callEnded(call, error, latencyUs) {
      for (const observer of list) observer.callEnded?.(call, error, latencyUs);
    },
  };
}

/** Microseconds since `start` (a process.hrtime.bigint() reading). */
export function microsSince(start: bigint): number {
  return Number(process.hrtime.bigint() - start) / 1000;
}

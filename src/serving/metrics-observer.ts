/**
 * What feeds ServingMetrics (metrics.ts) from a running server: an InferenceObserver for the request
 * metrics, and the manager's version states read at scrape time.
 *
 * Contract, as TF Serving records them: request_count{model_name, status} and, for successes,
 * request_latency{model_name, API, entrypoint} for every REST request and for gRPC Predict, Classify
 * and Regress (TF Serving's other RPCs record neither), and beyond TF Serving for KServe v2's infer
 * (REST `infer`, gRPC `ModelInfer`), so that all inference traffic counts; runtime_latency for every observed
 * TensorFlow run; request_example_counts for Classify, Regress and MultiInference. The tfserve_
 * gauges count every observed call in flight, per model.
 */
import { TfServeError } from '../model/errors.js';
import type { InferenceObserver, ObservedCall } from './call-observer.js';
import type { ModelManager } from './manager.js';
import type { ServingMetrics } from './metrics.js';

/** The gRPC methods TF Serving's PredictionServiceImpl counts, and KServe v2's inference (tfserve's). */
const COUNTED_GRPC_APIS: ReadonlySet<string> = new Set(['Predict', 'Classify', 'Regress', 'ModelInfer']);

/** An error's canonical code name, as TF Serving's status label reads it. */
export function statusCodeOf(error: unknown): string {
  if (error === null || error === undefined) return 'OK';
  if (error instanceof TfServeError) return error.code;
  const code = (error as { code?: unknown }).code;
  return typeof code === 'string' && /^[A-Z_]+$/.test(code) ? code : 'UNKNOWN';
}

/**
 * `isModel` tells the models the server knows: only their requests count in flight, so that URLs
 * naming models that do not exist cannot grow the gauge without bound.
 */
export function metricsObserver(metrics: ServingMetrics, isModel: (name: string) => boolean = () => true): InferenceObserver {
  const inFlight = new WeakSet<ObservedCall>();
  return {
    callStarted(call: ObservedCall): void {
      if (call.model === '' || !isModel(call.model)) return;
      inFlight.add(call);
      metrics.inFlight(call.model, +1);
    },
    callEnded(call: ObservedCall, error: unknown, latencyUs: number): void {
      if (inFlight.delete(call)) metrics.inFlight(call.model, -1);
      if (call.entrypoint !== 'GRPC' || COUNTED_GRPC_APIS.has(call.api)) {
        metrics.requestDone(call.model, call.api, call.entrypoint, statusCodeOf(error), latencyUs);
      }
      if (call.runtimeApi !== undefined && call.runtimeUs !== undefined) metrics.runtime(call.model, call.runtimeApi, call.runtimeUs);
      if (call.examples !== undefined) metrics.examples(call.model, call.examples);
    },
  };
}

/**
 * Copies every version's state from the manager into the tfserve_model_version_state gauge; call it
 * before each scrape. The manager keeps every version it has seen (END once unloaded or failed), as
 * TF Serving's GetModelStatus lists them, so the gauge does too.
 */
export function syncVersionStates(metrics: ServingMetrics, manager: ModelManager): void {
  for (const model of manager.modelNames()) {
    for (const status of manager.status(model)) metrics.versionState(model, status.version, status.state);
  }
}

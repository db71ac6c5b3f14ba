/**
 * Servable: what a request may use of one loaded model version — its signatures, its SignatureDefs
 * for metadata, and session runs by graph tensor name. The manager hands out Servables, never the
 * SavedModel behind them, so that batching, warmup and metrics can wrap `run` (a wrapper is a
 * Servable too) and no transport depends on the model core.
 */
import { TfServeError } from '../model/errors.js';
import type { SavedModel } from '../model/saved-model.js';
import type { SignatureDefJson, SignatureInfo } from '../model/signature.js';
import type { Tensor, TensorInput } from '../model/tensor.js';
import type { CancelSignal } from './inference.js';

export interface RunRequest {
  /** Feeds by graph tensor name ("op:index"). */
  readonly feeds: Readonly<Record<string, TensorInput>>;
  /** Graph tensor names to fetch, in the order of the result. */
  readonly fetches: readonly string[];
  /** Abort with DEADLINE_EXCEEDED after this many milliseconds; none when undefined. */
  readonly timeoutMs?: number;
  /** Fires when the request's client went away: a run that has not started must not start. */
  readonly signal?: CancelSignal;
}

export interface Servable {
  /** The version directory it was loaded from. */
  readonly path: string;
  /** The signatures a request can run (the TF2 init op is not one). */
  readonly signatures: Readonly<Record<string, SignatureInfo>>;
  /** Every SignatureDef of the MetaGraph, the init op included: TF Serving's lookups see them all. */
  readonly signatureDefs: Readonly<Record<string, SignatureDefJson>>;
  run(request: RunRequest): Promise<Tensor[]>;
  /** Frees the version once runs in flight are done; the manager calls it after the last handle is released. */
  dispose(): Promise<void>;
}

/** The Servable of a loaded SavedModel. */
export class SavedModelServable implements Servable {
  readonly #model: SavedModel;

  constructor(model: SavedModel) {
    this.#model = model;
  }

  get path(): string {
    return this.#model.path;
  }

  get signatures(): Readonly<Record<string, SignatureInfo>> {
    return this.#model.signatures;
  }

  get signatureDefs(): Readonly<Record<string, SignatureDefJson>> {
    return this.#model.signatureDefJson;
  }

  run(request: RunRequest): Promise<Tensor[]> {
    if (request.signal?.aborted) return Promise.reject(new TfServeError('CANCELLED', 'The client cancelled the call'));
    return this.#model.run(request.feeds, request.fetches, { timeoutMs: request.timeoutMs });
  }

  dispose(): Promise<void> {
    return this.#model.dispose();
  }
}

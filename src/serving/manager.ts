/**
 * ModelManager: TF Serving's availability-preserving manager for loaded model versions.
 *
 * A source (src/serving/source.ts) hands it, per model, the full list of aspired versions. For each
 * model the manager then repeats one action at a time until nothing is left to do:
 *  - if some aspired version is AVAILABLE (or none is aspired), unload the lowest un-aspired one;
 *  - otherwise load the highest aspired version that was never tried.
 * So a new version is fully loaded before the old one unloads, and if it fails the old one keeps
 * serving. Requests hold a ServableHandle (a reference count); an unload waits until the last handle of
 * its version is released. Loads run in native worker threads, never on the event loop. Failed loads are
 * retried per --max_num_load_retries / --load_retry_interval_micros, then end as END with their error.
 */
import { EventEmitter } from 'node:events';

import { type StatusCode, TfServeError } from '../model/errors.js';
import type { Servable } from './servable.js';
import type { VersionId } from './version-id.js';

export type VersionState = 'START' | 'LOADING' | 'AVAILABLE' | 'UNLOADING' | 'END';

export interface AspiredVersion {
  version: number;
  path: string;
}

export interface VersionStatus {
  version: number;
  state: VersionState;
  error: { code: StatusCode; message: string } | null;
}

export interface ManagerLog {
  info(message: string): void;
  warn(message: string): void;
  error(message: string): void;
}

export interface ManagerOptions {
  load: (path: string, name: string, version: number) => Promise<Servable>;
  /** Retries after a failed load (--max_num_load_retries). */
  maxLoadRetries?: number;
  /** Delay between retries in ms (--load_retry_interval_micros / 1000). */
  loadRetryIntervalMs?: number;
  log?: ManagerLog;
}

/** What a request holds while it uses a version; release() exactly once. */
export interface ServableHandle {
  readonly name: string;
  readonly version: number;
  readonly servable: Servable;
  release(): void;
}

interface VersionEntry {
  version: number;
  path: string;
  state: VersionState;
  error: VersionStatus['error'];
  servable: Servable | null;
  refs: number;
  aspired: boolean;
  /** Settles when an unload waiting for handles may proceed. */
  drained: (() => void) | null;
}

interface ModelEntry {
  name: string;
  versions: Map<number, VersionEntry>;
  labels: Map<string, VersionId>;
  busy: boolean;
  /** Set when the manager is told about the model, so requests can tell "unknown" from "not yet loaded". */
  settledWaiters: (() => void)[];
}

const SILENT_LOG: ManagerLog = { info() {}, warn() {}, error() {} };

export class ModelManager extends EventEmitter {
  readonly #options: Required<ManagerOptions>;
  readonly #models = new Map<string, ModelEntry>();
  #closed = false;
  readonly #retryWakers = new Set<() => void>();

  constructor(options: ManagerOptions) {
    super();
    this.#options = {
      maxLoadRetries: 5,
      loadRetryIntervalMs: 60_000,
      log: SILENT_LOG,
      ...options,
    };
  }

  /** The complete desired set for `name`; versions not listed become un-aspired. */
  setAspiredVersions(name: string, aspired: readonly AspiredVersion[]): void {
    if (this.#closed) return;
    const model = this.#model(name);
    const wanted = new Map(aspired.map((v) => [v.version, v.path]));
    for (const entry of model.versions.values()) {
      const wasAspired = entry.aspired;
      entry.aspired = wanted.has(entry.version);
      // An ended version (unloaded, or failed and since dropped) that is aspired again loads afresh;
      // one that failed and stayed aspired is not retried.
      if (entry.aspired && entry.state === 'END' && !wasAspired) {
        model.versions.set(entry.version, this.#newEntry(entry.version, wanted.get(entry.version)!));
      }
    }
    for (const [version, path] of wanted) {
      if (!model.versions.has(version)) model.versions.set(version, this.#newEntry(version, path));
    }
    this.#reconcile(model);
  }

  /** Stops serving every version of `name` (a model removed from the config). */
  removeModel(name: string): void {
    if (this.#models.has(name)) this.setAspiredVersions(name, []);
  }

  setLabels(name: string, labels: ReadonlyMap<string, VersionId>): void {
    this.#model(name).labels = new Map(labels);
  }

  hasModel(name: string): boolean {
    return this.#models.has(name);
  }

  modelNames(): string[] {
    return [...this.#models.keys()];
  }

  isAvailable(name: string, version: VersionId): boolean {
    return typeof version === 'number' && this.#models.get(name)?.versions.get(version)?.state === 'AVAILABLE';
  }

  /**
   * A handle on the version a request names: the highest AVAILABLE one, a specific version, or a label.
   * Errors use TF Serving's texts and codes.
   */
  acquire(name: string, spec: { version?: VersionId; label?: string } = {}): ServableHandle {
    const model = this.#models.get(name);
    let version = spec.version;
    if (spec.label !== undefined) {
      const labelled = model?.labels.get(spec.label);
      if (labelled === undefined) throw new TfServeError('INVALID_ARGUMENT', `Unrecognized servable version label: ${spec.label}`);
      version = labelled;
    }
    let entry: VersionEntry | undefined;
    if (version === undefined) {
      for (const candidate of model?.versions.values() ?? []) {
        if (candidate.state === 'AVAILABLE' && (!entry || candidate.version > entry.version)) entry = candidate;
      }
      if (!entry) throw new TfServeError('NOT_FOUND', `Servable not found for request: Latest(${name})`);
    } else {
      // A bigint version is beyond every loaded one (see version-id.ts).
      entry = typeof version === 'number' ? model?.versions.get(version) : undefined;
      if (!entry || entry.state !== 'AVAILABLE') {
        throw new TfServeError('NOT_FOUND', `Servable not found for request: Specific(${name}, ${version})`);
      }
    }
    const held = entry;
    held.refs += 1;
    let released = false;
    return {
      name,
      version: held.version,
      servable: held.servable!,
      release: () => {
        if (released) return;
        released = true;
        held.refs -= 1;
        if (held.refs === 0) held.drained?.();
      },
    };
  }

  /** Every version ever seen for `name`, highest first (TF Serving's GetModelStatus). */
  status(name: string): VersionStatus[] {
    const model = this.#models.get(name);
    if (!model) return [];
    return [...model.versions.values()]
      .sort((a, b) => b.version - a.version)
      .map((entry) => ({ version: entry.version, state: entry.state, error: entry.error }));
  }

  /**
   * Resolves once no model has a load or unload pending: every aspired version is AVAILABLE or ended.
   * The server waits on this before it opens its ports, as tensorflow_model_server does.
   */
  async settled(): Promise<void> {
    await Promise.all(
      [...this.#models.values()].map((model) =>
        model.busy ? new Promise<void>((resolve) => model.settledWaiters.push(resolve)) : undefined,
      ),
    );
  }

  /** Unloads everything, waiting for requests in flight. */
  async close(): Promise<void> {
    this.#closed = true;
    for (const wake of this.#retryWakers) wake();
    this.#retryWakers.clear();
    const unloads: Promise<void>[] = [];
    for (const model of this.#models.values()) {
      for (const entry of model.versions.values()) {
        entry.aspired = false;
        if (entry.state === 'AVAILABLE') unloads.push(this.#unload(model, entry));
      }
    }
    await Promise.all(unloads);
    await this.settled();
  }

  #model(name: string): ModelEntry {
    let model = this.#models.get(name);
    if (!model) {
      model = { name, versions: new Map(), labels: new Map(), busy: false, settledWaiters: [] };
      this.#models.set(name, model);
    }
    return model;
  }

  #newEntry(version: number, path: string): VersionEntry {
    return { version, path, state: 'START', error: null, servable: null, refs: 0, aspired: true, drained: null };
  }

  /** Runs one action at a time for a model until nothing is left to do. */
  #reconcile(model: ModelEntry): void {
    if (model.busy) return;
    model.busy = true;
    void (async () => {
      try {
        for (;;) {
          const action = this.#nextAction(model);
          if (!action) break;
          await action();
        }
      } catch (err) {
        this.#options.log.error(`manager for ${model.name} failed: ${(err as Error).message}`);
      } finally {
        model.busy = false;
        const waiters = model.settledWaiters.splice(0);
        for (const resolve of waiters) resolve();
        this.emit('settled', model.name);
      }
    })();
  }

  #nextAction(model: ModelEntry): (() => Promise<void>) | null {
    const entries = [...model.versions.values()];
    const aspiredReady = entries.some((e) => e.aspired && e.state === 'AVAILABLE');
    const anyAspired = entries.some((e) => e.aspired);
    const unaspiredReady = entries
      .filter((e) => !e.aspired && e.state === 'AVAILABLE')
      .sort((a, b) => a.version - b.version);
    if (unaspiredReady.length > 0 && (aspiredReady || !anyAspired || unaspiredReady.length > 1)) {
      return () => this.#unload(model, unaspiredReady[0]!);
    }
    const toLoad = entries
      .filter((e) => e.aspired && e.state === 'START')
      .sort((a, b) => b.version - a.version)[0];
    return toLoad ? () => this.#load(model, toLoad) : null;
  }

  async #load(model: ModelEntry, entry: VersionEntry): Promise<void> {
    entry.state = 'LOADING';
    const { load, maxLoadRetries, loadRetryIntervalMs, log } = this.#options;
    log.info(`Loading servable version {name: ${model.name} version: ${entry.version}} from ${entry.path}`);
    for (let attempt = 0; ; attempt += 1) {
      try {
        entry.servable = await load(entry.path, model.name, entry.version);
        entry.state = 'AVAILABLE';
        entry.error = null;
        log.info(`Successfully loaded servable version {name: ${model.name} version: ${entry.version}}`);
        this.emit('available', model.name, entry.version);
        if (!entry.aspired || this.#closed) await this.#unload(model, entry);
        return;
      } catch (err) {
        const error = err as { code?: StatusCode; message?: string };
        entry.error = { code: error.code ?? 'UNKNOWN', message: error.message ?? String(err) };
        const retriesLeft = maxLoadRetries - attempt;
        if (retriesLeft <= 0 || !entry.aspired || this.#closed) {
          entry.state = 'END';
          log.error(
            `Loading servable: {name: ${model.name} version: ${entry.version}} failed: ${entry.error.code}: ${entry.error.message}`,
          );
          this.emit('failed', model.name, entry.version, entry.error);
          return;
        }
        log.warn(
          `Loading servable: {name: ${model.name} version: ${entry.version}} failed (${entry.error.message}); ` +
            `retrying in ${loadRetryIntervalMs} ms (${retriesLeft} retries left)`,
        );
        // A pending retry keeps the process alive (someone awaits settled()); close() cuts it short.
        await new Promise<void>((resolve) => {
          const timer = setTimeout(() => {
            this.#retryWakers.delete(wake);
            resolve();
          }, loadRetryIntervalMs);
          const wake = (): void => {
            clearTimeout(timer);
            resolve();
          };
          this.#retryWakers.add(wake);
        });
        if (!entry.aspired || this.#closed) {
          entry.state = 'END';
          return;
        }
      }
    }
  }

  async #unload(model: ModelEntry, entry: VersionEntry): Promise<void> {
    if (entry.state === 'UNLOADING' || entry.state === 'END') return;
    entry.state = 'UNLOADING';
    this.#options.log.info(`Unloading servable version {name: ${model.name} version: ${entry.version}}`);
    if (entry.refs > 0) await new Promise<void>((resolve) => (entry.drained = resolve));
    entry.drained = null;
    await entry.servable?.dispose();
    entry.servable = null;
    entry.state = 'END';
    entry.error = null;
    this.#options.log.info(`Done unloading servable version {name: ${model.name} version: ${entry.version}}`);
  }
}

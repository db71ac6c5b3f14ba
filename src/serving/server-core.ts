/**
 * ServerCore: the models a server serves, as TF Serving's ServerCore keeps them — a VersionSource
 * polling each base path, the ModelManager loading what it aspires, the version labels of the config,
 * and ReloadConfig, which the config-file poll and gRPC's HandleReloadConfigRequest share.
 *
 * Errors are TfServeError with TF Serving's codes and texts; `start` and `reloadConfig` resolve once
 * the models they add are AVAILABLE or have failed, as TF Serving blocks on them.
 */
import { TfServeError } from '../model/errors.js';
import { ModelManager, type ManagerLog } from './manager.js';
import { type ModelConfig, validateModelConfigs } from './model-config.js';
import type { Servable } from './servable.js';
import { VersionSource } from './source.js';
import { type VersionId, versionId } from './version-id.js';

export interface ServerCoreOptions {
  load: (path: string, name: string, version: number) => Promise<Servable>;
  maxLoadRetries?: number;
  loadRetryIntervalMs?: number;
  /** --file_system_poll_wait_seconds. */
  pollWaitSeconds: number;
  /** --allow_version_labels_for_unavailable_models. */
  allowLabelsForUnavailableModels?: boolean;
  log: ManagerLog;
}

function labelsOf(config: ModelConfig): Map<string, VersionId> {
  return new Map([...config.versionLabels].map(([label, version]) => [label, versionId(version)]));
}

export class ServerCore {
  readonly manager: ModelManager;
  readonly #source: VersionSource;
  readonly #options: ServerCoreOptions;
  readonly #appliedLabels = new Map<string, Map<string, VersionId>>();
  #configs: ModelConfig[];
  #closed = false;

  /** Validates `configs` (throws TF Serving's INVALID_ARGUMENT texts); nothing loads before start(). */
  constructor(configs: ModelConfig[], options: ServerCoreOptions) {
    for (const warning of validateModelConfigs(configs)) options.log.warn(warning);
    this.#configs = configs;
    this.#options = options;
    this.manager = new ModelManager({
      load: options.load,
      maxLoadRetries: options.maxLoadRetries,
      loadRetryIntervalMs: options.loadRetryIntervalMs,
      log: options.log,
    });
    this.#source = new VersionSource(configs, { pollWaitSeconds: options.pollWaitSeconds, log: options.log });
    this.#source.on('aspiredVersions', ({ model, versions }) => this.manager.setAspiredVersions(model, versions));
  }

  get configs(): readonly ModelConfig[] {
    return this.#configs;
  }

  /**
   * Loads the first versions of every model. Fails with TF Serving's UNKNOWN "servable(s) did not
   * become available" when a version fails; a model whose base path has no version yet only warns.
   */
  async start(): Promise<void> {
    this.#source.start();
    await this.#source.poll();
    await this.manager.settled();
    const names = this.#configs.map((config) => config.name);
    const failures = this.#failures(names);
    if (failures.length > 0) {
      throw new TfServeError('UNKNOWN', `${failures.length} servable(s) did not become available: {${failures.join('')}}`);
    }
    for (const name of names) {
      if (!this.manager.status(name).some((s) => s.state === 'AVAILABLE')) {
        this.#options.log.warn(`No version of model ${name} is available yet; it will be served once its base path holds a version`);
      }
    }
    // TF Serving checks labels before the first load, so without the flag it refuses every label of
    // the initial config (none can be available yet); we check after it, so the flag allows any.
    this.#checkLabels(this.#configs, this.#options.allowLabelsForUnavailableModels ?? false);
    this.#applyLabels(this.#configs);
  }

  /**
   * ReloadConfig: `next` is the whole desired state. Labels are checked and applied first, removed
   * models unload in the background, and added ones are waited for; their failures reject with
   * UNKNOWN "<k> model(s) did not become available".
   */
  async reloadConfig(next: ModelConfig[]): Promise<void> {
    if (this.#closed) throw new TfServeError('UNAVAILABLE', 'the server is stopping');
    for (const warning of validateModelConfigs(next, this.#configs)) this.#options.log.warn(warning);
    this.#checkLabels(next, this.#options.allowLabelsForUnavailableModels ?? false);
    const added = next.filter((config) => !this.#configs.some((old) => old.name === config.name)).map((config) => config.name);
    this.#configs = next;
    this.#applyLabels(next);
    this.#source.updateConfigs(next);
    if (added.length === 0) return;
    await this.#source.poll();
    await this.manager.settled();
    const failed = this.#failures(added);
    if (failed.length > 0 && !this.#closed) {
      throw new TfServeError('UNKNOWN', `${failed.length} model(s) did not become available: {${failed.join('')}}`);
    }
  }

  /**
   * KServe v2 server readiness: every configured model has an AVAILABLE version, so none is still
   * loading its first version or waiting for its base path to hold one; false once closing.
   */
  ready(): boolean {
    return !this.#closed && this.#configs.every((config) => this.manager.status(config.name).some((s) => s.state === 'AVAILABLE'));
  }

  /** Whether `name` is in the config served now (it may have no AVAILABLE version yet). */
  isConfigured(name: string): boolean {
    return this.#configs.some((config) => config.name === name);
  }

  async close(): Promise<void> {
    this.#closed = true;
    await this.#source.stop();
    await this.manager.close();
  }

  /**
   * ServerCore's label check: a label must name an AVAILABLE version; with
   * --allow_version_labels_for_unavailable_models a label may also name any version as long as it does
   * not move a label that already points elsewhere.
   */
  #checkLabels(configs: readonly ModelConfig[], allowUnavailable: boolean): void {
    for (const config of configs) {
      for (const [label, version] of labelsOf(config)) {
        const current = this.#appliedLabels.get(config.name)?.get(label);
        const movesLabel = current !== undefined && current !== version;
        if (this.manager.isAvailable(config.name, version) || (allowUnavailable && !movesLabel)) continue;
        throw new TfServeError(
          'FAILED_PRECONDITION',
          `Request to assign label to version ${version} of model ${config.name}, which is not currently available for inference`,
        );
      }
    }
  }

  #applyLabels(configs: readonly ModelConfig[]): void {
    for (const config of configs) {
      this.#appliedLabels.set(config.name, labelsOf(config));
      this.manager.setLabels(config.name, labelsOf(config));
    }
  }

  /** Versions that ended with an error, worded as TF's "servable(s) did not become available" list. */
  #failures(names: readonly string[]): string[] {
    return names.flatMap((name) =>
      this.manager
        .status(name)
        .filter((s) => s.state === 'END' && s.error)
        .map((s) => `{{name: ${name} version: ${s.version}} due to error: ${s.error!.code}: ${s.error!.message}}, `),
    );
  }
}

/**
 * The operations side of `tfserve`, from its flags: Prometheus metrics (--monitoring_config_file),
 * the SavedModel load line and load metrics, warmup (--enable_model_warmup,
 * --num_request_iterations_for_warmup), the access log (--access_log) and request logging (the
 * model config's logging_config). main.ts builds one `Operations` and calls into it at the points
 * below; everything else lives in src/serving (metrics.ts, metrics-observer.ts, warmup.ts,
 * access-log.ts, request-logging.ts) and src/server (routes/monitoring.ts, plugins/observe.ts).
 *
 *   loadSavedModel(dir, load)        times the native load: TF's `SavedModel load for tags { serve };
 *                                    Status: success: OK. Took N microseconds.` (at info, as TF logs
 *                                    it), load_attempt_count{model_path, status} and load_latency
 *   reportDevices(dir, model)        the devices a loaded model's session has, once per process why
 *                                    no GPU is used where one could be, and after its first run the
 *                                    devices its ops were placed on
 *   prepare(servable, name, version) after the load (and any wrapping), before AVAILABLE: mlmd_map,
 *                                    then warmup; a failed warmup disposes the servable and rejects
 *   observer                         for Inference: request metrics (when Prometheus is on), the
 *                                    access log (--access_log), request logging (logging_config)
 *   inference = ...                  the serving layer warmup replays through; set before any load
 *   reload(configs, apply)           a config reload, its logging_configs opened first and applied
 *                                    only once the reload succeeded
 *   monitoring()                     buildApp's Prometheus route, when the config enables it
 *
 * Request metrics are recorded only when the page is served (they would have no reader otherwise);
 * load and warmup metrics always, since HandleReloadConfigRequest reports counter increases.
 */
import fs from 'node:fs';
import path from 'node:path';

import type { Logger } from 'pino';

import { gpuNotice, type Placement, shortDeviceName } from '../model/devices.js';
import type { SavedModel } from '../model/saved-model.js';

import { accessLogObserver } from '../serving/access-log.js';
import { combineObservers, type InferenceObserver, microsSince } from '../serving/call-observer.js';
import type { Inference } from '../serving/inference.js';
import type { ModelManager } from '../serving/manager.js';
import { ServingMetrics } from '../serving/metrics.js';
import { metricsObserver, syncVersionStates } from '../serving/metrics-observer.js';
import type { ModelConfig } from '../serving/model-config.js';
import { type PrometheusConfig, readMonitoringConfigFile } from '../serving/monitoring-config.js';
import { RequestLogging } from '../serving/request-logging.js';
import type { Servable } from '../serving/servable.js';
import { runWarmup } from '../serving/warmup.js';
import type { MonitoringRouteOptions } from '../server/routes/monitoring.js';
import type { Flags } from './flags.js';

export interface OperationsOptions {
  readonly flags: Flags;
  readonly tags: readonly string[];
  readonly log: Logger;
  /** The first model configs (their logging_configs are checked here). */
  readonly configs: readonly ModelConfig[];
}

function formatGiB(bytes: number): string {
  return (bytes / 2 ** 30).toFixed(1);
}

/** "GPU:0 (41 nodes), CPU:0 (3 nodes)": the busiest device first. */
export function describePlacement(placement: Placement): string {
  const entries = Object.entries(placement).sort(([, a], [, b]) => b - a);
  if (entries.length === 0) return 'no device (the run executed no nodes)';
  return entries.map(([device, nodes]) => `${shortDeviceName(device)} (${nodes} node${nodes === 1 ? '' : 's'})`).join(', ');
}

function statusOf(err: unknown): string {
  const code = (err as { code?: unknown } | null)?.code;
  return `${typeof code === 'string' && /^[A-Z_]+$/.test(code) ? code : 'UNKNOWN'}: ${err instanceof Error ? err.message : String(err)}`;
}

export class Operations {
  readonly metrics: ServingMetrics;
  readonly prometheus: PrometheusConfig;
  readonly requestLogging: RequestLogging;
  readonly observer: InferenceObserver | undefined;
  readonly #flags: Flags;
  readonly #tags: readonly string[];
  readonly #log: Logger;
  #inference: Inference | undefined;
  #manager: ModelManager | undefined;
  #gpuNoticeGiven = false;

  /** Throws TF Serving's startup errors: an unreadable monitoring config, a logging_config it cannot log with. */
  constructor(options: OperationsOptions) {
    const { flags, log } = options;
    this.#flags = flags;
    this.#tags = options.tags;
    this.#log = log;
    this.prometheus = flags.monitoring_config_file
      ? readMonitoringConfigFile(flags.monitoring_config_file)
      : { enable: false, path: '' };
    this.metrics = new ServingMetrics({ processMetrics: this.prometheus.enable });
    this.requestLogging = new RequestLogging({
      savedModelTags: options.tags,
      onLogged: (model, statusCode) => this.metrics.requestLogged(model, statusCode),
      log: { error: (message) => log.error(message) },
    });
    this.requestLogging.update(options.configs);
    this.observer = combineObservers([
      this.prometheus.enable ? metricsObserver(this.metrics, (name) => this.#manager?.hasModel(name) ?? false) : undefined,
      flags.access_log ? accessLogObserver({ info: (fields, message) => log.info(fields, message) }) : undefined,
      this.requestLogging,
    ]);
  }

  /** The serving layer warmup replays through (its checks) and its models; set before the first load. */
  set inference(inference: Inference) {
    this.#inference = inference;
    this.#manager = inference.manager;
  }

  /**
   * TF's SavedModel loader bookkeeping around the native load of `dir`. TF's line does not name the
   * directory; the JSON log line carries it as `model_path`, since loads run concurrently.
   */
  async loadSavedModel<T>(dir: string, load: () => Promise<T>): Promise<T> {
    const started = process.hrtime.bigint();
    const tags = `{ ${this.#tags.join(' ')} }`;
    try {
      const model = await load();
      const latencyUs = Math.round(microsSince(started));
      this.#log.info({ model_path: dir }, `SavedModel load for tags ${tags}; Status: success: OK. Took ${latencyUs} microseconds.`);
      this.metrics.loadAttempt(dir, true, latencyUs);
      return model;
    } catch (err) {
      const latencyUs = Math.round(microsSince(started));
      this.#log.info({ model_path: dir }, `SavedModel load for tags ${tags}; Status: fail: ${statusOf(err)}. Took ${latencyUs} microseconds.`);
      this.metrics.loadAttempt(dir, false, latencyUs);
      throw err;
    }
  }

  /**
   * Where a loaded model can run and, once its first run (often warmup) has placed its ops, where
   * they run: TensorFlow places a graph when a session first runs it.
   */
  reportDevices(dir: string, model: SavedModel): void {
    const devices = model.devices.map((d) => (d.type === 'CPU' ? shortDeviceName(d.name) : `${shortDeviceName(d.name)} (${formatGiB(d.memoryBytes)} GiB)`));
    this.#log.info({ model_path: dir, devices: model.devices.map((d) => d.name) }, `Session devices: ${devices.join(', ') || 'none listed'}`);
    if (!this.#gpuNoticeGiven) {
      this.#gpuNoticeGiven = true;
      const notice = gpuNotice(model.devices);
      if (notice !== null) this.#log.warn(notice);
    }
    void model.placed().then((placement) => {
      this.#log.info({ model_path: dir, placement }, `Ops placed on ${describePlacement(placement)}`);
    });
  }

  /** What runs between the load and AVAILABLE: the version's MLMD id, then warmup. */
  async prepare(servable: Servable, name: string, version: number): Promise<Servable> {
    try {
      const uuid = await fs.promises.readFile(path.join(servable.path, 'assets.extra', 'mlmd_uuid'), 'utf8').catch(() => null);
      if (uuid !== null) this.metrics.mlmd(name, version, uuid);
      if (this.#flags.enable_model_warmup) {
        if (this.#inference === undefined) throw new Error('Operations.inference must be set before models load');
        const iterations = this.#flags.num_request_iterations_for_warmup;
        await runWarmup(servable, name, version, {
          inference: this.#inference,
          numRequestIterations: iterations > 0 ? iterations : undefined,
          log: { info: (message) => this.#log.info(message) },
          metrics: this.metrics,
        });
      }
      return servable;
    } catch (err) {
      await servable.dispose().catch(() => undefined);
      throw err;
    }
  }

  /** A config reload: the new logging_configs are opened first, and take effect once `apply` succeeded. */
  async reload(configs: readonly ModelConfig[], apply: () => Promise<void>): Promise<void> {
    const update = this.requestLogging.prepare(configs);
    try {
      await apply();
    } catch (err) {
      await update.discard();
      throw err;
    }
    update.apply();
  }

  /** buildApp's monitoring option, when the config enables the Prometheus page. */
  monitoring(): MonitoringRouteOptions | undefined {
    const manager = this.#manager;
    if (!this.prometheus.enable || manager === undefined) return undefined;
    return {
      path: this.prometheus.path,
      page: () => {
        syncVersionStates(this.metrics, manager);
        return this.metrics.exposition();
      },
    };
  }

  /** The value of a counter by its TF name, for HandleReloadConfigRequest's metric increases. */
  counterValue(name: string): number | undefined {
    return this.metrics.counterValue(name);
  }

  async close(): Promise<void> {
    await this.requestLogging.close();
  }
}

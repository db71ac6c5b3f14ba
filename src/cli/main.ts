/**
 * `tfserve`: tensorflow_model_server's command line over the library. Flags -> model configs ->
 * VersionSource (polls base paths) -> ModelManager (loads/unloads) -> Inference -> gRPC server (src/grpc,
 * on --port and --grpc_socket_path) and fastify app (REST). `run()`
 * returns the exit code and never exits; bin/tfserve.js is the only place that calls process.exit.
 *
 * Exit codes: 0 after a graceful stop (or --help/--version), 2 for a command-line error (printed with
 * the usage), 255 when the server cannot start (TF Serving's `Failed to start server. Error: ...`).
 *
 * Lifecycle, all on the event loop: the ports open only once every configured model's first versions
 * are loaded or have failed (as in TF Serving), gRPC first. The stop signals (SIGINT/SIGTERM by default)
 * are watched from the start; on the first one `shutdown()` stops every transport from accepting
 * connections and lets requests in flight finish until --drain_timeout_seconds, when the connections
 * and calls left are closed; then polling stops and every model unloads (unloads wait for the last
 * request holding a version). Our listeners are removed as the first signal arrives, so a second one
 * gets Node's default: the process ends at once.
 */
import fs from 'node:fs';
import path from 'node:path';

import pino, { type Logger } from 'pino';
import pretty from 'pino-pretty';

import { TfServeError } from '../model/errors.js';
import { tensorflowVersion } from '../index.js';
import { loadSavedModel, type SavedModel } from '../model/saved-model.js';
import { buildApp } from '../server/app.js';
import { trackConnections } from '../server/connections.js';
import { exposeGc } from '../server/memory-reclaim.js';
import { startGrpc } from './grpc.js';
import type { SessionConfig } from '../model/session-config.js';
import { Inference } from '../serving/inference.js';
import { OpenInference } from '../serving/open-inference.js';
import { type ModelBatchingOptions, serverBatching, wrapForBatching } from '../serving/batching/batching-servable.js';
import { SavedModelServable } from '../serving/servable.js';
import { ServerCore } from '../serving/server-core.js';
import {
  isRelativePath,
  type ModelConfig,
  readModelConfigFile,
  readModelConfigFileAsync,
  singleModelConfig,
} from '../serving/model-config.js';
import { FLAGS, FlagError, type FlagName, type Flags, parseFlags, usage } from './flags.js';
import { Operations } from './operations.js';
import { sessionConfigFromFlags } from './session-flags.js';
import { runWarmupCommand } from './warmup.js';

/** The package's root: two levels up from dist/cli/main.js, three from the test build's dist-test/src/cli. */
function findPackageRoot(): string {
  const candidates = [path.resolve(__dirname, '..', '..'), path.resolve(__dirname, '..', '..', '..')];
  for (const candidate of candidates) {
    try {
      const pkg = JSON.parse(fs.readFileSync(path.join(candidate, 'package.json'), 'utf8')) as { name?: string };
      if (pkg.name === 'tfserve') return candidate;
    } catch {
      // not this one
    }
  }
  return candidates[0]!;
}

const PACKAGE_ROOT = findPackageRoot();
export const BUNDLED_MODEL = { name: 'half_plus_two', basePath: path.join(PACKAGE_ROOT, 'models', 'half_plus_two') };

export interface RunOptions {
  /** Where logs, --help and --version go (default process.stdout). */
  destination?: NodeJS.WritableStream;
  /** Where command-line errors and the usage after them go (default process.stderr). */
  errorDestination?: NodeJS.WritableStream;
  /**
   * The process signals that start the graceful stop (default SIGINT and SIGTERM). Tests pass one of
   * their own (say SIGUSR2) and send it with process.kill(process.pid, ...).
   */
  signals?: NodeJS.Signals[];
  /** Called once the REST port is open, with the bound port. */
  onListening?: (port: number) => void;
  /**
   * Another reason to stop, besides the signals (bin/tfserve.js: the npm process that started it is
   * gone); it resolves with the text logged as the stop begins. Counts as the first signal.
   */
  stopWhen?: Promise<string>;
}

/** A startup or reload failure in TF Serving's `<CODE>: <message>` form. */
class StartupError extends Error {
  constructor(readonly status: string) {
    super(status);
  }
}

function packageVersion(): string {
  return (JSON.parse(fs.readFileSync(path.join(PACKAGE_ROOT, 'package.json'), 'utf8')) as { version: string }).version;
}

function messageOf(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

/** An error as TF's Status::ToString prints it: `INVALID_ARGUMENT: message`. */
function statusOf(err: unknown): string {
  if (err instanceof StartupError) return err.status;
  const code = (err as { code?: unknown } | null)?.code;
  return `${typeof code === 'string' && /^[A-Z_]+$/.test(code) ? code : 'UNKNOWN'}: ${messageOf(err)}`;
}

function createLogger(flags: Flags, destination: NodeJS.WritableStream): Logger {
  // Pretty lines are the messages alone: the access log's fields repeat its message, and a load line
  // reads as TF prints it (its model_path is for JSON readers).
  const stream =
    flags.log_format === 'pretty' ? pretty({ destination, sync: true, colorize: false, ignore: 'pid,hostname,access,model_path' }) : destination;
  return pino({ level: flags.log_level, base: { name: 'tfserve' } }, stream);
}

/** The models to serve, from --model_config_file, --model_base_path or the bundled default. */
function initialConfigs(flags: Flags, given: Set<FlagName>, log: Logger): ModelConfig[] {
  if (flags.model_config_file) return readModelConfigFile(flags.model_config_file);
  if (flags.model_base_path) {
    // TF Serving rejects a relative --model_base_path (`Expected model <n> to have an absolute path or
    // URI`). tfserve resolves it against the working directory instead, a deliberate convenience for
    // `tfserve --model_base_path=models/x`. URIs (file://, gs://...) are left as they are. Base paths
    // in a --model_config_file must still be absolute, as in TF Serving: the file is shared with it.
    const basePath = isRelativePath(flags.model_base_path) ? path.resolve(flags.model_base_path) : flags.model_base_path;
    return [singleModelConfig(flags.model_name, basePath)];
  }
  if (given.has('model_name')) {
    throw new StartupError('INVALID_ARGUMENT: Both server_options.model_base_path and server_options.model_config_file are empty!');
  }
  log.info(`No --model_base_path or --model_config_file: serving the bundled model ${BUNDLED_MODEL.name} from ${BUNDLED_MODEL.basePath}`);
  return [singleModelConfig(BUNDLED_MODEL.name, BUNDLED_MODEL.basePath)];
}

async function exists(file: string): Promise<boolean> {
  return fs.promises.access(file).then(
    () => true,
    () => false,
  );
}

/**
 * Loads one version directory as tensorflow_model_server's SavedModel loader does, with its errors for
 * a directory that holds no SavedModel (spec §3.1) rather than TF C API's own wording.
 */
async function loadVersion(dir: string, tags: string[], config: SessionConfig, ops: Operations): Promise<SavedModel> {
  if (!(await exists(path.join(dir, 'saved_model.pb'))) && !(await exists(path.join(dir, 'saved_model.pbtxt')))) {
    if (await exists(path.join(dir, 'export.meta'))) throw new TfServeError('UNIMPLEMENTED', 'Session Bundle is deprecated and removed.');
    throw new TfServeError(
      'NOT_FOUND',
      `Specified file path does not appear to contain a SavedModel bundle (should have a file called \`saved_model.pb\`)\nSpecified file path: ${dir}`,
    );
  }
  const model = await ops.loadSavedModel(dir, () => loadSavedModel(dir, { tags, config }));
  ops.reportDevices(dir, model);
  return model;
}

function logDeferredFeatures(flags: Flags, given: Set<FlagName>, log: Logger): void {
  for (const [name, spec] of Object.entries(FLAGS) as [FlagName, (typeof FLAGS)[FlagName]][]) {
    if (!('notYet' in spec)) continue;
    const message = `--${name}=${String(flags[name])}: ${spec.notYet}`;
    if (given.has(name)) log.warn(message);
    else if (!('quiet' in spec)) log.info(message);
  }
}

/** Resolves with the first of `signals`; our listeners go as it arrives (a second signal: default). */
function watchSignals(signals: readonly NodeJS.Signals[]): { received: Promise<NodeJS.Signals>; dispose(): void } {
  const listeners = new Map<NodeJS.Signals, () => void>();
  const dispose = (): void => {
    for (const [name, listener] of listeners) process.removeListener(name, listener);
    listeners.clear();
  };
  const received = new Promise<NodeJS.Signals>((resolve) => {
    for (const name of new Set(signals)) {
      const listener = (): void => {
        dispose();
        resolve(name);
      };
      listeners.set(name, listener);
      process.on(name, listener);
    }
  });
  return { received, dispose };
}

type RestApp = Awaited<ReturnType<typeof buildApp>>;
type GrpcTransport = Awaited<ReturnType<typeof startGrpc>>;

/** Listens on `host`, or on every interface when it is "" (as TF Serving: `::`, else 0.0.0.0). */
async function listen(app: RestApp, port: number, host: string): Promise<number> {
  // fastify logs each address it bound ([::] and 0.0.0.0 are every interface).
  const listenTextResolver = (address: string): string => `REST API listening at ${address}`;
  if (host !== '') {
    await app.listen({ port, host, listenTextResolver });
  } else {
    try {
      await app.listen({ port, host: '::', listenTextResolver });
    } catch (err) {
      // Hosts without IPv6 cannot bind '::'.
      const code = (err as NodeJS.ErrnoException).code;
      if (code !== 'EAFNOSUPPORT' && code !== 'EADDRNOTAVAIL') throw err;
      await app.listen({ port, host: '0.0.0.0', listenTextResolver });
    }
  }
  const address = app.server.address();
  return typeof address === 'object' && address !== null ? address.port : port;
}

/** Stops the REST transport: no new connections; those open close as their last response leaves, or at `deadline`. */
async function drainRest(app: RestApp, deadline: number): Promise<number> {
  const [{ forced }] = await Promise.all([trackConnections(app.server).drain(deadline), app.close()]);
  return forced;
}

interface Transports {
  readonly rest: RestApp;
  readonly grpc: GrpcTransport;
}

/**
 * The stop sequence, one for every transport: each drains until the same deadline (a new transport
 * adds its line to the Promise.all), then the models unload, waiting for the runs still holding them.
 */
async function shutdown(transports: Transports, core: ServerCore, drainTimeoutSeconds: number, log: Logger): Promise<void> {
  const deadline = Date.now() + drainTimeoutSeconds * 1000;
  const [restForced] = await Promise.all([
    drainRest(transports.rest, deadline),
    // gRPC calls still running at the deadline are cancelled.
    transports.grpc.close(Math.max(0, deadline - Date.now())),
  ]);
  if (restForced > 0) {
    log.warn(`--drain_timeout_seconds=${drainTimeoutSeconds} passed: closed the ${restForced} REST connection(s) still open`);
  }
  await core.close();
}

export async function run(argv: readonly string[], options: RunOptions = {}): Promise<number> {
  const destination = options.destination ?? process.stdout;
  if (argv[0] === 'warmup') return runWarmupCommand(argv.slice(1), { destination, errorDestination: options.errorDestination ?? process.stderr });
  let flags: Flags;
  let given: Set<FlagName>;
  try {
    ({ flags, given } = parseFlags(argv));
  } catch (err) {
    if (!(err instanceof FlagError)) throw err;
    (options.errorDestination ?? process.stderr).write(`tfserve: ${err.message}\n\n${usage()}\n`);
    return 2;
  }
  if (flags.help) {
    destination.write(`${usage()}\n`);
    return 0;
  }
  if (flags.version) {
    destination.write(`TensorFlow ModelServer: tfserve ${packageVersion()}\nTensorFlow Library: ${tensorflowVersion()}\n`);
    return 0;
  }

  const log = createLogger(flags, destination);
  const stop = watchSignals(options.signals ?? ['SIGINT', 'SIGTERM']);
  const reasons = [stop.received.then((signal) => `Received ${signal}`)];
  if (options.stopWhen) reasons.push(options.stopWhen);
  // Whatever comes first counts as the first signal: a signal after it ends the process at once.
  const stopped = Promise.race(reasons).finally(() => stop.dispose());
  try {
    return await serve(flags, given, log, stopped, options.onListening);
  } finally {
    stop.dispose();
  }
}

async function serve(
  flags: Flags,
  given: Set<FlagName>,
  log: Logger,
  stopped: Promise<string>,
  onListening: ((port: number) => void) | undefined,
): Promise<number> {
  const fail = (err: unknown): number => {
    log.error(`Failed to start server. Error: ${statusOf(err)}`);
    return 255;
  };
  logDeferredFeatures(flags, given, log);
  let configs: ModelConfig[];
  let session: SessionConfig;
  try {
    configs = initialConfigs(flags, given, log);
    session = sessionConfigFromFlags(flags, (message) => log.warn(message));
  } catch (err) {
    return fail(err);
  }

  const tags = flags.saved_model_tags.split(',').map((tag) => tag.trim()).filter(Boolean);
  const logFns = { info: (m: string) => log.info(m), warn: (m: string) => log.warn(m), error: (m: string) => log.error(m) };
  let ops: Operations;
  let batching: ModelBatchingOptions | null;
  let core: ServerCore;
  try {
    ops = new Operations({ flags, tags, log, configs });
    batching = serverBatching(
      { enableBatching: flags.enable_batching, parametersFile: flags.batching_parameters_file, perModel: flags.enable_per_model_batching_parameters },
      (message) => log.info(message),
      ops.metrics,
    );
  } catch (err) {
    return fail(err);
  }
  try {
    core = new ServerCore(configs, {
      load: async (dir, name, version) => {
        const servable = new SavedModelServable(await loadVersion(dir, tags, session, ops));
        return ops.prepare(batching === null ? servable : await wrapForBatching(servable, name, batching), name, version);
      },
      maxLoadRetries: Math.max(0, flags.max_num_load_retries),
      loadRetryIntervalMs: Math.max(0, flags.load_retry_interval_micros / 1000),
      pollWaitSeconds: flags.file_system_poll_wait_seconds,
      allowLabelsForUnavailableModels: flags.allow_version_labels_for_unavailable_models,
      log: logFns,
    });
  } catch (err) {
    await ops.close();
    return fail(err);
  }
  const inference = new Inference<ModelConfig[]>({
    manager: core.manager,
    methodNameCheck: flags.enable_signature_method_name_check,
    observer: ops.observer,
    reloader: { reloadConfig: (next) => ops.reload(next, () => core.reloadConfig(next)), counterValue: (name) => ops.counterValue(name) },
  });
  // Warmup replays go through the serving layer's checks.
  ops.inference = inference;

  // Like tensorflow_model_server, open the port only once the first versions are loaded or failed.
  // Unlike it, a model whose base path is missing or empty does not hold the server back forever.
  const startup = core.start().then(
    () => null,
    (err: unknown) => ({ err }),
  );
  const early = await Promise.race([startup.then((result) => ({ result })), stopped.then((reason) => ({ reason }))]);
  if ('reason' in early) {
    log.info(`${early.reason} while loading models: stopping`);
    await core.close();
    await ops.close();
    return 0;
  }
  if (early.result !== null) {
    await core.close();
    await ops.close();
    return fail(early.result.err);
  }

  // KServe v2 readiness asks the core: it knows the configured models that have no version yet.
  const openInference = new OpenInference({ inference, readiness: core });

  let grpc: Awaited<ReturnType<typeof startGrpc>>;
  try {
    grpc = await startGrpc(flags, inference, openInference, log);
  } catch (err) {
    await core.close();
    await ops.close();
    return fail(err);
  }

  const app = await buildApp({
    inference,
    openInference,
    restTimeoutMs: flags.rest_api_timeout_in_ms,
    cors: flags.rest_api_enable_cors_support,
    bodyLimit: flags.rest_api_body_limit_bytes,
    memoryBudget: flags.rest_api_request_memory_budget_bytes,
    reclaimGc: exposeGc(),
    decodeThreads: flags.rest_api_num_threads > 0 ? flags.rest_api_num_threads : undefined,
    timeouts: {
      headersMs: flags.rest_api_headers_timeout_in_ms,
      receiveMs: flags.rest_api_receive_timeout_in_ms,
      keepAliveMs: flags.rest_api_keepalive_timeout_in_ms,
    },
    logger: log,
    monitoring: ops.monitoring(),
  });
  let stopping = false;
  let port = 0;
  // As TF Serving: a REST port equal to the gRPC port is an error that leaves REST off.
  const restOn = flags.rest_api_port === 0 || flags.rest_api_port !== flags.port;
  if (!restOn) {
    log.error('server_options.http_port cannot be same as grpc_port. Please use a different port for HTTP/REST API. Skipped exporting HTTP/REST API.');
  } else {
    try {
      port = await listen(app, flags.rest_api_port, flags.rest_api_listen_address);
    } catch (err) {
      await Promise.all([app.close(), grpc.close()]);
      await core.close();
      await ops.close();
      const host = flags.rest_api_listen_address;
      const where = host.includes(':') ? `[${host}]` : host || 'localhost';
      return fail(new StartupError(`UNAVAILABLE: Failed to start HTTP Server at ${where}:${flags.rest_api_port}: ${messageOf(err)}`));
    }
    log.info(`Exporting HTTP/REST API at:localhost:${port} ...`);
  }

  let configTimer: NodeJS.Timeout | undefined;
  if (flags.model_config_file && flags.model_config_file_poll_wait_seconds > 0) {
    const periodMs = flags.model_config_file_poll_wait_seconds * 1000;
    // TF Serving's PollFilesystemAndReloadConfig: re-read the file even when unchanged; a file that
    // cannot be read or a config that cannot be applied is logged and the running config stays.
    const reload = async (): Promise<void> => {
      let next: ModelConfig[];
      try {
        next = await readModelConfigFileAsync(flags.model_config_file);
      } catch (err) {
        log.error(`Failed to read ModelServerConfig file: ${messageOf(err)}`);
        return;
      }
      if (stopping) return;
      try {
        await ops.reload(next, () => core.reloadConfig(next));
      } catch (err) {
        if (!stopping) log.error(`PollFilesystemAndReloadConfig failed to ReloadConfig: ${messageOf(err)}`);
      }
    };
    const tick = (): void => {
      reload()
        .catch((err: unknown) => log.error(`PollFilesystemAndReloadConfig failed to ReloadConfig: ${messageOf(err)}`))
        .finally(() => {
          if (!stopping) configTimer = setTimeout(tick, periodMs);
        });
    };
    configTimer = setTimeout(tick, periodMs);
  }

  onListening?.(port);

  const reason = await stopped;
  stopping = true;
  clearTimeout(configTimer);
  log.info(`${reason}: finishing requests in flight, then unloading models`);
  await shutdown({ rest: app, grpc }, core, flags.drain_timeout_seconds, log);
  await ops.close();
  log.info('Server stopped');
  return 0;
}

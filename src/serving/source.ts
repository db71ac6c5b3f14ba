/**
 * Version discovery: TF Serving's FileSystemStoragePathSource. It polls each model's base path, reads
 * the numbered version directories, applies the model's version policy and emits, per model, the FULL
 * list of versions that should be loaded now ("aspired"). Whoever listens (the manager) diffs that list
 * against what it has loaded; the source never tracks loads itself.
 *
 * Event `'aspiredVersions'`, one per model per successful poll, and one with `versions: []` for each
 * model dropped by `updateConfigs` (TF's un-aspire on reconfiguration):
 *
 *     { model: string, versions: Array<{ version: number, path: string }> }
 *
 * `versions` is ascending; `path` is TF's JoinPath(base_path, <directory name>), so `00000123` gives
 * version 123 at `<base>/00000123`. An empty list means "serve nothing" (the base path exists but holds
 * no matching version). Listeners run synchronously inside the poll; a listener that throws is logged
 * and does not stop the others or the polling.
 *
 * A poll cycle lists the models one after another; if any model's base path is missing or unreadable the
 * whole cycle emits nothing (for any model) and logs `FileSystemStoragePathSource encountered a
 * filesystem access error: Could not find base path <p> for servable <n> with error <status>`, exactly
 * as tensorflow_model_server does; the next cycle tries again.
 *
 * Threading/ownership: everything runs on the event loop with async fs. Polls never overlap: `poll()`
 * queues behind a running one, and the periodic timer (unref()'d, so it never keeps the process alive)
 * is re-armed only after a poll ends. A poll that was running while `updateConfigs` changed the config
 * discards its results and polls again with the new config. `pollWaitSeconds` follows
 * `--file_system_poll_wait_seconds`: > 0 polls at start and then every N s (start to start), 0 polls
 * once at start, < 0 never polls on its own. As in TF Serving, `updateConfigs` does not poll by itself:
 * new models are picked up by the next periodic poll (or an explicit `poll()`).
 */
import { EventEmitter } from 'node:events';
import fs from 'node:fs';

import { type StatusCode, TfServeError } from '../model/errors.js';
import { aspiredVersions, checkVersionPolicy, type VersionPolicy } from './version-policy.js';

/** What the source needs of a model config; ModelConfig satisfies it. */
export interface ServableToMonitor {
  name: string;
  basePath: string;
  versionPolicy: VersionPolicy;
}

export interface AspiredVersion {
  version: number;
  /** The version's directory: the base path joined with the directory's name as found on disk. */
  path: string;
}

export interface AspiredVersionsEvent {
  model: string;
  versions: AspiredVersion[];
}

export interface SourceLog {
  info(message: string): void;
  warn(message: string): void;
  error(message: string): void;
}

export interface VersionListing {
  /** Version number → version directory path (base path joined with the child's name). */
  versions: Map<number, string>;
  /** Every child name of the base path, sorted bytewise (files included: TF does not check). */
  names: string[];
  /** Duplicate-version and out-of-range warnings, in TF's wording where TF has one. */
  warnings: string[];
}

export interface VersionSourceOptions {
  /** `--file_system_poll_wait_seconds`: > 0 every N s, 0 once, < 0 never. Default 1. */
  pollWaitSeconds?: number;
  /** Receives the warnings and errors TF Serving logs. Default: silent. */
  log?: SourceLog;
}

const SILENT_LOG: SourceLog = { info() {}, warn() {}, error() {} };

const INT64_MIN = -(2n ** 63n);
const INT64_MAX = 2n ** 63n - 1n;

/**
 * absl::SimpleAtoi into int64, which is how TF Serving tells a version directory from anything else:
 * optional ASCII whitespace around, an optional sign, then decimal digits only. `00000123` → 123n,
 * ` 12 ` → 12n, `+5` → 5n, `-1` → -1n; `1.tmp`, `v1`, `0x10`, `` and out-of-range values → null.
 */
export function simpleAtoi64(text: string): bigint | null {
  const match = /^[ \t\n\v\f\r]*([+-]?)([0-9]+)[ \t\n\v\f\r]*$/.exec(text);
  if (match === null) return null;
  const value = match[1] === '-' ? -BigInt(match[2]!) : BigInt(match[2]!);
  return value < INT64_MIN || value > INT64_MAX ? null : value;
}

/** TF's io::JoinPath for a base path and a child name. */
export function joinPath(base: string, child: string): string {
  if (base === '') return child;
  return base.endsWith('/') ? base + child : `${base}/${child}`;
}

// Posix errno → TF status code (tsl ErrnoToCode), for the errors reading a directory or file can give.
const ERRNO_STATUS: Readonly<Record<string, { code: StatusCode; text: string }>> = {
  ENOENT: { code: 'NOT_FOUND', text: 'No such file or directory' },
  ENOTDIR: { code: 'FAILED_PRECONDITION', text: 'Not a directory' },
  EISDIR: { code: 'FAILED_PRECONDITION', text: 'Is a directory' },
  EACCES: { code: 'PERMISSION_DENIED', text: 'Permission denied' },
  EPERM: { code: 'PERMISSION_DENIED', text: 'Operation not permitted' },
  EROFS: { code: 'PERMISSION_DENIED', text: 'Read-only file system' },
  ENAMETOOLONG: { code: 'INVALID_ARGUMENT', text: 'File name too long' },
  EMFILE: { code: 'RESOURCE_EXHAUSTED', text: 'Too many open files' },
  ENFILE: { code: 'RESOURCE_EXHAUSTED', text: 'Too many open files in system' },
  ENOMEM: { code: 'RESOURCE_EXHAUSTED', text: 'Cannot allocate memory' },
  ELOOP: { code: 'UNKNOWN', text: 'Too many levels of symbolic links' },
  EIO: { code: 'UNKNOWN', text: 'Input/output error' },
};

/** A Node fs error worded as TF's IOError(context, errno): code from errno, message `<context>; <strerror>`. */
export function fsErrorToStatus(err: unknown, context: string): TfServeError {
  const errno = (err as NodeJS.ErrnoException | null)?.code;
  const known = errno !== undefined ? ERRNO_STATUS[errno] : undefined;
  const text = known?.text ?? (err instanceof Error ? err.message : String(err));
  return new TfServeError(known?.code ?? 'UNKNOWN', `${context}; ${text}`, { cause: err });
}

/**
 * The local path behind a base path, as TF's file system registry resolves it: plain paths and
 * `file://` URIs are local; any other scheme is a file system tfserve does not have.
 */
function localPath(uri: string): { path: string } | { error: string } {
  const match = /^([A-Za-z][A-Za-z0-9.]+):\/\/(.*)$/s.exec(uri);
  if (match === null) return { path: uri };
  const [, scheme, rest] = match as unknown as [string, string, string];
  if (scheme !== 'file') return { error: `UNIMPLEMENTED: File system scheme '${scheme}' not implemented (file: '${uri}')` };
  const slash = rest.indexOf('/');
  return { path: slash < 0 ? '' : rest.slice(slash) };
}

async function exists(path: string): Promise<boolean> {
  try {
    await fs.promises.access(path, fs.constants.F_OK);
    return true;
  } catch {
    return false;
  }
}

function describe(value: unknown): string {
  return `${String(value)} of type ${typeof value}`;
}

function checkServables(configs: unknown): ServableToMonitor[] {
  if (!Array.isArray(configs)) throw new TfServeError('INVALID_ARGUMENT', `Expected array for configs but received ${describe(configs)}`);
  return configs.map((config: unknown, i) => {
    const c = config as Partial<ServableToMonitor> | null;
    if (typeof c !== 'object' || c === null || typeof c.name !== 'string' || typeof c.basePath !== 'string') {
      throw new TfServeError('INVALID_ARGUMENT', `Expected {name, basePath, versionPolicy} for configs[${i}] but received ${describe(config)}`);
    }
    return { name: c.name, basePath: c.basePath, versionPolicy: checkVersionPolicy(c.versionPolicy, `configs[${i}].versionPolicy`) };
  });
}

/** The base path's local directory, or the INVALID_ARGUMENT TF reports when it does not exist. */
async function checkBasePath(basePath: string, servableName: string): Promise<string> {
  const local = localPath(basePath);
  let status: string | undefined;
  if ('error' in local) status = local.error;
  else if (!(await exists(local.path))) status = `NOT_FOUND: ${basePath} not found`;
  if (status !== undefined) {
    throw new TfServeError('INVALID_ARGUMENT', `Could not find base path ${basePath} for servable ${servableName} with error ${status}`);
  }
  return (local as { path: string }).path;
}

async function listChildren(basePath: string, dir: string): Promise<VersionListing> {
  let names: string[];
  try {
    names = await fs.promises.readdir(dir);
  } catch (err) {
    throw fsErrorToStatus(err, basePath);
  }
  // TF indexes a std::set of names: bytewise order decides which duplicate wins.
  names.sort((a, b) => Buffer.compare(Buffer.from(a), Buffer.from(b)));
  const versions = new Map<number, string>();
  const chosen = new Map<number, string>();
  const warnings: string[] = [];
  for (const name of names) {
    const parsed = simpleAtoi64(name);
    if (parsed === null) continue;
    if (parsed > BigInt(Number.MAX_SAFE_INTEGER) || parsed < BigInt(Number.MIN_SAFE_INTEGER)) {
      warnings.push(`Version directory ${name} under base path ${basePath} is outside the range of versions tfserve supports (-2^53+1 to 2^53-1); ignored.`);
      continue;
    }
    const version = Number(parsed);
    const previous = chosen.get(version);
    if (previous !== undefined) {
      warnings.push(
        `Duplicate version directories detected. Version ${version} will be loaded from ${name}, ${previous} will be ignored.`,
      );
    }
    chosen.set(version, name);
    versions.set(version, joinPath(basePath, name));
  }
  return { versions, names, warnings };
}

/**
 * Lists the version directories under `basePath` (direct children whose names parse as int64; files
 * count too, as in TF Serving). Rejects with INVALID_ARGUMENT `Could not find base path <p> for servable
 * <n> with error <status>` when the base path does not exist, or with the listing's I/O error.
 */
export async function listVersions(basePath: string, servableName: string): Promise<VersionListing> {
  if (typeof basePath !== 'string') throw new TfServeError('INVALID_ARGUMENT', `Expected string for basePath but received ${describe(basePath)}`);
  if (typeof servableName !== 'string') {
    throw new TfServeError('INVALID_ARGUMENT', `Expected string for servableName but received ${describe(servableName)}`);
  }
  return listChildren(basePath, await checkBasePath(basePath, servableName));
}

interface ServablePoll {
  event: AspiredVersionsEvent;
  warnings: string[];
}

/** One model's aspired versions, following PollFileSystemForServable step by step. */
async function pollServable(servable: ServableToMonitor): Promise<ServablePoll> {
  const { name, basePath, versionPolicy: policy } = servable;
  const dir = await checkBasePath(basePath, name);
  const ref = { name, basePath };
  if (policy.kind === 'specific') {
    // TF's fast path: when every requested version exists under its plain decimal name it skips the
    // listing (so no duplicate warnings) and serves those directories.
    const requested = [...new Set(policy.versions)];
    if (requested.length === 0) return { event: { model: name, versions: [] }, warnings: aspiredVersions(policy, [], ref).warnings };
    const found = await Promise.all(requested.map((v) => exists(joinPath(dir, String(v)))));
    if (found.every(Boolean)) {
      const versions = requested.sort((a, b) => a - b).map((version) => ({ version, path: joinPath(basePath, String(version)) }));
      return { event: { model: name, versions }, warnings: [] };
    }
  }
  const listing = await listChildren(basePath, dir);
  const result = aspiredVersions(policy, listing.versions.keys(), ref);
  return {
    event: { model: name, versions: result.versions.map((version) => ({ version, path: listing.versions.get(version)! })) },
    warnings: [...listing.warnings, ...result.warnings],
  };
}

export interface VersionSource {
  on(event: 'aspiredVersions', listener: (event: AspiredVersionsEvent) => void): this;
  once(event: 'aspiredVersions', listener: (event: AspiredVersionsEvent) => void): this;
  off(event: 'aspiredVersions', listener: (event: AspiredVersionsEvent) => void): this;
  emit(event: 'aspiredVersions', payload: AspiredVersionsEvent): boolean;
}

// The interface above only narrows EventEmitter's signatures for this class.
export class VersionSource extends EventEmitter {
  readonly #pollWaitSeconds: number;
  readonly #log: SourceLog;
  #servables: ServableToMonitor[];
  #generation = 0;
  #started = false;
  #stopped = false;
  #timer: NodeJS.Timeout | undefined;
  // Every poll chains on the previous one, so cycles never overlap.
  #tail: Promise<unknown> = Promise.resolve();
  #queued: Promise<boolean> | null = null;

  constructor(configs: readonly ServableToMonitor[], options: VersionSourceOptions = {}) {
    super();
    const { pollWaitSeconds = 1, log = SILENT_LOG } = options;
    if (typeof pollWaitSeconds !== 'number' || !Number.isFinite(pollWaitSeconds)) {
      throw new TfServeError('INVALID_ARGUMENT', `Expected finite number for pollWaitSeconds but received ${describe(pollWaitSeconds)}`);
    }
    if (typeof log !== 'object' || log === null || typeof log.warn !== 'function' || typeof log.error !== 'function' || typeof log.info !== 'function') {
      throw new TfServeError('INVALID_ARGUMENT', 'Expected {info, warn, error} functions for log');
    }
    this.#pollWaitSeconds = pollWaitSeconds;
    this.#log = log;
    this.#servables = checkServables(configs);
  }

  /** The models being monitored, as last set. */
  get configs(): readonly ServableToMonitor[] {
    return this.#servables;
  }

  /** Starts polling per `pollWaitSeconds`. Register 'aspiredVersions' listeners first. */
  start(): void {
    if (this.#started || this.#stopped) return;
    this.#started = true;
    if (this.#pollWaitSeconds < 0) return;
    if (this.#pollWaitSeconds === 0) {
      void this.poll();
      return;
    }
    const periodMs = this.#pollWaitSeconds * 1000;
    const tick = (): void => {
      const startedAt = Date.now();
      const rearm = (): void => {
        if (this.#stopped) return;
        this.#timer = setTimeout(tick, Math.max(0, periodMs - (Date.now() - startedAt)));
        this.#timer.unref();
      };
      this.poll().then(rearm, (err: unknown) => {
        this.#log.error(`Version poll failed: ${err instanceof Error ? err.message : String(err)}`);
        rearm();
      });
    };
    tick();
  }

  /**
   * Runs one poll cycle after any running one and resolves true when it emitted (false when a base path
   * failed or the source is stopped). Calls made while a cycle is waiting to start share that cycle.
   */
  poll(): Promise<boolean> {
    if (this.#stopped) return Promise.resolve(false);
    if (this.#queued !== null) return this.#queued;
    const queued: Promise<boolean> = this.#tail.then(() => {
      if (this.#queued === queued) this.#queued = null;
      return this.#cycle();
    });
    this.#queued = queued;
    this.#tail = queued.catch(() => undefined);
    return queued;
  }

  /**
   * Replaces the monitored models (a config reload). Models no longer listed get an empty aspired list
   * at once (when started); new and changed ones are polled at the next cycle.
   */
  updateConfigs(configs: readonly ServableToMonitor[]): void {
    const next = checkServables(configs);
    const kept = new Set(next.map((servable) => servable.name));
    const removed = this.#servables.filter((servable) => !kept.has(servable.name));
    this.#servables = next;
    this.#generation++;
    if (!this.#started || this.#stopped) return;
    for (const servable of removed) this.#emit({ model: servable.name, versions: [] });
  }

  /** Stops polling; resolves once a running poll has finished (it emits nothing more). */
  async stop(): Promise<void> {
    this.#stopped = true;
    if (this.#timer !== undefined) clearTimeout(this.#timer);
    this.#timer = undefined;
    await this.#tail;
  }

  async #cycle(): Promise<boolean> {
    for (;;) {
      if (this.#stopped) return false;
      const generation = this.#generation;
      const polls: ServablePoll[] = [];
      let failure: unknown;
      for (const servable of this.#servables) {
        try {
          const poll = await pollServable(servable);
          if (this.#stopped || generation !== this.#generation) break;
          for (const warning of poll.warnings) this.#log.warn(warning);
          polls.push(poll);
        } catch (err) {
          failure = err;
          break;
        }
      }
      if (this.#stopped) return false;
      // The config changed under this poll: its results may describe removed or changed models.
      if (generation !== this.#generation) continue;
      if (failure !== undefined) {
        const message = failure instanceof Error ? failure.message : String(failure);
        this.#log.error(`FileSystemStoragePathSource encountered a filesystem access error: ${message}`);
        return false;
      }
      for (const poll of polls) this.#emit(poll.event);
      return true;
    }
  }

  // Not EventEmitter#emit: one throwing listener must not keep the event from the others.
  #emit(event: AspiredVersionsEvent): void {
    for (const listener of this.rawListeners('aspiredVersions') as Array<(event: AspiredVersionsEvent) => void>) {
      try {
        listener.call(this, event);
      } catch (err) {
        this.#log.error(`aspiredVersions listener failed for model ${event.model}: ${err instanceof Error ? err.message : String(err)}`);
      }
    }
  }
}

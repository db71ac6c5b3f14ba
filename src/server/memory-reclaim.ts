/**
 * Gives memory back once large requests are over. After a 94 MB request the server stayed at 1.5 GB
 * RSS for as long as it was idle: nothing allocates then, so V8 never collects the dead ArrayBuffers
 * (the body, the parsed numbers, input and output tensors, the answer: ~1 GB, all outside the JS heap)
 * and glibc keeps what is freed in its arenas. So once the requests since the last reclaim have moved
 * at least `thresholdBytes` (bodies plus answers: one large request or many medium ones), and no request
 * has ended for `quietMs`, the reclaimer runs one full garbage collection and then malloc_trim
 * (native/memory.h). Under steady load the quiet time never comes and V8 collects as it allocates.
 * Both run on the event loop: a collection of a server's small heap takes ~10-30 ms, the trim ~1 ms
 * per GB it returns.
 *
 * What stays (measured, README "Memory"): TensorFlow's oneDNN CPU allocator keeps the largest run's
 * tensors cached for reuse (it never shrinks); the decode threads' heaps stay until those threads end.
 */
import v8 from 'node:v8';
import vm from 'node:vm';

export interface ReclaimOptions {
  /** A full garbage collection (exposeGc()); without one only malloc_trim runs. */
  readonly gc?: (() => void) | null;
  /** Returns freed native memory to the OS (the addon's trimMemory). */
  readonly trim: () => boolean;
  /** Fewer bytes moved since the last reclaim are not worth a collection (default 16 MiB). */
  readonly thresholdBytes?: number;
  /** Quiet time after the last large request before reclaiming (default 1 s). */
  readonly quietMs?: number;
}

/**
 * The full collection V8 exposes with --expose-gc, which this turns on when node was started without
 * it. Only the CLI calls this: it changes a V8 flag for the whole process.
 */
export function exposeGc(): (() => void) | null {
  const existing = (globalThis as { gc?: () => void }).gc;
  if (typeof existing === 'function') return existing;
  try {
    v8.setFlagsFromString('--expose-gc');
    const gc = vm.runInNewContext('gc') as unknown;
    return typeof gc === 'function' ? (gc as () => void) : null;
  } catch {
    return null;
  }
}

const TRIM_DELAY_MS = 100;

export class MemoryReclaimer {
  readonly #gc: (() => void) | null;
  readonly #trim: () => boolean;
  readonly #thresholdBytes: number;
  readonly #quietMs: number;
  #timer: NodeJS.Timeout | undefined;
  /** Bytes moved by the requests since the last reclaim. */
  #moved = 0;
  /** Reclaims done, for tests and logs. */
  runs = 0;

  constructor(options: ReclaimOptions) {
    this.#gc = options.gc ?? null;
    this.#trim = options.trim;
    this.#thresholdBytes = options.thresholdBytes ?? 16 * 1024 * 1024;
    this.#quietMs = options.quietMs ?? 1000;
  }

  /** A request ended that moved `bytes` (body and answer). */
  requestEnded(bytes: number): void {
    this.#moved += bytes;
    if (this.#moved < this.#thresholdBytes) return;
    clearTimeout(this.#timer);
    this.#timer = setTimeout(() => void this.reclaim(), this.#quietMs);
    this.#timer.unref();
  }

  /**
   * Collects now and trims TRIM_DELAY_MS later: the native memory of dead external buffers is freed by
   * their finalizers, which run on later turns of the loop than the collection itself.
   */
  reclaim(): Promise<void> {
    clearTimeout(this.#timer);
    this.#timer = undefined;
    this.#moved = 0;
    this.#gc?.();
    this.runs++;
    return new Promise((resolve) => {
      setTimeout(() => {
        this.#trim();
        resolve();
      }, TRIM_DELAY_MS);
    });
  }

  stop(): void {
    clearTimeout(this.#timer);
    this.#timer = undefined;
  }
}

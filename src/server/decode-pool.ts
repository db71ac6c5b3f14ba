/**
 * DecodePool: worker threads (decode-worker.ts) that decode large REST bodies and encode large predict
 * answers, so that one big request cannot stall the event loop for the small ones (a 94 MB body of 45
 * M numbers held it for seconds). Used by routes/offloaded.ts for bodies past the app's threshold.
 *
 * Threads start on first use, up to `threads`, run one job each at a time (others queue in order), and
 * end after `idleMs` without work: a thread's heap, where the parsed JSON of a big body lived, goes
 * back to the OS with it. Bodies and results move between threads by transfer, not copy. Two copies
 * are left on the event loop, each done in SLICE_BYTES slices with a turn of the loop between them,
 * since one memcpy into fresh memory costs ~0.55 ms per MB here (page faults): decoded inputs into
 * allocTensor memory (which TensorFlow then uses as it is), and TensorFlow's output tensors (native
 * memory, which cannot be transferred) to the thread that writes the JSON. A thread that dies fails
 * its job with INTERNAL and is replaced. KServe v2 infer bodies (routes/v2.ts) are decoded the same
 * way, their inputs then copied into allocTensor memory alike.
 */
import path from 'node:path';
import { Worker } from 'node:worker_threads';

import type { PredictFormat } from '../json/predict-codec.js';
import { DTYPES, isNumeric, type NumericDType } from '../model/dtypes.js';
import { TfServeError } from '../model/errors.js';
import type { SignatureInfo } from '../model/signature.js';
import { allocTensor, type Tensor, type TensorInput } from '../model/tensor.js';
import type { EncodedInferResponse } from '../json/v2-codec.js';
import type { InferRequest, InferResponse } from '../proto/kserve-codec.js';
import type { EncodeOutput, InferJob, WorkerReply, WorkerRequest } from './decode-worker.js';

export interface DecodePoolOptions {
  /** Worker threads at most. */
  readonly threads: number;
  /** A thread without work for this long ends (default 30 s). */
  readonly idleMs?: number;
}

/** A parsed predict body whose worker waits for the signature (decode) or to be let go (cancel). */
export interface ParsedPredict {
  readonly signatureName: string | undefined;
  readonly format: PredictFormat;
  decode(signature: SignatureInfo): Promise<Record<string, TensorInput>>;
  cancel(): void;
}

const WORKER_FILE = path.join(__dirname, 'decode-worker.js');

/** Bytes copied per turn of the event loop (~5 ms here). */
export const SLICE_BYTES = 8 * 1024 * 1024;

const nextTurn = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

function bytesOf(view: ArrayBufferView): Uint8Array {
  return new Uint8Array(view.buffer, view.byteOffset, view.byteLength);
}

/**
 * A decoded input in allocTensor memory, copied a slice per turn: predict() then hands it to
 * TensorFlow without the one big copy on the event loop it makes of other JS memory. Small, string
 * and non-numeric inputs stay as they are (TensorFlow's copy of them is short).
 */
async function intoTensorMemory<T extends TensorInput>(input: T): Promise<T> {
  const { dtype, data } = input;
  if (!ArrayBuffer.isView(data) || !isNumeric(dtype) || data.byteLength < SLICE_BYTES) return input;
  const tensor = allocTensor(dtype as NumericDType, [data.byteLength / DTYPES[dtype].byteSize]);
  const from = bytesOf(data);
  const to = bytesOf(tensor.data);
  for (let at = 0; at < from.length; at += SLICE_BYTES) {
    to.set(from.subarray(at, at + SLICE_BYTES), at);
    await nextTurn();
  }
  return { ...input, data: tensor.data } as T;
}

async function inputsIntoTensorMemory(inputs: Record<string, TensorInput>): Promise<Record<string, TensorInput>> {
  const result: Record<string, TensorInput> = {};
  for (const [name, input] of Object.entries(inputs)) result[name] = await intoTensorMemory(input);
  return result;
}

class PoolThread {
  readonly worker = new Worker(WORKER_FILE);
  #pending: { resolve(reply: WorkerReply): void; reject(error: Error): void } | null = null;
  idleTimer: NodeJS.Timeout | undefined;
  dead = false;

  constructor(onDeath: (thread: PoolThread) => void) {
    // Referenced only while it has a job: an idle thread does not keep the process alive.
    this.worker.unref();
    this.worker.on('message', (reply: WorkerReply) => {
      const pending = this.#pending;
      this.#pending = null;
      this.worker.unref();
      pending?.resolve(reply);
    });
    const die = (error: Error): void => {
      if (this.dead) return;
      this.dead = true;
      const pending = this.#pending;
      this.#pending = null;
      pending?.reject(new TfServeError('INTERNAL', `decode thread failed: ${error.message}`, { cause: error }));
      onDeath(this);
    };
    this.worker.on('error', die);
    this.worker.on('exit', (code) => die(new Error(`exited with code ${code}`)));
  }

  /** Sends a request; resolves with the thread's reply, rejecting with its error. */
  async call(request: WorkerRequest, transfer: ArrayBuffer[] = []): Promise<WorkerReply> {
    if (this.dead) throw new TfServeError('INTERNAL', 'decode thread failed');
    const reply = await new Promise<WorkerReply>((resolve, reject) => {
      this.#pending = { resolve, reject };
      this.worker.ref();
      this.worker.postMessage(request, transfer);
    });
    if (reply.type === 'error') throw new TfServeError(reply.code as TfServeError['code'], reply.message);
    return reply;
  }

  /** A message without an answer (a part of a later request, or a cancel). */
  send(request: WorkerRequest, transfer: ArrayBuffer[] = []): void {
    if (!this.dead) this.worker.postMessage(request, transfer);
  }
}

/** Sends `outputs` of SLICE_BYTES or more to `thread` a slice per turn; the rest (and stand-ins for those) to go with the request. */
async function sendParts(thread: PoolThread, outputs: Record<string, Tensor>): Promise<Record<string, EncodeOutput>> {
  const small: Record<string, EncodeOutput> = {};
  for (const [name, tensor] of Object.entries(outputs)) {
    const { dtype, shape, data } = tensor;
    if (!ArrayBuffer.isView(data) || data.byteLength < SLICE_BYTES) {
      small[name] = tensor;
      continue;
    }
    const bytes = bytesOf(data);
    for (let at = 0; at < bytes.length; at += SLICE_BYTES) {
      const part = bytes.slice(at, at + SLICE_BYTES);
      thread.send({ type: 'part', name, dtype, length: data.length, offset: at, bytes: part }, [part.buffer]);
      await nextTurn();
    }
    small[name] = { dtype, shape, data: null };
  }
  return small;
}

/** The body's memory, moved to the worker when it is the Buffer's own (a big body's always is). */
function ownBuffer(body: Uint8Array): ArrayBuffer[] {
  const buffer = body.buffer as ArrayBuffer;
  return body.byteOffset === 0 && body.byteLength === buffer.byteLength ? [buffer] : [];
}

export class DecodePool {
  readonly #threads: number;
  readonly #idleMs: number;
  readonly #idle: PoolThread[] = [];
  readonly #all = new Set<PoolThread>();
  /** Jobs waiting for a thread; null tells them the pool closed. */
  readonly #queue: ((thread: PoolThread | null) => void)[] = [];
  #closed = false;

  constructor(options: DecodePoolOptions) {
    this.#threads = Math.max(1, options.threads);
    this.#idleMs = options.idleMs ?? 30_000;
  }

  /** Threads running now (busy or idle). */
  get size(): number {
    return this.#all.size;
  }

  /** Step 1 of a predict: gunzip, budget, JSON parse. The worker stays with the job until decode() or cancel(). */
  async parsePredict(body: Uint8Array, gzip: boolean, budget: number): Promise<ParsedPredict> {
    const thread = await this.#acquire();
    let reply: WorkerReply;
    try {
      reply = await thread.call({ type: 'predict', body, gzip, budget }, ownBuffer(body));
    } catch (error) {
      this.#release(thread);
      throw error;
    }
    if (reply.type !== 'parsed') throw this.#unexpected(thread, reply);
    let settled = false;
    return {
      signatureName: reply.signatureName,
      format: reply.format,
      decode: async (signature) => {
        if (settled) throw new TfServeError('INTERNAL', 'decode after cancel');
        settled = true;
        let decoded: WorkerReply;
        try {
          decoded = await thread.call({ type: 'signature', signature });
        } finally {
          this.#release(thread);
        }
        if (decoded.type !== 'inputs') throw new TfServeError('INTERNAL', `decode thread answered ${decoded.type}`);
        return inputsIntoTensorMemory(decoded.inputs);
      },
      cancel: () => {
        if (settled) return;
        settled = true;
        thread.send({ type: 'cancel' });
        this.#release(thread);
      },
    };
  }

  /** A classify/regress body: gunzip, budget, JSON, Examples serialized (each context + example). */
  async examples(body: Uint8Array, gzip: boolean, budget: number): Promise<{ signatureName: string | undefined; serialized: Uint8Array[] }> {
    const reply = await this.#run({ type: 'examples', body, gzip, budget }, ownBuffer(body));
    if (reply.type !== 'examples') throw new TfServeError('INTERNAL', `decode thread answered ${reply.type}`);
    return { signatureName: reply.signatureName, serialized: reply.serialized };
  }

  /** A KServe v2 infer body: inflate, budget, decodeInferRequest; large inputs then in allocTensor memory. */
  async decodeInfer(job: InferJob): Promise<InferRequest> {
    const reply = await this.#run({ type: 'infer', ...job }, ownBuffer(job.body));
    if (reply.type !== 'infer') throw new TfServeError('INTERNAL', `decode thread answered ${reply.type}`);
    const inputs = [];
    for (const input of reply.request.inputs) inputs.push({ ...input, tensor: (await intoTensorMemory(input.tensor)) as Tensor });
    return { ...reply.request, inputs };
  }

  /**
   * encodePredictResponse on a thread. Big numeric outputs go there a slice per turn (copied into
   * transferred buffers), the rest with the request; the JSON moves back.
   */
  async encodePredict(format: PredictFormat, outputs: Record<string, Tensor>): Promise<Buffer> {
    const thread = await this.#acquire();
    let reply: WorkerReply;
    try {
      reply = await thread.call({ type: 'encode', format, outputs: await sendParts(thread, outputs) });
    } finally {
      this.#release(thread);
    }
    if (reply.type !== 'encoded') throw new TfServeError('INTERNAL', `decode thread answered ${reply.type}`);
    const { body } = reply;
    return Buffer.from(body.buffer, body.byteOffset, body.byteLength);
  }

  /** encodeInferResponse on a thread, outputs sent as encodePredict's are; `binary`: the outputs sent as binary data. */
  async encodeInfer(response: InferResponse, binary: readonly string[]): Promise<EncodedInferResponse> {
    const thread = await this.#acquire();
    let reply: WorkerReply;
    try {
      const small = await sendParts(thread, Object.fromEntries(response.outputs.map((output) => [output.name, output.tensor])));
      const outputs = response.outputs.map((output) => ({ ...output, tensor: small[output.name]! }));
      reply = await thread.call({ type: 'encode-infer', response: { ...response, outputs }, binary });
    } finally {
      this.#release(thread);
    }
    if (reply.type !== 'encoded-infer') throw new TfServeError('INTERNAL', `decode thread answered ${reply.type}`);
    const { body, headerLength } = reply;
    return { body: Buffer.from(body.buffer, body.byteOffset, body.byteLength), headerLength };
  }

  /** Ends every thread; jobs still queued fail with UNAVAILABLE. */
  async close(): Promise<void> {
    this.#closed = true;
    for (const waiter of this.#queue.splice(0)) waiter(null);
    await Promise.all([...this.#all].map((thread) => thread.worker.terminate()));
    this.#all.clear();
    this.#idle.length = 0;
  }

  async #run(request: WorkerRequest, transfer: ArrayBuffer[] = []): Promise<WorkerReply> {
    const thread = await this.#acquire();
    try {
      return await thread.call(request, transfer);
    } finally {
      this.#release(thread);
    }
  }

  #unexpected(thread: PoolThread, reply: WorkerReply): TfServeError {
    this.#release(thread);
    return new TfServeError('INTERNAL', `decode thread answered ${reply.type}`);
  }

  async #acquire(): Promise<PoolThread> {
    if (this.#closed) throw new TfServeError('UNAVAILABLE', 'the server is stopping');
    const idle = this.#idle.pop();
    if (idle !== undefined) {
      clearTimeout(idle.idleTimer);
      return idle;
    }
    if (this.#all.size < this.#threads) {
      const thread = new PoolThread((dead) => this.#forget(dead));
      this.#all.add(thread);
      return thread;
    }
    const thread = await new Promise<PoolThread | null>((resolve) => this.#queue.push(resolve));
    if (thread === null) throw new TfServeError('UNAVAILABLE', 'the server is stopping');
    return thread;
  }

  #release(thread: PoolThread): void {
    if (thread.dead || this.#closed) return;
    const next = this.#queue.shift();
    if (next !== undefined) {
      next(thread);
      return;
    }
    this.#idle.push(thread);
    thread.idleTimer = setTimeout(() => {
      const at = this.#idle.indexOf(thread);
      if (at < 0) return;
      this.#idle.splice(at, 1);
      this.#all.delete(thread);
      void thread.worker.terminate();
    }, this.#idleMs);
    thread.idleTimer.unref();
  }

  #forget(thread: PoolThread): void {
    this.#all.delete(thread);
    const at = this.#idle.indexOf(thread);
    if (at >= 0) this.#idle.splice(at, 1);
    clearTimeout(thread.idleTimer);
    // A job waiting for a thread gets a new one.
    const next = this.#queue.shift();
    if (next !== undefined && !this.#closed) {
      const fresh = new PoolThread((dead) => this.#forget(dead));
      this.#all.add(fresh);
      next(fresh);
    }
  }
}

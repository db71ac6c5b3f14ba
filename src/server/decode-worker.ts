/**
 * A decode worker of the REST server (decode-pool.ts starts it with worker_threads): the synchronous
 * work of a large request body — gunzip, the memory budget check, JSON parsing, tensor decoding,
 * tf.Example serialization — and of a large predict answer's JSON, done on this thread instead of the
 * server's event loop. The codecs are the same functions the event loop would call (src/json), so
 * texts, error order and values are identical.
 *
 * One job at a time. A predict job comes in two steps, so that errors keep TF Serving's order: the
 * body is parsed and the signature name sent back; the event loop resolves the model and signature
 * (its errors come next) and sends the signature, or cancels; then the inputs are decoded. Results go
 * back as plain typed arrays whose memory is transferred, not copied; errors as {code, message}.
 * A KServe v2 infer job is one step (its codec decodes without the signature): the Content-Encoding
 * undone, the budget checked, decodeInferRequest, the request back with its inputs' memory (and the
 * body, which BYTES elements are views of) transferred. A large v2 answer is written as a predict
 * one is: its big outputs arrive in parts, then encodeInferResponse runs here.
 */
import { parentPort } from 'node:worker_threads';

import { parseExamplesBody } from '../json/examples-codec.js';
import { decodePredictInputs, encodePredictResponse, type PredictBody, type PredictFormat, parsePredictBody } from '../json/predict-codec.js';
import type { ParseOptions } from '../json/parse.js';
import { type DType, DTYPES } from '../model/dtypes.js';
import { TfServeError } from '../model/errors.js';
import { binding } from '../model/native.js';
import type { SignatureInfo } from '../model/signature.js';
import type { Tensor, TensorInput } from '../model/tensor.js';
import { decodeInferRequest, encodeInferResponse } from '../json/v2-codec.js';
import type { InferOutput, InferRequest, InferResponse } from '../proto/kserve-codec.js';
import { serializeExamples } from '../proto/example.js';
import { checkDecodeBudget, checkInferBudget, inflateSync, inflateV2Sync, type V2Coding } from './request-budget.js';

export type WorkerRequest =
  | { readonly type: 'predict' | 'examples'; readonly body: Uint8Array; readonly gzip: boolean; readonly budget: number }
  | { readonly type: 'signature'; readonly signature: SignatureInfo }
  | ({ readonly type: 'infer' } & InferJob)
  | { readonly type: 'cancel' }
  /** A slice of a big output of the next encode, `offset` in bytes into its `length` elements. */
  | { readonly type: 'part'; readonly name: string; readonly dtype: DType; readonly length: number; readonly offset: number; readonly bytes: Uint8Array }
  /** Outputs whose data is null came in parts. */
  | { readonly type: 'encode'; readonly format: PredictFormat; readonly outputs: Record<string, EncodeOutput> }
  | { readonly type: 'encode-infer'; readonly response: Omit<InferResponse, 'outputs'> & { outputs: (Omit<InferOutput, 'tensor'> & { tensor: EncodeOutput })[] }; readonly binary: readonly string[] };

/** An output to encode: its tensor, or with data null one whose data came in parts. */
export type EncodeOutput = Tensor | { dtype: DType; shape: number[]; data: null };

export type WorkerReply =
  | { readonly type: 'parsed'; readonly signatureName: string | undefined; readonly format: PredictFormat }
  | { readonly type: 'inputs'; readonly inputs: Record<string, TensorInput> }
  | { readonly type: 'examples'; readonly signatureName: string | undefined; readonly serialized: Uint8Array[] }
  | { readonly type: 'encoded'; readonly body: Uint8Array }
  | { readonly type: 'infer'; readonly request: InferRequest }
  | { readonly type: 'encoded-infer'; readonly body: Uint8Array; readonly headerLength: number | undefined }
  | { readonly type: 'error'; readonly code: string; readonly message: string };

/** A KServe v2 infer body and what routes/v2.ts would decode it with on the event loop. */
export interface InferJob {
  readonly body: Uint8Array;
  readonly coding: V2Coding | null;
  /** Inference-Header-Content-Length, if any. */
  readonly header: string | undefined;
  /** The model the URL names, for error texts. */
  readonly model: string;
  readonly budget: number;
  /** The body limit, which an inflated body is held to as well. */
  readonly limit: number;
}

const json: ParseOptions = { numberScanner: binding().scanDenseNumbers };
/** The parsed body of the predict job waiting for its signature. */
let waiting: PredictBody | null = null;
/** The outputs of the next encode that arrive in parts, by name. */
const parts = new Map<string, ArrayBufferView>();

/**
 * The memory of `views` that can move to the event loop without a copy: all of it but slices of
 * Buffer's shared pool (small Buffers), which are cloned. A partial view of a big buffer (the JSON
 * writer's, sized by an estimate) moves with its whole buffer.
 */
function transferable(views: Iterable<ArrayBufferView>): ArrayBuffer[] {
  const buffers = new Set<ArrayBuffer>();
  for (const view of views) {
    const buffer = view.buffer as ArrayBuffer;
    if ((view.byteOffset === 0 && view.byteLength === buffer.byteLength) || buffer.byteLength !== Buffer.poolSize) buffers.add(buffer);
  }
  return [...buffers];
}

function inputViews(inputs: Iterable<TensorInput>): ArrayBufferView[] {
  const views: ArrayBufferView[] = [];
  for (const input of inputs) {
    if (ArrayBuffer.isView(input.data)) views.push(input.data);
    else for (const item of input.data) if (ArrayBuffer.isView(item)) views.push(item);
  }
  return views;
}

function body(request: { body: Uint8Array; gzip: boolean; budget: number }): Uint8Array {
  const bytes = request.gzip ? inflateSync(request.body, request.budget) : request.body;
  checkDecodeBudget(bytes, request.budget);
  return bytes;
}

function whole(name: string, output: EncodeOutput): Tensor {
  return output.data === null ? ({ dtype: output.dtype, shape: output.shape, data: parts.get(name) } as Tensor) : output;
}

function handle(request: WorkerRequest, reply: (message: WorkerReply, transfer?: ArrayBuffer[]) => void): void {
  switch (request.type) {
    case 'predict': {
      waiting = parsePredictBody(body(request), json);
      reply({ type: 'parsed', signatureName: waiting.signatureName, format: waiting.format });
      return;
    }
    case 'signature': {
      const parsed = waiting;
      waiting = null;
      if (parsed === null) throw new TfServeError('INTERNAL', 'decode worker: a signature without a parsed body');
      const inputs = decodePredictInputs(parsed, request.signature);
      reply({ type: 'inputs', inputs }, transferable(inputViews(Object.values(inputs))));
      return;
    }
    case 'infer': {
      const bytes = request.coding === null ? request.body : inflateV2Sync(request.body, request.coding, request.budget, request.limit);
      checkInferBudget(bytes, request.header, request.budget);
      // Plain typed arrays: allocTensor's external memory could not be transferred.
      const decoded = decodeInferRequest(bytes, request.header, request.model, json);
      reply({ type: 'infer', request: decoded }, transferable(inputViews(decoded.inputs.map((input) => input.tensor))));
      return;
    }
    case 'cancel':
      waiting = null;
      return;
    case 'examples': {
      const parsed = parseExamplesBody(body(request), json);
      const serialized = serializeExamples(parsed.context === undefined ? { examples: parsed.examples } : parsed);
      reply({ type: 'examples', signatureName: parsed.signatureName, serialized }, transferable(serialized));
      return;
    }
    case 'part': {
      let data = parts.get(request.name);
      if (data === undefined) {
        data = new DTYPES[request.dtype].array!(request.length);
        parts.set(request.name, data);
      }
      new Uint8Array(data.buffer, data.byteOffset, data.byteLength).set(request.bytes, request.offset);
      return;
    }
    case 'encode': {
      const outputs: Record<string, Tensor> = {};
      for (const [name, output] of Object.entries(request.outputs)) outputs[name] = whole(name, output);
      parts.clear();
      const encoded = encodePredictResponse(request.format, outputs);
      reply({ type: 'encoded', body: encoded }, transferable([encoded]));
      return;
    }
    case 'encode-infer': {
      const outputs = request.response.outputs.map((output) => ({ ...output, tensor: whole(output.name, output.tensor) }));
      parts.clear();
      const binary = new Set(request.binary);
      const { body: encoded, headerLength } = encodeInferResponse({ ...request.response, outputs }, (name) => binary.has(name));
      reply({ type: 'encoded-infer', body: encoded, headerLength }, transferable([encoded]));
      return;
    }
  }
}

const port = parentPort;
if (port !== null) {
  port.on('message', (request: WorkerRequest) => {
    try {
      handle(request, (message, transfer) => port.postMessage(message, transfer ?? []));
    } catch (error) {
      waiting = null;
      parts.clear();
      const known = error instanceof TfServeError;
      port.postMessage({
        type: 'error',
        code: known ? error.code : 'INTERNAL',
        message: known ? error.message : `decode worker: ${error instanceof Error ? error.message : String(error)}`,
      } satisfies WorkerReply);
    }
  });
}

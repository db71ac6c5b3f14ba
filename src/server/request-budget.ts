/**
 * The per-request memory budget (--rest_api_request_memory_budget_bytes): what one REST request may
 * make the server allocate to read it, checked before that memory is spent, so that a small gzip body
 * that inflates to gigabytes, or a body of millions of one-digit numbers, is answered 429
 * RESOURCE_EXHAUSTED instead of taking the process's memory.
 *
 * Two checks, in the order the memory would be spent:
 *  1. a gzip body is inflated with zlib's maxOutputLength: inflation stops at the budget (or at TF
 *     Serving's own 100 MiB, past which TF Serving reads the body as empty, as we do);
 *  2. the JSON is then estimated before it is parsed: it holds at most one value per separator
 *     (`,` `[` `{`), and each value costs at most BYTES_PER_JSON_VALUE once parsed and written into a
 *     tensor (a parsed number is 9 bytes, its tensor element up to 8), plus the text itself.
 * The estimate is an upper bound for numeric bodies (the big ones) and only counts bytes when the body
 * is large enough for the bound to matter. KServe v2 infer bodies get the same two checks: their
 * Content-Encoding (gzip or deflate) is undone within the budget, and the JSON before
 * Inference-Header-Content-Length is estimated (the binary tail costs its own bytes, already held).
 * Pure functions; the *Sync ones are for worker threads.
 */
import { promisify } from 'node:util';
import { gunzip as gunzipCallback, gunzipSync, inflate as inflateCallback, inflateSync as zlibInflateSync } from 'node:zlib';

import { inferJsonLength } from '../json/v2-codec.js';
import { TfServeError } from '../model/errors.js';

const gunzip = promisify(gunzipCallback);
const zlibInflate = promisify(inflateCallback);

/** The Content-Encodings a KServe v2 infer body may have, besides none. */
export type V2Coding = 'gzip' | 'deflate';

/** TF Serving gunzips request bodies up to this size; a larger one reads as empty. */
export const TF_SERVING_MAX_GUNZIPPED_BYTES = 100 * 1024 * 1024;
export const DEFAULT_REQUEST_MEMORY_BUDGET = 1024 * 1024 * 1024;
/** A parsed JSON number (Float64 value + integer flag) plus the widest tensor element, rounded up. */
export const BYTES_PER_JSON_VALUE = 24;

const FLAG = '--rest_api_request_memory_budget_bytes';

export function isGzip(contentEncoding: string | string[] | undefined): boolean {
  return /gzip/i.test(String(contentEncoding ?? ''));
}

function inflateLimit(budget: number): number {
  return Math.min(TF_SERVING_MAX_GUNZIPPED_BYTES, budget);
}

function overBudget(error: unknown, budget: number, limit: number): boolean {
  // zlib stops at maxOutputLength with ERR_BUFFER_TOO_LARGE.
  return (error as NodeJS.ErrnoException).code === 'ERR_BUFFER_TOO_LARGE' && budget < limit;
}

function inflatesPastBudget(budget: number): TfServeError {
  return new TfServeError('RESOURCE_EXHAUSTED', `Request body inflates to more than the per-request memory budget of ${budget} bytes (${FLAG})`);
}

function inflateFailure(error: unknown, budget: number): Buffer {
  if (overBudget(error, budget, TF_SERVING_MAX_GUNZIPPED_BYTES)) throw inflatesPastBudget(budget);
  // TF Serving: a body that does not gunzip (or gunzips past 100 MiB) is read as empty.
  return Buffer.alloc(0);
}

/** Inflates a gzip body on zlib's threads, within the budget. */
export async function inflate(body: Buffer, budget: number): Promise<Buffer> {
  try {
    return await gunzip(body, { maxOutputLength: inflateLimit(budget) });
  } catch (error) {
    return inflateFailure(error, budget);
  }
}

/** inflate() on the calling thread (a decode worker's). */
export function inflateSync(body: Uint8Array, budget: number): Buffer {
  try {
    return gunzipSync(body, { maxOutputLength: inflateLimit(budget) });
  } catch (error) {
    return inflateFailure(error, budget);
  }
}

function v2InflateFailure(error: unknown, coding: V2Coding, budget: number, limit: number): never {
  if (overBudget(error, budget, limit)) throw inflatesPastBudget(budget);
  throw new TfServeError('INVALID_ARGUMENT', `Unable to ${coding}-decompress the request body: ${(error as Error).message}`);
}

/**
 * A KServe v2 body's Content-Encoding undone on zlib's threads, within the budget and `limit` (the
 * body limit: Triton's reason to stop); a body that does not inflate is INVALID_ARGUMENT.
 */
export async function inflateV2(body: Buffer, coding: V2Coding, budget: number, limit: number): Promise<Buffer> {
  try {
    return await (coding === 'gzip' ? gunzip : zlibInflate)(body, { maxOutputLength: Math.min(budget, limit) });
  } catch (error) {
    return v2InflateFailure(error, coding, budget, limit);
  }
}

/** inflateV2() on the calling thread (a decode worker's). */
export function inflateV2Sync(body: Uint8Array, coding: V2Coding, budget: number, limit: number): Buffer {
  try {
    return (coding === 'gzip' ? gunzipSync : zlibInflateSync)(body, { maxOutputLength: Math.min(budget, limit) });
  } catch (error) {
    return v2InflateFailure(error, coding, budget, limit);
  }
}

/** An upper bound on the number of JSON values in `bytes`: one per separator, plus the first. */
export function jsonValueBound(bytes: Uint8Array): number {
  let count = 1;
  for (let i = 0; i < bytes.length; i++) {
    const c = bytes[i]!;
    if (c === 0x2c || c === 0x5b || c === 0x7b) count++;
  }
  return count;
}

/** Throws RESOURCE_EXHAUSTED when decoding `body` could need more than `budget` bytes. */
export function checkDecodeBudget(body: Uint8Array, budget: number): void {
  // Every byte could be a separator: a body this small cannot estimate past the budget.
  if (body.length + (body.length + 1) * BYTES_PER_JSON_VALUE <= budget) return;
  const values = jsonValueBound(body);
  const estimate = body.length + values * BYTES_PER_JSON_VALUE;
  if (estimate <= budget) return;
  throw new TfServeError(
    'RESOURCE_EXHAUSTED',
    `Request would need about ${estimate} bytes to decode (${body.length} bytes of JSON, up to ${values} values), ` +
      `more than the per-request memory budget of ${budget} bytes (${FLAG})`,
  );
}

/**
 * checkDecodeBudget for a KServe v2 infer body's JSON, the part before Inference-Header-Content-Length
 * (`header`); a header decodeInferRequest would refuse is refused here first, with its text.
 */
export function checkInferBudget(body: Uint8Array, header: string | undefined, budget: number): void {
  checkDecodeBudget(body.subarray(0, inferJsonLength(header, body.byteLength)), budget);
}

/**
 * The KServe v2 / Open Inference Protocol REST routes beside TF Serving's /v1 (KSERVE_V2_SPEC.md A.1):
 *   GET  /v2/health/live, /v2/health/ready         200 empty, or 400 empty when not
 *   GET  /v2                                        server metadata
 *   GET  /v2/models/<m>[/versions/<v>]              model metadata (?signature_name= picks the signature)
 *   GET  /v2/models/<m>[/versions/<v>]/ready        200 empty, or 400 {"error"} saying why not
 *   POST /v2/models/<m>[/versions/<v>]/infer        JSON or the binary tensor data extension
 * A thin adapter: paths here, bodies in src/json/v2-codec.ts, semantics in
 * src/serving/open-inference.ts. Errors go through the server's one error handler ({"error"} with the
 * status of their code); any other /v2 path is 404 "Not Found", a known path with another method 405
 * "Method Not Allowed", as Triton answers. Versions are decimal digits, as Triton's routes take them.
 * Infer bodies are held to the per-request memory budget as /v1's are (request-budget.ts): inflated
 * within it, their JSON estimated before it is parsed. Compressed bodies and bodies of offloadBytes or
 * more are inflated, checked and decoded on a DecodePool thread, the same functions in the same order;
 * answers of ENCODE_OFFLOAD_VALUES JSON values or more are written there too.
 */
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';

import { binaryOutputs, decodeInferRequest, encodeInferResponse, encodeModelMetadata, encodeServerMetadata, HEADER_LENGTH } from '../../json/v2-codec.js';
import { TfServeError } from '../../model/errors.js';
import type { InferRequest, InferResponse } from '../../proto/kserve-codec.js';
import { type OpenInference, SIGNATURE_PARAMETER } from '../../serving/open-inference.js';
import type { DecodePool } from '../decode-pool.js';
import { errorBody } from '../http-status.js';
import { checkInferBudget, inflateV2, type V2Coding } from '../request-budget.js';
import type { RestContext } from './context.js';
import { ENCODE_OFFLOAD_VALUES } from './offloaded.js';

export interface V2BodyOptions {
  /** Threads for compressed and large infer bodies; null: every body on the event loop. */
  readonly pool: DecodePool | null;
  /** Infer bodies of at least this many bytes go to the pool. */
  readonly offloadBytes: number;
  /** The per-request memory budget in bytes. */
  readonly memoryBudget: number;
}

type V2Route =
  | { readonly kind: 'live' | 'ready' | 'server' }
  | { readonly kind: 'model' | 'model-ready' | 'infer'; readonly name: string; readonly version?: string };

const VERSION = /^[0-9]+$/;

/** The route a /v2 path names, or null for none. */
export function parseV2Path(path: string): V2Route | null {
  if (path === '/v2') return { kind: 'server' };
  if (path === '/v2/health/live') return { kind: 'live' };
  if (path === '/v2/health/ready') return { kind: 'ready' };
  const segments = path.split('/').slice(2);
  if (segments[0] !== 'models' || segments.length < 2) return null;
  let name: string;
  try {
    name = decodeURIComponent(segments[1]!);
  } catch {
    return null;
  }
  let rest = segments.slice(2);
  let version: string | undefined;
  if (rest[0] === 'versions' && rest.length >= 2) {
    if (!VERSION.test(rest[1]!)) return null;
    version = rest[1]!;
    rest = rest.slice(2);
  }
  if (name === '' || rest.length > 1) return null;
  const kind = rest.length === 0 ? 'model' : rest[0] === 'ready' ? 'model-ready' : rest[0] === 'infer' ? 'infer' : null;
  if (kind === null) return null;
  return version === undefined ? { kind, name } : { kind, name, version };
}

function sendJson(reply: FastifyReply, status: number, body: Buffer | string): FastifyReply {
  // A Buffer, so that fastify does not append "; charset=utf-8".
  return reply.code(status).type('application/json').send(typeof body === 'string' ? Buffer.from(body, 'utf8') : body);
}

/** The values an answer writes as JSON text (its binary outputs are copied, not written). */
function jsonValues(response: InferResponse, binary: (name: string) => boolean): number {
  let count = 0;
  for (const output of response.outputs) if (!binary(output.name)) count += output.tensor.data.length;
  return count;
}

/** The body's Content-Encoding, null for none; undone before the header length applies. */
function contentCoding(request: FastifyRequest): V2Coding | null {
  const encoding = String(request.headers['content-encoding'] ?? '').trim().toLowerCase();
  if (encoding === '' || encoding === 'identity') return null;
  if (encoding !== 'gzip' && encoding !== 'deflate') throw new TfServeError('UNIMPLEMENTED', `unsupported Content-Encoding: ${encoding}`);
  return encoding;
}

export function registerV2Routes(app: FastifyInstance, v2: OpenInference, context: RestContext, bodies: V2BodyOptions): void {
  const bodyLimit = app.initialConfig.bodyLimit ?? 1024 * 1024;
  const { pool, offloadBytes, memoryBudget } = bodies;

  async function inferRequestOf(request: FastifyRequest, model: string): Promise<InferRequest> {
    const raw = Buffer.isBuffer(request.body) ? request.body : Buffer.alloc(0);
    const coding = contentCoding(request);
    const value = request.headers[HEADER_LENGTH];
    const header = Array.isArray(value) ? value.join(',') : value;
    if (pool !== null && (coding !== null || raw.length >= offloadBytes)) {
      // The body's memory moves to the decode thread; what reads its size later takes Content-Length.
      request.body = undefined;
      return pool.decodeInfer({ body: raw, coding, header, model, budget: memoryBudget, limit: bodyLimit });
    }
    const body = coding === null ? raw : await inflateV2(raw, coding, memoryBudget, bodyLimit);
    checkInferBudget(body, header, memoryBudget);
    return decodeInferRequest(body, header, model, context.json);
  }

  async function serve(request: FastifyRequest, reply: FastifyReply): Promise<FastifyReply> {
    const [path, query = ''] = request.url.split('?', 2) as [string, string?];
    const route = parseV2Path(path);
    if (route === null) return sendJson(reply, 404, errorBody('Not Found'));
    if (request.method !== (route.kind === 'infer' ? 'POST' : 'GET')) return sendJson(reply, 405, errorBody('Method Not Allowed'));
    switch (route.kind) {
      case 'live':
        return reply.code(v2.serverLive() ? 200 : 400).send();
      case 'ready':
        return reply.code(v2.serverReady() ? 200 : 400).send();
      case 'server':
        return sendJson(reply, 200, encodeServerMetadata(v2.serverMetadata()));
      case 'model-ready': {
        const { ready, reason } = v2.modelReady(route);
        return ready ? reply.code(200).send() : sendJson(reply, 400, errorBody(reason));
      }
      case 'model': {
        const signatureName = new URLSearchParams(query).get(SIGNATURE_PARAMETER) || undefined;
        return sendJson(reply, 200, encodeModelMetadata(v2.modelMetadata(route, signatureName)));
      }
      case 'infer': {
        const inferRequest = await inferRequestOf(request, route.name);
        const { observation } = request;
        const response = await v2.infer(route, inferRequest, observation === undefined ? context.call : { ...context.call, observation });
        const binary = binaryOutputs(inferRequest);
        const encoded = pool !== null && jsonValues(response, binary) >= ENCODE_OFFLOAD_VALUES
          ? await pool.encodeInfer(response, response.outputs.filter((output) => binary(output.name)).map((output) => output.name))
          : encodeInferResponse(response, binary);
        if (encoded.headerLength === undefined) return sendJson(reply, 200, encoded.body);
        return reply.code(200).header('Inference-Header-Content-Length', encoded.headerLength).type('application/octet-stream').send(encoded.body);
      }
    }
  }

  app.all('/v2', serve);
  app.all('/v2/*', serve);
}

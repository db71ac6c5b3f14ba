/**
 * Observes every REST request under /v1 (metrics, access log, request logging; see
 * src/serving/call-observer.ts) from its arrival to its last byte, so that requests the serving layer
 * never sees (a malformed URL, a body that is not JSON) count too, as TF Serving counts every request
 * its REST handler gets; and KServe v2's inference requests (POST /v2/models/<m>/infer, API `infer`),
 * not its health and metadata probes. The observation rides on the request (`request.observation`);
 * the routes hand it on in CallOptions, and the serving layer adds the version, the run and the exchange.
 *
 * The TF status a request ended with is the error its handler threw, converted as the error handler
 * converts it; a request answered without a thrown error but not with 200 (URL errors TF Serving
 * answers with an empty body) ends with INVALID_ARGUMENT; one whose client went away before the
 * answer, CANCELLED. The observation ends on the response's 'close'. CORS preflights are not requests
 * TF Serving's handler sees, and are not observed.
 */
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';

import { TfServeError } from '../../model/errors.js';
import type { ObservedCall } from '../../serving/call-observer.js';
import type { Inference } from '../../serving/inference.js';
import { parseRestUrl } from '../rest-url.js';
import { parseV2Path } from '../routes/v2.js';
import { toTfServeError } from './errors.js';

declare module 'fastify' {
  interface FastifyRequest {
    observation: ObservedCall | undefined;
    observedError: unknown;
  }
}

const V1_PATH = /^\/v1\//i;

/** The model and API label of an observed request, or null for one that is not observed. */
function describe(request: FastifyRequest): { model: string; api: string } | null {
  if (request.method === 'OPTIONS') return null;
  const url = request.originalUrl;
  if (url.startsWith('/v2/')) {
    const route = request.method === 'POST' ? parseV2Path(url.split('?', 1)[0]!) : null;
    return route?.kind === 'infer' ? { model: route.name, api: 'infer' } : null;
  }
  if (!V1_PATH.test(url)) return null;
  try {
    const api = parseRestUrl(request.method, request.originalUrl);
    return { model: api.model, api: api.kind === 'status' || api.kind === 'metadata' ? '' : api.kind };
  } catch {
    return { model: '', api: '' };
  }
}

function byteLength(value: unknown): number | undefined {
  const n = Number(Array.isArray(value) ? value[0] : value);
  return Number.isFinite(n) && n >= 0 ? n : undefined;
}

function outcome(request: FastifyRequest, reply: FastifyReply): unknown {
  if (request.observedError !== undefined) return toTfServeError(request.observedError as Error);
  if (reply.statusCode === 200) return null;
  return new TfServeError('INVALID_ARGUMENT', `HTTP ${reply.statusCode}`);
}

export function registerObservation(app: FastifyInstance, inference: Inference): void {
  app.decorateRequest('observation', undefined);
  app.decorateRequest('observedError', undefined);
  // Callback hooks: fastify runs them without a promise per hook and request. The response's 'close'
  // comes once whether the response was sent or the client went away first.
  app.addHook('onRequest', (request, reply, done) => {
    const described = describe(request);
    if (described !== null) {
      const observation = inference.startCall({ entrypoint: 'REST', api: described.api, model: described.model, requestId: String(request.id) });
      if (observation !== undefined) {
        request.observation = observation;
        reply.raw.once('close', () => end(observation, request, reply));
      }
    }
    done();
  });
  app.addHook('onError', (request, _reply, error, done) => {
    request.observedError = error;
    done();
  });
}

function end(observation: ObservedCall, request: FastifyRequest, reply: FastifyReply): void {
  observation.httpStatus = reply.statusCode;
  observation.bytesIn = Buffer.isBuffer(request.body) ? request.body.length : byteLength(request.headers['content-length']) ?? 0;
  observation.bytesOut = byteLength(reply.getHeader('content-length'));
  observation.end(reply.raw.writableEnded ? outcome(request, reply) : new TfServeError('CANCELLED', 'The client closed the connection'));
}

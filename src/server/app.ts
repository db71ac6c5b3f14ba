/**
 * buildApp: the fastify application that speaks TensorFlow Serving's REST API. It never listens (the
 * CLI does), so tests drive it with app.inject. One path per request:
 *   HTTP -> rest-url (which API, model, version/label) -> body (gunzip) -> route: JSON decode (src/json)
 *   -> serving layer (src/serving/inference.ts; the run on a native thread) -> route: JSON encode.
 * Bodies are read as raw Buffers: our JSON parser accepts NaN/Infinity and reports TF Serving's texts.
 * Every body is held to the per-request memory budget (request-budget.ts) before it is parsed; large
 * and gzip JSON bodies are gunzipped, parsed and decoded on DecodePool threads (routes/offloaded.ts).
 * The one exception to "every body is JSON": a :predict whose Content-Type is image/* or
 * multipart/form-data goes to routes/predict-image.ts (tfserve.json preprocessing); every other
 * Content-Type, or none, is parsed as JSON as TF Serving does.
 * Beside /v1, the KServe v2 / Open Inference Protocol routes answer every /v2 path (routes/v2.ts), their
 * infer bodies held to the same budget and sent to the same DecodePool.
 */
import os from 'node:os';

import Fastify, { LogController, type FastifyInstance, type FastifyReply, type FastifyRequest, type FastifyServerOptions } from 'fastify';

import { invalidArgument, TfServeError } from '../model/errors.js';
import { binding } from '../model/native.js';
import { allocTensor } from '../model/tensor.js';
import { Cancellation, type Inference } from '../serving/inference.js';
import { OpenInference } from '../serving/open-inference.js';
import { clientErrorHandler, checkIntervalMs, DEFAULT_HTTP_TIMEOUTS, type HttpTimeouts, trackConnections } from './connections.js';
import { DecodePool } from './decode-pool.js';
import { checkImageLimits, type ImageLimits } from './image-config.js';
import { MemoryReclaimer } from './memory-reclaim.js';
import { registerErrorHandler, sendError } from './plugins/errors.js';
import { registerObservation } from './plugins/observe.js';
import { checkDecodeBudget, DEFAULT_REQUEST_MEMORY_BUDGET, inflate, isGzip } from './request-budget.js';
import { parseRestUrl, type RestRequest, UrlParseError } from './rest-url.js';
import { classifyRegressRoute } from './routes/classify-regress.js';
import type { RestContext, RestTarget } from './routes/context.js';
import { metadataRoute, statusRoute } from './routes/model-info.js';
import { type MonitoringRouteOptions, registerMonitoringRoute } from './routes/monitoring.js';
import { predictRoute } from './routes/predict.js';
import { offloadedExamplesRoute, offloadedPredictRoute } from './routes/offloaded.js';
import { imageRequestKind, predictImageRoute } from './routes/predict-image.js';
import { registerV2Routes } from './routes/v2.js';

export interface AppOptions {
  /** The serving layer every route calls. */
  inference: Inference;
  /** TF session-run timeout for REST calls (--rest_api_timeout_in_ms); 0 disables it. */
  restTimeoutMs?: number;
  /** Add TF Serving's CORS headers (--rest_api_enable_cors_support). */
  cors?: boolean;
  /** Largest request body in bytes. */
  bodyLimit?: number;
  /** Defaults for image requests (a model's tfserve.json "limits" override them); see image-config.ts. */
  imageLimits?: Partial<ImageLimits>;
  /** Most memory one request may need to be decoded, in bytes (request-budget.ts; default 1 GiB). */
  memoryBudget?: number;
  /** Threads that decode large bodies off the event loop (default decodeThreads(); 0: none). */
  decodeThreads?: number;
  /** JSON bodies of at least this many bytes, and every gzip one, go to those threads (default 1 MiB). */
  offloadBytes?: number;
  /**
   * The full garbage collection run after large requests (memory-reclaim.ts; the CLI passes
   * exposeGc()); default globalThis.gc when node runs with --expose-gc. null: malloc_trim only.
   */
  reclaimGc?: (() => void) | null;
  /** How long a client may take to send a request, and keep-alive idle time (connections.ts). */
  timeouts?: Partial<HttpTimeouts>;
  logger?: FastifyServerOptions['loggerInstance'] | boolean;
  /** The KServe v2 routes' serving layer (/v2/...); default: over `inference`, ready when its manager's models are. */
  openInference?: OpenInference;
  /** The Prometheus page (--monitoring_config_file), when enabled. */
  monitoring?: MonitoringRouteOptions;
}

/**
 * fastify logs two info lines per request, which would cost more than a tiny model's run (TF Serving
 * logs none): they go to debug (--log_level=debug). Failed requests still log through the error handler.
 */
class DebugRequestLogs extends LogController {
  override incomingRequest(request: FastifyRequest): void {
    request.log.debug({ req: request }, 'incoming request');
  }

  override requestCompleted(error: Error | null | undefined, request: FastifyRequest, reply: FastifyReply): void {
    if (error) reply.log.error({ res: reply, err: error, responseTime: reply.elapsedTime }, 'request errored');
    else reply.log.debug({ res: reply, responseTime: reply.elapsedTime }, 'request completed');
  }
}

export const DEFAULT_BODY_LIMIT = 256 * 1024 * 1024;
export const DEFAULT_OFFLOAD_BYTES = 1024 * 1024;

/** Half the CPUs, 1 to 4: TensorFlow's own threads want the rest. */
export function defaultDecodeThreads(): number {
  return Math.min(4, Math.max(1, Math.floor((os.availableParallelism?.() ?? os.cpus().length) / 2)));
}

// TF Serving hands every path that FullMatches (?i)/v1/.* to its REST handler.
const V1_PATH = /^\/v1\//i;
const V1_ROUTE = '/v1/';

const NOT_FOUND_HTML =
  '<!DOCTYPE html>\n<html><head><title>404 Not Found</title></head><body><h1>Not Found</h1>' +
  '<p>The requested URL was not found on this server.</p></body></html>\n';

function rawBody(request: FastifyRequest): Buffer {
  return Buffer.isBuffer(request.body) ? request.body : Buffer.alloc(0);
}

export async function buildApp(options: AppOptions): Promise<FastifyInstance> {
  const { inference, restTimeoutMs = 30_000, cors = false, bodyLimit = DEFAULT_BODY_LIMIT } = options;
  const { memoryBudget = DEFAULT_REQUEST_MEMORY_BUDGET, offloadBytes = DEFAULT_OFFLOAD_BYTES } = options;
  const decodeThreads = options.decodeThreads ?? defaultDecodeThreads();
  const logger = options.logger ?? false;
  const imageLimits = checkImageLimits(options.imageLimits, 'imageLimits', invalidArgument);
  const timeouts: HttpTimeouts = { ...DEFAULT_HTTP_TIMEOUTS, ...options.timeouts };
  const app = Fastify({
    ...(typeof logger === 'object' ? { loggerInstance: logger } : { logger }),
    bodyLimit,
    http: { headersTimeout: timeouts.headersMs, connectionsCheckingInterval: checkIntervalMs(timeouts) },
    requestTimeout: timeouts.receiveMs,
    keepAliveTimeout: timeouts.keepAliveMs,
    clientErrorHandler: clientErrorHandler(timeouts),
    // Every /v1 request goes to one route whatever its path: rest-url parses the raw target itself
    // (request.originalUrl), as TF Serving does. The router sees the prefix in lower case and every '%'
    // escaped, so it matches any case and never rejects a bad percent escape; logs stay readable.
    rewriteUrl: (req) => {
      const url = req.url ?? '/';
      return V1_PATH.test(url) ? `${V1_ROUTE}${url.slice(V1_ROUTE.length).replace(/%/g, '%25')}` : url;
    },
    // A path the router cannot decode is not under /v1 (those were rewritten): libevent's 404.
    frameworkErrors: (_error, _request, reply) => {
      void (reply as FastifyReply).code(404).type('text/html').send(NOT_FOUND_HTML);
    },
    exposeHeadRoutes: false,
    logController: new DebugRequestLogs(),
    // Requests that arrive while the server drains get our 503 (below), in the {"error"} shape.
    return503OnClosing: false,
    requestIdHeader: 'x-request-id',
  });

  const connections = trackConnections(app.server);
  app.addHook('onRequest', async (_request, reply) => {
    if (!connections.draining) return;
    // The tracker has already asked for Connection: close on this response.
    return sendError(reply, new TfServeError('UNAVAILABLE', 'The server is shutting down'));
  });
  const pool = decodeThreads > 0 ? new DecodePool({ threads: decodeThreads, idleMs: 10_000 }) : null;
  if (pool !== null) app.addHook('onClose', () => pool.close());
  const defaultGc = (globalThis as { gc?: () => void }).gc ?? null;
  const reclaimer = new MemoryReclaimer({ gc: options.reclaimGc === undefined ? defaultGc : options.reclaimGc, trim: () => binding().trimMemory() });
  app.addHook('onClose', async () => reclaimer.stop());
  app.addHook('onResponse', async (request, reply) => {
    const bytes = Number(request.headers['content-length'] ?? 0) + Number(reply.getHeader('content-length') ?? 0);
    reclaimer.requestEnded(Number.isFinite(bytes) ? bytes : 0);
  });
  app.removeAllContentTypeParsers();
  app.addContentTypeParser('*', { parseAs: 'buffer', bodyLimit }, (_request, body, done) => done(null, body));
  registerErrorHandler(app, { bodyLimit });
  if (inference.observing) registerObservation(app, inference);
  if (options.monitoring) registerMonitoringRoute(app, options.monitoring);

  if (cors) {
    app.addHook('onSend', async (_request, reply) => {
      reply.header('Access-Control-Allow-Origin', '*');
      reply.header('Access-Control-Allow-Methods', 'POST, GET');
      reply.header('Access-Control-Allow-Headers', 'Content-Type');
    });
  }

  app.setNotFoundHandler((request, reply) => {
    // A /v1 request with a method the router does not know still gets TF Serving's "Malformed request".
    if (request.url.startsWith(V1_ROUTE)) return serve(request, reply);
    return reply.code(404).type('text/html').send(NOT_FOUND_HTML);
  });

  const shared: RestContext = {
    inference,
    // Big numeric arrays in request bodies are read by native code, and tensors are decoded into
    // aligned native memory that TensorFlow uses as it is: the server needs the addon anyway.
    json: { numberScanner: binding().scanDenseNumbers, allocate: (dtype, length) => allocTensor(dtype, [length]).data },
    call: { timeoutMs: restTimeoutMs > 0 ? restTimeoutMs : undefined },
  };

  /** `context` with a call signal that fires when the client goes away before the answer is sent. */
  function cancellable(context: RestContext, reply: FastifyReply): RestContext {
    const cancellation = new Cancellation();
    reply.raw.once('close', () => {
      if (!reply.raw.writableFinished) cancellation.abort();
    });
    return { ...context, call: { ...context.call, signal: cancellation } };
  }

  async function handle(api: RestRequest, request: FastifyRequest, reply: FastifyReply): Promise<Buffer | string> {
    const observation = request.observation;
    const context = observation === undefined ? shared : { ...shared, call: { ...shared.call, observation } };
    const target: RestTarget = { name: api.model, version: api.version, versionLabel: api.label };
    if (api.kind === 'status') return statusRoute(context, target);
    if (api.kind === 'metadata') return metadataRoute(context, target);
    const running = cancellable(context, reply);
    // The body is parsed before the servable is resolved: TF Serving reports JSON errors first.
    const raw = rawBody(request);
    const gzip = isGzip(request.headers['content-encoding']);
    const contentType = request.headers['content-type'];
    const imageKind = api.kind === 'predict' ? imageRequestKind(contentType) : null;
    if (pool !== null && imageKind === null && (gzip || raw.length >= offloadBytes)) {
      const offloaded = { bytes: raw, gzip, budget: memoryBudget };
      // The body's memory moves to the decode thread; what reads its size later takes Content-Length.
      request.body = undefined;
      if (api.kind === 'predict') return offloadedPredictRoute(running, pool, target, offloaded);
      return offloadedExamplesRoute(api.kind, running, pool, target, offloaded);
    }
    const body = gzip ? await inflate(raw, memoryBudget) : raw;
    if (imageKind !== null) return predictImageRoute(imageKind, running, target, body, contentType!, imageLimits);
    checkDecodeBudget(body, memoryBudget);
    if (api.kind === 'predict') return predictRoute(running, target, body);
    return classifyRegressRoute(api.kind, running, target, body);
  }

  async function serve(request: FastifyRequest, reply: FastifyReply): Promise<FastifyReply> {
    if (request.method === 'OPTIONS') {
      // CORS preflight bypasses the handler in TF Serving: an empty body either way.
      const origin = String(request.headers.origin ?? '');
      return reply.code(/https?:\/\//.test(origin) ? 200 : 400).send();
    }
    let api: RestRequest;
    try {
      api = parseRestUrl(request.method, request.originalUrl);
    } catch (error) {
      if (!(error instanceof UrlParseError)) throw error;
      // TF Serving returns these before it writes the error body.
      request.log.info({ code: error.code, status: 400 }, error.message);
      return reply.code(400).type('application/json').send(Buffer.alloc(0));
    }
    const body = await handle(api, request, reply);
    // A Buffer, so that fastify does not append "; charset=utf-8": TF Serving sends exactly application/json.
    return reply.code(200).type('application/json').send(typeof body === 'string' ? Buffer.from(body, 'utf8') : body);
  }

  app.all(`${V1_ROUTE}*`, serve);
  registerV2Routes(app, options.openInference ?? new OpenInference({ inference }), shared, { pool, offloadBytes, memoryBudget });
  return app;
}

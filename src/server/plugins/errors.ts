/**
 * One error handler for the whole server: TfServeError codes map to HTTP statuses as TF Serving maps
 * them, bodies are `{"error": message}`, and fastify's own errors (body too large, bad content type)
 * are translated into the same shape. Client errors log at info, server errors at error.
 */
import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';

import { TfServeError } from '../../model/errors.js';
import { errorBody, STATUS_TO_HTTP } from '../http-status.js';

export interface ErrorHandlerOptions {
  /** The server's body limit in bytes, which the 429 for a larger body names. */
  readonly bodyLimit: number;
}

/** `options` names the body limit in the 429 text (the observation of a request can do without). */
export function toTfServeError(error: FastifyError | TfServeError | Error, options?: ErrorHandlerOptions): TfServeError {
  if (error instanceof TfServeError) return error;
  const fastifyError = error as FastifyError;
  switch (fastifyError.code) {
    case 'FST_ERR_CTP_BODY_TOO_LARGE':
      return new TfServeError('RESOURCE_EXHAUSTED', bodyTooLargeMessage(options?.bodyLimit));
    case 'FST_ERR_CTP_INVALID_MEDIA_TYPE':
    case 'FST_ERR_CTP_INVALID_CONTENT_LENGTH':
    case 'FST_ERR_CTP_EMPTY_JSON_BODY':
      return new TfServeError('INVALID_ARGUMENT', fastifyError.message);
    default:
      if (typeof fastifyError.statusCode === 'number' && fastifyError.statusCode < 500) {
        return new TfServeError('INVALID_ARGUMENT', fastifyError.message);
      }
      return new TfServeError('INTERNAL', error.message, { cause: error });
  }
}

/** fastify's own text ("Request body is too large") names no limit. */
export function bodyTooLargeMessage(bodyLimit: number | undefined): string {
  if (bodyLimit === undefined) return 'Request body is larger than the server\'s limit (--rest_api_body_limit_bytes)';
  return `Request body is larger than the limit of ${bodyLimit} bytes (--rest_api_body_limit_bytes)`;
}

/**
 * A message for the info-level log, with the request target's query string (which may carry tokens)
 * taken out; TF Serving quotes the whole target in "Malformed request", and the response still does.
 */
export function withoutQuery(message: string, target: string): string {
  const query = target.indexOf('?');
  return query < 0 ? message : message.split(target).join(target.slice(0, query));
}

export function sendError(reply: FastifyReply, error: TfServeError): FastifyReply {
  // A Buffer, so that fastify does not append "; charset=utf-8" to the content type.
  return reply
    .code(STATUS_TO_HTTP[error.code] ?? 500)
    .type('application/json')
    .send(Buffer.from(errorBody(error.message), 'utf8'));
}

export function registerErrorHandler(app: FastifyInstance, options: ErrorHandlerOptions): void {
  app.setErrorHandler((error: FastifyError | Error, request: FastifyRequest, reply: FastifyReply) => {
    const tfError = toTfServeError(error, options);
    const status = STATUS_TO_HTTP[tfError.code] ?? 500;
    if (status >= 500 && tfError.code !== 'DEADLINE_EXCEEDED' && tfError.code !== 'UNIMPLEMENTED') {
      request.log.error({ err: error }, tfError.message);
    } else {
      request.log.info({ code: tfError.code, status }, withoutQuery(tfError.message, request.originalUrl));
    }
    return sendError(reply, tfError);
  });
}

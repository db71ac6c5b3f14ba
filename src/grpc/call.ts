/**
 * One unary gRPC call as the adapters see it: the request's bytes in, the response's bytes out, and
 * what TF Serving derives from the call itself. A client deadline becomes the session-run timeout
 * (the remaining milliseconds, as TF Serving's DeadlineToTimeoutMillis), a client that cancels or
 * goes away aborts the call's signal (the serving layer then stops waiting and releases its handle), and whatever the handler throws answers the error's TF code and its message cut at 1024
 * bytes (ToGRPCStatus). Handlers run on the event loop; the session runs go to native threads.
 */
import type { handleUnaryCall, ServerUnaryCall } from '@grpc/grpc-js';

import { TfServeError } from '../model/errors.js';
import { grpcStatusOf } from '../proto/grpc-status.js';
import { type CallOptions, Cancellation } from '../serving/inference.js';

export type UnaryHandler = (request: Buffer, call: CallOptions) => Promise<Uint8Array> | Uint8Array;

/** Where failed calls are reported: TF Serving logs them at VLOG(1), bugs (non-TF errors) deserve more. */
export interface CallLog {
  debug(message: string): void;
  error(message: string): void;
}

/** The session timeout for a deadline: none for an infinite one, at least 1 ms for any other. */
export function timeoutFromDeadline(deadline: Date | number, now = Date.now()): number | undefined {
  const at = deadline instanceof Date ? deadline.getTime() : deadline;
  if (!Number.isFinite(at)) return undefined;
  return Math.max(1, Math.ceil(at - now));
}

export function unary(method: string, handler: UnaryHandler, log: CallLog): handleUnaryCall<Buffer, Uint8Array> {
  return (call: ServerUnaryCall<Buffer, Uint8Array>, callback) => {
    // The serving layer's one-listener signal: an AbortController with a listener costs ~5 µs per call.
    const cancellation = new Cancellation();
    call.once('cancelled', () => cancellation.abort());
    const fail = (error: unknown): void => {
      const status = grpcStatusOf(error);
      if (error instanceof TfServeError) log.debug(`${method} failed: ${status.details}`);
      else log.error(`${method} failed: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}`);
      callback(status);
    };
    let result: Promise<Uint8Array> | Uint8Array;
    try {
      // entrypoint and api: the serving layer observes the call (metrics, access log, request logs).
      const requestId = call.metadata.get('x-request-id')[0];
      result = handler(call.request, {
        timeoutMs: timeoutFromDeadline(call.getDeadline()),
        signal: cancellation,
        entrypoint: 'GRPC',
        api: method,
        ...(requestId === undefined ? {} : { requestId: String(requestId) }),
      });
    } catch (error) {
      fail(error);
      return;
    }
    if (result instanceof Uint8Array) callback(null, result);
    else result.then((bytes) => callback(null, bytes), fail);
  };
}

/**
 * The REST server's HTTP connections: how long a client may take to send a request, and how the
 * server lets go of its connections when it stops. Everything here runs on the event loop.
 *
 * Timeouts (Node's own timers, checked every `checkIntervalMs`): the request headers must arrive
 * within `headersMs` and the whole request within `receiveMs`, else the client gets 408 Request
 * Timeout (RFC 9110 §15.5.9: the server did not receive a complete request in the time it was prepared
 * to wait) and the connection closes; a kept-alive connection idle for `keepAliveMs` is closed without
 * a word, as HTTP expects for idle connections. Neither timer covers the time the server takes to
 * answer (that is --rest_api_timeout_in_ms, inside TensorFlow).
 *
 * Draining (`ConnectionTracker.drain`): Node's `server.close()` destroys every connection it thinks
 * idle, and it counts a connection as idle as soon as its response has been `end()`ed, even while that
 * response is still queued in user space for a slow reader: large keep-alive responses in flight were
 * cut short on SIGTERM. The tracker replaces that step: it stops keep-alive on every response still to
 * be sent, ends each connection only once its last response has left (end() flushes what was written
 * before the FIN), and destroys whatever remains when the deadline passes, so a client that stalls
 * cannot hold the stop back. A kept-alive connection with nothing in flight is ended after a short
 * grace (IDLE_GRACE_MS), not at once: its client may have sent the next request already (it got a
 * keep-alive response a moment ago), and that request then gets fastify's 503 with `Connection: close`
 * instead of a reset connection.
 */
import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import type { Socket } from 'node:net';

import { errorBody } from './http-status.js';

export interface HttpTimeouts {
  /** Time to receive the request headers (0 = none). */
  readonly headersMs: number;
  /** Time to receive the whole request, headers and body (0 = none). */
  readonly receiveMs: number;
  /** Idle time after which a kept-alive connection is closed (0 = Node's default, 5 s). */
  readonly keepAliveMs: number;
}

/** Time a drained keep-alive connection stays open for a request its client may already have sent. */
export const IDLE_GRACE_MS = 1000;

export const DEFAULT_HTTP_TIMEOUTS: HttpTimeouts = Object.freeze({ headersMs: 10_000, receiveMs: 60_000, keepAliveMs: 72_000 });

/** How often Node checks the header and request timers: often enough for the shortest to be on time. */
export function checkIntervalMs(timeouts: HttpTimeouts): number {
  const set = [timeouts.headersMs, timeouts.receiveMs].filter((ms) => ms > 0);
  return set.length === 0 ? 30_000 : Math.min(1000, Math.max(10, Math.floor(Math.min(...set) / 4)));
}

/** The 408 body: which limits a request has to meet. */
export function requestTimeoutMessage(timeouts: HttpTimeouts): string {
  const parts: string[] = [];
  if (timeouts.headersMs > 0) parts.push(`its headers within ${timeouts.headersMs} ms`);
  if (timeouts.receiveMs > 0) parts.push(`all of it within ${timeouts.receiveMs} ms`);
  return `Request Timeout: the server received the request too slowly; it must send ${parts.join(' and ')}`;
}

function rawResponse(status: string, message: string): string {
  const body = errorBody(message);
  return (
    `HTTP/1.1 ${status}\r\nConnection: close\r\nContent-Type: application/json\r\n` +
    `Content-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`
  );
}

/**
 * fastify's clientErrorHandler: answers what Node's HTTP parser rejects or times out in the body shape
 * of every other error, then closes the connection. Nothing is written once a response has started.
 */
export function clientErrorHandler(timeouts: HttpTimeouts): (error: NodeJS.ErrnoException, socket: Socket) => void {
  return (error, socket) => {
    if (error.code === 'ECONNRESET' || socket.destroyed) return;
    // Node's own handler makes the same check: a response already on the wire cannot be replaced.
    const current = (socket as Socket & { _httpMessage?: ServerResponse | null })._httpMessage;
    if (socket.writable && !current?.headersSent) {
      if (error.code === 'ERR_HTTP_REQUEST_TIMEOUT') socket.write(rawResponse('408 Request Timeout', requestTimeoutMessage(timeouts)));
      else if (error.code === 'HPE_HEADER_OVERFLOW') socket.write(rawResponse('431 Request Header Fields Too Large', 'Request header fields too large'));
      else socket.write(rawResponse('400 Bad Request', `Bad Request: ${error.message}`));
    }
    socket.destroy();
  };
}

export interface DrainResult {
  /** Connections still open at the deadline, destroyed then. */
  readonly forced: number;
}

/** Every connection of one server and its requests in flight. Create it before the server listens. */
export class ConnectionTracker {
  readonly #server: Server;
  /** Responses not yet finished, per connection. */
  readonly #connections = new Map<Socket, Set<ServerResponse>>();
  #draining = false;
  #deadline = Infinity;

  constructor(server: Server) {
    this.#server = server;
    server.on('connection', (socket: Socket) => {
      this.#connections.set(socket, new Set());
      socket.once('close', () => this.#connections.delete(socket));
    });
    server.on('request', (request: IncomingMessage, response: ServerResponse) => this.#onRequest(request.socket, response));
    // server.close() calls this before it stops listening (Node >= 19); see the header comment.
    server.closeIdleConnections = () => this.#endIdle();
  }

  /** Open connections, and responses not yet finished. */
  get counts(): { connections: number; responses: number } {
    let responses = 0;
    for (const pending of this.#connections.values()) responses += pending.size;
    return { connections: this.#connections.size, responses };
  }

  get draining(): boolean {
    return this.#draining;
  }

  /**
   * Starts the drain: no more keep-alive, idle connections end now, busy ones after their last
   * response. Resolves once every connection is closed, destroying those left at `deadline` (a
   * Date.now() value). Does not stop the listener: `server.close()` (fastify's `close()`) does.
   */
  async drain(deadline: number): Promise<DrainResult> {
    this.#draining = true;
    this.#deadline = deadline;
    for (const pending of this.#connections.values()) for (const response of pending) this.#lastResponse(response);
    this.#endIdle();
    if (this.#connections.size === 0) return { forced: 0 };
    let timer: NodeJS.Timeout | undefined;
    const closed = new Promise<void>((resolve) => {
      const check = (): void => {
        if (this.#connections.size === 0) resolve();
      };
      for (const socket of this.#connections.keys()) socket.once('close', () => setImmediate(check));
      this.#server.on('connection', (socket: Socket) => socket.once('close', () => setImmediate(check)));
    });
    const expired = new Promise<'expired'>((resolve) => (timer = setTimeout(() => resolve('expired'), Math.max(0, deadline - Date.now()))));
    try {
      if ((await Promise.race([closed, expired])) !== 'expired') return { forced: 0 };
    } finally {
      clearTimeout(timer);
    }
    const forced = this.#connections.size;
    for (const socket of this.#connections.keys()) socket.destroy();
    await closed;
    return { forced };
  }

  #onRequest(socket: Socket, response: ServerResponse): void {
    const pending = this.#connections.get(socket);
    if (pending === undefined) return;
    pending.add(response);
    if (this.#draining) this.#lastResponse(response);
    response.once('close', () => {
      pending.delete(response);
      if (this.#draining && pending.size === 0) this.#endWhenIdle(socket, pending);
    });
  }

  /** The response closes its connection when it is done (Connection: close), unless already sent. */
  #lastResponse(response: ServerResponse): void {
    if (!response.headersSent) response.setHeader('connection', 'close');
  }

  /** Ends (never destroys) the connections with no response to finish: end() flushes before its FIN. */
  #endIdle(): void {
    for (const [socket, pending] of this.#connections) {
      if (pending.size > 0) continue;
      if (this.#draining) this.#endWhenIdle(socket, pending);
      else socket.end();
    }
  }

  /** Ends `socket` after the grace unless a request came meanwhile (its response then closes it). */
  #endWhenIdle(socket: Socket, pending: Set<ServerResponse>): void {
    const timer = setTimeout(
      () => {
        if (pending.size === 0) socket.end();
      },
      Math.max(0, Math.min(IDLE_GRACE_MS, this.#deadline - Date.now())),
    );
    timer.unref();
  }
}

const TRACKERS = new WeakMap<Server, ConnectionTracker>();

/** The tracker of `server`, made on first call (buildApp makes it, so it sees every connection). */
export function trackConnections(server: Server): ConnectionTracker {
  let tracker = TRACKERS.get(server);
  if (tracker === undefined) {
    tracker = new ConnectionTracker(server);
    TRACKERS.set(server, tracker);
  }
  return tracker;
}

// connections.ts over real sockets: the drain lets responses in flight finish in full and ends, and
// clients that are too slow get 408. Raw net sockets, so each test controls exactly what is sent when.
import assert from 'node:assert/strict';
import net from 'node:net';
import { suite, test, type TestContext } from 'node:test';

import Fastify, { type FastifyInstance } from 'fastify';

import { IDLE_GRACE_MS, requestTimeoutMessage, trackConnections } from '../../src/server/connections.js';
import { ModelManager } from '../../src/serving/manager.js';
import { loadServable, restApp } from '../helpers.js';

const BIG = 64 * 1024 * 1024;

async function listen(t: TestContext, app: FastifyInstance): Promise<number> {
  await app.listen({ port: 0, host: '127.0.0.1' });
  t.after(() => app.close());
  return (app.server.address() as net.AddressInfo).port;
}

/** A fastify app with a big answer, a small one and an upload, its connections tracked. */
async function drainApp(t: TestContext): Promise<{ app: FastifyInstance; port: number }> {
  const app = Fastify({ return503OnClosing: true });
  trackConnections(app.server);
  const big = Buffer.alloc(BIG, 'x');
  app.get('/big', async (_request, reply) => reply.type('application/octet-stream').send(big));
  app.get('/small', async () => 'ok');
  app.post('/upload', async () => 'never');
  return { app, port: await listen(t, app) };
}

interface RawClient {
  socket: net.Socket;
  /** Everything received so far, as latin1 text. */
  text(): string;
  bytes(): number;
  closed: Promise<void>;
  ended: Promise<void>;
}

function connect(port: number): Promise<RawClient> {
  return new Promise((resolve, reject) => {
    const socket = net.connect(port, '127.0.0.1');
    const chunks: Buffer[] = [];
    let size = 0;
    const closed = new Promise<void>((done) => socket.once('close', () => done()));
    const ended = new Promise<void>((done) => socket.once('end', () => done()));
    socket.on('data', (chunk: Buffer) => {
      chunks.push(chunk);
      size += chunk.length;
    });
    socket.on('error', () => undefined);
    socket.once('connect', () =>
      resolve({ socket, text: () => Buffer.concat(chunks).toString('latin1'), bytes: () => size, closed, ended }),
    );
    socket.once('error', reject);
  });
}

function until(what: string, condition: () => boolean, ms = 20_000): Promise<void> {
  const deadline = Date.now() + ms;
  return new Promise((resolve, reject) => {
    const check = (): void => {
      if (condition()) resolve();
      else if (Date.now() > deadline) reject(new Error(`timed out waiting for ${what}`));
      else setTimeout(check, 5);
    };
    check();
  });
}

const GET = (path: string) => `GET ${path} HTTP/1.1\r\nHost: x\r\n\r\n`;

suite('ConnectionTracker.drain', () => {
  test('a large keep-alive response that is still being written when the drain starts arrives in full', async (t) => {
    const { app, port } = await drainApp(t);
    const tracker = trackConnections(app.server);
    const client = await connect(port);
    client.socket.write(GET('/big'));
    // The first bytes mean fastify has end()ed the response; most of it is still queued for us.
    await until('the response to start', () => client.bytes() > 0);
    client.socket.pause();
    assert.match(client.text(), /^HTTP\/1\.1 200 OK\r\n/);
    assert.match(client.text(), /connection: keep-alive/i);
    const drained = Promise.all([tracker.drain(Date.now() + 20_000), app.close()]);
    await new Promise((resolve) => setTimeout(resolve, 200));
    client.socket.resume();
    const [result] = await drained;
    await client.closed;
    const text = client.text();
    const body = text.length - (text.indexOf('\r\n\r\n') + 4);
    assert.equal(body, BIG, `got ${body} of ${BIG} body bytes`);
    assert.deepEqual(result, { forced: 0 });
  });

  test('an idle keep-alive connection is ended after the grace; a request sent in the grace gets 503 and Connection: close', async (t) => {
    const { app, port } = await drainApp(t);
    const tracker = trackConnections(app.server);
    const idle = await connect(port);
    const late = await connect(port);
    for (const client of [idle, late]) {
      client.socket.write(GET('/small'));
      await until('the first answer', () => client.text().endsWith('ok'));
    }
    const started = Date.now();
    const drained = Promise.all([tracker.drain(Date.now() + 20_000), app.close()]);
    late.socket.write(GET('/small'));
    await late.closed;
    const second = late.text().slice(late.text().lastIndexOf('HTTP/1.1'));
    assert.match(second, /^HTTP\/1\.1 503 Service Unavailable\r\n/);
    assert.match(second, /\r\nconnection: close\r\n/i);
    await idle.ended;
    const idleFor = Date.now() - started;
    assert.ok(idleFor >= IDLE_GRACE_MS - 50, `ended after ${idleFor} ms`);
    assert.deepEqual((await drained)[0], { forced: 0 });
    // No new connection once the listener is closed.
    await assert.rejects(connect(port), { code: 'ECONNREFUSED' });
  });

  test('a client that sent its headers and stalls is cut off at the deadline; the drain still ends', async (t) => {
    const { app, port } = await drainApp(t);
    const tracker = trackConnections(app.server);
    const stalled = await connect(port);
    stalled.socket.write('POST /upload HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{"in');
    await until('the request to arrive', () => tracker.counts.responses === 1);
    const started = Date.now();
    const [result] = await Promise.all([tracker.drain(Date.now() + 300), app.close()]);
    assert.deepEqual(result, { forced: 1 });
    await stalled.closed;
    assert.ok(Date.now() - started < 5000);
    assert.deepEqual(tracker.counts, { connections: 0, responses: 0 });
  });
});

suite('draining the REST app', () => {
  test('EXPECTED FAILURE - a request that comes while the server drains is 503 UNAVAILABLE, with Connection: close', async (t) => {
    const app = await restApp(new ModelManager({ load: loadServable }));
    const port = await listen(t, app);
    const client = await connect(port);
    client.socket.write(GET('/v1/models/m'));
    await until('the first answer', () => client.text().includes('}'));
    const drained = Promise.all([trackConnections(app.server).drain(Date.now() + 20_000), app.close()]);
    client.socket.write(GET('/v1/models/m'));
    await client.closed;
    const second = client.text().slice(client.text().lastIndexOf('HTTP/1.1'));
    assert.match(second, /^HTTP\/1\.1 503 Service Unavailable\r\n/);
    assert.match(second, /\r\nconnection: close\r\n/i);
    assert.equal(JSON.parse(second.slice(second.indexOf('\r\n\r\n') + 4)).error, 'The server is shutting down');
    assert.deepEqual((await drained)[0], { forced: 0 });
  });
});

suite('request timeouts (the REST app)', () => {
  const timeouts = { headersMs: 300, receiveMs: 700, keepAliveMs: 400 };
  const expected408 = (text: string) => {
    assert.match(text, /^HTTP\/1\.1 408 Request Timeout\r\nConnection: close\r\nContent-Type: application\/json\r\n/);
    assert.equal(JSON.parse(text.slice(text.indexOf('\r\n\r\n') + 4)).error, requestTimeoutMessage(timeouts));
  };

  async function slowClient(t: TestContext, send: (socket: net.Socket) => void): Promise<{ text: string; ms: number }> {
    const app = await restApp(new ModelManager({ load: loadServable }), { timeouts });
    const port = await listen(t, app);
    const client = await connect(port);
    const started = Date.now();
    send(client.socket);
    await client.closed;
    return { text: client.text(), ms: Date.now() - started };
  }

  test('EXPECTED FAILURE - headers that never end get 408 after the headers timeout', async (t) => {
    const { text, ms } = await slowClient(t, (socket) => socket.write('GET /v1/models/m HTTP/1.1\r\nHost: x\r\n'));
    expected408(text);
    assert.ok(ms < 5000, `${ms} ms`);
  });

  test('EXPECTED FAILURE - a body that stalls gets 408 after the receive timeout', async (t) => {
    const { text } = await slowClient(t, (socket) => socket.write('POST /v1/models/m:predict HTTP/1.1\r\nHost: x\r\nContent-Length: 50\r\n\r\n{"ins'));
    expected408(text);
  });

  test('EXPECTED FAILURE - a body trickled a byte at a time gets 408 after the receive timeout', async (t) => {
    const { text } = await slowClient(t, (socket) => {
      socket.write('POST /v1/models/m:predict HTTP/1.1\r\nHost: x\r\nContent-Length: 1000\r\n\r\n');
      const timer = setInterval(() => (socket.destroyed ? clearInterval(timer) : socket.write(' ')), 50);
      socket.once('close', () => clearInterval(timer));
    });
    expected408(text);
  });

  test('an idle keep-alive connection is closed without an answer', async (t) => {
    const { text } = await slowClient(t, (socket) => socket.write(GET('/v1/models/m')));
    assert.equal(text.match(/HTTP\/1\.1 /g)?.length, 1);
    assert.match(text, /^HTTP\/1\.1 404 Not Found\r\n/);
    assert.match(text, /Servable not found|Could not find any versions of model m/);
  });

  test('EXPECTED FAILURE - what the HTTP parser rejects gets 400 (431 for huge headers) in the {"error"} shape', async (t) => {
    const bad = await slowClient(t, (socket) => socket.write('GET /v1/models/m HTTP/1.1\r\nHost: x\r\nBad Header\r\n\r\n'));
    assert.match(bad.text, /^HTTP\/1\.1 400 Bad Request\r\nConnection: close\r\n/);
    assert.match(JSON.parse(bad.text.slice(bad.text.indexOf('\r\n\r\n') + 4)).error, /^Bad Request: Parse Error: /);
    const huge = await slowClient(t, (socket) => socket.write(`GET /v1/models/m HTTP/1.1\r\nHost: x\r\nX-Big: ${'a'.repeat(20_000)}\r\n\r\n`));
    assert.match(huge.text, /^HTTP\/1\.1 431 Request Header Fields Too Large\r\n/);
    assert.equal(JSON.parse(huge.text.slice(huge.text.indexOf('\r\n\r\n') + 4)).error, 'Request header fields too large');
  });
});

/**
 * The `tfserve` command driven in-process, for the CLI tests: run(argv) with a PassThrough for its
 * logs, an OS-chosen REST port (--rest_api_port=0, reported through onListening), a free gRPC port and
 * SIGUSR2 as its stop signal. One server at a time (the stop signal is process-wide). Conditions are
 * polled with generous deadlines: the CI machine is small and shared.
 */
import net from 'node:net';
import { PassThrough } from 'node:stream';
import type { TestContext } from 'node:test';

import { run } from '../../src/cli/main.js';

export const STOP_SIGNAL = 'SIGUSR2';
export const DEADLINE_MS = 60_000;

export interface LogLine {
  level: number;
  msg: string;
  [key: string]: unknown;
}

/** Collects what a stream receives. */
export function capture(): { stream: PassThrough; text(): string } {
  const stream = new PassThrough();
  let text = '';
  stream.on('data', (chunk: Buffer) => (text += chunk.toString('utf8')));
  return { stream, text: () => text };
}

/** A TCP port that was free a moment ago (gRPC's --port=0 means "no TCP listener", not "any port"). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const probe = net.createServer();
    probe.once('error', reject);
    probe.listen(0, '0.0.0.0', () => {
      const { port } = probe.address() as net.AddressInfo;
      probe.close(() => resolve(port));
    });
  });
}

export class Server {
  port = 0;
  grpcPort = 0;
  #stopped = false;
  #exited = false;
  constructor(
    readonly exit: Promise<number>,
    readonly output: () => string,
  ) {
    void exit.finally(() => (this.#exited = true)).catch(() => undefined);
  }

  /** The JSON log lines so far. */
  logs(): LogLine[] {
    return this.output()
      .split('\n')
      .filter((line) => line.startsWith('{'))
      .map((line) => JSON.parse(line) as LogLine);
  }

  messages(): string[] {
    return this.logs().map((line) => line.msg);
  }

  url(pathname: string): string {
    return `http://127.0.0.1:${this.port}${pathname}`;
  }

  /** Sends the stop signal and resolves with run()'s exit code. */
  stop(): Promise<number> {
    // Without run()'s listener the signal would kill the test process.
    if (!this.#stopped && !this.#exited && process.listenerCount(STOP_SIGNAL) > 0) {
      this.#stopped = true;
      process.kill(process.pid, STOP_SIGNAL);
    }
    return this.exit;
  }
}

/** Runs tfserve until it listens (or rejects with its logs when it exits first); stops it after the test. */
export async function start(t: TestContext, args: readonly string[]): Promise<Server> {
  const logs = capture();
  let onListening!: (port: number) => void;
  const listening = new Promise<number>((resolve) => (onListening = resolve));
  const grpcPort = await freePort();
  const exit = run(['--rest_api_port=0', `--port=${grpcPort}`, ...args], { destination: logs.stream, signals: [STOP_SIGNAL], onListening });
  const server = new Server(exit, logs.text);
  server.grpcPort = grpcPort;
  t.after(async () => {
    await server.stop();
  });
  server.port = await Promise.race([
    listening,
    exit.then((code) => {
      throw new Error(`tfserve exited with ${code} before listening:\n${logs.text()}`);
    }),
  ]);
  return server;
}

/** Polls `probe` until it gives a value other than undefined or false; the server's logs go with a timeout. */
export async function waitFor<T>(what: string, probe: () => Promise<T | undefined> | T | undefined, server?: Server): Promise<T> {
  const deadline = Date.now() + DEADLINE_MS;
  for (;;) {
    const value = await probe();
    if (value !== undefined && value !== false) return value;
    if (Date.now() > deadline) {
      throw new Error(`timed out waiting for ${what}${server ? `\nlogs:\n${server.messages().join('\n')}` : ''}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

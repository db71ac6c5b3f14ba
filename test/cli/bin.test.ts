// bin/tfserve.js as a process: how it ends when npm's shell in front of it dies, and on a second signal.
import assert from 'node:assert/strict';
import { type ChildProcess, spawn } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { suite, test, type TestContext } from 'node:test';

import { REPO_ROOT } from '../helpers.js';

const BIN = path.join(REPO_ROOT, 'bin', 'tfserve.js');

interface Running {
  child: ChildProcess;
  port: number;
  output(): string;
  exit: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

/** The pid of `pid`'s parent, from /proc. */
function parentOf(pid: number): number {
  const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
  return Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
}

function childrenOf(pid: number): number[] {
  return fs
    .readdirSync('/proc')
    .filter((name) => /^\d+$/.test(name))
    .map(Number)
    .filter((candidate) => {
      try {
        return parentOf(candidate) === pid;
      } catch {
        return false;
      }
    });
}

async function launch(t: TestContext, command: string, args: string[], env: NodeJS.ProcessEnv = {}): Promise<Running> {
  const child = spawn(command, args, { cwd: REPO_ROOT, env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  child.stdout!.on('data', (chunk: Buffer) => (output += chunk.toString()));
  child.stderr!.on('data', (chunk: Buffer) => (output += chunk.toString()));
  const exit = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.once('exit', (code, signal) => resolve({ code, signal })),
  );
  const port = await new Promise<number>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`tfserve did not listen:\n${output}`)), 60_000);
    const look = (): void => {
      const match = /Exporting HTTP\/REST API at:localhost:(\d+)/.exec(output);
      if (match) {
        clearTimeout(timer);
        resolve(Number(match[1]));
      }
    };
    child.stdout!.on('data', look);
    void exit.then(() => reject(new Error(`tfserve exited before listening:\n${output}`)));
  });
  return { child, port, output: () => output, exit };
}

function within<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  return Promise.race([promise, new Promise<never>((_, reject) => setTimeout(() => reject(new Error(`${what} within ${ms} ms`)), ms))]);
}

suite('bin/tfserve.js', () => {
  test('started by npm through `sh -c`, it stops gracefully when npm\'s SIGTERM ends the shell', async (t) => {
    // npm exec and npm run start bins as `sh -c '<command>'` and forward signals to that shell only.
    const shell = await launch(t, 'sh', ['-c', `"${process.execPath}" "${BIN}" --rest_api_port=0; exit $?`], { npm_lifecycle_event: 'npx' });
    const [node] = childrenOf(shell.child.pid!);
    assert.ok(node !== undefined, 'the shell must stay between npm and node, as it does under npm');
    t.after(() => {
      try {
        process.kill(node, 'SIGKILL');
      } catch {
        // already gone, as it should be
      }
    });
    shell.child.kill('SIGTERM');
    await shell.exit;
    // node is an orphan now; it must notice and stop as on SIGTERM.
    await within(
      new Promise<void>((resolve) => {
        const timer = setInterval(() => {
          if (!fs.existsSync(`/proc/${node}`) || fs.readFileSync(`/proc/${node}/stat`, 'utf8').includes(') Z ')) {
            clearInterval(timer);
            resolve();
          }
        }, 50);
      }),
      30_000,
      'node must exit after its npm shell is gone',
    );
    const output = shell.output();
    assert.match(output, /"msg":"The process that started tfserve \(pid \d+, under npm\) exited: finishing requests in flight, then unloading models"/);
    assert.match(output, /"msg":"Server stopped"/);
  });

  test('a second signal ends the process at once, even while a stalled client holds the drain', async (t) => {
    const server = await launch(t, process.execPath, [BIN, '--rest_api_port=0', '--drain_timeout_seconds=60', '--rest_api_receive_timeout_in_ms=0']);
    t.after(() => server.child.kill('SIGKILL'));
    const stalled = net.connect(server.port, '127.0.0.1');
    stalled.on('error', () => undefined);
    stalled.write('POST /v1/models/half_plus_two:predict HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\n{"ins');
    await new Promise((resolve) => setTimeout(resolve, 200));
    server.child.kill('SIGTERM');
    await within(
      new Promise<void>((resolve) => {
        const timer = setInterval(() => {
          if (server.output().includes('"msg":"Received SIGTERM: finishing requests in flight, then unloading models"')) {
            clearInterval(timer);
            resolve();
          }
        }, 20);
      }),
      10_000,
      'the first signal to be handled',
    );
    const secondAt = Date.now();
    server.child.kill('SIGTERM');
    const { signal } = await within(server.exit, 5_000, 'the second signal to end the process');
    assert.equal(signal, 'SIGTERM');
    assert.ok(Date.now() - secondAt < 5_000);
    stalled.destroy();
  });

  test('without npm, a new parent is no reason to stop (nohup, a shell that logs out)', async (t) => {
    const env = { ...process.env };
    delete env['npm_lifecycle_event'];
    const child = spawn('sh', ['-c', `"${process.execPath}" "${BIN}" --rest_api_port=0 & echo $!`], { cwd: REPO_ROOT, env, stdio: ['ignore', 'pipe', 'ignore'] });
    const pid = await new Promise<number>((resolve) => child.stdout!.once('data', (chunk: Buffer) => resolve(Number(chunk.toString().trim()))));
    t.after(() => {
      try {
        process.kill(pid, 'SIGKILL');
      } catch {
        // gone
      }
    });
    await new Promise((resolve) => child.once('exit', resolve));
    // Orphaned at once; still serving two seconds later, after far more than the 250 ms poll.
    await new Promise((resolve) => setTimeout(resolve, 2000));
    assert.ok(fs.existsSync(`/proc/${pid}`) && !fs.readFileSync(`/proc/${pid}/stat`, 'utf8').includes(') Z '), 'tfserve must keep running');
    process.kill(pid, 'SIGTERM');
  });
});

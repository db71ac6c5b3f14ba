/**
 * deploy/tfserve_entrypoint.sh run outside a container, as the image runs it: MODEL_NAME and
 * MODEL_BASE_PATH name the bundled models/half_plus_two, and the extra arguments move the ports to
 * free ones (a later flag overrides the script's, as in tensorflow/serving's image). The server must
 * come up and answer, the process must be node itself (the script execs, so in a container tfserve is
 * PID 1), and a SIGTERM sent to that process id must stop it gracefully with exit code 0.
 * The Dockerfile's own HEALTHCHECK command is run against the server (its port 8501 moved to the
 * test's): exit 0 once every model has a version that serves, 1 while one has none and once stopped.
 */
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import os from 'node:os';
import { suite, test, type TestContext } from 'node:test';

import { DockerfileParser } from 'dockerfile-ast';

import { REPO_ROOT } from '../helpers.js';

const ENTRYPOINT = path.join(REPO_ROOT, 'deploy', 'tfserve_entrypoint.sh');
const DOCKERFILE = path.join(REPO_ROOT, 'deploy', 'Dockerfile');
const DEADLINE_MS = 60_000;

interface Running {
  child: ChildProcess;
  exit: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  output(): string;
  /** Resolves with the REST port once tfserve logs it; rejects if the process exits first. */
  listening: Promise<number>;
}

/** A TCP port free right now, for the gRPC flag (tfserve reports the REST port it gets for 0). */
async function freePort(): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as net.AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

/** Runs the script with `env` over this process's environment (undefined removes a variable). */
function startEntrypoint(t: TestContext, args: string[], env: Record<string, string | undefined>): Running {
  const childEnv: NodeJS.ProcessEnv = { ...process.env, ...env };
  for (const [name, value] of Object.entries(env)) if (value === undefined) delete childEnv[name];
  // `node` on the PATH is the one running these tests, so a run on another Node line tests that line.
  childEnv.PATH = `${path.dirname(process.execPath)}${path.delimiter}${process.env.PATH ?? ''}`;
  const child = spawn(ENTRYPOINT, args, {
    cwd: REPO_ROOT,
    env: childEnv,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout!.on('data', (chunk: Buffer) => (output += chunk.toString('utf8')));
  child.stderr!.on('data', (chunk: Buffer) => (output += chunk.toString('utf8')));
  const exit = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.on('exit', (code, signal) => resolve({ code, signal })),
  );
  const listening = new Promise<number>((resolve, reject) => {
    const deadline = setTimeout(() => reject(new Error(`tfserve did not listen within ${DEADLINE_MS} ms:\n${output}`)), DEADLINE_MS);
    const look = (): void => {
      const match = /Exporting HTTP\/REST API at:localhost:(\d+)/.exec(output);
      if (match) {
        clearTimeout(deadline);
        resolve(Number(match[1]));
      }
    };
    child.stdout!.on('data', look);
    void exit.then(({ code, signal }) => {
      clearTimeout(deadline);
      reject(new Error(`the entrypoint exited (code ${code}, signal ${signal}) before listening:\n${output}`));
    });
  });
  listening.catch(() => undefined);
  t.after(() => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  });
  return { child, exit, output: () => output, listening };
}

const MODEL_ENV = { MODEL_NAME: 'half_plus_two', MODEL_BASE_PATH: path.join(REPO_ROOT, 'models') };

/** The final stage's HEALTHCHECK command (exec form), the image's REST port 8501 replaced by `port`. */
function healthcheckCommand(port: number): string[] {
  const checks = DockerfileParser.parse(fs.readFileSync(DOCKERFILE, 'utf8'))
    .getInstructions()
    .filter((instruction) => instruction.getKeyword() === 'HEALTHCHECK');
  const content = checks[checks.length - 1]!.getArgumentsContent() ?? '';
  const argv = JSON.parse(/\bCMD\s+(\[.*\])\s*$/s.exec(content)![1]!) as string[];
  const moved = argv.map((arg) => arg.replaceAll('127.0.0.1:8501/', `127.0.0.1:${port}/`));
  assert.notDeepEqual(moved, argv, 'the HEALTHCHECK names 127.0.0.1:8501');
  return moved;
}

/** Runs the HEALTHCHECK as Docker would (its `node` is the one running these tests) and resolves with its exit code. */
function runHealthcheck(port: number): Promise<number | null> {
  const [program, ...args] = healthcheckCommand(port);
  const child = spawn(program === 'node' ? process.execPath : program!, args, { stdio: 'ignore' });
  return new Promise((resolve) => child.on('exit', (code) => resolve(code)));
}

suite('deploy/tfserve_entrypoint.sh', () => {
  test('serves MODEL_BASE_PATH/MODEL_NAME, is exec-ed into node, and stops on SIGTERM with exit code 0', async (t) => {
    const grpcPort = await freePort();
    const running = startEntrypoint(t, [`--port=${grpcPort}`, '--rest_api_port=0'], MODEL_ENV);
    const port = await running.listening;

    // The shell is gone: its process id now runs node with the script's flags, then ours.
    const pid = running.child.pid!;
    if (fs.existsSync(`/proc/${pid}/cmdline`)) {
      const argv = fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').filter(Boolean);
      assert.equal(path.basename(argv[0]!), path.basename(process.execPath), argv.join(' '));
      assert.equal(argv[1], path.join(REPO_ROOT, 'bin', 'tfserve.js'));
      assert.deepEqual(argv.slice(2), [
        '--port=8500',
        '--rest_api_port=8501',
        '--model_name=half_plus_two',
        `--model_base_path=${path.join(REPO_ROOT, 'models', 'half_plus_two')}`,
        `--port=${grpcPort}`,
        '--rest_api_port=0',
      ]);
    }

    assert.equal(await runHealthcheck(port), 0, 'the HEALTHCHECK passes: the model is loaded');
    const status = await fetch(`http://127.0.0.1:${port}/v1/models/half_plus_two`);
    assert.equal(status.status, 200);
    assert.deepEqual(((await status.json()) as { model_version_status: { version: string; state: string }[] }).model_version_status.map((s) => [s.version, s.state]), [['1', 'AVAILABLE']]);
    const predict = await fetch(`http://127.0.0.1:${port}/v1/models/half_plus_two:predict`, {
      method: 'POST',
      body: JSON.stringify({ instances: [1, 2, 5] }),
    });
    assert.deepEqual(await predict.json(), { predictions: [2.5, 3, 4.5] });

    process.kill(pid, 'SIGTERM');
    assert.deepEqual(await running.exit, { code: 0, signal: null }, running.output());
    assert.match(running.output(), /Received SIGTERM/);
    assert.match(running.output(), /Server stopped/);
    assert.equal(await runHealthcheck(port), 1, 'nothing answers once stopped');
  });

  test('the HEALTHCHECK fails while the model has no version, and passes once one is dropped in', async (t) => {
    const models = fs.mkdtempSync(path.join(os.tmpdir(), 'tfserve-entrypoint-'));
    t.after(() => fs.rmSync(models, { recursive: true, force: true }));
    fs.mkdirSync(path.join(models, 'm'));
    const running = startEntrypoint(t, [`--port=${await freePort()}`, '--rest_api_port=0'], { MODEL_NAME: 'm', MODEL_BASE_PATH: models });
    const port = await running.listening;
    assert.equal((await fetch(`http://127.0.0.1:${port}/v2/health/live`)).status, 200, 'live');
    assert.equal(await runHealthcheck(port), 1, 'not ready: /models/m holds no version');
    fs.cpSync(path.join(REPO_ROOT, 'models', 'half_plus_two', '1'), path.join(models, 'm', '1'), { recursive: true });
    // The base path is polled every second (--file_system_poll_wait_seconds): ask as Docker would, repeatedly.
    const deadline = Date.now() + DEADLINE_MS;
    while ((await runHealthcheck(port)) !== 0) {
      if (Date.now() > deadline) assert.fail(`the HEALTHCHECK did not pass within ${DEADLINE_MS} ms:\n${running.output()}`);
      await new Promise((resolve) => setTimeout(resolve, 200));
    }
    process.kill(running.child.pid!, 'SIGTERM');
    assert.deepEqual(await running.exit, { code: 0, signal: null }, running.output());
  });

  test('EXPECTED FAILURE - an unknown extra argument reaches tfserve, which refuses it', async (t) => {
    const running = startEntrypoint(t, ['--no_such_flag=1'], MODEL_ENV);
    assert.deepEqual(await running.exit, { code: 2, signal: null });
    assert.match(running.output(), /unknown flag: --no_such_flag/);
  });

  test('without MODEL_NAME and MODEL_BASE_PATH the model is /models/model, as in tensorflow/serving', async (t) => {
    const running = startEntrypoint(t, [`--port=${await freePort()}`, '--rest_api_port=0'], { MODEL_NAME: undefined, MODEL_BASE_PATH: undefined });
    const port = await running.listening;
    // No such folder here: the server still starts, and watches the base path for a first version.
    assert.match(running.output(), /Could not find base path \/models\/model for servable model\b/);
    const status = await fetch(`http://127.0.0.1:${port}/v1/models/model`);
    assert.notEqual(status.status, 200);
    assert.equal(await runHealthcheck(port), 1, 'live but not ready: the HEALTHCHECK fails');
    process.kill(running.child.pid!, 'SIGTERM');
    assert.deepEqual(await running.exit, { code: 0, signal: null }, running.output());
  });
});

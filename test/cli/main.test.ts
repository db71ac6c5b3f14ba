/**
 * The `tfserve` command driven in-process: run(argv) with a PassThrough for its logs, an OS-chosen REST
 * port (--rest_api_port=0, reported through onListening) and SIGUSR2 as its stop signal, then plain
 * fetch() against http://127.0.0.1:<port>. One server at a time (the stop signal is process-wide).
 * Conditions are polled with generous deadlines: the CI machine is small and shared.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { suite, test, type TestContext } from 'node:test';

import * as grpc from '@grpc/grpc-js';
import { loadSync } from '@grpc/proto-loader';

import { BUNDLED_MODEL, run } from '../../src/cli/main.js';
import { protoDir } from '../../src/proto/serving-protos.js';
import { MODELS_DIR, REPO_ROOT, SHARED_FIXTURES, sharedFixturesSkip } from '../helpers.js';
import { capture, freePort, type LogLine, type Server, start, STOP_SIGNAL, waitFor } from './cli-harness.js';

const HALF_PLUS_TWO = path.join(SHARED_FIXTURES, 'saved_model_half_plus_two_cpu');
const HALF_PLUS_THREE = path.join(SHARED_FIXTURES, 'saved_model_half_plus_three');
const SHARED = { skip: sharedFixturesSkip };

/** Runs tfserve to its end (a command that must not start a server). */
async function runToExit(args: readonly string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  const stdout = capture();
  const stderr = capture();
  const code = await run(args, { destination: stdout.stream, errorDestination: stderr.stream, signals: [STOP_SIGNAL] });
  return { code, stdout: stdout.text(), stderr: stderr.text() };
}

async function predict(server: Server, model: string, body: unknown, suffix = ''): Promise<{ status: number; text: string }> {
  const response = await fetch(server.url(`/v1/models/${model}${suffix}:predict`), { method: 'POST', body: JSON.stringify(body) });
  return { status: response.status, text: await response.text() };
}

async function predictions(server: Server, model: string, instances: number[], suffix = ''): Promise<number[]> {
  const { status, text } = await predict(server, model, { instances }, suffix);
  assert.equal(status, 200, text);
  return (JSON.parse(text) as { predictions: number[] }).predictions;
}

interface VersionStatus {
  version: string;
  state: string;
  status: { error_code: string; error_message: string };
}

async function modelStatus(server: Server, model: string): Promise<VersionStatus[] | undefined> {
  const response = await fetch(server.url(`/v1/models/${model}`));
  const text = await response.text();
  if (response.status !== 200) return undefined;
  return (JSON.parse(text) as { model_version_status: VersionStatus[] }).model_version_status;
}

function tempDir(t: TestContext): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tfserve-cli-'));
  t.after(() => fs.rmSync(dir, { recursive: true, force: true }));
  return dir;
}

/** Writes a file in one step (write + rename), so a polling reader never sees it half-written. */
function writeAtomic(file: string, text: string): void {
  fs.writeFileSync(`${file}.tmp`, text);
  fs.renameSync(`${file}.tmp`, file);
}

function modelConfigText(models: ReadonlyArray<{ name: string; basePath: string }>): string {
  const entries = models.map(
    ({ name, basePath }) => `  config {\n    name: "${name}"\n    base_path: "${basePath}"\n    model_platform: "tensorflow"\n  }\n`,
  );
  return `model_config_list {\n${entries.join('')}}\n`;
}

function signalListeners(): number {
  return process.listenerCount(STOP_SIGNAL);
}

suite('tfserve command line', () => {
  test('serves the bundled model when no model flag is given, logs like TF Serving, and stops on the signal', async (t) => {
    const listenersBefore = signalListeners();
    const server = await start(t, []);
    const response = await fetch(server.url(`/v1/models/${BUNDLED_MODEL.name}:predict`), {
      method: 'POST',
      body: '{"instances":[1,2,5]}',
    });
    assert.equal(response.status, 200);
    assert.equal(response.headers.get('content-type'), 'application/json');
    // TF Serving's PrettyWriter layout, row items on one line.
    assert.equal(await response.text(), '{\n    "predictions": [2.5, 3.0, 4.5\n    ]\n}');
    assert.deepEqual(await modelStatus(server, BUNDLED_MODEL.name), [
      { version: '1', state: 'AVAILABLE', status: { error_code: 'OK', error_message: '' } },
    ]);

    const messages = server.messages();
    assert.ok(messages.includes(`Successfully loaded servable version {name: ${BUNDLED_MODEL.name} version: 1}`), messages.join('\n'));
    assert.ok(messages.includes(`Exporting HTTP/REST API at:localhost:${server.port} ...`), messages.join('\n'));
    assert.ok(messages.some((m) => /^Running gRPC ModelServer at 0\.0\.0\.0:\d+ \.\.\.$/.test(m)), messages.join('\n'));
    // Every feature a default command line asks for is implemented: no "not yet" line at startup.
    assert.deepEqual(messages.filter((m) => /^--\w+=[^:]*: /.test(m)), []);
    assert.equal(signalListeners(), listenersBefore + 1);

    assert.equal(await server.stop(), 0);
    assert.equal(signalListeners(), listenersBefore, 'run() must remove its signal listeners');
    const after = server.messages();
    assert.ok(after.includes(`Received ${STOP_SIGNAL}: finishing requests in flight, then unloading models`));
    assert.ok(after.includes(`Done unloading servable version {name: ${BUNDLED_MODEL.name} version: 1}`));
    assert.equal(after.at(-1), 'Server stopped');
    await assert.rejects(fetch(server.url('/v1/models/half_plus_two')), TypeError, 'the port must be closed');
  });

  test('--log_format=pretty writes readable lines', async (t) => {
    const server = await start(t, ['--log_format=pretty', '--log_level=warn', '--xla_cpu_compilation_enabled']);
    assert.equal(await server.stop(), 0);
    const text = server.output();
    assert.doesNotMatch(text, /^\{/m);
    assert.match(text, /WARN \(tfserve\): --xla_cpu_compilation_enabled=true: XLA compilation is not enabled by tfserve/);
    // --log_level=warn hides the info lines.
    assert.doesNotMatch(text, /Successfully loaded/);
  });

  test('--help and --version print to stdout and exit 0 without serving', async () => {
    const help = await runToExit(['--help']);
    assert.equal(help.code, 0);
    assert.match(help.stdout, /^usage: tfserve/);
    assert.match(help.stdout, /--model_base_path=/);
    assert.equal(help.stderr, '');

    const version = await runToExit(['--version']);
    assert.equal(version.code, 0);
    assert.match(version.stdout, /^TensorFlow ModelServer: tfserve \d+\.\d+\.\d+\S*\nTensorFlow Library: \d+\.\d+\.\d+\S*\n$/);
  });

  test('EXPECTED FAILURE - an unknown flag or a bad value exits 2 with the usage on stderr', async () => {
    const listenersBefore = signalListeners();
    for (const [args, message] of [
      [['--model_nme=x'], 'tfserve: unknown flag: --model_nme (did you mean --model_name?)'],
      [['--rest_api_port=http'], 'tfserve: Invalid value "http" for flag --rest_api_port: expected an integer'],
      [['--enable_batching=maybe'], 'tfserve: Invalid value "maybe" for flag --enable_batching: expected true or false'],
      [['--log_format=xml'], 'tfserve: Invalid value "xml" for flag --log_format: expected json or pretty'],
      [['/models/x'], 'tfserve: unknown argument: /models/x'],
    ] as const) {
      const result = await runToExit(args);
      assert.equal(result.code, 2, args.join(' '));
      assert.ok(result.stderr.startsWith(message), result.stderr);
      assert.match(result.stderr, /\n\nusage: tfserve \[--flag=value \.\.\.\]\n/);
      assert.equal(result.stdout, '', 'nothing is logged and no server starts');
    }
    assert.equal(signalListeners(), listenersBefore);
  });

  test('EXPECTED FAILURE - --model_name without a base path is TF Serving\'s startup error', async () => {
    const result = await runToExit(['--model_name=foo', '--rest_api_port=0']);
    assert.equal(result.code, 255);
    assert.match(
      result.stdout,
      /"msg":"Failed to start server\. Error: INVALID_ARGUMENT: Both server_options\.model_base_path and server_options\.model_config_file are empty!"/,
    );
  });

  test('a relative --model_base_path is taken from the working directory', SHARED, async (t) => {
    const relative = path.relative(process.cwd(), HALF_PLUS_TWO);
    assert.ok(!path.isAbsolute(relative));
    const server = await start(t, [`--model_base_path=${relative}`, '--model_name=default']);
    assert.deepEqual(await predictions(server, 'default', [2, 3, 4]), [3, 3.5, 4]);
    assert.ok(server.messages().includes(`Loading servable version {name: default version: 123} from ${HALF_PLUS_TWO}/00000123`));
  });

  test('serves every model of a --model_config_file', SHARED, async (t) => {
    const dir = tempDir(t);
    const config = path.join(dir, 'models.config');
    writeAtomic(
      config,
      modelConfigText([
        { name: 'half_plus_two', basePath: HALF_PLUS_TWO },
        { name: 'half_plus_three', basePath: HALF_PLUS_THREE },
      ]),
    );
    // --model_name/--model_base_path are overridden by the file, as in TF Serving.
    const server = await start(t, [`--model_config_file=${config}`, '--model_name=ignored', '--model_base_path=/nonexistent']);
    assert.deepEqual(await predictions(server, 'half_plus_two', [2]), [3]);
    assert.deepEqual(await predictions(server, 'half_plus_three', [2]), [4]);
    assert.deepEqual(await predictions(server, 'half_plus_three', [2], '/versions/123'), [4]);
    assert.equal((await predict(server, 'ignored', { instances: [2] })).status, 404);
  });

  test('EXPECTED FAILURE - a config file that does not parse stops the startup, naming line and column', async (t) => {
    const dir = tempDir(t);
    const config = path.join(dir, 'bad.config');
    writeAtomic(config, 'model_config_list {\n  config {\n    nmae: "x"\n  }\n}\n');
    const result = await runToExit([`--model_config_file=${config}`, '--rest_api_port=0']);
    assert.equal(result.code, 255);
    const line = result.stdout.split('\n').find((l) => l.includes('Failed to start server'));
    assert.ok(line, result.stdout);
    const { msg } = JSON.parse(line) as LogLine;
    assert.ok(
      msg.startsWith(`Failed to start server. Error: INVALID_ARGUMENT: Invalid protobuf file: '${config}': Error parsing text-format tensorflow.serving.ModelServerConfig: `),
      msg,
    );
    // protobuf points after the unknown name, on its line.
    assert.match(msg, /ModelServerConfig: 3:\d+: .*"nmae"/);
  });

  test('EXPECTED FAILURE - TF Serving\'s bad_model_config.txt and a missing file stop the startup', SHARED, async () => {
    const bad = await runToExit([`--model_config_file=${path.join(SHARED_FIXTURES, 'bad_model_config.txt')}`, '--rest_api_port=0']);
    assert.equal(bad.code, 255);
    assert.match(bad.stdout, /Error parsing text-format tensorflow\.serving\.ModelServerConfig: 1:\d+: /);

    const missing = await runToExit(['--model_config_file=/nonexistent/models.config', '--rest_api_port=0']);
    assert.equal(missing.code, 255);
    assert.match(missing.stdout, /Failed to start server\. Error: NOT_FOUND: \/nonexistent\/models\.config/);
  });

  test('EXPECTED FAILURE - a relative base path in a config file is refused as TF Serving does', async (t) => {
    const dir = tempDir(t);
    const config = path.join(dir, 'relative.config');
    writeAtomic(config, modelConfigText([{ name: 'rel', basePath: 'models/rel' }]));
    const result = await runToExit([`--model_config_file=${config}`, '--rest_api_port=0']);
    assert.equal(result.code, 255);
    assert.match(
      result.stdout,
      /Failed to start server\. Error: INVALID_ARGUMENT: Expected model rel to have an absolute path or URI; got base_path\(\)=models\/rel/,
    );
  });

  test('EXPECTED FAILURE - a model that fails to load stops the startup with its cause', SHARED, async () => {
    // TF Serving's bad_half_plus_two is a legacy SessionBundle.
    const result = await runToExit([
      `--model_base_path=${path.join(SHARED_FIXTURES, 'bad_half_plus_two')}`,
      '--model_name=bad',
      '--max_num_load_retries=0',
      '--rest_api_port=0',
    ]);
    assert.equal(result.code, 255);
    const failure = result.stdout.split('\n').find((l) => l.includes('Failed to start server'));
    assert.ok(failure, result.stdout);
    assert.equal(
      (JSON.parse(failure) as LogLine).msg,
      'Failed to start server. Error: UNKNOWN: 1 servable(s) did not become available: ' +
        '{{{name: bad version: 123} due to error: UNIMPLEMENTED: Session Bundle is deprecated and removed.}, }',
    );
    assert.ok(result.stdout.includes('"msg":"Loading servable: {name: bad version: 123} failed: UNIMPLEMENTED: Session Bundle is deprecated and removed."'));
  });

  test('EXPECTED FAILURE - a version directory without a SavedModel fails with TF Serving\'s NOT_FOUND', async (t) => {
    const base = tempDir(t);
    fs.mkdirSync(path.join(base, '7'));
    const result = await runToExit([`--model_base_path=${base}`, '--max_num_load_retries=0', '--rest_api_port=0']);
    assert.equal(result.code, 255);
    const failure = result.stdout.split('\n').find((l) => l.includes('Failed to start server'));
    assert.ok(failure, result.stdout);
    assert.equal(
      (JSON.parse(failure) as LogLine).msg,
      'Failed to start server. Error: UNKNOWN: 1 servable(s) did not become available: {{{name: default version: 7} due to error: NOT_FOUND: ' +
        `Specified file path does not appear to contain a SavedModel bundle (should have a file called \`saved_model.pb\`)\nSpecified file path: ${base}/7}, }`,
    );
  });

  test('reloads --model_config_file: switches models; a bad file is logged and the running config stays', SHARED, async (t) => {
    const dir = tempDir(t);
    const config = path.join(dir, 'models.config');
    writeAtomic(config, modelConfigText([{ name: 'half_plus_two', basePath: HALF_PLUS_TWO }]));
    const server = await start(t, [`--model_config_file=${config}`, '--model_config_file_poll_wait_seconds=1']);
    assert.deepEqual(await predictions(server, 'half_plus_two', [2]), [3]);
    assert.equal((await predict(server, 'half_plus_three', { instances: [2] })).status, 404);

    writeAtomic(config, modelConfigText([{ name: 'half_plus_three', basePath: HALF_PLUS_THREE }]));
    await waitFor('half_plus_three to serve', async () => (await predict(server, 'half_plus_three', { instances: [2] })).status === 200, server);
    assert.deepEqual(await predictions(server, 'half_plus_three', [2]), [4]);
    await waitFor('half_plus_two to stop serving', async () => (await predict(server, 'half_plus_two', { instances: [2] })).status === 404, server);
    assert.deepEqual(await modelStatus(server, 'half_plus_two'), [
      { version: '123', state: 'END', status: { error_code: 'OK', error_message: '' } },
    ]);

    // A file that does not parse: logged with its position, the models stay.
    writeAtomic(config, 'model_config_list {\n  config { name: "x" \n  oops\n');
    const parseError = await waitFor(
      'the parse error to be logged',
      () => server.messages().find((m) => m.startsWith('Failed to read ModelServerConfig file: ')),
      server,
    );
    assert.match(parseError, new RegExp(`Invalid protobuf file: '${config.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}': Error parsing text-format tensorflow\\.serving\\.ModelServerConfig: \\d+:\\d+: .*oops`));
    // A file that parses but cannot be applied: logged, the models stay.
    writeAtomic(config, modelConfigText([{ name: 'rel', basePath: 'relative/path' }]));
    await waitFor(
      'the reload error to be logged',
      () => server.messages().find((m) => m === 'PollFilesystemAndReloadConfig failed to ReloadConfig: Expected model rel to have an absolute path or URI; got base_path()=relative/path'),
      server,
    );
    assert.deepEqual(await predictions(server, 'half_plus_three', [2]), [4]);
    assert.equal((await modelStatus(server, 'half_plus_three'))?.[0]?.state, 'AVAILABLE');
    assert.equal(await modelStatus(server, 'rel'), undefined);

    // And a good file after the bad ones is applied again.
    writeAtomic(config, modelConfigText([{ name: 'half_plus_two', basePath: HALF_PLUS_TWO }]));
    await waitFor('half_plus_two to serve again', async () => (await predict(server, 'half_plus_two', { instances: [2] })).status === 200, server);
    assert.equal(await server.stop(), 0);
  });

  test('hot reload under load: a new version takes over and the old one goes with zero failed requests', SHARED, async (t) => {
    // Version 1 answers 0.5x+2, version 2 answers 0.5x+3: each response tells which version ran it.
    const base = tempDir(t);
    fs.symlinkSync(path.join(HALF_PLUS_TWO, '00000123'), path.join(base, '1'));
    const server = await start(t, ['--model_name=hot', `--model_base_path=${base}`, '--file_system_poll_wait_seconds=1', '--log_level=warn']);

    const answers = new Map<string, number>();
    const failures: string[] = [];
    let running = true;
    const worker = async (): Promise<void> => {
      while (running) {
        try {
          const { status, text } = await predict(server, 'hot', { instances: [1] });
          if (status !== 200) failures.push(`${status} ${text}`);
          else {
            const key = text.replace(/\s+/g, '');
            answers.set(key, (answers.get(key) ?? 0) + 1);
          }
        } catch (err) {
          failures.push(String(err));
        }
      }
    };
    const V1 = '{"predictions":[2.5]}';
    const V2 = '{"predictions":[3.5]}';
    const workers = Array.from({ length: 8 }, () => worker());
    try {
      await waitFor('version 1 to answer under load', () => (answers.get(V1) ?? 0) >= 50, server);

      // Dropped in under a name the source ignores, then renamed: never seen half-written.
      fs.symlinkSync(path.join(HALF_PLUS_THREE, '00000123'), path.join(base, '2.tmp'));
      fs.renameSync(path.join(base, '2.tmp'), path.join(base, '2'));
      await waitFor('version 2 to answer', () => (answers.get(V2) ?? 0) >= 50, server);
      await waitFor(
        'version 1 to be unloaded',
        async () => {
          const status = await modelStatus(server, 'hot');
          return status?.find((s) => s.version === '1')?.state === 'END' && status.find((s) => s.version === '2')?.state === 'AVAILABLE';
        },
        server,
      );

      // Removing version 1 from disk changes nothing for the clients.
      fs.unlinkSync(path.join(base, '1'));
      const removedAt = Date.now();
      const servedBefore = answers.get(V2)!;
      await waitFor('more requests after removing version 1', () => Date.now() - removedAt > 2500 && answers.get(V2)! >= servedBefore + 100, server);
    } finally {
      running = false;
      await Promise.all(workers);
    }
    assert.deepEqual(failures, []);
    assert.deepEqual([...answers.keys()].sort(), [V1, V2]);
    assert.deepEqual(await modelStatus(server, 'hot'), [
      { version: '2', state: 'AVAILABLE', status: { error_code: 'OK', error_message: '' } },
      { version: '1', state: 'END', status: { error_code: 'OK', error_message: '' } },
    ]);
    assert.equal(await server.stop(), 0);
  });

  test('--drain_timeout_seconds: a client that stalls its body cannot hold the stop back; the process still exits 0', async (t) => {
    const server = await start(t, ['--drain_timeout_seconds=1', '--rest_api_receive_timeout_in_ms=0']);
    const stalled = net.connect(server.port, '127.0.0.1');
    stalled.on('error', () => undefined);
    const closed = new Promise((resolve) => stalled.once('close', resolve));
    stalled.write(`POST /v1/models/${BUNDLED_MODEL.name}:predict HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\n{"ins`);
    await new Promise((resolve) => setTimeout(resolve, 200));
    const stoppedAt = Date.now();
    assert.equal(await server.stop(), 0);
    await closed;
    const took = Date.now() - stoppedAt;
    assert.ok(took >= 900 && took < 15_000, `the stop took ${took} ms`);
    assert.ok(
      server.messages().includes('--drain_timeout_seconds=1 passed: closed the 1 REST connection(s) still open'),
      server.messages().join('\n'),
    );
    assert.equal(server.messages().at(-1), 'Server stopped');
  });

  test('--rest_api_listen_address binds one interface, and the log names the address bound', async (t) => {
    const server = await start(t, ['--rest_api_listen_address=127.0.0.1']);
    assert.ok(server.messages().includes(`REST API listening at http://127.0.0.1:${server.port}`), server.messages().join('\n'));
    assert.equal((await fetch(server.url(`/v1/models/${BUNDLED_MODEL.name}`))).status, 200);
    // Every other address of the machine is refused; one is enough to tell.
    const other = Object.values(os.networkInterfaces()).flat().find((i) => i && i.family === 'IPv4' && !i.internal);
    if (other) {
      await assert.rejects(fetch(`http://${other.address}:${server.port}/v1/models/${BUNDLED_MODEL.name}`), TypeError);
    }
    assert.equal(await server.stop(), 0);
  });

  test('EXPECTED FAILURE - an address the machine does not have is TF Serving\'s startup error, naming it', async () => {
    const result = await runToExit(['--rest_api_listen_address=192.0.2.1', '--rest_api_port=0']);
    assert.equal(result.code, 255);
    assert.match(result.stdout, /"msg":"Failed to start server\. Error: UNAVAILABLE: Failed to start HTTP Server at 192\.0\.2\.1:0: listen EADDRNOTAVAIL/);
  });

  test('by default every interface is bound ([::] or 0.0.0.0), as TF Serving does', async (t) => {
    const server = await start(t, []);
    assert.ok(
      server.messages().some((m) => m === `REST API listening at http://[::]:${server.port}` || m === `REST API listening at http://0.0.0.0:${server.port}`),
      server.messages().join('\n'),
    );
    assert.equal(await server.stop(), 0);
  });

  test('graceful stop: requests in flight when the signal comes complete with 200, new ones are refused', async (t) => {
    const server = await start(t, ['--log_level=debug']);
    const count = 8;
    const instances = Array.from({ length: 300_000 }, (_, i) => i % 1000);
    const body = JSON.stringify({ instances });
    const inFlight = Array.from({ length: count }, () =>
      fetch(server.url(`/v1/models/${BUNDLED_MODEL.name}:predict`), { method: 'POST', body }).then(async (response) => ({
        status: response.status,
        text: await response.text(),
      })),
    );
    let completed = 0;
    for (const request of inFlight) void request.then(() => (completed += 1), () => undefined);
    // Every request has reached the server (fastify logs each as it arrives, at debug level).
    await waitFor('the requests to arrive', () => server.logs().filter((l) => l.msg === 'incoming request').length >= count, server);
    assert.ok(completed < count, 'the requests must still be running when the signal comes; make them bigger');

    const exit = server.stop();
    await waitFor('the signal to be handled', () => server.messages().includes(`Received ${STOP_SIGNAL}: finishing requests in flight, then unloading models`), server);
    // A request after the signal is refused: 503 while closing, or no connection at all.
    const late = await fetch(server.url(`/v1/models/${BUNDLED_MODEL.name}`)).then(
      (response) => response.status,
      () => 'refused',
    );
    assert.ok(late === 503 || late === 'refused', `late request got ${late}`);

    const results = await Promise.all(inFlight);
    const answeredAt = Date.now();
    for (const { status, text } of results) {
      assert.equal(status, 200, text.slice(0, 200));
      const { predictions: values } = JSON.parse(text) as { predictions: number[] };
      assert.equal(values.length, instances.length);
      assert.equal(values[0], 2);
      assert.equal(values[999], 0.5 * 999 + 2);
    }
    assert.equal(await exit, 0);
    // Connections kept alive by the answered requests must not hold the stop back (72 s keep-alive).
    assert.ok(Date.now() - answeredAt < 30_000, `the stop took ${Date.now() - answeredAt} ms after the last response`);
    const messages = server.messages();
    const lastCompleted = messages.lastIndexOf('request completed');
    const unloading = messages.indexOf(`Unloading servable version {name: ${BUNDLED_MODEL.name} version: 1}`);
    assert.ok(unloading > lastCompleted, 'the model unloads only after the last request completed');
  });
});

suite('tfserve command line: gRPC', () => {
  const api = grpc.loadPackageDefinition(
    loadSync('tensorflow_serving/apis/prediction_service.proto', { keepCase: true, longs: String, enums: String, includeDirs: [protoDir()] }),
  ) as any; // eslint-disable-line @typescript-eslint/no-explicit-any
  const predictOver = (target: string): Promise<number[]> => {
    const client = new api.tensorflow.serving.PredictionService(target, grpc.credentials.createInsecure());
    const request = { model_spec: { name: BUNDLED_MODEL.name }, inputs: { x: { dtype: 'DT_FLOAT', tensor_shape: { dim: [{ size: 2 }] }, float_val: [1, 2] } } };
    return new Promise<number[]>((resolve, reject) => {
      client.Predict(request, (error: Error | null, response: { outputs: { y: { float_val: number[] } } }) => {
        client.close();
        if (error) reject(error);
        else resolve(response.outputs.y.float_val);
      });
    });
  };

  test('--port and --grpc_socket_path serve PredictionService, logged as TF Serving logs them; REST beside them', async (t) => {
    const port = await freePort();
    const socket = path.join(tempDir(t), 'grpc.sock');
    const server = await start(t, [`--port=${port}`, `--grpc_socket_path=${socket}`, '--grpc_channel_arguments=grpc.so_reuseaddr=1,grpc.max_connection_age_ms=2000', '--enable_grpc_healthcheck_service']);
    const messages = server.messages();
    assert.ok(messages.includes(`Running gRPC ModelServer at 0.0.0.0:${port} ...`), messages.join('\n'));
    assert.ok(messages.includes(`Running gRPC ModelServer at UNIX socket ${socket} ...`), messages.join('\n'));
    assert.ok(messages.indexOf(`Running gRPC ModelServer at 0.0.0.0:${port} ...`) < messages.indexOf(`Exporting HTTP/REST API at:localhost:${server.port} ...`));
    assert.deepEqual(await predictOver(`127.0.0.1:${port}`), [2.5, 3]);
    assert.deepEqual(await predictOver(`unix:${socket}`), [2.5, 3]);
    assert.equal(await server.stop(), 0);
    await assert.rejects(predictOver(`127.0.0.1:${port}`), { code: grpc.status.UNAVAILABLE });
  });

  test('a stale socket file from an earlier run is replaced, as grpc core does', async (t) => {
    const socket = path.join(tempDir(t), 'grpc.sock');
    const stale = net.createServer().listen(socket);
    await new Promise((resolve) => stale.once('listening', resolve));
    // Closing a listening server unlinks its socket: keep the file by leaving it open to the end.
    const server = await start(t, ['--port=0', `--grpc_socket_path=${socket}`]);
    assert.deepEqual(await predictOver(`unix:${socket}`), [2.5, 3]);
    assert.equal(await server.stop(), 0);
    stale.close();
  });

  test('--port equal to --rest_api_port: REST is skipped with TF Serving\'s error, gRPC serves', async () => {
    const port = await freePort();
    const logs = capture();
    let onListening!: (port: number) => void;
    const listening = new Promise<number>((resolve) => (onListening = resolve));
    const exit = run([`--port=${port}`, `--rest_api_port=${port}`], { destination: logs.stream, signals: [STOP_SIGNAL], onListening });
    await listening;
    assert.match(logs.text(), /server_options\.http_port cannot be same as grpc_port\. Please use a different port for HTTP\/REST API\. Skipped exporting HTTP\/REST API\./);
    assert.deepEqual(await predictOver(`127.0.0.1:${port}`), [2.5, 3]);
    process.kill(process.pid, STOP_SIGNAL);
    assert.equal(await exit, 0);
  });

  test('EXPECTED FAILURE - no gRPC listener, a busy port, a bad SSL config or channel argument stop the startup (255)', async (t) => {
    const busy = net.createServer();
    await new Promise<void>((resolve) => busy.listen(0, '0.0.0.0', () => resolve()));
    const busyPort = (busy.address() as net.AddressInfo).port;
    const badSsl = path.join(tempDir(t), 'ssl.config');
    fs.writeFileSync(badSsl, 'server_key: 1 2');
    for (const [args, message] of [
      [['--port=0'], 'INVALID_ARGUMENT: At least one of server_options.grpc_port or server_options.grpc_socket_path must be set.'],
      [[`--port=${busyPort}`], 'INVALID_ARGUMENT: Failed to BuildAndStart gRPC server'],
      [[`--port=${await freePort()}`, `--ssl_config_file=${badSsl}`], `INVALID_ARGUMENT: Invalid protobuf file: '${badSsl}': `],
      [[`--port=${await freePort()}`, '--ssl_config_file=/nonexistent/ssl.config'], 'NOT_FOUND: '],
      [[`--port=${await freePort()}`, '--grpc_channel_arguments=novalue'], 'INVALID_ARGUMENT: --grpc_channel_arguments: expected key=value but got "novalue" in "novalue"'],
    ] as const) {
      const result = await runToExit(['--rest_api_port=0', ...args]);
      assert.equal(result.code, 255, args.join(' '));
      const failure = result.stdout.split('\n').find((line) => line.includes('Failed to start server'));
      assert.ok(failure && (JSON.parse(failure) as LogLine).msg.startsWith(`Failed to start server. Error: ${message}`), `${args.join(' ')}\n${result.stdout}`);
    }
    busy.close();
  });

  test('EXPECTED FAILURE - --port outside 0..65535 is a command-line error', async () => {
    const result = await runToExit(['--port=70000']);
    assert.equal(result.code, 2);
    assert.match(result.stderr, /Invalid value "70000" for flag --port: expected a port between 0 and 65535/);
  });
});

suite('tfserve --enable_batching', () => {
  const PROBE = path.join(MODELS_DIR, 'batch_probe');
  const FAR = 'batch_timeout_micros { value: 600000000 }';

  function parametersFile(t: TestContext, text: string): string {
    const file = path.join(tempDir(t), 'batching.config');
    fs.writeFileSync(file, text);
    return file;
  }

  async function probe(server: Server, rows: number[][]): Promise<{ status: number; text: string }> {
    return predict(server, 'probe', { instances: rows });
  }

  function batchSizes(text: string): number[] {
    return (JSON.parse(text) as { predictions: { batch_size: number }[] }).predictions.map((p) => p.batch_size);
  }

  test('concurrent REST requests share a batch, counted on the Prometheus page', async (t) => {
    const file = parametersFile(t, `max_batch_size { value: 3 } ${FAR}`);
    const monitoring = path.join(tempDir(t), 'monitoring.config');
    fs.writeFileSync(monitoring, 'prometheus_config { enable: true path: "/monitoring/prometheus/metrics" }');
    const server = await start(t, [
      '--model_name=probe', `--model_base_path=${PROBE}`, '--enable_batching', `--batching_parameters_file=${file}`, `--monitoring_config_file=${monitoring}`,
    ]);
    const answers = await Promise.all([probe(server, [[1, 2]]), probe(server, [[3, 4], [5, 6]])]);
    for (const { status, text } of answers) assert.equal(status, 200, text);
    assert.deepEqual(answers.map(({ text }) => batchSizes(text)), [[3], [3, 3]]);
    assert.deepEqual((JSON.parse(answers[1]!.text) as { predictions: { y: number[] }[] }).predictions.map((p) => p.y), [[3, 4], [5, 6]]);
    assert.ok(server.messages().includes('Wrapping session to perform batch processing'));
    const page = await (await fetch(server.url('/monitoring/prometheus/metrics'))).text();
    assert.match(page, /^:tensorflow:serving:batching_session:wrapped_run_count\{\} 1$/m);
    assert.match(page, /^:tensorflow:serving:batching_session:processed_batch_size_sum\{\} 3$/m);
    assert.match(page, /^tfserve_requests_queued\{model="probe"\} 0$/m);
  });

  test('REST and gRPC requests share a batch', async (t) => {
    const file = parametersFile(t, `max_batch_size { value: 3 } ${FAR}`);
    const grpcPort = await freePort();
    const server = await start(t, [`--port=${grpcPort}`, '--model_name=probe', `--model_base_path=${PROBE}`, '--enable_batching', `--batching_parameters_file=${file}`]);
    const api = grpc.loadPackageDefinition(
      loadSync('tensorflow_serving/apis/prediction_service.proto', { keepCase: true, longs: String, enums: String, includeDirs: [protoDir()] }),
    ) as any; // eslint-disable-line @typescript-eslint/no-explicit-any
    const client = new api.tensorflow.serving.PredictionService(`127.0.0.1:${grpcPort}`, grpc.credentials.createInsecure());
    t.after(() => client.close());
    const overGrpc = new Promise<{ batch_size: { int_val: number[] }; y: { float_val: number[] } }>((resolve, reject) => {
      const request = { model_spec: { name: 'probe' }, inputs: { x: { dtype: 'DT_FLOAT', tensor_shape: { dim: [{ size: 1 }, { size: 2 }] }, float_val: [7, 8] } } };
      client.Predict(request, (error: Error | null, response: { outputs: { batch_size: { int_val: number[] }; y: { float_val: number[] } } }) =>
        error ? reject(error) : resolve(response.outputs),
      );
    });
    const [rest, fromGrpc] = await Promise.all([probe(server, [[1, 2], [3, 4]]), overGrpc]);
    assert.equal(rest.status, 200, rest.text);
    assert.deepEqual(batchSizes(rest.text), [3, 3]);
    assert.deepEqual(fromGrpc.batch_size.int_val, [3]);
    assert.deepEqual(fromGrpc.y.float_val, [7, 8]);
  });

  test('per-model parameters: a version\'s batching_params.pbtxt', async (t) => {
    const base = tempDir(t);
    const version = path.join(base, '1');
    fs.mkdirSync(version);
    for (const entry of fs.readdirSync(path.join(PROBE, '1'))) fs.symlinkSync(path.join(PROBE, '1', entry), path.join(version, entry));
    fs.writeFileSync(path.join(version, 'batching_params.pbtxt'), `max_batch_size { value: 2 } ${FAR}`);
    const server = await start(t, ['--model_name=probe', `--model_base_path=${base}`, '--enable_batching', '--enable_per_model_batching_parameters']);
    const answers = await Promise.all([probe(server, [[1]]), probe(server, [[2]])]);
    assert.deepEqual(answers.map(({ text }) => batchSizes(text)), [[2], [2]]);
  });

  test('EXPECTED FAILURE - TF Serving\'s codes over REST: 400 too large, 503 queue full, 429 expired in the queue', async (t) => {
    const file = parametersFile(t, `max_batch_size { value: 2 } max_enqueued_batches { value: 1 } ${FAR}`);
    const server = await start(t, ['--model_name=probe', `--model_base_path=${PROBE}`, '--enable_batching', `--batching_parameters_file=${file}`]);
    const tooLarge = await probe(server, [[1], [2], [3]]);
    assert.deepEqual(tooLarge, { status: 400, text: '{\n    "error": "Task size 3 is larger than maximum input batch size 2"\n}' });
    const queued = probe(server, [[1]]);
    // A request that does not fit the open batch with no room for another batch is refused.
    let full: { status: number; text: string } | undefined;
    await waitFor('the queue to refuse a request', async () => {
      full = await probe(server, [[2], [3]]);
      return full.status === 503 ? full : undefined;
    });
    assert.equal(full!.text, '{\n    "error": "The batch scheduling queue to which this task was submitted is full; currently 1 batches enqueued and max_enqueued_batches is 1"\n}');
    // One more row fills the open batch, which runs.
    const [first, filler] = await Promise.all([queued, probe(server, [[4]])]);
    assert.deepEqual([batchSizes(first.text), batchSizes(filler.text)], [[2], [2]]);
    await server.stop();

    const slow = parametersFile(t, 'max_batch_size { value: 8 } batch_timeout_micros { value: 50000 }');
    const expiring = await start(t, [
      '--model_name=probe', `--model_base_path=${PROBE}`, '--enable_batching', `--batching_parameters_file=${slow}`, '--rest_api_timeout_in_ms=1',
    ]);
    assert.deepEqual(await probe(expiring, [[1]]), { status: 429, text: '{\n    "error": "Run() timeout exceeded while waiting in batching queue"\n}' });
  });

  test('EXPECTED FAILURE - a bad configuration fails the model\'s load with TF Serving\'s text', async (t) => {
    const file = parametersFile(t, 'max_batch_size { value: 32 } allowed_batch_sizes: 8 allowed_batch_sizes: 16');
    const result = await runToExit([
      '--model_name=probe', `--model_base_path=${PROBE}`, '--enable_batching', `--batching_parameters_file=${file}`, '--max_num_load_retries=0', '--rest_api_port=0',
    ]);
    assert.equal(result.code, 255);
    const failure = result.stdout.split('\n').find((l) => l.includes('Failed to start server'));
    assert.ok(failure, result.stdout);
    assert.equal(
      (JSON.parse(failure) as LogLine).msg,
      'Failed to start server. Error: UNKNOWN: 1 servable(s) did not become available: {{{name: probe version: 1} due to error: INVALID_ARGUMENT: ' +
        'Last entry in allowed_batch_sizes must match max_batch_size; last entry was 16; expected 32}, }',
    );
  });

  test('EXPECTED FAILURE - startup errors: a file without --enable_batching, a file that does not parse, no batch threads', async (t) => {
    const file = parametersFile(t, 'max_batch_size { value: 8 }');
    const without = await runToExit(['--model_name=probe', `--model_base_path=${PROBE}`, `--batching_parameters_file=${file}`, '--rest_api_port=0']);
    assert.equal(without.code, 255);
    assert.match(
      without.stdout,
      /"msg":"Failed to start server\. Error: INVALID_ARGUMENT: server_options\.batching_parameters_file is set without setting server_options\.enable_batching to true\."/,
    );
    const broken = parametersFile(t, 'max_batch_size: 8');
    const unparsable = await runToExit(['--model_name=probe', `--model_base_path=${PROBE}`, '--enable_batching', `--batching_parameters_file=${broken}`, '--rest_api_port=0']);
    assert.equal(unparsable.code, 255);
    assert.ok(unparsable.stdout.includes(`Failed to start server. Error: INVALID_ARGUMENT: Invalid protobuf file: '${broken}': Error parsing text-format`), unparsable.stdout);
    const threads = parametersFile(t, 'num_batch_threads { value: 0 }');
    const noThreads = await runToExit(['--model_name=probe', `--model_base_path=${PROBE}`, '--enable_batching', `--batching_parameters_file=${threads}`, '--rest_api_port=0']);
    assert.equal(noThreads.code, 255);
    assert.match(noThreads.stdout, /"msg":"Failed to start server\. Error: INVALID_ARGUMENT: num_batch_threads must be positive; was 0"/);
  });
});

suite('tfserve --tensorflow_session_config_file', () => {
  const failure = (stdout: string): string => {
    const line = stdout.split('\n').find((l) => l.includes('Failed to start server'));
    assert.ok(line, stdout);
    return (JSON.parse(line) as LogLine).msg;
  };

  test('the file is every model\'s session config: the model loads and predicts; the flags replace its thread counts, with a warning', async (t) => {
    const file = path.join(tempDir(t), 'session.pbtxt');
    writeAtomic(
      file,
      'allow_soft_placement: true\nintra_op_parallelism_threads: 2\nsession_inter_op_thread_pool { num_threads: 2 }\ngraph_options { optimizer_options { opt_level: L0 } }\n',
    );
    const server = await start(t, [`--tensorflow_session_config_file=${file}`, '--tensorflow_intra_op_parallelism=1']);
    assert.deepEqual(await predictions(server, BUNDLED_MODEL.name, [1, 2, 5]), [2.5, 3, 4.5]);
    const messages = server.messages();
    assert.ok(
      messages.includes('--tensorflow_session_config_file: intra_op_parallelism_threads: 2 is replaced by --tensorflow_intra_op_parallelism=1, as tensorflow_model_server does; set the flag instead'),
      messages.join('\n'),
    );
    assert.deepEqual(messages.filter((m) => m.includes('not read yet')), []);
  });

  test("EXPECTED FAILURE - the config reaches TensorFlow: device_count { CPU: 0 } fails the load with TensorFlow's own error", async () => {
    const file = path.join(REPO_ROOT, 'test', 'fixtures', 'config-proto', 'no-cpu.pbtxt');
    const result = await runToExit([`--tensorflow_session_config_file=${file}`, '--max_num_load_retries=0', '--rest_api_port=0']);
    assert.equal(result.code, 255);
    assert.equal(
      failure(result.stdout),
      `Failed to start server. Error: UNKNOWN: 1 servable(s) did not become available: {{{name: ${BUNDLED_MODEL.name} version: 1} due to error: NOT_FOUND: No CPU devices are available in this process}, }`,
    );
  });

  test("EXPECTED FAILURE - a missing file, one that does not parse, all three parallelism flags: TF Serving's startup errors", async (t) => {
    const missing = path.join(tempDir(t), 'missing.pbtxt');
    const gone = await runToExit([`--tensorflow_session_config_file=${missing}`, '--rest_api_port=0']);
    assert.equal(gone.code, 255);
    assert.equal(failure(gone.stdout), `Failed to start server. Error: NOT_FOUND: ${missing}; No such file or directory`);

    const bad = path.join(tempDir(t), 'bad.pbtxt');
    writeAtomic(bad, 'gpu_options {\n  allow_grow: true\n}\n');
    const parsed = await runToExit([`--tensorflow_session_config_file=${bad}`, '--rest_api_port=0']);
    assert.equal(parsed.code, 255);
    assert.equal(
      failure(parsed.stdout),
      `Failed to start server. Error: INVALID_ARGUMENT: Invalid protobuf file: '${bad}': Error parsing text-format tensorflow.ConfigProto: 2:13: Message type "tensorflow.GPUOptions" has no field named "allow_grow".`,
    );

    const good = path.join(tempDir(t), 'good.pbtxt');
    writeAtomic(good, 'allow_soft_placement: true\n');
    const all = await runToExit([
      `--tensorflow_session_config_file=${good}`,
      '--tensorflow_session_parallelism=2',
      '--tensorflow_intra_op_parallelism=2',
      '--tensorflow_inter_op_parallelism=2',
      '--rest_api_port=0',
    ]);
    assert.equal(all.code, 255);
    assert.match(failure(all.stdout), /^Failed to start server\. Error: INVALID_ARGUMENT: Either configure .* separately\. You cannot configure all\.$/);
  });
});

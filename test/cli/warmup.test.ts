// `tfserve warmup` (src/cli/warmup.ts) run in-process through run(argv): the warmup file it writes
// from REST bodies is byte for byte the one TF Serving's Python classes write for them
// (test/fixtures/warmup, scripts/make-warmup-fixture.py), and the server replays it.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { suite, test, type TestContext } from 'node:test';

import { run } from '../../src/cli/main.js';
import { parseTfRecords } from '../../src/proto/tfrecord.js';
import { modelPath, REPO_ROOT } from '../helpers.js';
import { capture } from './cli-harness.js';

const FIXTURES = path.join(REPO_ROOT, 'test', 'fixtures', 'warmup');

async function warmup(args: readonly string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  const stdout = capture();
  const stderr = capture();
  const code = await run(['warmup', ...args], { destination: stdout.stream, errorDestination: stderr.stream });
  return { code, stdout: stdout.text(), stderr: stderr.text() };
}

/** A copy of tf1_methods as version 1 of a base path named `tf1_methods`, the name the fixture's records carry. */
function versionDir(t: TestContext): string {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'tfserve-warmup-cli-'));
  t.after(() => fs.rmSync(root, { recursive: true, force: true }));
  const dir = path.join(root, 'tf1_methods', '1');
  fs.cpSync(modelPath('tf1_methods'), dir, { recursive: true });
  return dir;
}

function write(t: TestContext, name: string, text: string): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tfserve-warmup-bodies-'));
  t.after(() => fs.rmSync(dir, { recursive: true, force: true }));
  fs.writeFileSync(path.join(dir, name), text);
  return path.join(dir, name);
}

suite('tfserve warmup', () => {
  test('writes <model_dir>/assets.extra/tf_serving_warmup_requests, the bytes TF Serving\'s classes write', async (t) => {
    const dir = versionDir(t);
    const { code, stdout, stderr } = await warmup([`--model_dir=${dir}`, path.join(FIXTURES, 'bodies.jsonl')]);
    assert.equal(stderr, '');
    assert.equal(code, 0);
    const file = path.join(dir, 'assets.extra', 'tf_serving_warmup_requests');
    assert.equal(stdout, `Wrote 4 warmup records to ${file} (each replayed on the model)\n`);
    assert.deepEqual(fs.readFileSync(file), fs.readFileSync(path.join(FIXTURES, 'from_bodies_warmup_requests')));
  });

  test('one body per file, or per line of a .jsonl file; --output, --model_name, --check=false', async (t) => {
    const dir = versionDir(t);
    const lines = fs.readFileSync(path.join(FIXTURES, 'bodies.jsonl'), 'utf8').trim().split('\n');
    const first = write(t, 'first.json', `${JSON.stringify(JSON.parse(lines[0]!), null, 2)}\n`);
    const rest = write(t, 'rest.jsonl', `${lines.slice(1).join('\n\n')}\n`);
    const output = path.join(path.dirname(first), 'out', 'warmup');
    const { code, stdout } = await warmup([`--model_dir=${dir}`, `--output=${output}`, '--check=false', first, rest]);
    assert.equal(code, 0);
    assert.equal(stdout, `Wrote 4 warmup records to ${output}\n`);
    assert.deepEqual(fs.readFileSync(output), fs.readFileSync(path.join(FIXTURES, 'from_bodies_warmup_requests')));
    assert.ok(!fs.existsSync(path.join(dir, 'assets.extra')));
    await warmup([`--model_dir=${dir}`, `--output=${output}`, '--model_name=other', first]);
    assert.ok(parseTfRecords(fs.readFileSync(output))[0]!.includes(Buffer.from('other')));
  });

  test('--help prints the usage and exits 0', async () => {
    const { code, stdout } = await warmup(['--help']);
    assert.equal(code, 0);
    assert.match(stdout, /^usage: tfserve warmup --model_dir=<version dir>/);
  });

  test('BAD CALL - no --model_dir, no bodies, an unknown flag, a bad --check: exit 2 with the usage', async () => {
    for (const [args, message] of [
      [['a.json'], '--model_dir is required'],
      [['--model_dir=/m/1'], 'no request bodies given'],
      [['--model_dir=/m/1', '--nope=1', 'a.json'], 'unknown flag: --nope'],
      [['--model_dir=/m/1', '--check=yes', 'a.json'], 'Invalid value "yes" for flag --check: expected true or false'],
      [['--model_dir', '/m/1', 'a.json'], 'flag --model_dir needs a value (--flag=value)'],
    ] as const) {
      const { code, stderr } = await warmup(args);
      assert.equal(code, 2, message);
      assert.ok(stderr.startsWith(`tfserve warmup: ${message}\n\nusage: tfserve warmup`), stderr);
    }
  });

  test('EXPECTED FAILURE - a body the REST API would refuse: exit 1 naming the file and line, nothing written', async (t) => {
    const dir = versionDir(t);
    const bodies = write(t, 'bad.jsonl', '{"instances": [1.0]}\n{"instances": [[1.0, "a"]]}\n');
    const { code, stderr } = await warmup([`--model_dir=${dir}`, bodies]);
    assert.equal(code, 1);
    assert.match(stderr, new RegExp(`^tfserve warmup: ${bodies}:2: INVALID_ARGUMENT: `));
    assert.ok(!fs.existsSync(path.join(dir, 'assets.extra')));
    const json = write(t, 'bad.json', '{"instances": ');
    assert.match((await warmup([`--model_dir=${dir}`, json])).stderr, new RegExp(`^tfserve warmup: ${json}: INVALID_ARGUMENT: JSON Parse error: `));
  });

  test('EXPECTED FAILURE - examples for a predict signature, an unknown signature, a missing model', async (t) => {
    const dir = versionDir(t);
    const examples = write(t, 'e.json', '{"examples": [{"x": 1.0}]}');
    assert.equal(
      (await warmup([`--model_dir=${dir}`, examples])).stderr,
      `tfserve warmup: ${examples}: INVALID_ARGUMENT: signature "serving_default" is not a classify or regress signature (method_name: tensorflow/serving/predict), so it cannot take "examples"\n`,
    );
    const unknown = write(t, 'u.json', '{"signature_name": "nope", "instances": [1.0]}');
    assert.equal((await warmup([`--model_dir=${dir}`, unknown])).stderr, `tfserve warmup: ${unknown}: INVALID_ARGUMENT: Serving signature name: "nope" not found in signature def\n`);
    const missing = await warmup([`--model_dir=${path.join(dir, '..', '9')}`, unknown]);
    assert.equal(missing.code, 1);
    assert.match(missing.stderr, /^tfserve warmup: [A-Z_]+: /);
  });

  test('EXPECTED FAILURE - more bodies than warmup replays (1000)', async (t) => {
    const dir = versionDir(t);
    const many = write(t, 'many.jsonl', '{"instances": [1.0]}\n'.repeat(1001));
    const { code, stderr } = await warmup([`--model_dir=${dir}`, many]);
    assert.equal(code, 1);
    assert.equal(stderr, 'tfserve warmup: INVALID_ARGUMENT: Number of warmup records exceeds the maximum (1000): 1001 bodies given\n');
  });
});

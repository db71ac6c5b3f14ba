// What the REST server tests share (test/server/*.test.ts): the app under test, request helpers, the
// TF Serving fixture server and the own-models servers, and a reader for answers with NaN/Infinity
// tokens and exact big integers. Not a test file itself.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { after, before } from 'node:test';

import type { FastifyInstance, InjectOptions } from 'fastify';

import { ModelManager } from '../../src/serving/manager.js';
import {
  assertClose,
  type GoldenCase,
  type GoldenTensor,
  loadServable,
  modelPath,
  restApp,
  SHARED_FIXTURES,
  sharedFixturesSkip,
} from '../helpers.js';

export const skip = sharedFixturesSkip;
export const fixture = (...parts: string[]) => path.join(SHARED_FIXTURES, ...parts);
export const TWO_VERSIONS = 'saved_model_half_plus_two_2_versions';

export type Method = NonNullable<InjectOptions['method']>;

export interface Reply {
  status: number;
  body: string;
  headers: Record<string, unknown>;
}

/** The apps the current test file serves (each test file is its own process). */
export const apps: { fixtures?: FastifyInstance; own?: FastifyInstance; impatient?: FastifyInstance } = {};

export async function call(method: Method, url: string, payload?: string | Buffer, headers: Record<string, string> = {}): Promise<Reply> {
  const response = await apps.fixtures!.inject({ method, url, payload, headers });
  return { status: response.statusCode, body: response.body, headers: response.headers };
}

export const post = (url: string, body: unknown) => call('POST', url, typeof body === 'string' ? body : JSON.stringify(body));
export const get = (url: string) => call('GET', url);

/** A 200 answer as parsed JSON (bodies with NaN/Infinity tokens are checked as text instead). */
export function ok(reply: Reply): unknown {
  assert.equal(reply.status, 200, `expected 200, got ${reply.status}: ${reply.body}`);
  assert.equal(reply.headers['content-type'], 'application/json');
  return JSON.parse(reply.body);
}

export function readJson(name: string): unknown {
  return JSON.parse(fs.readFileSync(fixture(name), 'utf8'));
}

export async function goodPredict(): Promise<void> {
  assert.deepEqual(ok(await post('/v1/models/default:predict', { instances: [2.0, 3.0, 4.0] })), { predictions: [3.0, 3.5, 4.0] });
}

/** In a suite: TF Serving's own test models (../shared/fixtures/tfserving) served by apps.fixtures. */
export function useFixtureServer(): void {
  let manager: ModelManager;
  before(async () => {
    manager = new ModelManager({ load: loadServable, maxLoadRetries: 0 });
    const one = (model: string, dir: string, version = 123) => [{ version, path: fixture(model, dir) }];
    manager.setAspiredVersions('default', one('saved_model_half_plus_two_cpu', '00000123'));
    manager.setAspiredVersions(TWO_VERSIONS, [
      { version: 123, path: fixture(TWO_VERSIONS, '00000123') },
      { version: 124, path: fixture(TWO_VERSIONS, '00000124') },
    ]);
    manager.setLabels(TWO_VERSIONS, new Map([['Version_Label', 123], ['stable', 123], ['canary', 124]]));
    manager.setAspiredVersions('tf2', one('saved_model_half_plus_two_tf2_cpu', '00000123'));
    manager.setAspiredVersions('matrix', one('matrix_half_plus_two', '1', 1));
    manager.setAspiredVersions('half_plus_three', one('saved_model_half_plus_three', '00000123'));
    manager.setAspiredVersions('bad', one('bad_half_plus_two', '00000123'));
    await manager.settled();
    apps.fixtures = await restApp(manager, { restTimeoutMs: 5000 });
  });

  after(async () => {
    await apps.fixtures?.close();
    await manager?.close();
  });
}

// ---------------------------------------------------------------------------------------------------
// The repo's own test models (test/fixtures/models), checked against the outputs TensorFlow itself
// computed for them (*.golden.json).

/** A response value: NaN/Infinity tokens kept, integers beyond 2^53 exact (bigint), strings as raw bytes (latin1). */
export type Loose = null | boolean | number | bigint | string | Loose[] | { [key: string]: Loose };

// A string (skipped whole, so nothing inside one is touched) or a number token outside strings.
const LOOSE_TOKEN = /"(?:[^"\\]|\\.)*"|-?(?:NaN|Infinity|Inf)\b|-?\d+(?:\.\d+)?(?:[eE][+-]?\d+)?/g;
const NUMBER_MARK = '\u0000#';

function looseNumber(token: string): number | bigint {
  if (/^-?\d+$/.test(token)) {
    const value = Number(token);
    return Number.isSafeInteger(value) ? value : BigInt(token);
  }
  if (token.endsWith('NaN')) return NaN;
  if (token.includes('Inf')) return token.startsWith('-') ? -Infinity : Infinity;
  return Number(token);
}

/**
 * Parses a TF Serving body without trusting JSON.parse with its numbers: every number token is first
 * quoted (marked), then read back exactly. The body is read as latin1, one char per byte, because
 * string outputs are raw bytes that need not be UTF-8.
 */
export function parseLoose(payload: Buffer): Loose {
  const marked = payload.toString('latin1').replace(LOOSE_TOKEN, (token) => (token.startsWith('"') ? token : `"\\u0000#${token}"`));
  return JSON.parse(marked, (_key, value: unknown) =>
    typeof value === 'string' && value.startsWith(NUMBER_MARK) ? looseNumber(value.slice(NUMBER_MARK.length)) : value,
  ) as Loose;
}

export const utf8 = (raw: string) => Buffer.from(raw, 'latin1').toString('utf8');

export function goldenNumber(value: unknown): number {
  if (value === 'NaN') return NaN;
  if (value === 'Infinity') return Infinity;
  if (value === '-Infinity') return -Infinity;
  return value as number;
}

/** Shape and row-major leaves of a nested JSON tensor ({"b64": ...} objects are leaves). */
export function flatten(value: Loose): { shape: number[]; leaves: Loose[] } {
  const shape: number[] = [];
  for (let level: Loose = value; Array.isArray(level); level = level[0]!) {
    shape.push(level.length);
    if (level.length === 0) break;
  }
  const leaves: Loose[] = [];
  const walk = (node: Loose): void => {
    if (Array.isArray(node)) node.forEach(walk);
    else leaves.push(node);
  };
  walk(value);
  return { shape, leaves };
}

/** A tensor in a response against its golden: exact for integers, bools and bytes; tolerance for floats. */
export function assertJsonTensor(actual: Loose, expected: GoldenTensor, what: string, asBase64 = false): void {
  const { shape, leaves } = flatten(actual);
  assert.deepEqual(shape, expected.shape, `${what}: shape`);
  assert.equal(leaves.length, expected.data.length, `${what}: element count`);
  expected.data.forEach((want, i) => {
    const got = leaves[i]!;
    const where = `${what}[${i}]`;
    switch (expected.dtype) {
      case 'float32':
      case 'float64':
        assert.equal(typeof got, 'number', where);
        assertClose(got as number, goldenNumber(want), where);
        break;
      case 'bool':
        assert.equal(got, want === 1, where);
        break;
      case 'string':
        if (asBase64) assert.deepEqual(got, { b64: want }, where);
        else assert.equal(Buffer.from(got as string, 'latin1').toString('base64'), want, where);
        break;
      default:
        assert.ok(typeof got === 'number' || typeof got === 'bigint', `${where}: ${String(got)} is not an integer`);
        assert.equal(String(got), String(want), where);
    }
  });
}

export type StringForm = 'b64' | 'text';

/** One element of a golden tensor as request JSON. */
export function leafText(dtype: GoldenTensor['dtype'], value: unknown, strings: StringForm): string {
  switch (dtype) {
    case 'string': {
      if (strings === 'b64') return JSON.stringify({ b64: value });
      const text = Buffer.from(value as string, 'base64').toString('utf8');
      assert.equal(Buffer.from(text, 'utf8').toString('base64'), value, 'a text-form string must be valid UTF-8');
      return JSON.stringify(text);
    }
    case 'bool':
      return value === 1 ? 'true' : 'false';
    default:
      // Numbers go as written: NaN/Infinity tokens, int64 digits beyond 2^53 untouched.
      return String(value);
  }
}

export function nestedText(shape: readonly number[], leaves: readonly string[]): string {
  if (shape.length === 0) return leaves[0]!;
  const [dim, ...rest] = shape;
  const size = rest.reduce((a, b) => a * b, 1);
  const parts = Array.from({ length: dim! }, (_, i) => nestedText(rest, leaves.slice(i * size, (i + 1) * size)));
  return `[${parts.join(', ')}]`;
}

export function tensorText(tensor: GoldenTensor, strings: StringForm): string {
  return nestedText(tensor.shape, tensor.data.map((v) => leafText(tensor.dtype, v, strings)));
}

/** Row `i` (index into dim 0) of a golden tensor as request JSON. */
export function rowText(tensor: GoldenTensor, i: number, strings: StringForm): string {
  const inner = tensor.shape.slice(1);
  const size = inner.reduce((a, b) => a * b, 1);
  return nestedText(inner, tensor.data.slice(i * size, (i + 1) * size).map((v) => leafText(tensor.dtype, v, strings)));
}

export function columnarBody(testCase: GoldenCase, strings: StringForm = 'b64'): string {
  const inputs = Object.entries(testCase.inputs).map(([name, t]) => `${JSON.stringify(name)}: ${tensorText(t, strings)}`);
  return `{"signature_name": ${JSON.stringify(testCase.signature)}, "inputs": {${inputs.join(', ')}}}`;
}

/** Row format: a value per instance for one input, an object per instance for several. */
export function rowBody(testCase: GoldenCase, strings: StringForm = 'b64'): string {
  const entries = Object.entries(testCase.inputs);
  const batch = entries[0]![1].shape[0]!;
  const instances = Array.from({ length: batch }, (_, i) =>
    entries.length === 1
      ? rowText(entries[0]![1], i, strings)
      : `{${entries.map(([name, t]) => `${JSON.stringify(name)}: ${rowText(t, i, strings)}`).join(', ')}}`,
  );
  return `{"signature_name": ${JSON.stringify(testCase.signature)}, "instances": [${instances.join(', ')}]}`;
}

/** TF Serving answers a row request only when every input and output has the same dim 0. */
export function rowable(testCase: GoldenCase): boolean {
  const dims = [...Object.values(testCase.inputs), ...Object.values(testCase.outputs)].map((t) => t.shape[0]);
  return dims.every((d) => d !== undefined && d > 0 && d === dims[0]);
}

export const isBytesOutput = (name: string, tensor: GoldenTensor) => tensor.dtype === 'string' && name.endsWith('_bytes');

/** {"outputs": ...}: the bare tensor for one output, else an object of every output. */
export function assertColumnar(body: Loose, testCase: GoldenCase, what: string): void {
  assert.deepEqual(Object.keys(body as object), ['outputs'], what);
  const outputs = (body as Record<string, Loose>)['outputs']!;
  const expected = Object.entries(testCase.outputs);
  if (expected.length === 1) {
    const [name, tensor] = expected[0]!;
    assertJsonTensor(outputs, tensor, `${what}.outputs`, isBytesOutput(name, tensor));
    return;
  }
  assert.deepEqual(Object.keys(outputs as object).sort(), expected.map(([name]) => name).sort(), `${what}: output names`);
  for (const [name, tensor] of expected) {
    assertJsonTensor((outputs as Record<string, Loose>)[name]!, tensor, `${what}.outputs.${name}`, isBytesOutput(name, tensor));
  }
}

/** {"predictions": [...]}: the list over dim 0 for one output, else an object per instance. */
export function assertRow(body: Loose, testCase: GoldenCase, what: string): void {
  assert.deepEqual(Object.keys(body as object), ['predictions'], what);
  const predictions = (body as Record<string, Loose>)['predictions'] as Loose[];
  const expected = Object.entries(testCase.outputs);
  if (expected.length === 1) {
    const [name, tensor] = expected[0]!;
    assertJsonTensor(predictions, tensor, `${what}.predictions`, isBytesOutput(name, tensor));
    return;
  }
  assert.ok(Array.isArray(predictions), `${what}: predictions is a list`);
  assert.equal(predictions.length, expected[0]![1].shape[0], `${what}: one prediction per instance`);
  for (const [i, prediction] of predictions.entries()) {
    assert.deepEqual(Object.keys(prediction as object).sort(), expected.map(([name]) => name).sort(), `${what}.predictions[${i}]: keys`);
  }
  for (const [name, tensor] of expected) {
    const column = predictions.map((p) => (p as Record<string, Loose>)[name]!);
    assertJsonTensor(column, tensor, `${what}.predictions[*].${name}`, isBytesOutput(name, tensor));
  }
}

// Dtypes TF Serving's JSON codec has no conversion for (spec §1.7).
export const NOT_JSON: readonly string[] = ['float16', 'bfloat16', 'uint16'];
export const OWN_MODELS = ['keras_multi', 'dtypes', 'tf2_module', 'image_bytes', 'tf1_methods'];


/** In a suite: the own models served by apps.own, and by apps.impatient with a 200 ms session-run timeout. */
export function useOwnServers(): void {
  let ownManager: ModelManager;
  before(async () => {
    ownManager = new ModelManager({ load: loadServable, maxLoadRetries: 0 });
    for (const name of OWN_MODELS) ownManager.setAspiredVersions(name, [{ version: 1, path: modelPath(name) }]);
    await ownManager.settled();
    apps.own = await restApp(ownManager);
    apps.impatient = await restApp(ownManager, { restTimeoutMs: 200 });
  });

  after(async () => {
    await apps.own?.close();
    await apps.impatient?.close();
    await ownManager?.close();
  });
}

export interface LooseReply {
  status: number;
  raw: Buffer;
  body: Loose;
}

export async function send(url: string, payload: string, target: FastifyInstance = apps.own!): Promise<LooseReply> {
  const response = await target.inject({ method: 'POST', url, payload });
  assert.equal(response.headers['content-type'], 'application/json', url);
  return { status: response.statusCode, raw: response.rawPayload, body: parseLoose(response.rawPayload) };
}

export async function okLoose(url: string, payload: string, target: FastifyInstance = apps.own!): Promise<LooseReply> {
  const reply = await send(url, payload, target);
  assert.equal(reply.status, 200, `${url} ${payload.slice(0, 200)}: ${reply.raw.toString().slice(0, 400)}`);
  return reply;
}

/** A 4xx/5xx with TF Serving's {"error": ...} body and nothing else. */
export async function fails(url: string, payload: string, status: number, message: string | RegExp, target: FastifyInstance = apps.own!): Promise<void> {
  const reply = await send(url, payload, target);
  assert.equal(reply.status, status, `${url} ${payload.slice(0, 200)}: ${reply.raw.toString().slice(0, 400)}`);
  assert.deepEqual(Object.keys(reply.body as object), ['error']);
  const error = (reply.body as { error: string }).error;
  if (typeof message === 'string') assert.ok(utf8(error).includes(message), `expected "${message}" in "${utf8(error).slice(0, 400)}"`);
  else assert.match(utf8(error), message);
}

export const predictUrl = (model: string) => `/v1/models/${model}:predict`;

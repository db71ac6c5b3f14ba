/** Shared test helpers: fixture paths, golden files, tolerant tensor comparison. */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';

import { arrayClass, type DType } from '../src/model/dtypes.js';
import { bfloat16Value, float16Value } from '../src/model/float16.js';
import type { Tensor, TensorInput } from '../src/model/tensor.js';
import type { FastifyInstance } from 'fastify';
import { loadSavedModel } from '../src/model/saved-model.js';
import { type AppOptions, buildApp } from '../src/server/app.js';
import { Inference } from '../src/serving/inference.js';
import type { ModelManager } from '../src/serving/manager.js';
import { SavedModelServable } from '../src/serving/servable.js';

export const REPO_ROOT = path.resolve(__dirname, '..', '..');
export const MODELS_DIR = path.join(REPO_ROOT, 'test', 'fixtures', 'models');
export const SHARED_FIXTURES = path.resolve(REPO_ROOT, '..', 'shared', 'fixtures', 'tfserving');

/** Reason to skip TF Serving conformance tests, or false when ../shared is present. */
export const sharedFixturesSkip: string | false = fs.existsSync(SHARED_FIXTURES)
  ? false
  : `TF Serving fixtures not found at ${SHARED_FIXTURES} (../shared is absent)`;
if (sharedFixturesSkip) process.stdout.write(`# skipping conformance: ${sharedFixturesSkip}\n`);

export function modelPath(name: string): string {
  return path.join(MODELS_DIR, name, '1');
}

export interface GoldenTensor {
  dtype: DType;
  shape: number[];
  data: unknown[];
}

export interface GoldenCase {
  signature: string;
  inputs: Record<string, GoldenTensor>;
  outputs: Record<string, GoldenTensor>;
}

export interface Golden {
  model: string;
  tags: string[];
  signatures: Record<string, { methodName: string; inputs: Record<string, unknown>; outputs: Record<string, unknown> }>;
  cases: GoldenCase[];
}

export function readGolden(name: string): Golden {
  return JSON.parse(fs.readFileSync(path.join(MODELS_DIR, `${name}.golden.json`), 'utf8')) as Golden;
}

function goldenNumber(value: unknown): number {
  if (value === 'NaN') return NaN;
  if (value === 'Infinity') return Infinity;
  if (value === '-Infinity') return -Infinity;
  return value as number;
}

/** A golden tensor with the typed data golden files encode per dtype: a predict input, or a v2 tensor. */
export function goldenTensor(tensor: GoldenTensor): Tensor {
  const { dtype, shape, data } = tensor;
  switch (dtype) {
    case 'string':
      return { dtype, shape, data: data.map((b64) => Buffer.from(b64 as string, 'base64')) };
    case 'int64':
      return { dtype, shape, data: BigInt64Array.from(data, (v) => BigInt(v as string)) };
    case 'uint64':
      return { dtype, shape, data: BigUint64Array.from(data, (v) => BigInt(v as string)) };
    default: {
      // float16 and bfloat16 goldens hold the raw bits, which is what their Uint16Array carries.
      const values = data.map(goldenNumber);
      const typed = new (arrayClass(dtype))(values.length);
      values.forEach((value, i) => (typed[i] = value));
      return { dtype, shape, data: typed } as Tensor;
    }
  }
}

/** Compares an output with its golden: exact for integers and strings, relative tolerance for floats. */
export function assertTensorMatches(actual: Tensor, expected: GoldenTensor, what: string, tolerance = 1e-5): void {
  assert.equal(actual.dtype, expected.dtype, `${what}: dtype`);
  assert.deepEqual(actual.shape, expected.shape, `${what}: shape`);
  const got = actual.data;
  assert.equal(got.length, expected.data.length, `${what}: element count`);
  expected.data.forEach((want, i) => {
    const value = (got as ArrayLike<unknown>)[i];
    const where = `${what}[${i}]`;
    switch (expected.dtype) {
      case 'string':
        assert.equal(Buffer.from(value as Uint8Array).toString('base64'), want, where);
        break;
      case 'int64':
      case 'uint64':
        assert.equal(String(value), want, where);
        break;
      case 'float16':
      case 'bfloat16': {
        const decode = expected.dtype === 'float16' ? float16Value : bfloat16Value;
        assertClose(decode(value as number), decode(want as number), where, 1e-2);
        break;
      }
      case 'float32':
      case 'float64':
        assertClose(value as number, goldenNumber(want), where, tolerance);
        break;
      default:
        assert.equal(value, want, where);
    }
  });
}

export function assertClose(actual: number, expected: number, what: string, tolerance = 1e-5): void {
  if (Number.isNaN(expected)) {
    assert.ok(Number.isNaN(actual), `${what}: expected NaN, got ${actual}`);
    return;
  }
  if (!Number.isFinite(expected)) {
    assert.equal(actual, expected, what);
    return;
  }
  const scale = Math.max(1, Math.abs(expected));
  assert.ok(Math.abs(actual - expected) <= tolerance * scale, `${what}: expected ${expected}, got ${actual}`);
}

/** The manager's loader in tests: a SavedModel served as it is. */
export async function loadServable(dir: string): Promise<SavedModelServable> {
  return new SavedModelServable(await loadSavedModel(dir));
}

/** The REST app over `manager`, through the serving layer, as the CLI builds it. */
export function restApp(manager: ModelManager, options: Omit<AppOptions, 'inference'> = {}): Promise<FastifyInstance> {
  return buildApp({ inference: new Inference({ manager }), ...options });
}

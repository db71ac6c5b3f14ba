/** test/fixtures/grpc (scripts/make-grpc-fixtures.py): messages made by the official Python stubs. */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';

import type { DType } from '../../src/model/dtypes.js';
import type { Tensor } from '../../src/model/tensor.js';
import { REPO_ROOT } from '../helpers.js';

export const GRPC_FIXTURES = path.join(REPO_ROOT, 'test', 'fixtures', 'grpc');

export function fixture(name: string): Buffer {
  return fs.readFileSync(path.join(GRPC_FIXTURES, `${name}.bin`));
}

/** A tensor as TensorFlow's C++ parser read it: raw little-endian bytes, or base64 strings. */
export interface ExpectedTensor {
  dtype: DType;
  shape: number[];
  data: string | string[];
}

export interface ExpectedSpec {
  name: string;
  version?: number;
  version_label?: string;
  signature_name: string;
}

export interface Expected {
  predict_request_content: { model_spec: ExpectedSpec; output_filter: string[]; inputs: Record<string, ExpectedTensor> };
  predict_request_typed: { model_spec: ExpectedSpec; inputs: Record<string, ExpectedTensor> };
  predict_response: {
    model_spec: ExpectedSpec;
    outputs: Record<string, { tensor: ExpectedTensor; as_proto_field: string; as_proto_tensor_content: string }>;
  };
  from_proto_cases: { name: string; proto: string; ok: boolean; tensor?: ExpectedTensor | null }[];
  classification_request: { model_spec: ExpectedSpec; examples: string[] };
  regression_request: { model_spec: ExpectedSpec; examples: string[] };
  multi_inference_request: { tasks: { model_spec: ExpectedSpec; method_name: string }[]; examples: string[] };
  get_model_metadata_response: { type_url: string };
}

export const EXPECTED = JSON.parse(fs.readFileSync(path.join(GRPC_FIXTURES, 'expected.json'), 'utf8')) as Expected;

export function b64(text: string): Buffer {
  return Buffer.from(text, 'base64');
}

/** Asserts that `tensor` is `expected`, value bits and all. */
export function assertTensor(tensor: Tensor, expected: ExpectedTensor, what: string): void {
  assert.equal(tensor.dtype, expected.dtype, `${what}: dtype`);
  assert.deepEqual(tensor.shape, expected.shape, `${what}: shape`);
  if (expected.dtype === 'string') {
    const data = tensor.data as Uint8Array[];
    assert.deepEqual(data.map((s) => Buffer.from(s).toString('base64')), expected.data, `${what}: strings`);
  } else {
    const data = tensor.data as ArrayBufferView;
    assert.deepEqual(Buffer.from(data.buffer, data.byteOffset, data.byteLength).toString('base64'), expected.data, `${what}: values`);
  }
}

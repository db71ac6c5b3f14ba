import assert from 'node:assert/strict';
import { suite, test } from 'node:test';

import protobuf from 'protobufjs';

import type { DType } from '../../src/model/dtypes.js';
import { binding } from '../../src/model/native.js';
import type { Tensor } from '../../src/model/tensor.js';
import { PredictRequest, TensorProto } from '../../src/proto/serving-protos.js';
import { encodeTensorProto, tensorFromProto } from '../../src/proto/tensor-proto.js';
import { assertTensor, b64, EXPECTED, fixture } from './grpc-fixtures.js';

/** A TensorProto in protobuf's object form, encoded by protobufjs (not by the code under test). */
function proto(message: Record<string, unknown>): Uint8Array {
  return TensorProto.encode(message);
}

function assertAligned(tensor: Tensor, what: string): void {
  const data = tensor.data as ArrayBufferView;
  if (data.byteLength > 0) assert.equal(binding()._addressOf(data) % 64n, 0n, `${what} is not 64-byte aligned`);
}

const SAMPLES: Record<Exclude<DType, 'string'>, Tensor['data']> = {
  float32: new Float32Array([1.5, -2, 3e38, -0]),
  float64: new Float64Array([1e300, -0.5, 0, 7]),
  float16: new Uint16Array([0x3e00, 0xc000, 0, 0x7c00]),
  bfloat16: new Uint16Array([0x3fc0, 0xc040, 0, 1]),
  int8: new Int8Array([-128, 127, 0, -1]),
  int16: new Int16Array([-32768, 32767, 0, -1]),
  int32: new Int32Array([-2147483648, 2147483647, 0, -1]),
  int64: new BigInt64Array([-(2n ** 63n), 2n ** 63n - 1n, 0n, -1n]),
  uint8: new Uint8Array([0, 255, 1, 128]),
  uint16: new Uint16Array([0, 65535, 1, 32768]),
  uint32: new Uint32Array([0, 2 ** 32 - 1, 1, 2 ** 31]),
  uint64: new BigUint64Array([0n, 2n ** 64n - 1n, 1n, 2n ** 63n]),
  bool: new Uint8Array([1, 0, 0, 1]),
};

suite('tensor-proto', () => {
  test('the official stubs\' PredictRequest inputs decode as TensorFlow\'s C++ parser reads them', () => {
    // Decoded through protobufjs's object form only to find each input's bytes; the values come from the wire.
    for (const fixtureName of ['predict_request_content', 'predict_request_typed'] as const) {
      for (const [alias, expected] of Object.entries(EXPECTED[fixtureName].inputs)) {
        const tensor = tensorFromProto(protoOf(fixtureName, alias), alias);
        assertTensor(tensor, expected, `${fixtureName}.${alias}`);
        if (tensor.dtype !== 'string') assertAligned(tensor, `${fixtureName}.${alias}`);
      }
    }
  });

  test('Tensor::FromProto\'s rules, case by case against TensorFlow\'s own parser', () => {
    for (const c of EXPECTED.from_proto_cases) {
      const bytes = b64(c.proto);
      if (c.ok) {
        assertTensor(tensorFromProto(bytes, 'x'), c.tensor!, c.name);
      } else {
        assert.throws(() => tensorFromProto(bytes, 'x'), { name: 'TfServeError', code: 'INVALID_ARGUMENT', message: 'tensor parsing error: x' }, c.name);
      }
    }
    assert.ok(EXPECTED.from_proto_cases.length >= 25);
  });

  test('every dtype both ways, typed fields and tensor_content, with the shape kept', () => {
    for (const [dtype, data] of Object.entries(SAMPLES) as [DType, Tensor['data']][]) {
      const tensor = { dtype, shape: [2, 2], data } as Tensor;
      for (const tensorContent of [false, true]) {
        const bytes = encodeTensorProto(tensor, { tensorContent });
        const back = tensorFromProto(bytes, 'x');
        assert.equal(back.dtype, dtype);
        assert.deepEqual(back.shape, [2, 2]);
        assert.deepEqual(back.data, data, `${dtype} tensorContent=${tensorContent}`);
        assertAligned(back, dtype);
        const message = TensorProto.decode(bytes);
        assert.equal(message.tensor_content !== undefined, tensorContent, `${dtype}: which field`);
      }
    }
    const strings = { dtype: 'string', shape: [3], data: [Buffer.from('ab'), new Uint8Array(0), new Uint8Array(300).fill(7)] } as Tensor;
    for (const tensorContent of [false, true]) {
      const back = tensorFromProto(encodeTensorProto(strings, { tensorContent }), 's');
      assert.deepEqual((back.data as Uint8Array[]).map((s) => Buffer.from(s)), (strings.data as Uint8Array[]).map((s) => Buffer.from(s)));
    }
  });

  test('outputs are written byte for byte as TF Serving writes them (AsProtoField, AsProtoTensorContent)', () => {
    for (const [name, output] of Object.entries(EXPECTED.predict_response.outputs)) {
      const tensor = tensorFromProto(b64(output.as_proto_field), name);
      assert.equal(Buffer.from(encodeTensorProto(tensor)).toString('base64'), output.as_proto_field, `${name} typed fields`);
      assert.equal(Buffer.from(encodeTensorProto(tensor, { tensorContent: true })).toString('base64'), output.as_proto_tensor_content, `${name} tensor_content`);
    }
  });

  test('scalars have an empty tensor_shape, present on the wire; zero-size tensors no values', () => {
    const scalar = encodeTensorProto({ dtype: 'float32', shape: [], data: new Float32Array([2.5]) });
    assert.deepEqual([...scalar.subarray(0, 4)], [0x08, 0x01, 0x12, 0x00]);
    assert.deepEqual(TensorProto.decode(scalar), { dtype: 'DT_FLOAT', tensor_shape: {}, float_val: [2.5] });
    const empty = encodeTensorProto({ dtype: 'int64', shape: [0, 3], data: new BigInt64Array(0) }, { tensorContent: true });
    assert.deepEqual(TensorProto.decode(empty), { dtype: 'DT_INT64', tensor_shape: { dim: [{}, { size: '3' }] } });
    const back = tensorFromProto(empty, 'e');
    assert.deepEqual(back.shape, [0, 3]);
    assert.equal((back.data as BigInt64Array).length, 0);
    const emptyStrings = tensorFromProto(proto({ dtype: 'DT_STRING', tensor_shape: { dim: [{ size: 0 }] }, string_val: [Buffer.from('x')] }), 's');
    assert.deepEqual(emptyStrings.data, []);
  });

  test('string values are views of the request buffer, not copies', () => {
    const bytes = Buffer.from(proto({ dtype: 'DT_STRING', tensor_shape: { dim: [{ size: 2 }] }, string_val: [Buffer.from('hello'), Buffer.from('w')] }));
    const tensor = tensorFromProto(bytes, 's');
    const [first] = tensor.data as Uint8Array[];
    assert.equal(first!.buffer, bytes.buffer);
    bytes[bytes.indexOf('hello')] = 0x48;
    assert.equal(Buffer.from(first!).toString(), 'Hello');
  });

  test('tensor_content is copied once into aligned memory, even from an unaligned offset', () => {
    const values = new Float32Array(1000).map((_, i) => i / 7);
    const message = proto({ dtype: 'DT_FLOAT', tensor_shape: { dim: [{ size: 1000 }] }, tensor_content: Buffer.from(values.buffer) });
    const padded = Buffer.concat([Buffer.alloc(3), message]);
    const tensor = tensorFromProto(padded, 'x', 3, padded.length);
    assert.deepEqual(tensor.data, values);
    assertAligned(tensor, 'x');
  });

  test('repeated fields in unpacked form, and values split over several packed runs, are read', () => {
    const writer = protobuf.Writer.create();
    writer.uint32(8).uint32(9); // DT_INT64
    writer.uint32(18).fork().uint32(18).fork().uint32(8).uint32(4).ldelim().ldelim();
    writer.uint32(80).int64(-5); // int64_val, unpacked
    writer.uint32(82).fork().int64(7).int64(2 ** 40).ldelim(); // packed
    writer.uint32(80).int64(9);
    assert.deepEqual(tensorFromProto(writer.finish(), 'x').data, new BigInt64Array([-5n, 7n, 2n ** 40n, 9n]));
  });

  test('EXPECTED FAILURE - unsupported dtypes, too many dimensions and unrepresentable shapes', () => {
    const fail = { name: 'TfServeError', code: 'INVALID_ARGUMENT', message: 'tensor parsing error: in' };
    for (const dtype of ['DT_COMPLEX64', 'DT_QINT8', 'DT_RESOURCE', 'DT_VARIANT', 'DT_FLOAT_REF', 'DT_FLOAT8_E5M2', 'DT_INT4']) {
      assert.throws(() => tensorFromProto(proto({ dtype, tensor_shape: { dim: [{ size: 1 }] } }), 'in'), fail, dtype);
    }
    assert.throws(() => tensorFromProto(proto({ dtype: 999, tensor_shape: {} }), 'in'), fail);
    assert.throws(() => tensorFromProto(proto({ dtype: 'DT_FLOAT', tensor_shape: { dim: Array.from({ length: 33 }, () => ({ size: 1 })) } }), 'in'), fail);
    assert.throws(() => tensorFromProto(proto({ dtype: 'DT_FLOAT', tensor_shape: { dim: [{ size: '9007199254740993' }] } }), 'in'), fail);
    assert.throws(() => tensorFromProto(proto({ dtype: 'DT_FLOAT', tensor_shape: { dim: [{ size: 2 ** 40 }, { size: 2 ** 40 }] } }), 'in'), fail);
    // 32 dimensions are fine.
    const rank32 = tensorFromProto(proto({ dtype: 'DT_FLOAT', tensor_shape: { dim: Array.from({ length: 32 }, () => ({ size: 1 })) }, float_val: [3] }), 'in');
    assert.deepEqual(rank32.data, new Float32Array([3]));
  });

  test('EXPECTED FAILURE - the reason is kept as the cause', () => {
    const error = (() => {
      try {
        tensorFromProto(proto({ dtype: 'DT_FLOAT', tensor_shape: { dim: [{ size: 3 }] }, tensor_content: Buffer.alloc(8) }), 'x');
      } catch (caught) {
        return caught as Error;
      }
      return null;
    })();
    assert.match(String((error?.cause as Error).message), /tensor_content holds 8 bytes, 12 expected/);
  });

  test('BAD CALL - bytes that are not a TensorProto are INTERNAL parse errors', () => {
    const fail = { name: 'TfServeError', code: 'INTERNAL', message: /^Failed to parse tensorflow.TensorProto: / };
    assert.throws(() => tensorFromProto(Buffer.from([0x08]), 'x'), fail); // truncated varint
    assert.throws(() => tensorFromProto(Buffer.from([0x22, 0x05, 0x00]), 'x'), fail); // length past the end
    assert.throws(() => tensorFromProto(Buffer.from([0x2a, 0x03, 0, 0, 0]), 'x'), fail); // packed floats of 3 bytes
    assert.throws(() => tensorFromProto(Buffer.from([0x52, 0x01, 0x80]), 'x'), fail); // packed varint cut short
    assert.throws(() => tensorFromProto(Buffer.from([0x00, 0x01]), 'x'), fail); // field 0
    assert.throws(() => tensorFromProto(Buffer.from([0x0f]), 'x'), fail); // wire type 7
  });
});

/** One input of a fixture PredictRequest, re-encoded alone by protobufjs. */
function protoOf(fixtureName: 'predict_request_content' | 'predict_request_typed', alias: string): Uint8Array {
  const request = PredictRequest.decode(fixture(fixtureName));
  return TensorProto.encode(request.inputs![alias]!);
}

// src/proto/kserve-codec.ts: v2 datatypes, the raw tensor layout, and GRPCInferenceService's messages,
// checked against messages made by tritonclient's own stubs (test/fixtures/grpc/kserve_*.bin) and
// against protobufjs, which encodes the requests here independently of the hand-written decoder.
import assert from 'node:assert/strict';
import { suite, test } from 'node:test';

import { DTYPES, type DType } from '../../src/model/dtypes.js';
import { binding } from '../../src/model/native.js';
import type { Tensor } from '../../src/model/tensor.js';
import {
  datatypeOf,
  decodeModelInferRequest,
  decodeModelRequest,
  dtypeOfDatatype,
  encodeModelInferResponse,
  encodeModelMetadataResponse,
  encodeModelReadyResponse,
  encodeServerLiveResponse,
  encodeServerMetadataResponse,
  encodeServerReadyResponse,
  rawTensorBytes,
  tensorFromRaw,
  V2_DATATYPES,
} from '../../src/proto/kserve-codec.js';
import { messageCodec, ModelInferRequest, ModelInferResponse, type ModelInferRequestMessage } from '../../src/proto/serving-protos.js';
import { fixture } from './grpc-fixtures.js';

const fails = (message: string | RegExp, code = 'INVALID_ARGUMENT') => ({ name: 'TfServeError', code, message });
const aligned = (data: ArrayBufferView) => binding()._addressOf(data) % 64n === 0n;
const bytesOf = (data: ArrayBufferView) => Buffer.from(data.buffer, data.byteOffset, data.byteLength);
const encodeRequest = (message: ModelInferRequestMessage) => Buffer.from(ModelInferRequest.encode(message));
const texts = (list: Uint8Array[]) => list.map((b) => Buffer.from(b).toString('latin1'));

/** One sample tensor per dtype, with edge values. */
const SAMPLES: Record<DType, Tensor> = {
  bool: { dtype: 'bool', shape: [3], data: Uint8Array.of(1, 0, 1) },
  uint8: { dtype: 'uint8', shape: [3], data: Uint8Array.of(0, 128, 255) },
  uint16: { dtype: 'uint16', shape: [2], data: Uint16Array.of(1, 65535) },
  uint32: { dtype: 'uint32', shape: [2], data: Uint32Array.of(0, 4294967295) },
  uint64: { dtype: 'uint64', shape: [2], data: BigUint64Array.of(9007199254740993n, 2n ** 64n - 1n) },
  int8: { dtype: 'int8', shape: [3], data: Int8Array.of(-128, 0, 127) },
  int16: { dtype: 'int16', shape: [2], data: Int16Array.of(-32768, 32767) },
  int32: { dtype: 'int32', shape: [2], data: Int32Array.of(-2147483648, 2147483647) },
  int64: { dtype: 'int64', shape: [2], data: BigInt64Array.of(-(2n ** 63n), 9007199254740993n) },
  float16: { dtype: 'float16', shape: [2], data: Uint16Array.of(0x3c00, 0xfc00) },
  float32: { dtype: 'float32', shape: [2, 2], data: Float32Array.of(1.5, -0, NaN, 1e-45) },
  float64: { dtype: 'float64', shape: [2], data: Float64Array.of(0.1, -Infinity) },
  bfloat16: { dtype: 'bfloat16', shape: [2], data: Uint16Array.of(0x3f80, 0x7fc0) },
  string: { dtype: 'string', shape: [3], data: [Buffer.from('ab'), Buffer.alloc(0), Buffer.from([0, 255])] },
};

suite('datatypes', () => {
  test('every dtype of the library has its v2 datatype, and back', () => {
    assert.deepEqual(Object.keys(V2_DATATYPES).sort(), Object.keys(DTYPES).sort());
    assert.deepEqual(
      Object.values(V2_DATATYPES).sort(),
      ['BF16', 'BOOL', 'BYTES', 'FP16', 'FP32', 'FP64', 'INT16', 'INT32', 'INT64', 'INT8', 'UINT16', 'UINT32', 'UINT64', 'UINT8'],
    );
    for (const [dtype, datatype] of Object.entries(V2_DATATYPES)) assert.equal(dtypeOfDatatype(datatype), dtype);
  });

  test('EXPECTED FAILURE - names are case-sensitive and complete: others are unknown', () => {
    for (const name of ['fp32', 'FLOAT', 'STRING', '', 'toString', '__proto__']) assert.equal(dtypeOfDatatype(name), null, name);
  });

  test('a TensorFlow type without a v2 name is described by its own name, which no request can match', () => {
    assert.equal(datatypeOf('float32'), 'FP32');
    assert.equal(datatypeOf('complex64'), 'COMPLEX64');
    assert.equal(dtypeOfDatatype(datatypeOf('resource')), null);
  });
});

suite('raw tensors', () => {
  test('every dtype round-trips through its raw bytes; numeric values land in aligned memory', () => {
    for (const [dtype, sample] of Object.entries(SAMPLES) as [DType, Tensor][]) {
      const raw = rawTensorBytes(sample);
      const tensor = tensorFromRaw(raw, dtype, [...sample.shape], `input 'x' for model 'm'`);
      assert.deepEqual(tensor.shape, sample.shape, dtype);
      if (dtype === 'string') {
        assert.deepEqual(texts(tensor.data as Uint8Array[]), texts(sample.data as Uint8Array[]));
        continue;
      }
      assert.deepEqual(bytesOf(tensor.data as ArrayBufferView), bytesOf(sample.data as ArrayBufferView), dtype);
      assert.ok(aligned(tensor.data as ArrayBufferView), `${dtype}: aligned`);
      assert.equal((tensor.data as ArrayBufferView).constructor, (sample.data as ArrayBufferView).constructor, dtype);
    }
  });

  test('the raw layout: little-endian values, BOOL one byte, BYTES uint32-LE-length-prefixed', () => {
    assert.deepEqual([...rawTensorBytes(SAMPLES.int16)], [0x00, 0x80, 0xff, 0x7f]);
    assert.deepEqual([...rawTensorBytes(SAMPLES.bool)], [1, 0, 1]);
    assert.deepEqual([...rawTensorBytes(SAMPLES.string)], [2, 0, 0, 0, 0x61, 0x62, 0, 0, 0, 0, 2, 0, 0, 0, 0, 255]);
    // Numeric bytes are a view of the tensor's memory, not a copy.
    assert.equal(rawTensorBytes(SAMPLES.float32).buffer, (SAMPLES.float32.data as Float32Array).buffer);
  });

  test('BYTES elements are views of the bytes they were read from', () => {
    const raw = rawTensorBytes(SAMPLES.string);
    const tensor = tensorFromRaw(raw, 'string', [3], 'x');
    assert.ok((tensor.data as Uint8Array[]).every((element) => element.buffer === raw.buffer));
  });

  test('zero elements: no bytes', () => {
    assert.deepEqual(tensorFromRaw(Buffer.alloc(0), 'float32', [0, 4], 'x').shape, [0, 4]);
    assert.deepEqual(tensorFromRaw(Buffer.alloc(0), 'string', [0], 'x').data, []);
  });

  test('EXPECTED FAILURE - a size that is not the shape\'s, BOOL bytes other than 0/1, BYTES that do not add up', () => {
    const where = "input 'x' for model 'm'";
    assert.throws(() => tensorFromRaw(Buffer.alloc(8), 'float32', [3], where), fails("input byte size mismatch for input 'x' for model 'm'. Expected 12, got 8"));
    assert.throws(() => tensorFromRaw(Buffer.from([1, 2]), 'bool', [2], where), fails("BOOL data of input 'x' for model 'm' holds byte 2 at element 1; only 0 and 1 are booleans"));
    assert.throws(() => tensorFromRaw(Buffer.from([1, 0, 0]), 'string', [1], where), fails("BYTES data of input 'x' for model 'm' ends inside the length of element 0 (1 expected)"));
    assert.throws(() => tensorFromRaw(Buffer.from([5, 0, 0, 0, 1]), 'string', [1], where), fails("BYTES data of input 'x' for model 'm' ends inside element 0, which says it has 5 bytes"));
    assert.throws(() => tensorFromRaw(Buffer.from([0, 0, 0, 0, 9]), 'string', [1], where), fails("BYTES data of input 'x' for model 'm' holds 1 bytes after its 1 elements"));
    assert.throws(() => tensorFromRaw(Buffer.alloc(0), 'float32', [-1], where), fails("Unable to parse 'shape' of input 'x' for model 'm': dimension -1 is not a non-negative integer"));
    assert.throws(() => tensorFromRaw(Buffer.alloc(0), 'float32', new Array(33).fill(1), where), fails("Unable to parse 'shape' of input 'x' for model 'm': more than 32 dimensions"));
    assert.throws(() => tensorFromRaw(Buffer.alloc(0), 'float32', [2 ** 30, 2 ** 30], where), fails("Unable to parse 'shape' of input 'x' for model 'm': too many elements"));
  });
});

suite('ModelInferRequest', () => {
  test('the request tritonclient builds: model, version, id, parameters of every kind, raw inputs, outputs', () => {
    const call = decodeModelInferRequest(fixture('kserve_model_infer_request'));
    assert.equal(call.modelName, 'half_plus_two');
    assert.equal(call.modelVersion, '1');
    const { request } = call;
    assert.equal(request.id, 'r1');
    assert.deepEqual(request.parameters, new Map<string, unknown>([['on', true], ['priority', 3], ['scale', 0.5], ['tag', 't']]));
    assert.deepEqual(request.inputs.map((i) => [i.name, i.datatype, i.shape]), [['x', 'FP32', [1, 3]], ['s', 'BYTES', [2]]]);
    const x = request.inputs[0]!.tensor;
    assert.deepEqual([...(x.data as Float32Array)], [1.5, -2, 3]);
    assert.ok(aligned(x.data as Float32Array));
    assert.deepEqual(texts(request.inputs[1]!.tensor.data as Uint8Array[]), ['ab', 'xyz']);
    assert.deepEqual(request.outputs, [{ name: 'y', parameters: new Map() }]);
  });

  test('typed contents of every datatype that has a field, narrow integers widened', () => {
    const inputs = [
      { name: 'b', datatype: 'BOOL', shape: [2], contents: { bool_contents: [true, false] } },
      { name: 'i8', datatype: 'INT8', shape: [2], contents: { int_contents: [-128, 127] } },
      { name: 'i16', datatype: 'INT16', shape: [1], contents: { int_contents: [-300] } },
      { name: 'i32', datatype: 'INT32', shape: [2], contents: { int_contents: [-2147483648, 5] } },
      { name: 'i64', datatype: 'INT64', shape: [2], contents: { int64_contents: ['-9223372036854775808', '9007199254740993'] } },
      { name: 'u8', datatype: 'UINT8', shape: [1], contents: { uint_contents: [255] } },
      { name: 'u16', datatype: 'UINT16', shape: [1], contents: { uint_contents: [65535] } },
      { name: 'u32', datatype: 'UINT32', shape: [1], contents: { uint_contents: [4294967295] } },
      { name: 'u64', datatype: 'UINT64', shape: [1], contents: { uint64_contents: ['18446744073709551615'] } },
      { name: 'f32', datatype: 'FP32', shape: [2, 1], contents: { fp32_contents: [0.5, -Infinity] } },
      { name: 'f64', datatype: 'FP64', shape: [1], contents: { fp64_contents: [0.1] } },
      { name: 's', datatype: 'BYTES', shape: [2], contents: { bytes_contents: [Buffer.from('x'), Buffer.alloc(0)] } },
      { name: 'empty', datatype: 'FP16', shape: [0] },
    ];
    const { request } = decodeModelInferRequest(encodeRequest({ model_name: 'm', inputs: inputs.map((i) => ({ contents: {}, ...i })) }));
    const values = Object.fromEntries(request.inputs.map((i) => [i.name, i.tensor.data]));
    assert.deepEqual(values, {
      b: Uint8Array.of(1, 0),
      i8: Int8Array.of(-128, 127),
      i16: Int16Array.of(-300),
      i32: Int32Array.of(-2147483648, 5),
      i64: BigInt64Array.of(-(2n ** 63n), 9007199254740993n),
      u8: Uint8Array.of(255),
      u16: Uint16Array.of(65535),
      u32: Uint32Array.of(4294967295),
      u64: BigUint64Array.of(2n ** 64n - 1n),
      f32: Float32Array.of(0.5, -Infinity),
      f64: Float64Array.of(0.1),
      s: [Buffer.from('x'), Buffer.alloc(0)],
      empty: new Uint16Array(0),
    });
    assert.deepEqual(request.inputs.find((i) => i.name === 'f32')!.tensor.shape, [2, 1]);
    assert.ok(request.inputs.filter((i) => i.datatype !== 'BYTES').every((i) => aligned(i.tensor.data as ArrayBufferView)));
  });

  test('unpacked repeated values and a contents field given twice read as protobuf merges them', () => {
    // fp32_contents unpacked (tag 0x35, one fixed32 each), then a second `contents` with one more value.
    const contents1 = Buffer.from([0x35, ...new Uint8Array(Float32Array.of(1).buffer), 0x35, ...new Uint8Array(Float32Array.of(2).buffer)]);
    const contents2 = Buffer.from([0x32, 0x04, ...new Uint8Array(Float32Array.of(3).buffer)]);
    const input = Buffer.concat([Buffer.from([0x0a, 0x01, 0x78, 0x12, 0x04]), Buffer.from('FP32'), Buffer.from([0x1a, 0x01, 0x03]),
      Buffer.from([0x2a, contents1.length]), contents1, Buffer.from([0x2a, contents2.length]), contents2]);
    const bytes = Buffer.concat([Buffer.from([0x2a, input.length]), input]);
    assert.deepEqual(decodeModelInferRequest(bytes).request.inputs[0]!.tensor.data, Float32Array.of(1, 2, 3));
  });

  test('int64 parameters beyond 2^53 stay exact; a repeated key keeps the last value', () => {
    const big = encodeRequest({ parameters: { n: { int64_param: '-9223372036854775808' }, u: { uint64_param: '18446744073709551615' } } });
    const again = encodeRequest({ parameters: { n: { string_param: 'later' } } });
    assert.deepEqual(decodeModelInferRequest(big).request.parameters, new Map<string, unknown>([['n', -(2n ** 63n)], ['u', 2n ** 64n - 1n]]));
    assert.equal(decodeModelInferRequest(Buffer.concat([big, again])).request.parameters.get('n'), 'later');
  });

  test('raw_input_contents go to the inputs in order', () => {
    const raw = [rawTensorBytes(SAMPLES.int32), rawTensorBytes(SAMPLES.string)];
    const { request } = decodeModelInferRequest(encodeRequest({
      inputs: [{ name: 'a', datatype: 'INT32', shape: [2] }, { name: 'b', datatype: 'BYTES', shape: [3] }],
      raw_input_contents: raw,
    }));
    assert.deepEqual(request.inputs[0]!.tensor.data, SAMPLES.int32.data);
    assert.deepEqual(texts(request.inputs[1]!.tensor.data as Uint8Array[]), texts(SAMPLES.string.data as Uint8Array[]));
  });

  test('EXPECTED FAILURE - data in the wrong place or of the wrong size, with Triton\'s texts where it has them', () => {
    const x = (more: object) => ({ model_name: 'm', inputs: [{ name: 'x', datatype: 'FP32', shape: [2], ...more }] });
    const cases: [ModelInferRequestMessage, string][] = [
      [x({}), "unable to find data for input tensor 'x' for model 'm' in request."],
      [{ ...x({ contents: { fp32_contents: [1, 2] } }), raw_input_contents: [Buffer.alloc(8)] }, "contents field must not be specified when using raw_input_contents for 'x' for model 'm'"],
      [{ ...x({}), raw_input_contents: [Buffer.alloc(8), Buffer.alloc(8)] }, "the request has 2 raw_input_contents for 1 inputs of model 'm'"],
      [{ ...x({}), raw_input_contents: [Buffer.alloc(4)] }, "input byte size mismatch for input 'x' for model 'm'. Expected 8, got 4"],
      [x({ contents: { fp32_contents: [1] } }), "unexpected number of fp32_contents of input 'x' for model 'm': shape [2] holds 2 elements, the request 1"],
      [x({ contents: { fp64_contents: [1, 2] } }), "contents of input 'x' for model 'm' hold fp64_contents, which does not carry FP32"],
      [x({ datatype: 'FP16', contents: {} }), "FP16 has no typed contents field: send the values of input 'x' for model 'm' in raw_input_contents"],
      [x({ datatype: 'INT8', contents: { int_contents: [1, 200] } }), "value 200 at element 1 of input 'x' for model 'm' is out of range for INT8"],
      [x({ datatype: 'UINT16', contents: { uint_contents: [70000, 1] } }), "value 70000 at element 0 of input 'x' for model 'm' is out of range for UINT16"],
      [x({ datatype: 'float32', contents: {} }), "invalid datatype 'float32' of input 'x' for model 'm'"],
      [x({ shape: [-2], contents: {} }), "Unable to parse 'shape' of input 'x' for model 'm': dimension -2 is not a non-negative integer"],
      [x({ shape: ['9007199254740993'], contents: {} }), "Unable to parse 'shape' of input 'x' for model 'm': dimension NaN is not a non-negative integer"],
    ];
    for (const [message, text] of cases) assert.throws(() => decodeModelInferRequest(encodeRequest(message)), fails(text), text);
  });

  test('BAD CALL - bytes that are not a ModelInferRequest are INTERNAL parse errors', () => {
    assert.throws(() => decodeModelInferRequest(Buffer.from([0x2a, 0x05, 0x0a])), fails(/^Failed to parse inference.ModelInferRequest: /, 'INTERNAL'));
    const badContents = Buffer.concat([Buffer.from([0x12, 0x04]), Buffer.from('FP32'), Buffer.from([0x2a, 0x01, 0x32])]);
    assert.throws(
      () => decodeModelInferRequest(Buffer.concat([Buffer.from([0x2a, badContents.length]), badContents])),
      fails(/^Failed to parse inference.InferTensorContents: /, 'INTERNAL'),
    );
  });
});

suite('responses', () => {
  test('ModelInferResponse is written byte for byte as Triton\'s stubs write it, values in raw_output_contents', () => {
    const encoded = encodeModelInferResponse({
      modelName: 'half_plus_two',
      modelVersion: '1',
      id: 'r1',
      outputs: [{ name: 'y', datatype: 'FP32', shape: [1, 3], tensor: { dtype: 'float32', shape: [1, 3], data: Float32Array.of(2.75, 1, 3.5) } }],
    });
    assert.deepEqual(encoded, fixture('kserve_model_infer_response'));
  });

  test('every output, empty ones included, has its raw_output_contents entry; no id without one', () => {
    const outputs = (Object.entries(SAMPLES) as [DType, Tensor][]).map(([dtype, tensor]) => ({ name: dtype as string, datatype: V2_DATATYPES[dtype], shape: tensor.shape, tensor }));
    outputs.push({ name: 'none', datatype: 'FP32', shape: [0], tensor: { dtype: 'float32', shape: [0], data: new Float32Array(0) } });
    const decoded = ModelInferResponse.decode(encodeModelInferResponse({ modelName: 'm', modelVersion: '2', id: '', outputs }));
    assert.equal(decoded.id, undefined);
    assert.deepEqual(decoded.outputs!.map((o) => o.name), outputs.map((o) => o.name));
    assert.equal(decoded.raw_output_contents!.length, outputs.length);
    decoded.raw_output_contents!.forEach((raw, i) => {
      const { tensor } = outputs[i]!;
      assert.deepEqual(Buffer.from(raw), Buffer.from(rawTensorBytes(tensor)), outputs[i]!.name);
    });
  });

  test('model metadata as Triton\'s stubs write it; the small messages as protobuf has them', () => {
    const metadata = {
      name: 'half_plus_two', versions: ['1'], platform: 'tensorflow_savedmodel',
      inputs: [{ name: 'x', datatype: 'FP32', shape: [-1, 3] }], outputs: [{ name: 'y', datatype: 'FP32', shape: [-1, 3] }],
    };
    assert.deepEqual(encodeModelMetadataResponse(metadata), fixture('kserve_model_metadata_response'));
    assert.deepEqual(messageCodec('inference.ServerMetadataResponse').decode(encodeServerMetadataResponse({ name: 'tfserve', version: '0.1.0', extensions: ['binary_tensor_data'] })), {
      name: 'tfserve', version: '0.1.0', extensions: ['binary_tensor_data'],
    });
    assert.deepEqual(messageCodec('inference.ServerLiveResponse').decode(encodeServerLiveResponse(true)), { live: true });
    assert.deepEqual(messageCodec('inference.ServerReadyResponse').decode(encodeServerReadyResponse(true)), { ready: true });
    assert.equal(encodeModelReadyResponse(false).length, 0, 'false is proto3\'s default: not written');
    const ready = messageCodec('inference.ModelReadyRequest').encode({ name: 'm', version: '3' });
    assert.deepEqual(decodeModelRequest(ready, 'ModelReadyRequest'), { name: 'm', version: '3' });
    assert.deepEqual(decodeModelRequest(Buffer.alloc(0), 'ModelMetadataRequest'), { name: '', version: '' });
  });
});

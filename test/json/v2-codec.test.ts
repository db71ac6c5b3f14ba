// src/json/v2-codec.ts: KServe v2 REST JSON and the binary tensor data extension, both ways, with
// every error text. Bodies are built here the way tritonclient.http builds them (compact JSON, then
// the binary inputs in input order, Inference-Header-Content-Length = the JSON's bytes).
import assert from 'node:assert/strict';
import { suite, test } from 'node:test';

import { binaryOutputs, decodeInferRequest, encodeInferResponse, encodeModelMetadata, encodeServerMetadata } from '../../src/json/v2-codec.js';
import { binding } from '../../src/model/native.js';
import type { Tensor } from '../../src/model/tensor.js';
import { alignedAllocator, type InferOutput, type InferRequest, rawTensorBytes } from '../../src/proto/kserve-codec.js';

const fails = (message: string | RegExp, code = 'INVALID_ARGUMENT') => ({ name: 'TfServeError', code, message });
const json = (value: unknown) => Buffer.from(JSON.stringify(value));
const decode = (value: unknown) => decodeInferRequest(typeof value === 'string' ? Buffer.from(value) : json(value), undefined, 'm');
const input = (more: object) => ({ inputs: [{ name: 'x', shape: [2], datatype: 'FP32', data: [1, 2], ...more }] });
const dataOf = (request: InferRequest, i = 0) => request.inputs[i]!.tensor.data;
const texts = (list: Uint8Array[]) => list.map((b) => Buffer.from(b).toString('utf8'));

/** A binary request as tritonclient sends it: JSON, then each binary input's bytes. */
function binaryBody(header: object, ...blobs: Uint8Array[]): { body: Buffer; length: string } {
  const text = json(header);
  return { body: Buffer.concat([text, ...blobs]), length: String(text.length) };
}

suite('requests: JSON', () => {
  test('id, parameters of each JSON kind, inputs, requested outputs', () => {
    // Literal text: JSON.stringify could not write 2^53 + 1.
    const request = decode(
      '{"id":"r-7","parameters":{"signature_name":"sig","binary_data_output":true,"big":9007199254740993,"ratio":0.5},' +
        '"inputs":[{"name":"x","shape":[2,2],"datatype":"FP32","data":[[1,2],[3,4]],"parameters":{"note":"n"}}],' +
        '"outputs":[{"name":"y","parameters":{"binary_data":true}},{"name":"z"}]}',
    );
    assert.equal(request.id, 'r-7');
    assert.deepEqual(request.parameters, new Map<string, unknown>([['signature_name', 'sig'], ['binary_data_output', true], ['big', 9007199254740993n], ['ratio', 0.5]]));
    assert.deepEqual(request.inputs.map((i) => [i.name, i.datatype, i.shape, i.parameters]), [['x', 'FP32', [2, 2], new Map([['note', 'n']])]]);
    assert.deepEqual(dataOf(request), Float32Array.of(1, 2, 3, 4));
    assert.deepEqual(request.outputs, [{ name: 'y', parameters: new Map([['binary_data', true]]) }, { name: 'z', parameters: new Map() }]);
    assert.deepEqual(decode({ inputs: [] }), { id: '', parameters: new Map(), inputs: [], outputs: [] });
  });

  test('every datatype from JSON: exact 64-bit integers, FP16/BF16 rounded from numbers, BYTES as strings', () => {
    const cases: [string, unknown[], unknown][] = [
      ['BOOL', [true, false], Uint8Array.of(1, 0)],
      ['INT8', [-128, 127], Int8Array.of(-128, 127)],
      ['INT16', [-32768, 32767], Int16Array.of(-32768, 32767)],
      ['INT32', [-2147483648, 2147483647], Int32Array.of(-2147483648, 2147483647)],
      ['UINT8', [0, 255], Uint8Array.of(0, 255)],
      ['UINT16', [0, 65535], Uint16Array.of(0, 65535)],
      ['UINT32', [0, 4294967295], Uint32Array.of(0, 4294967295)],
      ['FP64', [0.1, -1e300], Float64Array.of(0.1, -1e300)],
      ['FP16', [1, -65504], Uint16Array.of(0x3c00, 0xfbff)],
      ['BF16', [1, -2.5], Uint16Array.of(0x3f80, 0xc020)],
    ];
    for (const [datatype, data, expected] of cases) {
      assert.deepEqual(dataOf(decode(input({ datatype, data }))), expected, datatype);
    }
    const big = decode('{"inputs":[{"name":"a","shape":[2],"datatype":"INT64","data":[-9223372036854775808,9007199254740993]},' +
      '{"name":"b","shape":[1],"datatype":"UINT64","data":[18446744073709551615]},{"name":"f","shape":[3],"datatype":"FP32","data":[NaN,-Infinity,1e-45]}]}');
    assert.deepEqual(dataOf(big, 0), BigInt64Array.of(-(2n ** 63n), 9007199254740993n));
    assert.deepEqual(dataOf(big, 1), BigUint64Array.of(2n ** 64n - 1n));
    assert.deepEqual(dataOf(big, 2), Float32Array.of(NaN, -Infinity, 1e-45));
    const strings = decode(input({ datatype: 'BYTES', shape: [3], data: ['café', 'a\n"b"', ''] }));
    assert.deepEqual(texts(dataOf(strings) as Uint8Array[]), ['café', 'a\n"b"', '']);
  });

  test('data flat or nested, any nesting, as long as the element count is the shape\'s', () => {
    for (const data of [[1, 2, 3, 4, 5, 6], [[1, 2, 3], [4, 5, 6]], [[1, 2], [3, 4], [5, 6]], [[[1], [2, 3]], [4, [5, [6]]]]]) {
      assert.deepEqual(dataOf(decode(input({ shape: [2, 3], data, datatype: 'INT32' }))), Int32Array.of(1, 2, 3, 4, 5, 6));
    }
    assert.deepEqual(dataOf(decode(input({ shape: [], data: [7] }))), Float32Array.of(7));
    assert.deepEqual(dataOf(decode(input({ shape: [0, 3], data: [] }))), new Float32Array(0));
    assert.deepEqual(dataOf(decode(input({ shape: [2], datatype: 'BOOL', data: [[true], [false]] }))), Uint8Array.of(1, 0));
  });

  test('numeric tensors land in the allocator\'s memory (the server\'s: aligned native memory)', () => {
    const body = json(input({ shape: [3], data: [1, 2, 3] }));
    const tensor = decodeInferRequest(body, undefined, 'm', { allocate: alignedAllocator }).inputs[0]!.tensor;
    assert.equal(binding()._addressOf(tensor.data as Float32Array) % 64n, 0n);
    const asked: [string, number][] = [];
    decodeInferRequest(body, undefined, 'm', { allocate: (dtype, length) => (asked.push([dtype, length]), new Float32Array(length)) });
    assert.deepEqual(asked, [['float32', 3]]);
  });

  test('EXPECTED FAILURE - a request the protocol does not allow, each with its text', () => {
    const cases: [unknown, string, string?][] = [
      ['[1]', 'Unable to parse the inference request: expected a JSON object, got [1]'],
      ['{"inputs": [1, 2', "JSON Parse error: Missing a comma or ']' after an array element. at offset: 16"],
      [{}, "Unable to parse 'inputs': the request has none"],
      [{ inputs: {} }, "Unable to parse 'inputs': expected an array, got {}"],
      [{ inputs: [1] }, 'Unable to parse inputs[0]: expected an object, got 1'],
      [{ inputs: [[1]] }, "Unable to parse 'inputs': expected an array of objects, got [[1]]"],
      [{ id: 5, inputs: [] }, "Unable to parse 'id': expected a string, got 5"],
      [{ parameters: [], inputs: [] }, "Unable to parse 'parameters': expected an object, got []"],
      [{ parameters: { p: null }, inputs: [] }, "Unable to parse 'parameters': parameter 'p' must be a string, number or boolean, got null"],
      [{ parameters: { binary_data_output: 1 }, inputs: [] }, "Unable to parse parameter 'binary_data_output' of the request: expected a boolean, got 1"],
      [{ inputs: [{ shape: [1], datatype: 'FP32', data: [1] }] }, "Unable to parse 'name' of inputs[0]: expected a string"],
      [input({ shape: undefined }), "Unable to parse 'shape' of input 'x' for model 'm': expected an array of non-negative integers"],
      [input({ shape: [-1] }), "Unable to parse 'shape' of input 'x' for model 'm': expected an array of non-negative integers, got [-1]"],
      [input({ shape: [1.5] }), "Unable to parse 'shape' of input 'x' for model 'm': expected an array of non-negative integers, got [1.5]"],
      [input({ datatype: 7 }), "Unable to parse 'datatype' of input 'x' for model 'm': expected a string, got 7"],
      [input({ datatype: 'FLOAT' }), "invalid datatype 'FLOAT' of input 'x' for model 'm'"],
      [input({ data: undefined }), "Input must set only one of the following fields: 'data', 'binary_data_size' in 'parameters', 'shared_memory_region' in 'parameters'"],
      [input({ parameters: { binary_data_size: 8 } }), "Input must set only one of the following fields: 'data', 'binary_data_size' in 'parameters', 'shared_memory_region' in 'parameters'"],
      [input({ data: undefined, parameters: { shared_memory_region: 'r' } }), "shared memory is not supported: input 'x' for model 'm' sets 'shared_memory_region'", 'UNIMPLEMENTED'],
      [input({ data: 1 }), "Unable to parse 'data' of input 'x' for model 'm': expected an array, got 1"],
      [input({ data: [1, 2, 3] }), "unexpected number of elements in 'data' of input 'x' for model 'm': shape [2] holds 2, 'data' 3"],
      [input({ data: [1, 'a'] }), "Unable to parse 'data' of input 'x' for model 'm': expected a number (FP32) at element 1, got \"a\""],
      [input({ datatype: 'INT8', data: [1, 128] }), "Unable to parse 'data' of input 'x' for model 'm': expected an integer between -128 and 127 at element 1, got 128"],
      [input({ datatype: 'INT32', data: [1.5, 1] }), "Unable to parse 'data' of input 'x' for model 'm': expected an integer between -2147483648 and 2147483647 at element 0, got 1.5"],
      [input({ datatype: 'UINT64', data: [-1, 1] }), "Unable to parse 'data' of input 'x' for model 'm': expected an integer between 0 and 18446744073709551615 at element 0, got -1"],
      [input({ datatype: 'BOOL', data: [1, 0] }), "Unable to parse 'data' of input 'x' for model 'm': expected true or false at element 0, got 1"],
      [input({ datatype: 'BYTES', data: [1, 2] }), "Unable to parse 'data' of input 'x' for model 'm': expected a string at element 0, got 1"],
      [input({ datatype: 'BYTES', data: ['a', null] }), "Unable to parse 'data' of input 'x' for model 'm': expected a string at element 1, got null"],
      [{ inputs: [], outputs: [{}] }, "Unable to parse 'name' of outputs[0]: expected a string"],
      [{ inputs: [], outputs: [{ name: 'y', parameters: { binary_data: 'yes' } }] }, "Unable to parse parameter 'binary_data' of output 'y': expected a boolean, got yes"],
      [{ inputs: [], outputs: [{ name: 'y', parameters: { classification: 3 } }] }, "the classification extension is not supported: output 'y' sets 'classification'", 'UNIMPLEMENTED'],
      [{ inputs: [], outputs: [{ name: 'y', parameters: { shared_memory_region: 'r' } }] }, "shared memory is not supported: output 'y' sets 'shared_memory_region'", 'UNIMPLEMENTED'],
    ];
    for (const [body, text, code] of cases) assert.throws(() => decode(body), fails(text, code), text);
  });
});

suite('requests: binary tensor data', () => {
  test('binary inputs follow the JSON in input order, beside JSON ones; BYTES length-prefixed', () => {
    const strings: Tensor = { dtype: 'string', shape: [2], data: [Buffer.from('ab'), Buffer.from([0, 255])] };
    const { body, length } = binaryBody(
      {
        inputs: [
          { name: 'a', shape: [2], datatype: 'INT16', parameters: { binary_data_size: 4 } },
          { name: 'j', shape: [1], datatype: 'FP64', data: [0.25] },
          { name: 's', shape: [2], datatype: 'BYTES', parameters: { binary_data_size: 12 } },
          { name: 'e', shape: [0], datatype: 'FP32', parameters: { binary_data_size: 0 } },
        ],
      },
      new Uint8Array(Int16Array.of(-2, 300).buffer),
      rawTensorBytes(strings),
    );
    const request = decodeInferRequest(body, length, 'm', { allocate: alignedAllocator });
    assert.deepEqual(dataOf(request, 0), Int16Array.of(-2, 300));
    assert.equal(binding()._addressOf(dataOf(request, 0) as Int16Array) % 64n, 0n);
    assert.deepEqual(dataOf(request, 1), Float64Array.of(0.25));
    assert.deepEqual((dataOf(request, 2) as Uint8Array[]).map((b) => [...b]), [[0x61, 0x62], [0, 255]]);
    assert.ok((dataOf(request, 2) as Uint8Array[]).every((b) => b.buffer === body.buffer), 'BYTES elements are views of the body');
    assert.deepEqual(dataOf(request, 3), new Float32Array(0));
  });

  test('BF16 and FP16 travel as their 16-bit patterns', () => {
    const { body, length } = binaryBody(
      { inputs: [{ name: 'x', shape: [2], datatype: 'BF16', parameters: { binary_data_size: 4 } }] },
      new Uint8Array(Uint16Array.of(0x3f80, 0x7fc0).buffer),
    );
    assert.deepEqual(dataOf(decodeInferRequest(body, length, 'm')), Uint16Array.of(0x3f80, 0x7fc0));
  });

  test('EXPECTED FAILURE - the header length and the binary sizes must add up (Triton\'s texts)', () => {
    const header = { inputs: [{ name: 'x', shape: [2], datatype: 'FP32', parameters: { binary_data_size: 8 } }] };
    const { body, length } = binaryBody(header, new Uint8Array(8));
    const total = body.length;
    assert.throws(() => decodeInferRequest(body, 'abc', 'm'), fails('Unable to parse Inference-Header-Content-Length, got: abc'));
    assert.throws(() => decodeInferRequest(body, '-5', 'm'), fails('Unable to parse Inference-Header-Content-Length, got: -5'));
    assert.throws(() => decodeInferRequest(body, '0', 'm'), fails(`inference header size should be in range (0, ${total}), got: 0`));
    assert.throws(() => decodeInferRequest(body, String(total + 1), 'm'), fails(`inference header size should be in range (0, ${total}), got: ${total + 1}`));
    assert.throws(() => decodeInferRequest(body.subarray(0, total - 1), length, 'm'), fails("unexpected size for input 'x', expecting 8 additional bytes for model 'm'"));
    // Without the header the whole body is JSON, so the binary data is missing.
    assert.throws(() => decodeInferRequest(json(header), undefined, 'm'), fails("unexpected size for input 'x', expecting 8 additional bytes for model 'm'"));
    assert.throws(() => decodeInferRequest(Buffer.concat([body, Buffer.alloc(3)]), length, 'm'), fails('the request has 3 bytes after the JSON and the binary data its inputs declare'));
    const short = binaryBody({ inputs: [{ name: 'x', shape: [3], datatype: 'FP32', parameters: { binary_data_size: 8 } }] }, new Uint8Array(8));
    assert.throws(() => decodeInferRequest(short.body, short.length, 'm'), fails("input byte size mismatch for input 'x' for model 'm'. Expected 12, got 8"));
    const negative = binaryBody({ inputs: [{ name: 'x', shape: [2], datatype: 'FP32', parameters: { binary_data_size: -8 } }] });
    assert.throws(() => decodeInferRequest(negative.body, negative.length, 'm'), fails("Unable to parse parameter 'binary_data_size' of input 'x' for model 'm': expected a non-negative integer, got -8"));
  });
});

suite('responses', () => {
  const output = (name: string, tensor: Tensor, datatype: string): InferOutput => ({ name, datatype, shape: tensor.shape, tensor });
  const response = (...outputs: InferOutput[]) => ({ modelName: 'm', modelVersion: '3', id: 'q', outputs });
  const FLOATS = output('y', { dtype: 'float32', shape: [2, 2], data: Float32Array.of(2.5, 3, NaN, -Infinity) }, 'FP32');

  test('JSON: compact, flat data, TF Serving\'s float text, exact 64-bit integers, FP16/BF16 as numbers, BYTES as strings', () => {
    const encoded = encodeInferResponse(
      response(
        FLOATS,
        output('i', { dtype: 'int64', shape: [2], data: BigInt64Array.of(-(2n ** 63n), 9007199254740993n) }, 'INT64'),
        output('h', { dtype: 'float16', shape: [1], data: Uint16Array.of(0x3555) }, 'FP16'),
        output('b', { dtype: 'bfloat16', shape: [1], data: Uint16Array.of(0x3f80) }, 'BF16'),
        output('t', { dtype: 'bool', shape: [2], data: Uint8Array.of(1, 0) }, 'BOOL'),
        output('s', { dtype: 'string', shape: [2], data: [Buffer.from('a"\n'), Buffer.from('é')] }, 'BYTES'),
        output('d', { dtype: 'float64', shape: [], data: Float64Array.of(0.1) }, 'FP64'),
      ),
      () => false,
    );
    assert.equal(encoded.headerLength, undefined);
    assert.equal(
      encoded.body.toString('utf8'),
      '{"model_name":"m","model_version":"3","id":"q","outputs":[' +
        '{"name":"y","datatype":"FP32","shape":[2,2],"data":[2.5,3.0,NaN,-Infinity]},' +
        '{"name":"i","datatype":"INT64","shape":[2],"data":[-9223372036854775808,9007199254740993]},' +
        '{"name":"h","datatype":"FP16","shape":[1],"data":[0.333251953]},' +
        '{"name":"b","datatype":"BF16","shape":[1],"data":[1.0]},' +
        '{"name":"t","datatype":"BOOL","shape":[2],"data":[true,false]},' +
        '{"name":"s","datatype":"BYTES","shape":[2],"data":["a\\"\\n","é"]},' +
        '{"name":"d","datatype":"FP64","shape":[],"data":[0.1]}]}',
    );
    assert.equal(encodeInferResponse({ ...response(), id: '' }, () => false).body.toString(), '{"model_name":"m","model_version":"3","outputs":[]}');
  });

  test('binary outputs: binary_data_size in the JSON, bytes after it in output order, the header length the JSON\'s', () => {
    const strings = output('s', { dtype: 'string', shape: [1], data: [Buffer.from('xyz')] }, 'BYTES');
    const ints = output('i', { dtype: 'int32', shape: [1], data: Int32Array.of(7) }, 'INT32');
    const encoded = encodeInferResponse(response(FLOATS, ints, strings), (name) => name !== 'i');
    const header = encoded.body.subarray(0, encoded.headerLength!);
    assert.deepEqual(JSON.parse(header.toString()).outputs, [
      { name: 'y', datatype: 'FP32', shape: [2, 2], parameters: { binary_data_size: 16 } },
      { name: 'i', datatype: 'INT32', shape: [1], data: [7] },
      { name: 's', datatype: 'BYTES', shape: [1], parameters: { binary_data_size: 7 } },
    ]);
    assert.deepEqual(encoded.body.subarray(encoded.headerLength!), Buffer.concat([rawTensorBytes(FLOATS.tensor), Buffer.from([3, 0, 0, 0]), Buffer.from('xyz')]));
  });

  test('only empty binary outputs: no binary part and no header, as Triton answers', () => {
    const empty = output('e', { dtype: 'float32', shape: [0], data: new Float32Array(0) }, 'FP32');
    const encoded = encodeInferResponse(response(empty), () => true);
    assert.equal(encoded.headerLength, undefined);
    assert.deepEqual(JSON.parse(encoded.body.toString()).outputs, [{ name: 'e', datatype: 'FP32', shape: [0], parameters: { binary_data_size: 0 } }]);
  });

  test('which outputs are binary: a listed one by its binary_data, the rest by binary_data_output', () => {
    const request = (parameters: [string, boolean][], outputs: [string, [string, boolean][]][]): InferRequest => ({
      id: '',
      parameters: new Map(parameters),
      inputs: [],
      outputs: outputs.map(([name, p]) => ({ name, parameters: new Map(p) })),
    });
    assert.equal(binaryOutputs(request([], []))('y'), false);
    assert.equal(binaryOutputs(request([['binary_data_output', true]], []))('y'), true);
    const listed = binaryOutputs(request([['binary_data_output', true]], [['y', [['binary_data', true]]], ['z', []]]));
    assert.deepEqual([listed('y'), listed('z')], [true, false]);
  });

  test('server and model metadata', () => {
    assert.equal(encodeServerMetadata({ name: 'tfserve', version: '1.2.3', extensions: ['binary_tensor_data'] }).toString(), '{"name":"tfserve","version":"1.2.3","extensions":["binary_tensor_data"]}');
    const metadata = { name: 'm', versions: ['1', '2'], platform: 'tensorflow_savedmodel', inputs: [{ name: 'x', datatype: 'FP32', shape: [-1, 3] }], outputs: [] };
    assert.deepEqual(JSON.parse(encodeModelMetadata(metadata).toString()), metadata);
  });
});

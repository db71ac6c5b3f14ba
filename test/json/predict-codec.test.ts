import assert from 'node:assert/strict';
import { suite, test } from 'node:test';

import { type DType, DTYPES } from '../../src/model/dtypes.js';
import type { StatusCode } from '../../src/model/errors.js';
import {
  decodePredictInputs,
  decodePredictRequest,
  encodePredictResponse,
  parsePredictBody,
  type PredictFormat,
} from '../../src/json/predict-codec.js';
import { decodeBase64 } from '../../src/json/values.js';
import { numberAt, parseJson, stringText, type JsonValue } from '../../src/json/parse.js';
import type { SignatureInfo, TensorInfo } from '../../src/model/signature.js';
import type { Tensor, TensorInput } from '../../src/model/tensor.js';

type InputSpec = DType | 'complex64';

function signature(inputs: Record<string, InputSpec>): SignatureInfo {
  const infos: Record<string, TensorInfo> = {};
  for (const [name, dtype] of Object.entries(inputs)) {
    infos[name] = { name: `${name}:0`, dtype, shape: null, tfType: dtype === 'complex64' ? 8 : DTYPES[dtype].tfType };
  }
  return { methodName: 'tensorflow/serving/predict', inputs: infos, outputs: {} };
}

function decode(body: string | Uint8Array, inputs: Record<string, InputSpec>): Record<string, TensorInput> {
  return decodePredictInputs(parsePredictBody(body), signature(inputs));
}

/** Parsed JSON as plain JS (our parser: it reads NaN/Infinity; exact integers become bigints). */
function plain(value: JsonValue): unknown {
  switch (value.kind) {
    case 'null':
      return null;
    case 'bool':
      return value.value;
    case 'number':
      return value.exact ?? value.value;
    case 'string':
      return stringText(value);
    case 'array':
      return value.items.map(plain);
    case 'object':
      return Object.fromEntries([...value.members].map(([k, v]) => [k, plain(v)]));
    case 'numbers': {
      const nest = (dim: number, offset: number): unknown[] => {
        const size = value.shape[dim]!;
        const stride = value.shape.slice(dim + 1).reduce((a, b) => a * b, 1);
        return Array.from({ length: size }, (_, i) =>
          dim + 1 < value.shape.length ? nest(dim + 1, offset + i * stride) : plain(numberAt(value, offset + i)),
        );
      };
      return nest(0, 0);
    }
  }
}

function encoded(format: PredictFormat, outputs: Record<string, Tensor>): unknown {
  return plain(parseJson(encodePredictResponse(format, outputs)));
}

function asTensor(input: TensorInput): Tensor {
  return input as unknown as Tensor;
}

function text(bytes: Uint8Array): string {
  return Buffer.from(bytes).toString('utf8');
}

function bytes(value: string): Uint8Array {
  return new Uint8Array(Buffer.from(value, 'utf8'));
}

const DEEP = `${'['.repeat(100_000)}1${']'.repeat(100_000)}`;

// [what, body, signature inputs, code, message (exact when a string, else pattern)]
const MALFORMED: [string, string, Record<string, InputSpec>, StatusCode, string | RegExp][] = [
  ['empty body', '', { x: 'float32' }, 'INVALID_ARGUMENT', 'JSON Parse error: The document is empty'],
  ['not JSON', 'instances = [1, 2]', { x: 'float32' }, 'INVALID_ARGUMENT', 'JSON Parse error: Invalid value. at offset: 0'],
  ['unterminated object', '{"instances": [1, 2]', { x: 'float32' }, 'INVALID_ARGUMENT', "JSON Parse error: Missing a comma or '}' after an object member. at offset: 20"],
  ['number too big', '{"instances": [1e400]}', { x: 'float32' }, 'INVALID_ARGUMENT', 'JSON Parse error: Number too big to be stored in double. at offset: 15'],
  ['top level array', '[1, 2]', { x: 'float32' }, 'INVALID_ARGUMENT', 'JSON Value: [1,2] Is not object'],
  ['top level string', '"x"', { x: 'float32' }, 'INVALID_ARGUMENT', 'JSON Value: "x" Is not object'],
  ['numeric signature_name', '{"signature_name": 100, "instances": [1]}', { x: 'float32' }, 'INVALID_ARGUMENT',
    `JSON Value: {"signature_name":100,"instances":[1]} not formatted correctly. 'signature_name' key must be a string value.`],
  ['list signature_name', '{"signature_name": ["hello"], "instances": [1]}', { x: 'float32' }, 'INVALID_ARGUMENT', /'signature_name' key must be a string value\.$/],
  ['deeply nested signature_name', `{"signature_name": ${DEEP}}`, { x: 'float32' }, 'INVALID_ARGUMENT', /^JSON Value: \{"signature_name":\[\[\[.* not formatted correctly\. 'signature_name' key must be a string value\.$/],
  ['both keys', '{"instances": [1], "inputs": [1]}', { x: 'float32' }, 'INVALID_ARGUMENT',
    `JSON Value: {"instances":[1],"inputs":[1]} Not formatted correctly expecting only one of 'inputs' or 'instances' keys to exist `],
  ['neither key', '{"foo": [1]}', { x: 'float32' }, 'INVALID_ARGUMENT', "Missing 'inputs' or 'instances' key"],
  ['instances an object', '{"instances": {"x": 1}}', { x: 'float32' }, 'INVALID_ARGUMENT', `JSON Value: {"instances":{"x":1}} Expecting 'instances' to be an list/array`],
  ['instances a number', '{"instances": 5}', { x: 'float32' }, 'INVALID_ARGUMENT', /Expecting 'instances' to be an list\/array$/],
  ['instances empty', '{"instances": []}', { x: 'float32' }, 'INVALID_ARGUMENT', `JSON Value: {"instances":[]} No values in 'instances' array`],
  ['signature without inputs', '{"instances": [1]}', {}, 'INVALID_ARGUMENT', 'Failed to get input map for signature: DEFAULT'],
  ['string for float', '{"instances": ["x", "y"]}', { x: 'float32' }, 'INVALID_ARGUMENT',
    `Failed to process element: 0 of 'instances' list. Error: INVALID_ARGUMENT: JSON Value: "x" Type: String is not of expected type: float`],
  ['ragged size', '{"instances": [[1, 2], [3, 4], [5, 6, 7]]}', { x: 'int32' }, 'INVALID_ARGUMENT',
    `Failed to process element: 2 of 'instances' list. Error: INVALID_ARGUMENT: Expecting tensor size: 2 but got: 3`],
  ['ragged shape', '{"instances": [[1, 2], [3, 4], [[5, 6]]]}', { x: 'int32' }, 'INVALID_ARGUMENT',
    `Failed to process element: 2 of 'instances' list. Error: INVALID_ARGUMENT: Expecting shape [2] but got: [1,2]`],
  ['scalar then list', '{"instances": [1, [1]]}', { x: 'int32' }, 'INVALID_ARGUMENT',
    `Failed to process element: 1 of 'instances' list. Error: INVALID_ARGUMENT: Expecting shape [] but got: [1]`],
  ['strings in an int row', '{"instances": [[1, 2], ["a", "b"]]}', { x: 'int32' }, 'INVALID_ARGUMENT', /Failed to process element: 1 .*JSON Value: "a" Type: String is not of expected type: int32$/],
  ['1.0 for int32', '{"instances": [1.0]}', { x: 'int32' }, 'INVALID_ARGUMENT', /JSON Value: 1\.0 Type: Number is not of expected type: int32$/],
  ['fraction for int64', '{"instances": [1.5]}', { x: 'int64' }, 'INVALID_ARGUMENT', /JSON Value: 1\.5 Type: Number is not of expected type: int64$/],
  ['int32 overflow', '{"instances": [2147483648]}', { x: 'int32' }, 'INVALID_ARGUMENT', /JSON Value: 2147483648 Type: Number is not of expected type: int32$/],
  ['int64 overflow', '{"instances": [9223372036854775808]}', { x: 'int64' }, 'INVALID_ARGUMENT', /JSON Value: 9223372036854775808 Type: Number is not of expected type: int64$/],
  ['negative uint64', '{"instances": [-1]}', { x: 'uint64' }, 'INVALID_ARGUMENT', /JSON Value: -1 Type: Number is not of expected type: uint64$/],
  ['negative uint32', '{"inputs": [-1]}', { x: 'uint32' }, 'INVALID_ARGUMENT', 'JSON Value: -1 Type: Number is not of expected type: uint32'],
  ['uint32 overflow', '{"inputs": [4294967296]}', { x: 'uint32' }, 'INVALID_ARGUMENT', 'JSON Value: 4294967296 Type: Number is not of expected type: uint32'],
  ['number for bool', '{"instances": [1]}', { x: 'bool' }, 'INVALID_ARGUMENT', /JSON Value: 1 Type: Number is not of expected type: bool$/],
  ['string for bool', '{"inputs": ["true"]}', { x: 'bool' }, 'INVALID_ARGUMENT', 'JSON Value: "true" Type: String is not of expected type: bool'],
  ['null for float', '{"inputs": [null]}', { x: 'float32' }, 'INVALID_ARGUMENT', 'JSON Value: null Type: Null is not of expected type: float'],
  ['true for double', '{"inputs": [true]}', { x: 'float64' }, 'INVALID_ARGUMENT', 'JSON Value: true Type: True is not of expected type: double'],
  ['number for string', '{"inputs": [1]}', { x: 'string' }, 'INVALID_ARGUMENT', 'JSON Value: 1 Type: Number is not of expected type: string'],
  ['object for float', '{"inputs": [{"a": 1}]}', { x: 'float32' }, 'INVALID_ARGUMENT', 'JSON Value: {"a":1} Type: Object is not of expected type: float'],
  ['bad base64 character', '{"instances": [{"b64": "!!!!"}]}', { x: 'string' }, 'INVALID_ARGUMENT',
    `Failed to process element: 0 of 'instances' list. Error: INVALID_ARGUMENT: Unable to base64 decode`],
  ['base64 of one character', '{"inputs": {"b64": "a"}}', { x: 'string' }, 'INVALID_ARGUMENT', 'Unable to base64 decode'],
  ['base64 with wrong padding', '{"inputs": [{"b64": "aGk=="}]}', { x: 'string' }, 'INVALID_ARGUMENT', 'Unable to base64 decode'],
  ['b64 that is not a string', '{"inputs": [{"b64": 5}]}', { x: 'string' }, 'INVALID_ARGUMENT', 'JSON Value: {"b64":5} not formatted correctly for base64 data'],
  ['b64 with another key', '{"instances": [{"b64": "aGk=", "x": 1}]}', { x: 'string' }, 'INVALID_ARGUMENT',
    `Failed to process element: 0 key: b64 of 'instances' list. Error: INVALID_ARGUMENT: JSON object: does not have named input: b64`],
  ['half, row', '{"instances": [1.0]}', { x: 'float16' }, 'INVALID_ARGUMENT',
    `Failed to process element: 0 of 'instances' list. Error: UNIMPLEMENTED: Conversion of JSON Value: 1.0 to type: half`],
  ['half, columnar', '{"inputs": [1.0]}', { x: 'float16' }, 'UNIMPLEMENTED', 'Conversion of JSON Value: 1.0 to type: half'],
  ['bfloat16', '{"inputs": [[2]]}', { x: 'bfloat16' }, 'UNIMPLEMENTED', 'Conversion of JSON Value: 2 to type: bfloat16'],
  ['uint16', '{"inputs": 7}', { x: 'uint16' }, 'UNIMPLEMENTED', 'Conversion of JSON Value: 7 to type: uint16'],
  ['complex64', '{"inputs": [1]}', { x: 'complex64' }, 'UNIMPLEMENTED', 'Conversion of JSON Value: 1 to type: complex64'],
  ['plain list, two inputs', '{"instances": [1, 2]}', { a: 'float32', b: 'float32' }, 'INVALID_ARGUMENT',
    'instances is a plain list, but expecting list of objects as multiple input tensors required as per tensorinfo_map'],
  ['plain inputs, two inputs', '{"inputs": [1, 2]}', { a: 'float32', b: 'float32' }, 'INVALID_ARGUMENT',
    'inputs is a plain value/list, but expecting an object as multiple input tensors required as per tensorinfo_map'],
  ['columnar input missing', '{"inputs": {"a": [1], "c": [2]}}', { a: 'float32', b: 'float32' }, 'INVALID_ARGUMENT', "Missing named input: b in 'inputs' object."],
  ['object then list', '{"instances": [{"a": 1, "b": 2}, [1, 2]]}', { a: 'float32', b: 'float32' }, 'INVALID_ARGUMENT', 'Expecting object but got list at item 1 of input list'],
  ['value then object', '{"instances": ["x", {"s": "y"}]}', { s: 'string' }, 'INVALID_ARGUMENT', 'Expecting value/list but got object at item 1 of input list'],
  ['unknown key', '{"instances": [{"a": 1, "b": 2, "c": 3}]}', { a: 'float32', b: 'float32' }, 'INVALID_ARGUMENT',
    `Failed to process element: 0 key: c of 'instances' list. Error: INVALID_ARGUMENT: JSON object: does not have named input: c`],
  ['missing key', '{"instances": [{"a": [1, 2], "b": 1}, {"a": [3, 4]}]}', { a: 'float32', b: 'float32' }, 'INVALID_ARGUMENT',
    `Failed to process element: 1 of 'instances' list. JSON object: {"a":[3,4]} keys must be equal to: a,b`],
  ['size change across objects', '{"instances": [{"a": [1, 2], "b": 1}, {"a": [3], "b": 2}]}', { a: 'float32', b: 'float32' }, 'INVALID_ARGUMENT',
    `Failed to process element: 1 key: a of 'instances' list. Error: INVALID_ARGUMENT: Expecting tensor size: 2 but got: 1`],
  ['shape change across objects', '{"instances": [{"a": [1, 2], "b": 1}, {"a": [[3, 4]], "b": 2}]}', { a: 'float32', b: 'float32' }, 'INVALID_ARGUMENT',
    `Failed to process element: 1 key: a of 'instances' list. Error: INVALID_ARGUMENT: Expecting shape [2] but got: [1,2]`],
  ['list too deep in a row', '{"instances": [[1, 2], [3, [4]]]}', { x: 'float32' }, 'INVALID_ARGUMENT',
    `Failed to process element: 1 of 'instances' list. Error: INVALID_ARGUMENT: Encountered list at unexpected level: 1 expected < 1`],
  ['list of the wrong size in a row', '{"instances": [[[1], [2]], [[3], [4, 5]]]}', { x: 'float32' }, 'INVALID_ARGUMENT',
    `Failed to process element: 1 of 'instances' list. Error: INVALID_ARGUMENT: Encountered list at unexpected size: 2 at level: 1 expected size: 1`],
  ['columnar list of the wrong size', '{"inputs": [[1], []]}', { x: 'float32' }, 'INVALID_ARGUMENT', 'Encountered list at unexpected size: 0 at level: 1 expected size: 1'],
  ['columnar value too shallow', '{"inputs": [[1], 2]}', { x: 'float32' }, 'INVALID_ARGUMENT', 'JSON Value: 2 found at incorrect level: 2 in the JSON DOM. Expected at level: 2'],
  ['columnar list too deep', '{"inputs": [1, [2]]}', { x: 'float32' }, 'INVALID_ARGUMENT', 'Encountered list at unexpected level: 1 expected < 1'],
  ['100,000 levels in instances', `{"instances": ${DEEP}}`, { x: 'float32' }, 'INVALID_ARGUMENT', 'tensor parsing error: x'],
  ['100,000 levels in inputs', `{"inputs": {"x": ${DEEP}}}`, { x: 'float32' }, 'INVALID_ARGUMENT', 'tensor parsing error: x'],
  ['100,000 levels after a scalar', `{"instances": [1, ${DEEP}]}`, { x: 'float32' }, 'INVALID_ARGUMENT', /^Failed to process element: 1 of 'instances' list\. Error: INVALID_ARGUMENT: Expecting shape \[\] but got: \[1,1,1/],
];

suite('json-codec', () => {
  test(`EXPECTED FAILURE - ${MALFORMED.length} malformed requests get TF Serving's code and text`, () => {
    assert.ok(MALFORMED.length >= 40);
    for (const [what, body, inputs, code, message] of MALFORMED) {
      assert.throws(() => decode(body, inputs), { name: 'TfServeError', code, message }, what);
    }
  });

  test('EXPECTED FAILURE - JSON errors come before the signature lookup, key checks after it', () => {
    const lookups: (string | undefined)[] = [];
    const lookup = (name: string | undefined): SignatureInfo => {
      lookups.push(name);
      throw Object.assign(new Error('Servable not found for request: Latest(m)'), { code: 'NOT_FOUND' });
    };
    assert.throws(() => decodePredictRequest('{"instances": [1', lookup), { code: 'INVALID_ARGUMENT', message: /^JSON Parse error/ });
    assert.throws(() => decodePredictRequest('{"signature_name": 1}', lookup), { code: 'INVALID_ARGUMENT', message: /signature_name/ });
    assert.equal(lookups.length, 0);
    // TF Serving resolves the servable before it looks at instances/inputs.
    assert.throws(() => decodePredictRequest('{"neither": 1}', lookup), { code: 'NOT_FOUND' });
    assert.throws(() => decodePredictRequest('{"signature_name": "sig", "instances": []}', lookup), { code: 'NOT_FOUND' });
    assert.deepEqual(lookups, [undefined, 'sig']);
    assert.throws(() => decodePredictInputs(parsePredictBody('{"signature_name": "", "inputs": 1}'), signature({})), {
      message: 'Failed to get input map for signature: DEFAULT',
    });
    assert.throws(() => decodePredictInputs(parsePredictBody('{"signature_name": "foo", "inputs": 1}'), signature({})), {
      message: 'Failed to get input map for signature: foo',
    });
  });

  test('the TF Serving example: {"instances": [2.0, 3.0, 4.0]} is a float tensor of shape [3]', () => {
    const body = parsePredictBody('{"instances": [2.0, 3.0, 4.0]}');
    assert.equal(body.format, 'row');
    assert.equal(body.signatureName, undefined);
    const { x } = decodePredictInputs(body, signature({ x: 'float32' }));
    assert.deepEqual(x, { dtype: 'float32', shape: [3], data: new Float32Array([2, 3, 4]) });
    const y: Tensor = { dtype: 'float32', shape: [3], data: new Float32Array([3, 3.5, 4]) };
    assert.deepEqual(encoded('row', { y }), { predictions: [3, 3.5, 4] });
    assert.equal(encodePredictResponse('row', { y }).toString(), '{\n    "predictions": [3.0, 3.5, 4.0\n    ]\n}');
    const columnar = parsePredictBody('{"signature_name": "serving_default", "inputs": [2.0, 3.0, 4.0]}');
    assert.equal(columnar.format, 'columnar');
    assert.equal(columnar.signatureName, 'serving_default');
    assert.deepEqual(decodePredictInputs(columnar, signature({ x: 'float32' })).x!.shape, [3]);
    assert.equal(encodePredictResponse('columnar', { y }).toString(), '{\n    "outputs": [\n        3.0,\n        3.5,\n        4.0\n    ]\n}');
  });

  test('json_tensor_test cases: shapes of rows, columns, b64 and mixed inputs', () => {
    assert.deepEqual(decode('{"instances": [[1,2],[3,4],[5,6]]}', { default: 'int32' }).default, {
      dtype: 'int32', shape: [3, 2], data: new Int32Array([1, 2, 3, 4, 5, 6]),
    });
    assert.deepEqual(decode('{"instances": [1,2.0,3,4,5.003,0.007,0.0]}', { x: 'float32' }).x!.data,
      new Float32Array([1, 2, 3, 4, 5.003, 0.007, 0]));
    assert.deepEqual(decode('{"instances": [1.0,2,3,4,0.662,0,0.0]}', { x: 'float64' }).x!.data,
      new Float64Array([1, 2, 3, 4, 0.662, 0, 0]));
    assert.deepEqual(decode('{"instances": [1435774380]}', { x: 'float32' }).x!.data, new Float32Array([1435774336]));
    assert.deepEqual(decode('{"instances": [1.7976931348623157e308, -1.7976931348623157e308, 2.2250738585072014e-308]}', { x: 'float32' }).x!.data,
      new Float32Array([Infinity, -Infinity, 0]));
    const strings = decode('{"instances": [{"b64": "aGVsbG8="}, {"b64": "d29ybGQ="}]}', { x: 'string' }).x!;
    assert.deepEqual(strings.shape, [2]);
    assert.deepEqual((strings.data as Uint8Array[]).map(text), ['hello', 'world']);
    assert.deepEqual(decode('{"instances": [[{"b64": "aGVsbG8="}], [{"b64": "d29ybGQ="}]]}', { x: 'string' }).x!.shape, [2, 1]);
    assert.deepEqual(decode('{"instances": [{"default": [[{"b64": "aGVsbG8="}], [{"b64": "d29ybGQ="}]]}]}', { default: 'string' }).default!.shape, [1, 2, 1]);
    const four = decode(
      `{"instances": [
        {"int_tensor": [[1,2],[3,4],[5,6]], "str_tensor": ["foo", "bar"], "float_tensor": [1.0, NaN], "dbl_tensor": [NaN]},
        {"int_tensor": [[4,5],[6,7],[8,9]], "str_tensor": ["baz", "bat"], "float_tensor": [2.0, Infinity], "dbl_tensor": [2.0]}]}`,
      { int_tensor: 'int32', str_tensor: 'string', float_tensor: 'float32', dbl_tensor: 'float64' },
    );
    assert.deepEqual(four.int_tensor!.shape, [2, 3, 2]);
    assert.deepEqual(four.str_tensor!.shape, [2, 2]);
    assert.deepEqual(four.float_tensor, { dtype: 'float32', shape: [2, 2], data: new Float32Array([1, NaN, 2, Infinity]) });
    assert.deepEqual(four.dbl_tensor, { dtype: 'float64', shape: [2, 1], data: new Float64Array([NaN, 2]) });
    const sig = { int_tensor: 'int32', str_tensor: 'string', bin_tensor: 'string' } as const;
    const columns = decode('{"inputs": {"int_tensor": [[[1,2],[3,4],[5,6]]], "str_tensor": ["foo", "bar"], "bin_tensor": {"b64": "aGVsbG8="}, "ignored": 1}}', sig);
    assert.deepEqual(columns.int_tensor!.shape, [1, 3, 2]);
    assert.deepEqual(columns.str_tensor!.shape, [2]);
    assert.deepEqual(columns.bin_tensor!.shape, []);
    assert.equal(text((columns.bin_tensor!.data as Uint8Array[])[0]!), 'hello');
    assert.deepEqual(decode('{"inputs": [[[1,2],[3,4],[5,6]]]}', { x: 'int32' }).x!.shape, [1, 3, 2]);
    assert.deepEqual(decode('{"inputs": {"x": [[[1,2],[3,4],[5,6]]]}}', { x: 'int32' }).x!.shape, [1, 3, 2]);
    assert.deepEqual(decode('{"inputs": []}', { x: 'float32' }).x, { dtype: 'float32', shape: [0], data: new Float32Array(0) });
    assert.deepEqual(decode('{"inputs": [[], []]}', { x: 'float32' }).x!.shape, [2, 0]);
    assert.deepEqual(decode('{"instances": [[]]}', { x: 'float32' }).x!.shape, [1, 0]);
    assert.deepEqual(decode('{"inputs": 2.5}', { x: 'float64' }).x, { dtype: 'float64', shape: [], data: new Float64Array([2.5]) });
    // With no values at all TF Serving accepts even a type JSON cannot carry.
    assert.deepEqual(decode('{"inputs": []}', { x: 'float16' }).x, { dtype: 'float16', shape: [0], data: new Uint16Array(0) });
  });

  test('narrow int types wrap like a C++ cast (TF Serving has no range check for them)', () => {
    assert.deepEqual(decode('{"instances": [300, -1, 127]}', { x: 'int8' }).x!.data, new Int8Array([44, -1, 127]));
    assert.deepEqual(decode('{"instances": [256, -1]}', { x: 'uint8' }).x!.data, new Uint8Array([0, 255]));
    assert.deepEqual(decode('{"inputs": [[70000]]}', { x: 'int16' }).x!.data, new Int16Array([4464]));
  });

  test('int64 and uint64 stay exact beyond 2^53, in and out', () => {
    const body = '{"instances": [9223372036854775807, -9223372036854775808, 9007199254740993, -1]}';
    const { x } = decode(body, { x: 'int64' });
    assert.deepEqual(x, { dtype: 'int64', shape: [4], data: new BigInt64Array([2n ** 63n - 1n, -(2n ** 63n), 2n ** 53n + 1n, -1n]) });
    assert.deepEqual(encoded('row', { x: asTensor(x!) }), { predictions: [2n ** 63n - 1n, -(2n ** 63n), 2n ** 53n + 1n, -1] });
    const { u } = decode('{"inputs": [[18446744073709551615, 18446744073709551614], [0, 9007199254740993]]}', { u: 'uint64' });
    assert.deepEqual(u!.data, new BigUint64Array([2n ** 64n - 1n, 2n ** 64n - 2n, 0n, 2n ** 53n + 1n]));
    assert.match(encodePredictResponse('columnar', { u: asTensor(u!) }).toString(), /18446744073709551615,\n {12}18446744073709551614\n/);
  });

  test('round trips for every JSON-mappable dtype, row and columnar', () => {
    const cases: [DType, string, unknown][] = [
      ['float32', '[[0.5, -1.25], [3.0, 0.1]]', [[0.5, -1.25], [3, 0.1]]],
      ['float64', '[[0.1, 1e-300], [2.5, -0.0]]', [[0.1, 1e-300], [2.5, -0]]],
      ['int8', '[[-128, 127], [0, 1]]', [[-128, 127], [0, 1]]],
      ['int16', '[[-32768, 32767], [0, 1]]', [[-32768, 32767], [0, 1]]],
      ['int32', '[[-2147483648, 2147483647], [0, 1]]', [[-2147483648, 2147483647], [0, 1]]],
      ['uint8', '[[0, 255], [1, 2]]', [[0, 255], [1, 2]]],
      ['uint32', '[[0, 4294967295], [1, 2]]', [[0, 4294967295], [1, 2]]],
      ['int64', '[[-9223372036854775808, 9223372036854775807], [0, 1]]', [[-(2n ** 63n), 2n ** 63n - 1n], [0, 1]]],
      ['uint64', '[[0, 18446744073709551615], [1, 2]]', [[0, 2n ** 64n - 1n], [1, 2]]],
      ['bool', '[[true, false], [false, true]]', [[true, false], [false, true]]],
      ['string', '[["a", "é"], [{"b64": "AP8="}, ""]]', [['a', 'é'], ['\u0000\ufffd', '']]],
    ];
    for (const [dtype, json, expected] of cases) {
      const row = decode(`{"instances": ${json}}`, { x: dtype }).x!;
      assert.equal(row.dtype, dtype);
      assert.deepEqual(row.shape, [2, 2], dtype);
      assert.deepEqual(encoded('row', { y: asTensor(row) }), { predictions: expected }, dtype);
      const columnar = decode(`{"inputs": ${json}}`, { x: dtype }).x!;
      assert.deepEqual(columnar, row, dtype);
      assert.deepEqual(encoded('columnar', { y: asTensor(columnar) }), { outputs: expected }, dtype);
    }
  });

  test('NaN and infinities in and out', () => {
    const { x } = decode('{"instances": [NaN, Infinity, -Infinity, Inf, -Inf, 1]}', { x: 'float32' });
    assert.deepEqual(x!.data, new Float32Array([NaN, Infinity, -Infinity, Infinity, -Infinity, 1]));
    assert.equal(encodePredictResponse('row', { y: asTensor(x!) }).toString(), '{\n    "predictions": [NaN, Infinity, -Infinity, Infinity, -Infinity, 1.0\n    ]\n}');
    const d: Tensor = { dtype: 'float64', shape: [], data: new Float64Array([NaN]) };
    assert.equal(encodePredictResponse('columnar', { d }).toString(), '{\n    "outputs": NaN\n}');
  });

  test('b64 in and out: "_bytes" outputs are base64 objects, other strings raw bytes', () => {
    const { x } = decode('{"inputs": [{"b64": "aGVsbG8="}, {"b64": " d29y\\nbGQ "}, {"b64": "dGY"}, {"b64": ""}]}', { x: 'string' });
    assert.deepEqual((x!.data as Uint8Array[]).map(text), ['hello', 'world', 'tf', '']);
    const data = ['hello', 'world', 'tf', 'serving'].map(bytes);
    const str: Tensor = { dtype: 'string', shape: [2, 2], data };
    assert.deepEqual(encoded('row', { str_tensor_bytes: str }), {
      predictions: [[{ b64: 'aGVsbG8=' }, { b64: 'd29ybGQ=' }], [{ b64: 'dGY=' }, { b64: 'c2VydmluZw==' }]],
    });
    assert.deepEqual(encoded('columnar', { str_tensor: str }), { outputs: [['hello', 'world'], ['tf', 'serving']] });
    // Raw bytes pass through unvalidated; rapidjson escapes only control characters, quote and backslash.
    const raw: Tensor = { dtype: 'string', shape: [1], data: [new Uint8Array([0xff, 0x22, 0x5c, 0x0a, 0x01, 0x7f, 0x2f])] };
    const out = encodePredictResponse('row', { raw });
    assert.deepEqual([...out.subarray(out.indexOf('[') + 1, out.lastIndexOf('\n    ]'))],
      [...Buffer.from('"'), 0xff, ...Buffer.from('\\"\\\\\\n\\u0001'), 0x7f, 0x2f, ...Buffer.from('"')]);
    // A DT_STRING that is not named *_bytes, and a *_bytes tensor of another type, print normally.
    assert.deepEqual(encoded('row', { count_bytes: { dtype: 'int32', shape: [1], data: new Int32Array([3]) } }), { predictions: [3] });
  });

  test('absl base64 rules: whitespace skipped, padding optional but exact', () => {
    const b64 = (value: string): string | null => {
      const decoded = decodeBase64(bytes(value));
      return decoded === null ? null : Buffer.from(decoded).toString('latin1');
    };
    assert.equal(b64('aGk='), 'hi');
    assert.equal(b64('aGk'), 'hi');
    assert.equal(b64('aG k=\n'), 'hi');
    assert.equal(b64('aGk.'), 'hi');
    assert.equal(b64('aGk=='), null);
    assert.equal(b64('aGVsbG8=x'), null);
    assert.equal(b64('a'), null);
    assert.equal(b64('aGVs='), null);
    assert.equal(b64('a-_b'), null);
    assert.equal(b64(''), '');
  });

  test('multiple outputs: one object per row, or one object of full tensors', () => {
    const outputs: Record<string, Tensor> = {
      double_scalar_tensor: { dtype: 'float64', shape: [2], data: new Float64Array([8, 9]) },
      float_tensor: { dtype: 'float32', shape: [2, 1], data: new Float32Array([1, 2]) },
      int_tensor: { dtype: 'int32', shape: [2, 3, 2], data: new Int32Array([1, 2, 3, 4, 5, 6, 7, 8, 9, 0, 1, 2]) },
      str_tensor: { dtype: 'string', shape: [2, 2], data: ['foo', 'bar', 'baz', 'bat'].map(bytes) },
      str_tensor_bytes: { dtype: 'string', shape: [2, 2], data: ['hello', 'world', 'tf', 'serving'].map(bytes) },
    };
    assert.deepEqual(encoded('row', outputs), {
      predictions: [
        { double_scalar_tensor: 8, float_tensor: [1], int_tensor: [[1, 2], [3, 4], [5, 6]], str_tensor: ['foo', 'bar'], str_tensor_bytes: [{ b64: 'aGVsbG8=' }, { b64: 'd29ybGQ=' }] },
        { double_scalar_tensor: 9, float_tensor: [2], int_tensor: [[7, 8], [9, 0], [1, 2]], str_tensor: ['baz', 'bat'], str_tensor_bytes: [{ b64: 'dGY=' }, { b64: 'c2VydmluZw==' }] },
      ],
    });
    assert.deepEqual(encoded('columnar', outputs), {
      outputs: {
        double_scalar_tensor: [8, 9],
        float_tensor: [[1], [2]],
        int_tensor: [[[1, 2], [3, 4], [5, 6]], [[7, 8], [9, 0], [1, 2]]],
        str_tensor: [['foo', 'bar'], ['baz', 'bat']],
        str_tensor_bytes: [[{ b64: 'aGVsbG8=' }, { b64: 'd29ybGQ=' }], [{ b64: 'dGY=' }, { b64: 'c2VydmluZw==' }]],
      },
    });
    const two = { a: outputs.double_scalar_tensor!, b: outputs.float_tensor! };
    assert.equal(encodePredictResponse('row', two).toString(),
      '{\n    "predictions": [\n        {\n            "a": 8.0,\n            "b": [1.0]\n        },\n        {\n            "a": 9.0,\n            "b": [2.0]\n        }\n    ]\n}');
    assert.equal(encodePredictResponse('columnar', two).toString(),
      '{\n    "outputs": {\n        "a": [\n            8.0,\n            9.0\n        ],\n        "b": [\n            [\n                1.0\n            ],\n            [\n                2.0\n            ]\n        ]\n    }\n}');
  });

  test('multiple inputs, row format: objects with every input, batched per input', () => {
    const inputs = decode('{"instances": [{"a": [1, 2], "b": "x", "c": true}, {"c": false, "b": "y", "a": [3, 4]}]}', { a: 'float32', b: 'string', c: 'bool' });
    assert.deepEqual(inputs.a, { dtype: 'float32', shape: [2, 2], data: new Float32Array([1, 2, 3, 4]) });
    assert.deepEqual((inputs.b!.data as Uint8Array[]).map(text), ['x', 'y']);
    assert.deepEqual(inputs.c, { dtype: 'bool', shape: [2], data: new Uint8Array([1, 0]) });
    // One input named in each object is fine too.
    assert.deepEqual(decode('{"instances": [{"x": [1]}, {"x": [2]}]}', { x: 'int32' }).x!.data, new Int32Array([1, 2]));
  });

  test('float output text follows TF Serving (%g, round trip, .0)', () => {
    const values = [3, 0.5, 9000000, 999999, 0.0003, 0.00003, 555557.5, 123456789, -0, Math.fround(0.1)];
    const out = encodePredictResponse('row', { f: { dtype: 'float32', shape: [values.length], data: new Float32Array(values) } }).toString();
    assert.equal(out, '{\n    "predictions": [3.0, 0.5, 9e+06, 999999.0, 0.0003, 3e-05, 555557.5, 123456792.0, -0.0, 0.1\n    ]\n}');
  });

  test('zero batch and empty dimensions', () => {
    const empty: Tensor = { dtype: 'float32', shape: [0, 2], data: new Float32Array(0) };
    assert.equal(encodePredictResponse('row', { empty }).toString(), '{\n    "predictions": []\n}');
    assert.equal(encodePredictResponse('row', { a: empty, b: { dtype: 'int32', shape: [0], data: new Int32Array(0) } }).toString(), '{\n    "predictions": []\n}');
    assert.equal(encodePredictResponse('columnar', { e: { dtype: 'float32', shape: [2, 0], data: new Float32Array(0) } }).toString(),
      '{\n    "outputs": [\n        [],\n        []\n    ]\n}');
    assert.equal(encodePredictResponse('row', { e: { dtype: 'float32', shape: [2, 0], data: new Float32Array(0) } }).toString(),
      '{\n    "predictions": [[], []\n    ]\n}');
  });

  test('EXPECTED FAILURE - outputs TF Serving cannot render', () => {
    const one: Tensor = { dtype: 'float32', shape: [1, 2], data: new Float32Array(2) };
    assert.throws(() => encodePredictResponse('row', {}), { name: 'TfServeError', code: 'INVALID_ARGUMENT', message: 'Cannot convert empty tensor map to JSON' });
    assert.throws(() => encodePredictResponse('row', { a: { dtype: 'float32', shape: [0, 2], data: new Float32Array(0) }, b: one }), {
      code: 'INVALID_ARGUMENT', message: 'Tensor name: b has inconsistent batch size: 1 expecting: 0',
    });
    assert.throws(() => encodePredictResponse('row', { a: one, s: { dtype: 'float32', shape: [], data: new Float32Array(1) } }), {
      code: 'INVALID_ARGUMENT', message: 'Tensor name: s has no shape information ',
    });
    assert.throws(() => encodePredictResponse('columnar', { h: { dtype: 'float16', shape: [1], data: new Uint16Array(1) } }), {
      code: 'INVALID_ARGUMENT', message: 'Failed to write JSON value for tensor type: half',
    });
    assert.throws(() => encodePredictResponse('row', { h: { dtype: 'bfloat16', shape: [1], data: new Uint16Array(1) } }), {
      message: 'Failed to write JSON value for tensor type: bfloat16',
    });
    assert.throws(() => encodePredictResponse('row', { h: { dtype: 'uint16', shape: [1], data: new Uint16Array(1) } }), {
      message: 'Failed to write JSON value for tensor type: uint16',
    });
    // Nothing to write, nothing to fail.
    assert.equal(encodePredictResponse('columnar', { h: { dtype: 'float16', shape: [0], data: new Uint16Array(0) } }).toString(), '{\n    "outputs": []\n}');
  });

  test('BAD CALL - an output whose data does not fit its shape is an internal error', () => {
    assert.throws(() => encodePredictResponse('row', { y: { dtype: 'float32', shape: [3], data: new Float32Array(2) } }), { name: 'TfServeError', code: 'INTERNAL' });
  });

  test('large numeric payloads: one typed array, no per-element objects', () => {
    const rows = Array.from({ length: 224 }, (_, y) => `[${Array.from({ length: 224 }, (_, x) => `[${(x + y) / 448}, 0.5, ${x % 3}]`).join(',')}]`);
    const body = Buffer.from(`{"instances": [[${rows.join(',')}]]}`);
    const parsed = parsePredictBody(body);
    assert.equal(parsed.payload?.kind, 'numbers');
    const { image } = decodePredictInputs(parsed, signature({ image: 'float32' }));
    assert.deepEqual(image!.shape, [1, 224, 224, 3]);
    assert.equal((image!.data as Float32Array).length, 150528);
    assert.equal((image!.data as Float32Array)[3 * 224 * 10 + 3 * 5], Math.fround(15 / 448));
    const again = encodePredictResponse('row', { image: asTensor(image!) });
    const back = decodePredictInputs(parsePredictBody(Buffer.concat([Buffer.from('{"instances": '), again.subarray(again.indexOf('['), again.lastIndexOf(']') + 1), Buffer.from('}')])), signature({ image: 'float32' }));
    assert.deepEqual(back.image!.data, image!.data);
  });

  test('strings share the request body instead of copying it', () => {
    const body = Buffer.from('{"instances": ["abc", "def"]}');
    const { s } = decode(body, { s: 'string' });
    assert.equal((s!.data as Uint8Array[])[0]!.buffer, body.buffer);
  });
});

/**
 * KServe v2 (Open Inference Protocol) REST JSON <-> the protocol's objects (src/proto/kserve-codec.ts),
 * with the binary tensor data extension that Triton's clients use by default (KSERVE_V2_SPEC.md A.1,
 * A.2): a body whose first `Inference-Header-Content-Length` bytes are the JSON, followed by the raw
 * bytes of every input that says `parameters.binary_data_size`, in input order.
 *
 * Requests: the JSON is parsed by src/json/parse.ts (NaN/Infinity, exact int64, rapidjson's texts);
 * `data` may be flat or nested and is converted by the input's datatype straight into tensor memory
 * from `allocate` (the server passes aligned native memory), binary inputs are copied once into it,
 * BYTES elements are views of the body. FP16 and BF16 are accepted as JSON numbers too (rounded to
 * nearest even) and as raw 16-bit patterns. Responses: compact JSON with flat `data`; outputs asked
 * for as binary (`binary_data` on a listed output; `binary_data_output` when none is listed) carry
 * `parameters.binary_data_size` and follow the JSON as raw bytes, in output order.
 * Everything thrown is TfServeError (INVALID_ARGUMENT unless noted), Triton's texts where it has them.
 */
import { BIGINT_RANGES, type DType, DTYPES, INTEGER_RANGES } from '../model/dtypes.js';
import { TfServeError } from '../model/errors.js';
import { bfloat16Bits, bfloat16Value, float16Bits, float16Value } from '../model/float16.js';
import type { Tensor } from '../model/tensor.js';
import {
  checkShape,
  dtypeOfDatatype,
  type InferInput,
  type InferParameter,
  type InferRequest,
  type InferRequestedOutput,
  type InferResponse,
  inputWhere,
  type ModelMetadata,
  rawTensorBytes,
  type ServerMetadata,
  type TensorAllocator,
  tensorFromRaw,
} from '../proto/kserve-codec.js';
import { MAX_FLOAT_TEXT, writeFloat32, writeFloat64 } from './float-format.js';
import { dumpJson, type JsonArray, type JsonNumbers, type JsonObject, type JsonValue, numberAt, parseJson, type ParseOptions, stringText } from './parse.js';
import { PrettyWriter } from './writer.js';

/** The extension's header (lower case, as Node presents request headers). */
export const HEADER_LENGTH = 'inference-header-content-length';

export interface V2DecodeOptions extends ParseOptions {
  /** Numeric tensor memory; default plain typed arrays. */
  readonly allocate?: TensorAllocator;
}

const plainAllocator: TensorAllocator = (dtype, length) => new DTYPES[dtype].array!(length);

function invalid(message: string): TfServeError {
  return new TfServeError('INVALID_ARGUMENT', message);
}

// ---------------------------------------------------------------------------------------------------
// Requests

/** The JSON header's length: the whole body without the header; Triton's checks and texts with it. */
export function inferJsonLength(value: string | undefined, total: number): number {
  if (value === undefined) return total;
  const length = /^\s*\+?\d{1,10}\s*$/.test(value) ? Number(value) : NaN;
  if (!Number.isInteger(length) || length > 0x7fffffff) throw invalid(`Unable to parse Inference-Header-Content-Length, got: ${value}`);
  // 0 is Triton's "raw binary request" (a whole body of one input's bytes), which tfserve does not take.
  if (length <= 0 || length > total) throw invalid(`inference header size should be in range (0, ${total}), got: ${value}`);
  return length;
}

function describe(value: JsonValue): string {
  return dumpJson(value, 64);
}

function member(object: JsonObject, key: string): JsonValue | undefined {
  return object.members.get(key);
}

function text(value: JsonValue | undefined, what: string): string {
  if (value?.kind !== 'string') throw invalid(`Unable to parse ${what}: expected a string${value ? `, got ${describe(value)}` : ''}`);
  return stringText(value);
}

function objectOf(value: JsonValue, what: string): JsonObject {
  if (value.kind !== 'object') throw invalid(`Unable to parse ${what}: expected an object, got ${describe(value)}`);
  return value;
}

/** The elements of a JSON array (a dense numeric one included) as nodes. */
function elements(value: JsonValue, what: string): JsonValue[] {
  if (value.kind === 'array') return [...value.items];
  if (value.kind === 'numbers' && value.shape.length === 1) return Array.from({ length: value.shape[0]! }, (_, i) => numberAt(value, i));
  if (value.kind === 'numbers') throw invalid(`Unable to parse ${what}: expected an array of objects, got ${describe(value)}`);
  throw invalid(`Unable to parse ${what}: expected an array, got ${describe(value)}`);
}

function parameters(value: JsonValue | undefined, what: string): Map<string, InferParameter> {
  const out = new Map<string, InferParameter>();
  if (value === undefined) return out;
  for (const [key, item] of objectOf(value, what).members) {
    if (item.kind === 'string') out.set(key, stringText(item));
    else if (item.kind === 'bool') out.set(key, item.value);
    else if (item.kind === 'number') out.set(key, item.exact ?? item.value);
    else throw invalid(`Unable to parse ${what}: parameter '${key}' must be a string, number or boolean, got ${describe(item)}`);
  }
  return out;
}

function booleanParameter(params: ReadonlyMap<string, InferParameter>, key: string, what: string): boolean {
  const value = params.get(key);
  if (value === undefined) return false;
  if (typeof value !== 'boolean') throw invalid(`Unable to parse parameter '${key}' of ${what}: expected a boolean, got ${String(value)}`);
  return value;
}

function shapeOf(value: JsonValue | undefined, what: string): number[] {
  const fail = (): never => {
    throw invalid(`Unable to parse 'shape' of ${what}: expected an array of non-negative integers${value ? `, got ${describe(value)}` : ''}`);
  };
  if (value?.kind !== 'numbers' || value.shape.length !== 1 || value.integerCount !== value.values.length) return fail();
  const shape = Array.from(value.values);
  if (shape.some((dim) => dim < 0 || !Number.isSafeInteger(dim))) fail();
  return shape;
}

/** Every leaf of a (nested) JSON array, row-major; dense numeric parts stay as their node. */
type Leaves = { readonly dense: JsonNumbers } | { readonly nodes: JsonValue[] };

function leavesOf(data: JsonArray | JsonNumbers): Leaves {
  if (data.kind === 'numbers') return { dense: data };
  const nodes: JsonValue[] = [];
  // Without recursion, so that hostile nesting cannot overflow the stack.
  const stack: { items: readonly JsonValue[]; next: number }[] = [{ items: data.items, next: 0 }];
  while (stack.length > 0) {
    const top = stack[stack.length - 1]!;
    if (top.next >= top.items.length) {
      stack.pop();
      continue;
    }
    const item = top.items[top.next++]!;
    if (item.kind === 'array') stack.push({ items: item.items, next: 0 });
    else if (item.kind === 'numbers') for (let i = 0; i < item.values.length; i++) nodes.push(numberAt(item, i));
    else nodes.push(item);
  }
  return { nodes };
}

/** What a JSON element of each dtype must be, for the error text. */
function expectation(dtype: DType, datatype: string): string {
  if (dtype === 'bool') return 'true or false';
  if (dtype === 'string') return 'a string';
  const range = INTEGER_RANGES[dtype] ?? BIGINT_RANGES[dtype];
  return range ? `an integer between ${range[0]} and ${range[1]}` : `a number (${datatype})`;
}

/** A tensor of `dtype` and `shape` from JSON `data`, which must hold ∏shape elements. */
function tensorFromJson(data: JsonValue, dtype: DType, datatype: string, shape: number[], where: string, allocate: TensorAllocator): Tensor {
  const count = checkShape(shape, where);
  if (data.kind !== 'array' && data.kind !== 'numbers') throw invalid(`Unable to parse 'data' of ${where}: expected an array, got ${describe(data)}`);
  const leaves = leavesOf(data);
  const given = 'dense' in leaves ? leaves.dense.values.length : leaves.nodes.length;
  if (given !== count) throw invalid(`unexpected number of elements in 'data' of ${where}: shape [${shape.join(',')}] holds ${count}, 'data' ${given}`);
  const fail = (i: number, node: JsonValue): never => {
    throw invalid(`Unable to parse 'data' of ${where}: expected ${expectation(dtype, datatype)} at element ${i}, got ${describe(node)}`);
  };
  const nodeAt = (i: number): JsonValue => ('dense' in leaves ? numberAt(leaves.dense, i) : leaves.nodes[i]!);
  if (dtype === 'string') {
    if ('dense' in leaves) {
      if (count > 0) fail(0, nodeAt(0));
      return { dtype, shape, data: [] };
    }
    return { dtype, shape, data: leaves.nodes.map((node, i) => (node.kind === 'string' ? node.bytes : fail(i, node))) };
  }
  const values = allocate(dtype, count);
  if (dtype === 'bool') {
    const flags = values as Uint8Array;
    for (let i = 0; i < count; i++) {
      const node = nodeAt(i);
      if (node.kind !== 'bool') fail(i, node);
      flags[i] = (node as { value: boolean }).value ? 1 : 0;
    }
  } else if ('dense' in leaves && (dtype === 'float32' || dtype === 'float64')) {
    // Float32Array.set rounds each double to nearest even.
    (values as Float32Array | Float64Array).set(leaves.dense.values);
  } else {
    const range = INTEGER_RANGES[dtype];
    const big = BIGINT_RANGES[dtype];
    const encode = dtype === 'float16' ? float16Bits : dtype === 'bfloat16' ? bfloat16Bits : null;
    for (let i = 0; i < count; i++) {
      const node = nodeAt(i);
      if (node.kind !== 'number') fail(i, node);
      const { value, integer, exact } = node as { value: number; integer: boolean; exact: bigint | null };
      if (big) {
        if (!integer) fail(i, node);
        const exactValue = exact ?? BigInt(value);
        if (exactValue < big[0] || exactValue > big[1]) fail(i, node);
        (values as BigInt64Array | BigUint64Array)[i] = exactValue;
      } else if (range) {
        if (!integer || value < range[0] || value > range[1]) fail(i, node);
        (values as Int32Array)[i] = value;
      } else {
        (values as Float32Array)[i] = encode ? encode(value) : value;
      }
    }
  }
  return { dtype, shape, data: values } as Tensor;
}

/** The protocol's fields an input may give its values in: exactly one must be there. */
const DATA_FIELDS = "Input must set only one of the following fields: 'data', 'binary_data_size' in 'parameters', 'shared_memory_region' in 'parameters'";

function unsupported(message: string): TfServeError {
  return new TfServeError('UNIMPLEMENTED', message);
}

/**
 * An infer request body (`headerLength`: the Inference-Header-Content-Length header, if any) ->
 * the protocol's request, every input decoded. `model` names the model in error texts.
 */
export function decodeInferRequest(body: Uint8Array, header: string | undefined, model: string, options: V2DecodeOptions = {}): InferRequest {
  const jsonLength = inferJsonLength(header, body.byteLength);
  const document = parseJson(body.subarray(0, jsonLength), options);
  if (document.kind !== 'object') throw invalid(`Unable to parse the inference request: expected a JSON object, got ${describe(document)}`);
  const idNode = member(document, 'id');
  const id = idNode === undefined ? '' : text(idNode, "'id'");
  const requestParameters = parameters(member(document, 'parameters'), "'parameters'");
  booleanParameter(requestParameters, 'binary_data_output', 'the request');
  const inputsNode = member(document, 'inputs');
  if (inputsNode === undefined) throw invalid("Unable to parse 'inputs': the request has none");
  const allocate = options.allocate ?? plainAllocator;
  let offset = jsonLength;
  const inputs = elements(inputsNode, "'inputs'").map((node, i): InferInput => {
    const input = objectOf(node, `inputs[${i}]`);
    const name = text(member(input, 'name'), `'name' of inputs[${i}]`);
    const where = inputWhere(name, model);
    const shape = shapeOf(member(input, 'shape'), where);
    const datatype = text(member(input, 'datatype'), `'datatype' of ${where}`);
    const dtype = dtypeOfDatatype(datatype);
    if (dtype === null) throw invalid(`invalid datatype '${datatype}' of ${where}`);
    const inputParameters = parameters(member(input, 'parameters'), `'parameters' of ${where}`);
    const data = member(input, 'data');
    const binarySize = inputParameters.get('binary_data_size');
    const sharedMemory = inputParameters.has('shared_memory_region');
    if ((data !== undefined ? 1 : 0) + (binarySize !== undefined ? 1 : 0) + (sharedMemory ? 1 : 0) !== 1) throw invalid(DATA_FIELDS);
    if (sharedMemory) throw unsupported(`shared memory is not supported: ${where} sets 'shared_memory_region'`);
    let tensor: Tensor;
    if (data !== undefined) {
      tensor = tensorFromJson(data, dtype, datatype, shape, where, allocate);
    } else {
      if (typeof binarySize !== 'number' || !Number.isSafeInteger(binarySize) || binarySize < 0) {
        throw invalid(`Unable to parse parameter 'binary_data_size' of ${where}: expected a non-negative integer, got ${String(binarySize)}`);
      }
      if (body.byteLength - offset < binarySize) throw invalid(`unexpected size for input '${name}', expecting ${binarySize} additional bytes for model '${model}'`);
      tensor = tensorFromRaw(body.subarray(offset, offset + binarySize), dtype, shape, where, allocate);
      offset += binarySize;
    }
    return { name, datatype, shape, parameters: inputParameters, tensor };
  });
  if (offset !== body.byteLength) {
    throw invalid(`the request has ${body.byteLength - offset} bytes after the JSON and the binary data its inputs declare`);
  }
  const outputsNode = member(document, 'outputs');
  const outputs = (outputsNode === undefined ? [] : elements(outputsNode, "'outputs'")).map((node, i): InferRequestedOutput => {
    const output = objectOf(node, `outputs[${i}]`);
    const name = text(member(output, 'name'), `'name' of outputs[${i}]`);
    const outputParameters = parameters(member(output, 'parameters'), `'parameters' of output '${name}'`);
    booleanParameter(outputParameters, 'binary_data', `output '${name}'`);
    if (outputParameters.has('shared_memory_region')) throw unsupported(`shared memory is not supported: output '${name}' sets 'shared_memory_region'`);
    if (outputParameters.has('classification')) throw unsupported(`the classification extension is not supported: output '${name}' sets 'classification'`);
    return { name, parameters: outputParameters };
  });
  return { id, parameters: requestParameters, inputs, outputs };
}

// ---------------------------------------------------------------------------------------------------
// Responses

/** Which outputs go as binary data: a listed output by its `binary_data`, the rest by `binary_data_output`. */
export function binaryOutputs(request: InferRequest): (name: string) => boolean {
  if (request.outputs.length === 0) {
    const all = request.parameters.get('binary_data_output') === true;
    return () => all;
  }
  const binary = new Set(request.outputs.filter((output) => output.parameters.get('binary_data') === true).map((output) => output.name));
  return (name) => binary.has(name);
}

export interface EncodedInferResponse {
  readonly body: Buffer;
  /** The JSON's length for Inference-Header-Content-Length, when binary data follows it; else undefined. */
  readonly headerLength: number | undefined;
}

// PrettyWriter adds layout only inside the containers it opens; this codec opens none, so at depth 0
// it is a plain byte writer with rapidjson's string escaping and TF Serving's float text.
function writeKey(out: PrettyWriter, key: string, first = false): void {
  out.raw(first ? '"' : ',"');
  out.raw(`${key}":`);
}

function writeString(out: PrettyWriter, value: string): void {
  out.stringBytes(Buffer.from(value, 'utf8'));
}

function writeData(out: PrettyWriter, tensor: Tensor): void {
  out.raw('[');
  const { dtype, data } = tensor;
  const length = dtype === 'string' ? (data as Uint8Array[]).length : (data as ArrayLike<unknown>).length;
  for (let i = 0; i < length; i++) {
    if (i > 0) out.raw(',');
    switch (dtype) {
      case 'string':
        out.stringBytes((data as Uint8Array[])[i]!);
        break;
      case 'bool':
        out.raw((data as Uint8Array)[i] ? 'true' : 'false');
        break;
      case 'float32':
        out.pos = writeFloat32(out.reserve(MAX_FLOAT_TEXT), out.pos, (data as Float32Array)[i]!);
        break;
      case 'float64':
        out.pos = writeFloat64(out.reserve(MAX_FLOAT_TEXT), out.pos, (data as Float64Array)[i]!);
        break;
      case 'float16':
      case 'bfloat16': {
        const value = (dtype === 'float16' ? float16Value : bfloat16Value)((data as Uint16Array)[i]!);
        out.pos = writeFloat32(out.reserve(MAX_FLOAT_TEXT), out.pos, value);
        break;
      }
      default:
        out.raw(String((data as ArrayLike<number | bigint>)[i]));
    }
  }
  out.raw(']');
}

/** The response body: JSON, then the binary outputs' bytes when there are any that are not empty. */
export function encodeInferResponse(response: InferResponse, binary: (name: string) => boolean): EncodedInferResponse {
  const out = new PrettyWriter(1024);
  const blobs: Uint8Array[] = [];
  out.raw('{');
  writeKey(out, 'model_name', true);
  writeString(out, response.modelName);
  writeKey(out, 'model_version');
  writeString(out, response.modelVersion);
  if (response.id) {
    writeKey(out, 'id');
    writeString(out, response.id);
  }
  writeKey(out, 'outputs');
  out.raw('[');
  response.outputs.forEach((output, i) => {
    out.raw(i > 0 ? ',{' : '{');
    writeKey(out, 'name', true);
    writeString(out, output.name);
    writeKey(out, 'datatype');
    writeString(out, output.datatype);
    writeKey(out, 'shape');
    out.raw(`[${output.shape.join(',')}]`);
    if (binary(output.name)) {
      const bytes = rawTensorBytes(output.tensor);
      blobs.push(bytes);
      writeKey(out, 'parameters');
      out.raw(`{"binary_data_size":${bytes.byteLength}}`);
    } else {
      writeKey(out, 'data');
      writeData(out, output.tensor);
    }
    out.raw('}');
  });
  out.raw(']}');
  const json = out.finish();
  // Triton sends the header only when some binary output has bytes; the client reads sizes from the JSON.
  if (!blobs.some((blob) => blob.byteLength > 0)) return { body: Buffer.from(json), headerLength: undefined };
  return { body: Buffer.concat([json, ...blobs]), headerLength: json.byteLength };
}

export function encodeServerMetadata(metadata: ServerMetadata): Buffer {
  return Buffer.from(JSON.stringify({ name: metadata.name, version: metadata.version, extensions: metadata.extensions }), 'utf8');
}

export function encodeModelMetadata(metadata: ModelMetadata): Buffer {
  return Buffer.from(JSON.stringify(metadata), 'utf8');
}


/**
 * TF Serving's predict JSON <-> tensors (util/json_tensor.cc), byte for byte: the request rules, the
 * error texts and their order, the output rendering (rapidjson PrettyWriter layout, float text rule).
 * Pure and synchronous; everything thrown is a TfServeError (INVALID_ARGUMENT unless noted).
 *
 * A predict request is decoded in two steps so that errors keep TF Serving's order:
 *   parsePredictBody(body)            JSON syntax, top level object, `signature_name` type
 *   (caller resolves model, version, signature: its NOT_FOUND etc. come next)
 *   decodePredictInputs(body, sig)    `instances`/`inputs` checks, then tensors with the signature's dtypes
 * and the outputs are rendered with encodePredictResponse(body.format, outputs).
 *
 * Tensors are written straight into typed arrays (Float32Array for float, BigInt64Array for int64, …;
 * string tensors are arrays of byte views that may share memory with the request body), and the
 * response straight into one Buffer: no intermediate nested JS arrays either way.
 */
import { type DType, DTYPES, isDType, type NumericDType, type NumericTypedArray, tfTypeName } from '../model/dtypes.js';
import { TfServeError } from '../model/errors.js';
import type { SignatureInfo, TensorInfo } from '../model/signature.js';
import type { Tensor, TensorInput } from '../model/tensor.js';
import { MAX_FLOAT_TEXT, writeFloat32, writeFloat64 } from './float-format.js';
import {
  arrayLength,
  dumpJson,
  type JsonArray,
  type JsonNumbers,
  type JsonObject,
  type JsonValue,
  numberAt,
  parseJson,
  type ParseOptions,
  stringText,
} from './parse.js';
import { decodeBase64, isBase64Object, jsonTypeName } from './values.js';
import { PrettyWriter } from './writer.js';

/** 'row' answers `instances` with `predictions`; 'columnar' answers `inputs` with `outputs`. */
export type PredictFormat = 'row' | 'columnar';

/** A parsed predict body whose signature name has been checked; see decodePredictInputs. */
export interface PredictBody {
  /** `signature_name` when present (possibly ""); the caller picks the default otherwise. */
  readonly signatureName: string | undefined;
  /** 'row' when the body has `instances`, else 'columnar'. Meaningful once decodePredictInputs accepted it. */
  readonly format: PredictFormat;
  /** The value of `instances` or `inputs`, if any. */
  readonly payload: JsonValue | undefined;
  /** The whole document (TF Serving quotes it in some errors). */
  readonly document: JsonObject;
  /** Size of the request body in bytes: no valid tensor has more elements. */
  readonly byteLength: number;
}

export interface DecodedPredictRequest {
  readonly signatureName: string | undefined;
  readonly format: PredictFormat;
  readonly inputs: Record<string, TensorInput>;
}

/** TensorFlow's TensorShape limit; TF Serving then fails with "tensor parsing error". */
const MAX_RANK = 254;

function invalid(message: string): TfServeError {
  return new TfServeError('INVALID_ARGUMENT', message);
}

/** absl Status::ToString(), which TF Serving embeds when it wraps an error. */
function statusText(error: unknown): string {
  if (error instanceof TfServeError) return `${error.code}: ${error.message}`;
  throw error;
}

/**
 * Step 1: parses the body and checks what TF Serving checks before it looks the model up: valid JSON,
 * a top-level object, `signature_name` (if present) a string.
 */
export function parsePredictBody(body: Uint8Array | string, options: ParseOptions = {}): PredictBody {
  const document = parseJson(body, options);
  if (document.kind !== 'object') throw invalid(`JSON Value: ${dumpJson(document)} Is not object`);
  const signature = document.members.get('signature_name');
  if (signature !== undefined && signature.kind !== 'string') {
    throw invalid(`JSON Value: ${dumpJson(document)} not formatted correctly. 'signature_name' key must be a string value.`);
  }
  const instances = document.members.get('instances');
  return {
    signatureName: signature === undefined ? undefined : stringText(signature),
    format: instances !== undefined ? 'row' : 'columnar',
    payload: instances ?? document.members.get('inputs'),
    document,
    byteLength: typeof body === 'string' ? Buffer.byteLength(body) : body.byteLength,
  };
}

/**
 * Step 2: builds one TensorInput per signature input (keys are the input aliases) from `instances`
 * (row format: batch = number of instances) or `inputs` (columnar: shapes as sent), converting to
 * each input's dtype. UNIMPLEMENTED for dtypes JSON cannot carry (half, bfloat16, uint16, complex…).
 */
/**
 * Where a decoded numeric tensor's memory comes from. The server passes native 64-byte-aligned
 * memory (allocTensor), which TensorFlow uses without a copy; the default is a plain typed array.
 */
export type TensorAllocator = (dtype: NumericDType, length: number) => NumericTypedArray;

export interface DecodeOptions {
  readonly allocate?: TensorAllocator;
}

const plainAllocator: TensorAllocator = (dtype, length) => new DTYPES[dtype].array!(length);

/** What every sink of one request shares: the body size (no valid tensor is bigger) and the allocator. */
interface SinkContext {
  readonly byteLength: number;
  readonly allocate: TensorAllocator;
}

export function decodePredictInputs(body: PredictBody, signature: SignatureInfo, options: DecodeOptions = {}): Record<string, TensorInput> {
  const context: SinkContext = { byteLength: body.byteLength, allocate: options.allocate ?? plainAllocator };
  const names = Object.keys(signature.inputs).sort();
  if (names.length === 0) {
    throw invalid(`Failed to get input map for signature: ${body.signatureName ? body.signatureName : 'DEFAULT'}`);
  }
  const { document } = body;
  const instances = document.members.get('instances');
  const inputs = document.members.get('inputs');
  let result: Record<string, TensorInput>;
  if (instances !== undefined) {
    if (inputs !== undefined) {
      throw invalid(
        `JSON Value: ${dumpJson(document)} Not formatted correctly expecting only one of 'inputs' or 'instances' keys to exist `,
      );
    }
    if (instances.kind !== 'array' && instances.kind !== 'numbers') {
      throw invalid(`JSON Value: ${dumpJson(document)} Expecting 'instances' to be an list/array`);
    }
    if (arrayLength(instances) === 0) throw invalid(`JSON Value: ${dumpJson(document)} No values in 'instances' array`);
    result = decodeRows(instances, names, signature, context);
  } else if (inputs !== undefined) {
    result = decodeColumns(inputs, names, signature, context);
  } else {
    throw invalid("Missing 'inputs' or 'instances' key");
  }
  for (const name of names) {
    if (result[name]!.shape.length > MAX_RANK) throw invalid(`tensor parsing error: ${name}`);
  }
  return result;
}

/** Both steps with the signature lookup in between (for callers whose lookup is synchronous). */
export function decodePredictRequest(
  body: Uint8Array | string,
  lookup: (signatureName: string | undefined) => SignatureInfo,
): DecodedPredictRequest {
  const parsed = parsePredictBody(body);
  const signature = lookup(parsed.signatureName);
  const inputs = decodePredictInputs(parsed, signature);
  return { signatureName: parsed.signatureName, format: parsed.format, inputs };
}

// ---------------------------------------------------------------------------------------------------
// Request: JSON values -> typed arrays

/** A JSON object that names inputs (TF Serving: an object that is not a b64 object). */
function isNamedObject(value: JsonValue): value is JsonObject {
  return value.kind === 'object' && !isBase64Object(value);
}

/** Shape from the nesting of first elements, as TF Serving infers it (GetDenseTensorShape). */
function inferShape(value: JsonValue): number[] {
  const shape: number[] = [];
  let node = value;
  for (;;) {
    if (node.kind === 'array') {
      shape.push(node.items.length);
      if (node.items.length === 0) return shape;
      node = node.items[0]!;
    } else {
      if (node.kind === 'numbers') shape.push(...node.shape);
      return shape;
    }
  }
}

function elementCount(shape: readonly number[]): number {
  let count = 1;
  for (const dim of shape) count *= dim;
  return count;
}

function shapeText(shape: readonly number[]): string {
  return `[${shape.join(',')}]`;
}

type Conversion = 'float32' | 'float64' | 'int32' | 'uint32' | 'int64' | 'uint64' | 'bool' | 'string' | 'none';

const CONVERSIONS: Readonly<Record<DType, Conversion>> = {
  float32: 'float32',
  float64: 'float64',
  int8: 'int32',
  int16: 'int32',
  int32: 'int32',
  uint8: 'int32',
  uint32: 'uint32',
  int64: 'int64',
  uint64: 'uint64',
  bool: 'bool',
  string: 'string',
  float16: 'none',
  bfloat16: 'none',
  uint16: 'none',
};

const INT64_MAX = 2n ** 63n - 1n;

type TensorData = Exclude<TensorInput['data'], readonly unknown[]> | Uint8Array[];

/**
 * Converts JSON leaves into one tensor's memory, with TF Serving's checks per leaf. `data` is null
 * when the leaves are only checked (an inferred size too large to be real, which must fail anyway).
 */
class TensorSink {
  readonly dtype: DType | null;
  readonly #conversion: Conversion;
  readonly #typeName: string;
  readonly #data: TensorData | null;
  /** Index (within the last block) of the element that failed, for row-format error positions. */
  failedIndex = -1;

  constructor(info: TensorInfo, length: number, context: SinkContext) {
    this.dtype = isDType(info.dtype) ? info.dtype : null;
    this.#conversion = this.dtype === null ? 'none' : CONVERSIONS[this.dtype];
    this.#typeName = tfTypeName(info.tfType);
    this.#data = null;
    // Unsupported dtypes get memory too: with no leaves at all TF Serving accepts them (shape [0]).
    if (this.dtype !== null && length <= context.byteLength) {
      this.#data = this.dtype === 'string' ? new Array<Uint8Array>(length) : context.allocate(this.dtype, length);
    }
  }

  get data(): TensorData {
    // Only check-only sinks lack memory, and their leaves cannot all be valid.
    if (this.#data === null) throw new TfServeError('INTERNAL', 'tensor memory was not allocated');
    return this.#data;
  }

  #typeError(value: JsonValue): TfServeError {
    return invalid(`JSON Value: ${dumpJson(value)} Type: ${jsonTypeName(value)} is not of expected type: ${this.#typeName}`);
  }

  unimplemented(value: JsonValue): TfServeError {
    return new TfServeError('UNIMPLEMENTED', `Conversion of JSON Value: ${dumpJson(value)} to type: ${this.#typeName}`);
  }

  /** One leaf (not an array) at `index`. */
  put(index: number, value: JsonValue): void {
    const data = this.#data;
    if (value.kind === 'object') {
      if (this.#conversion !== 'string') throw this.#typeError(value);
      const decoded = decodeBase64Object(value);
      if (data !== null) (data as Uint8Array[])[index] = decoded;
      return;
    }
    switch (this.#conversion) {
      case 'float32':
      case 'float64':
        if (value.kind !== 'number') throw this.#typeError(value);
        if (data !== null) (data as Float64Array)[index] = value.value;
        return;
      case 'int32':
        if (value.kind !== 'number' || !value.integer || value.value < -2147483648 || value.value > 2147483647) {
          throw this.#typeError(value);
        }
        // Int8Array etc. wrap like TF's static_cast: TF Serving does no range check for narrow types.
        if (data !== null) (data as Int32Array)[index] = value.value;
        return;
      case 'uint32':
        if (value.kind !== 'number' || !value.integer || value.value < 0 || value.value > 4294967295) {
          throw this.#typeError(value);
        }
        if (data !== null) (data as Uint32Array)[index] = value.value;
        return;
      case 'int64': {
        if (value.kind !== 'number' || !value.integer || (value.exact !== null && value.exact > INT64_MAX)) {
          throw this.#typeError(value);
        }
        if (data !== null) (data as BigInt64Array)[index] = value.exact ?? BigInt(value.value);
        return;
      }
      case 'uint64':
        if (value.kind !== 'number' || !value.integer || value.value < 0) throw this.#typeError(value);
        if (data !== null) (data as BigUint64Array)[index] = value.exact ?? BigInt(value.value);
        return;
      case 'bool':
        if (value.kind !== 'bool') throw this.#typeError(value);
        if (data !== null) (data as Uint8Array)[index] = value.value ? 1 : 0;
        return;
      case 'string':
        if (value.kind !== 'string') throw this.#typeError(value);
        if (data !== null) (data as Uint8Array[])[index] = value.bytes;
        return;
      case 'none':
        throw this.unimplemented(value);
    }
  }

  /** All values of a `numbers` node, in order, at `index`. */
  putBlock(index: number, node: JsonNumbers): void {
    const data = this.#data;
    const { values, integers } = node;
    const length = values.length;
    if (length === 0) return;
    const allIntegers = node.integerCount === length;
    let bad = -1;
    switch (this.#conversion) {
      case 'float32':
      case 'float64':
        // Float32Array.set rounds each double to nearest-even, as C++'s static_cast<float>.
        if (data !== null) (data as Float32Array | Float64Array).set(values, index);
        return;
      case 'int32':
      case 'uint32': {
        const min = this.#conversion === 'int32' ? -2147483648 : 0;
        const max = this.#conversion === 'int32' ? 2147483647 : 4294967295;
        for (let i = 0; i < length; i++) {
          const v = values[i]!;
          if ((!allIntegers && integers[i] === 0) || v < min || v > max) {
            bad = i;
            break;
          }
        }
        if (bad < 0) {
          if (data !== null) (data as Int32Array | Uint32Array).set(values, index);
          return;
        }
        break;
      }
      case 'int64':
      case 'uint64': {
        const unsigned = this.#conversion === 'uint64';
        const exact = node.exact;
        const target = data as BigInt64Array | BigUint64Array | null;
        for (let i = 0; i < length; i++) {
          if (!allIntegers && integers[i] === 0) {
            bad = i;
            break;
          }
          const big = exact?.get(i);
          if (big !== undefined) {
            if (unsigned ? big < 0n : big > INT64_MAX) {
              bad = i;
              break;
            }
            if (target !== null) target[index + i] = big;
          } else {
            const v = values[i]!;
            if (unsigned && v < 0) {
              bad = i;
              break;
            }
            if (target !== null) target[index + i] = BigInt(v);
          }
        }
        if (bad < 0) return;
        break;
      }
      case 'bool':
      case 'string':
        bad = 0;
        break;
      case 'none':
        this.failedIndex = 0;
        throw this.unimplemented(numberAt(node, 0));
    }
    this.failedIndex = bad;
    throw this.#typeError(numberAt(node, bad));
  }
}

function decodeBase64Object(value: JsonObject): Uint8Array {
  const b64 = value.members.get('b64');
  if (!isBase64Object(value) || b64 === undefined || b64.kind !== 'string') {
    throw invalid(`JSON Value: ${dumpJson(value)} not formatted correctly for base64 data`);
  }
  const decoded = decodeBase64(b64.bytes);
  if (decoded === null) throw invalid('Unable to base64 decode');
  return decoded;
}

/**
 * Writes the leaves of `value` into `sink` from `index`, checking them against `dims` the way TF
 * Serving's FillTensorProto does (same errors, same depth-first order), without recursion.
 * Returns the index after the last leaf.
 */
function fillTensor(value: JsonValue, dims: readonly number[], sink: TensorSink, index: number): number {
  const rank = dims.length;
  const arrays: (readonly JsonValue[])[] = [];
  const next: number[] = [];
  let node: JsonValue | null = value;
  let level = 0;
  for (;;) {
    if (node !== null) {
      if (node.kind === 'array') {
        if (level >= rank) throw invalid(`Encountered list at unexpected level: ${level} expected < ${rank}`);
        if (node.items.length !== dims[level]) {
          throw invalid(`Encountered list at unexpected size: ${node.items.length} at level: ${level} expected size: ${dims[level]}`);
        }
        arrays.push(node.items);
        next.push(0);
        level++;
      } else if (node.kind === 'numbers') {
        index = fillBlock(node, level, dims, sink, index);
      } else {
        if (level !== rank) {
          throw invalid(`JSON Value: ${dumpJson(node)} found at incorrect level: ${level + 1} in the JSON DOM. Expected at level: ${rank}`);
        }
        sink.put(index++, node);
      }
    }
    const depth = arrays.length - 1;
    if (depth < 0) return index;
    const items = arrays[depth]!;
    const i = next[depth]!;
    if (i < items.length) {
      next[depth] = i + 1;
      node = items[i]!;
    } else {
      arrays.pop();
      next.pop();
      level--;
      node = null;
    }
  }
}

/** A `numbers` node met at `level`: it behaves as nested arrays whose sub-arrays all agree. */
function fillBlock(node: JsonNumbers, level: number, dims: readonly number[], sink: TensorSink, index: number): number {
  const rank = dims.length;
  const shape = node.shape;
  for (let d = 0; d < shape.length; d++) {
    const at = level + d;
    if (at >= rank) throw invalid(`Encountered list at unexpected level: ${at} expected < ${rank}`);
    if (shape[d] !== dims[at]) {
      throw invalid(`Encountered list at unexpected size: ${shape[d]} at level: ${at} expected size: ${dims[at]}`);
    }
    if (shape[d] === 0) return index;
  }
  const leafLevel = level + shape.length;
  if (leafLevel !== rank) {
    throw invalid(
      `JSON Value: ${dumpJson(numberAt(node, 0))} found at incorrect level: ${leafLevel + 1} in the JSON DOM. Expected at level: ${rank}`,
    );
  }
  sink.putBlock(index, node);
  return index + node.values.length;
}

function tensorInput(sink: TensorSink, shape: number[], value: JsonValue): TensorInput {
  if (sink.dtype === null) throw sink.unimplemented(value);
  return { dtype: sink.dtype, shape, data: sink.data };
}

/** `inputs`: one value for a single input, else an object holding every input (extra keys ignored). */
function decodeColumns(
  payload: JsonValue,
  names: readonly string[],
  signature: SignatureInfo,
  context: SinkContext,
): Record<string, TensorInput> {
  const build = (value: JsonValue, info: TensorInfo): TensorInput => {
    const shape = inferShape(value);
    const sink = new TensorSink(info, elementCount(shape), context);
    fillTensor(value, shape, sink, 0);
    return tensorInput(sink, shape, value);
  };
  const result: Record<string, TensorInput> = {};
  if (!isNamedObject(payload)) {
    if (names.length > 1) {
      throw invalid('inputs is a plain value/list, but expecting an object as multiple input tensors required as per tensorinfo_map');
    }
    result[names[0]!] = build(payload, signature.inputs[names[0]!]!);
    return result;
  }
  for (const name of names) {
    const value = payload.members.get(name);
    if (value === undefined) throw invalid(`Missing named input: ${name} in 'inputs' object.`);
    result[name] = build(value, signature.inputs[name]!);
  }
  return result;
}

/** Per input of a row-format request: the first instance fixes the row shape, the rest must match. */
interface RowInput {
  readonly info: TensorInfo;
  sink: TensorSink | null;
  rowShape: number[];
  rowSize: number;
}

/** `instances`: one row per element, values/lists for a single input or objects naming every input. */
function decodeRows(
  instances: JsonArray | JsonNumbers,
  names: readonly string[],
  signature: SignatureInfo,
  context: SinkContext,
): Record<string, TensorInput> {
  const count = arrayLength(instances);
  if (instances.kind === 'numbers') {
    // Equal rows of numbers: one block, checked and converted at once.
    if (names.length > 1) throw plainListError();
    const info = signature.inputs[names[0]!]!;
    const shape = [...instances.shape];
    const sink = new TensorSink(info, instances.values.length, context);
    try {
      sink.putBlock(0, instances);
    } catch (error) {
      const rowSize = instances.values.length / count;
      const row = Math.floor(sink.failedIndex / rowSize);
      throw invalid(`Failed to process element: ${row} of 'instances' list. Error: ${statusText(error)}`);
    }
    return { [names[0]!]: tensorInput(sink, shape, instances) };
  }
  const items = instances.items;
  // TF Serving counts a b64 object as an object here and then feeds it to the first input; we treat
  // it as the plain value it is, so several inputs get this error rather than a later one.
  if (!isNamedObject(items[0]!) && names.length > 1) throw plainListError();
  const objects = isNamedObject(items[0]!);
  const rows = new Map<string, RowInput>();
  for (const name of names) rows.set(name, { info: signature.inputs[name]!, sink: null, rowShape: [], rowSize: 0 });
  const addItem = (value: JsonValue, name: string, row: number): void => {
    const input = rows.get(name);
    if (input === undefined) throw invalid(`JSON object: does not have named input: ${name}`);
    const shape = inferShape(value);
    const size = elementCount(shape);
    if (input.sink === null) {
      input.sink = new TensorSink(input.info, count * size, context);
      input.rowShape = shape;
      input.rowSize = size;
    }
    if (size === input.rowSize) {
      fillTensor(value, shape, input.sink, row * size);
    } else {
      // TF Serving converts the item before comparing sizes, so its conversion errors come first.
      // Only checked, then dropped: plain memory.
      fillTensor(value, shape, new TensorSink(input.info, size, { ...context, allocate: plainAllocator }), 0);
      throw invalid(`Expecting tensor size: ${input.rowSize} but got: ${size}`);
    }
    if (!sameShape(shape, input.rowShape)) {
      throw invalid(`Expecting shape ${shapeText(input.rowShape)} but got: ${shapeText(shape)}`);
    }
  };
  for (let row = 0; row < count; row++) {
    const item = items[row]!;
    if (objects) {
      if (!isNamedObject(item)) throw invalid(`Expecting object but got list at item ${row} of input list`);
      for (const [key, value] of item.members) {
        try {
          addItem(value, key, row);
        } catch (error) {
          throw invalid(`Failed to process element: ${row} key: ${key} of 'instances' list. Error: ${statusText(error)}`);
        }
      }
      if (item.members.size !== names.length || names.some((name) => !item.members.has(name))) {
        throw invalid(
          `Failed to process element: ${row} of 'instances' list. JSON object: ${dumpJson(item)} keys must be equal to: ${names.join(',')}`,
        );
      }
    } else {
      if (isNamedObject(item)) throw invalid(`Expecting value/list but got object at item ${row} of input list`);
      try {
        addItem(item, names[0]!, row);
      } catch (error) {
        throw invalid(`Failed to process element: ${row} of 'instances' list. Error: ${statusText(error)}`);
      }
    }
  }
  const result: Record<string, TensorInput> = {};
  for (const [name, input] of rows) result[name] = tensorInput(input.sink!, [count, ...input.rowShape], instances);
  return result;
}

function plainListError(): TfServeError {
  return invalid(
    'instances is a plain list, but expecting list of objects as multiple input tensors required as per tensorinfo_map',
  );
}

function sameShape(a: readonly number[], b: readonly number[]): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

// ---------------------------------------------------------------------------------------------------
// Response: tensors -> JSON bytes

/**
 * Renders predict outputs as TF Serving does: row format `{"predictions": [...]}` (one entry per
 * dim-0 index; an object per entry when there are several outputs), columnar `{"outputs": ...}`.
 * Returns the body bytes: string tensors are written as their raw bytes, which need not be UTF-8.
 * Outputs whose alias ends in `_bytes` (DT_STRING) are written as {"b64": ...} objects.
 */
export function encodePredictResponse(
  format: PredictFormat,
  outputs: Readonly<Record<string, Tensor>>,
  moreMembers?: (writer: PrettyWriter) => void,
): Buffer {
  const names = Object.keys(outputs);
  if (names.length === 0) throw invalid('Cannot convert empty tensor map to JSON');
  let estimate = 64;
  for (const name of names) {
    const tensor = outputs[name]!;
    if (elementCount(tensor.shape) !== tensor.data.length) {
      throw new TfServeError('INTERNAL', `output ${name} has ${tensor.data.length} values for shape ${shapeText(tensor.shape)}`);
    }
    estimate += name.length + tensor.data.length * (tensor.dtype === 'string' ? 16 : 12);
  }
  const writer = new PrettyWriter(estimate);
  const many = names.length > 1;
  if (format === 'row') {
    let batch = -1;
    for (const name of names) {
      const { shape } = outputs[name]!;
      if (shape.length === 0) throw invalid(`Tensor name: ${name} has no shape information `);
      if (batch >= 0 && shape[0] !== batch) {
        throw invalid(`Tensor name: ${name} has inconsistent batch size: ${shape[0]} expecting: ${batch}`);
      }
      batch = shape[0]!;
    }
    const writers = names.map((name) => new TensorWriter(name, outputs[name]!, writer));
    writer.startObject();
    writer.key('predictions');
    writer.startArray();
    for (let item = 0; item < batch; item++) {
      if (many) writer.startObject();
      writer.singleLine = true;
      for (const tensorWriter of writers) {
        if (many) writer.key(tensorWriter.name);
        tensorWriter.write(1);
      }
      writer.singleLine = false;
      if (many) writer.endObject();
    }
    writer.endArray();
    moreMembers?.(writer);
    writer.endObject();
  } else {
    writer.startObject();
    writer.key('outputs');
    if (many) writer.startObject();
    for (const name of names) {
      if (many) writer.key(name);
      new TensorWriter(name, outputs[name]!, writer).write(0);
    }
    if (many) writer.endObject();
    moreMembers?.(writer);
    writer.endObject();
  }
  return writer.finish();
}

/** Writes one output tensor's values in TF Serving's order (AddTensorValues), advancing through it. */
class TensorWriter {
  readonly name: string;
  readonly #tensor: Tensor;
  readonly #out: PrettyWriter;
  readonly #asBase64: boolean;
  #offset = 0;

  constructor(name: string, tensor: Tensor, out: PrettyWriter) {
    this.name = name;
    this.#tensor = tensor;
    this.#out = out;
    this.#asBase64 = tensor.dtype === 'string' && name.endsWith('_bytes');
    const writable = tensor.dtype !== 'float16' && tensor.dtype !== 'bfloat16' && tensor.dtype !== 'uint16';
    if (!writable && tensor.data.length > 0) {
      throw invalid(`Failed to write JSON value for tensor type: ${tfTypeName(DTYPES[tensor.dtype].tfType)}`);
    }
  }

  /** The sub-tensor at the current offset from dimension `first` on: a bare value past the last one. */
  write(first: number): void {
    const shape = this.#tensor.shape;
    const rank = shape.length;
    if (first > rank - 1) {
      this.#values(1);
      return;
    }
    const out = this.#out;
    const counters: number[] = [];
    let d = first;
    counters[d] = 0;
    out.startArray();
    for (;;) {
      if (d === rank - 1) {
        this.#values(shape[d]!);
        out.endArray();
        if (--d < first) return;
      } else if (counters[d]! < shape[d]!) {
        counters[d]!++;
        counters[++d] = 0;
        out.startArray();
      } else {
        out.endArray();
        if (--d < first) return;
      }
    }
  }

  /** `count` consecutive values, each as an element of the open array (or the bare value). */
  #values(count: number): void {
    const out = this.#out;
    const tensor = this.#tensor;
    const start = this.#offset;
    this.#offset += count;
    switch (tensor.dtype) {
      case 'float32': {
        const data = tensor.data as Float32Array;
        for (let i = start; i < start + count; i++) {
          out.prefix();
          out.pos = writeFloat32(out.reserve(MAX_FLOAT_TEXT), out.pos, data[i]!);
        }
        return;
      }
      case 'float64': {
        const data = tensor.data as Float64Array;
        for (let i = start; i < start + count; i++) {
          out.prefix();
          out.pos = writeFloat64(out.reserve(MAX_FLOAT_TEXT), out.pos, data[i]!);
        }
        return;
      }
      case 'bool': {
        const data = tensor.data as Uint8Array;
        for (let i = start; i < start + count; i++) out.raw(data[i] !== 0 ? 'true' : 'false');
        return;
      }
      case 'string': {
        const data = tensor.data as Uint8Array[];
        for (let i = start; i < start + count; i++) {
          const bytes = data[i]!;
          if (this.#asBase64) {
            out.startObject();
            out.key('b64');
            out.prefix();
            out.stringBytes(Buffer.from(Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('base64'), 'latin1'));
            out.endObject();
          } else {
            out.prefix();
            out.stringBytes(bytes);
          }
        }
        return;
      }
      default: {
        // Integers (int64/uint64 as bigints, printed exactly).
        const data = tensor.data as ArrayLike<number | bigint>;
        for (let i = start; i < start + count; i++) out.raw(String(data[i]));
      }
    }
  }
}

/**
 * tensorflow.TensorProto <-> the library's Tensor (`{ dtype, shape, data }`), straight from and to the
 * wire: protobufjs would turn a million packed floats into a JS array of numbers first.
 *
 * In (`tensorFromProto`), TensorFlow's `Tensor::FromProto` rules, checked against TF 2.21's C++ parser:
 * - a non-empty `tensor_content` (little-endian, row-major) wins and must hold exactly N values
 *   (strings: N varint lengths, then the bytes); it is copied once, into 64-byte aligned memory from
 *   `allocTensor`, which TensorFlow then uses without another copy;
 * - otherwise the dtype's typed field: no values give zeros, fewer than N repeat the last one, extra
 *   values are ignored (float_val, double_val, int_val for int8/16/32 and uint8/16 truncated as C++
 *   casts them, int64_val, uint32_val, uint64_val, bool_val, half_val for float16 and bfloat16);
 *   numeric values land in aligned memory too;
 * - `string_val` elements are Uint8Array views of the input buffer, not copies: the tensor keeps the
 *   request's buffer alive;
 * - a zero-element tensor needs no values and ignores any; `unknown_rank` is ignored, as TensorFlow's
 *   (non-partial) TensorShape does.
 * Anything else is INVALID_ARGUMENT `tensor parsing error: <alias>`, TF Serving's text, with the
 * reason as the error's `cause`: DT_INVALID, a dtype tfserve does not support (complex, quantized,
 * resource, variant, float8, int4, _REF), a negative or too large dimension, more than MAX_RANK (32)
 * dimensions, a tensor_content of the wrong size, bool content bytes other than 0 and 1.
 *
 * Out (`writeTensorProto`), TF Serving's `Tensor::AsProtoField` by default: dtype, tensor_shape
 * (always present, so a scalar has an empty `tensor_shape {}`) and the typed field (int_val also for
 * int8/int16/uint8/uint16), in field order, packed, as protobuf C++ writes them; or, with
 * `tensorContent` (`--enable_serialization_as_tensor_content`), `AsProtoTensorContent`.
 *
 * Assumes a little-endian host, as every platform tfserve builds for (x86_64, aarch64) is.
 */
import protobuf from 'protobufjs';

import { DTYPES, dtypeFromTf, type DType, type NumericDType } from '../model/dtypes.js';
import { TfServeError } from '../model/errors.js';
import { allocTensor, MAX_RANK, type Tensor } from '../model/tensor.js';
import { I32, I64, LEN, VARINT, WireReader } from './wire.js';

// TensorProto field numbers.
const F_DTYPE = 1;
const F_SHAPE = 2;
const F_CONTENT = 4;
const F_HALF = 13;
const F_FLOAT = 5;
const F_DOUBLE = 6;
const F_INT = 7;
const F_STRING = 8;
const F_INT64 = 10;
const F_BOOL = 11;
const F_UINT32 = 16;
const F_UINT64 = 17;

/** The typed field TensorFlow reads and writes for each dtype. */
const VALUE_FIELD: Readonly<Record<DType, number>> = {
  float32: F_FLOAT,
  float64: F_DOUBLE,
  float16: F_HALF,
  bfloat16: F_HALF,
  int8: F_INT,
  int16: F_INT,
  int32: F_INT,
  uint8: F_INT,
  uint16: F_INT,
  int64: F_INT64,
  uint32: F_UINT32,
  uint64: F_UINT64,
  bool: F_BOOL,
  string: F_STRING,
};

/** Wire type of one unpacked element of each value field (strings are always LEN). */
const ELEMENT_WIRE_TYPE: Readonly<Record<number, number>> = {
  [F_FLOAT]: I32,
  [F_DOUBLE]: I64,
  [F_HALF]: VARINT,
  [F_INT]: VARINT,
  [F_INT64]: VARINT,
  [F_BOOL]: VARINT,
  [F_UINT32]: VARINT,
  [F_UINT64]: VARINT,
};

const EMPTY = new Uint8Array(0);
const MAX_SAFE_HI = 0x1fffff; // a dimension's high 32 bits must keep it below 2^53

class ParseFailure extends Error {}

function parsingError(alias: string, reason: string): TfServeError {
  return new TfServeError('INVALID_ARGUMENT', `tensor parsing error: ${alias}`, { cause: new ParseFailure(reason) });
}

/** Where the values of one field lie: byte ranges, each a packed run or one unpacked element. */
interface ValueRanges {
  starts: number[];
  ends: number[];
}

interface ScannedTensor {
  dtype: number;
  dims: number[];
  /** First bad dimension, reported only if the rest of the proto parses. */
  badDim: string | null;
  contentStart: number;
  contentEnd: number;
  values: Map<number, ValueRanges>;
}

function addRange(values: Map<number, ValueRanges>, field: number, start: number, end: number): void {
  let ranges = values.get(field);
  if (!ranges) values.set(field, (ranges = { starts: [], ends: [] }));
  ranges.starts.push(start);
  ranges.ends.push(end);
}

/** TensorShapeProto fields into `scan`; several tensor_shape fields merge, as protobuf merges them. */
function scanShape(reader: WireReader, end: number, scan: ScannedTensor): void {
  const outer = reader.pos;
  const shape = new WireReader(reader.buf, 'tensorflow.TensorShapeProto', reader.start, end);
  while (!shape.done()) {
    const tag = shape.tag();
    if (tag === ((2 << 3) | LEN)) {
      const dimEnd = shape.len();
      const dim = new WireReader(shape.buf, 'tensorflow.TensorShapeProto.Dim', shape.start, dimEnd);
      let lo = 0;
      let hi = 0;
      while (!dim.done()) {
        const dimTag = dim.tag();
        if (dimTag === ((1 << 3) | VARINT)) {
          dim.varint64();
          lo = dim.lo;
          hi = dim.hi;
        } else dim.skip(dimTag & 7);
      }
      if (scan.badDim === null) {
        if (hi & 0x80000000) scan.badDim = 'negative dimension';
        else if (hi > MAX_SAFE_HI) scan.badDim = 'dimension above 2^53';
      }
      scan.dims.push(hi * 0x100000000 + lo);
    } else shape.skip(tag & 7);
  }
  reader.pos = outer;
}

function scanTensor(buf: Uint8Array, start: number, end: number): ScannedTensor {
  const reader = new WireReader(buf, 'tensorflow.TensorProto', start, end);
  const scan: ScannedTensor = { dtype: 0, dims: [], badDim: null, contentStart: 0, contentEnd: 0, values: new Map() };
  while (!reader.done()) {
    const tag = reader.tag();
    const field = tag >>> 3;
    const wireType = tag & 7;
    if (field === F_DTYPE && wireType === VARINT) {
      scan.dtype = reader.uint32() | 0;
    } else if (field === F_SHAPE && wireType === LEN) {
      scanShape(reader, reader.len(), scan);
    } else if (field === F_CONTENT && wireType === LEN) {
      scan.contentEnd = reader.len();
      scan.contentStart = reader.start;
    } else if (field === F_STRING && wireType === LEN) {
      const valueEnd = reader.len();
      addRange(scan.values, field, reader.start, valueEnd);
    } else if (ELEMENT_WIRE_TYPE[field] !== undefined && (wireType === LEN || wireType === ELEMENT_WIRE_TYPE[field])) {
      const elementStart = reader.pos;
      if (wireType === LEN) {
        const valueEnd = reader.len();
        checkPacked(reader, field, reader.start, valueEnd);
        addRange(scan.values, field, reader.start, valueEnd);
      } else {
        reader.skip(wireType);
        addRange(scan.values, field, elementStart, reader.pos);
      }
    } else {
      reader.skip(wireType);
    }
  }
  return scan;
}

/** A packed run must hold whole elements, as protobuf's parser requires. */
function checkPacked(reader: WireReader, field: number, start: number, end: number): void {
  const wireType = ELEMENT_WIRE_TYPE[field];
  if (wireType === I32 && (end - start) % 4 !== 0) reader.fail('packed fixed32 field of a length not divisible by 4');
  if (wireType === I64 && (end - start) % 8 !== 0) reader.fail('packed fixed64 field of a length not divisible by 8');
  if (wireType === VARINT && end > start && reader.buf[end - 1]! >= 0x80) reader.fail('truncated varint in packed field');
}

/**
 * Decodes one serialized TensorProto (a view of the request is fine) into a Tensor by TensorFlow's
 * FromProto rules. `alias` is the input's name, for the error text.
 */
export function tensorFromProto(bytes: Uint8Array, alias: string, start = 0, end = bytes.length): Tensor {
  const scan = scanTensor(bytes, start, end);
  if (scan.badDim !== null) throw parsingError(alias, scan.badDim);
  if (scan.dims.length > MAX_RANK) throw parsingError(alias, `more than ${MAX_RANK} dimensions`);
  if (scan.dtype === 0) throw parsingError(alias, 'DT_INVALID');
  const dtype = dtypeFromTf(scan.dtype);
  if (dtype === null) throw parsingError(alias, `unsupported dtype ${scan.dtype}`);
  let count = 1;
  for (const dim of scan.dims) count *= dim;
  if (!Number.isSafeInteger(count)) throw parsingError(alias, 'too many elements');
  const shape = scan.dims;
  try {
    if (dtype === 'string') return { dtype, shape, data: stringValues(bytes, scan, count, alias) };
    const tensor = allocTensor(dtype, shape);
    if (count > 0) {
      if (scan.contentEnd > scan.contentStart) copyContent(bytes, scan, tensor, alias);
      else fillFromField(bytes, scan.values.get(VALUE_FIELD[dtype]), tensor, count);
    }
    return tensor;
  } catch (error) {
    if (error instanceof TfServeError) throw error;
    // The allocation itself failed (more elements than memory or than a typed array can hold).
    throw parsingError(alias, String((error as Error).message));
  }
}

function copyContent(bytes: Uint8Array, scan: ScannedTensor, tensor: Tensor<NumericDType>, alias: string): void {
  const data = tensor.data;
  const size = scan.contentEnd - scan.contentStart;
  if (size !== data.byteLength) {
    throw parsingError(alias, `tensor_content holds ${size} bytes, ${data.byteLength} expected`);
  }
  const target = new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
  target.set(bytes.subarray(scan.contentStart, scan.contentEnd));
  if (tensor.dtype === 'bool' && target.some((b) => b > 1)) throw parsingError(alias, 'bool tensor_content byte other than 0 or 1');
}

function fillFromField(bytes: Uint8Array, ranges: ValueRanges | undefined, tensor: Tensor<NumericDType>, count: number): void {
  if (!ranges) return; // no values: the memory is already zeroed
  const { dtype, data } = tensor;
  const field = VALUE_FIELD[dtype];
  let filled: number;
  if (field === F_FLOAT || field === F_DOUBLE) {
    const width = field === F_FLOAT ? 4 : 8;
    const target = new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
    let at = 0;
    for (let r = 0; r < ranges.starts.length && at < target.length; r++) {
      const chunk = bytes.subarray(ranges.starts[r]!, Math.min(ranges.ends[r]!, ranges.starts[r]! + target.length - at));
      target.set(chunk, at);
      at += chunk.length;
    }
    filled = at / width;
  } else if (field === F_INT64 || field === F_UINT64) {
    // Both halves straight into the 64-bit array's memory: no BigInt per value.
    const words = new Uint32Array(data.buffer, data.byteOffset, count * 2);
    filled = readVarints(bytes, ranges, count, (i, reader) => {
      reader.varint64();
      words[2 * i] = reader.lo;
      words[2 * i + 1] = reader.hi;
    });
  } else if (dtype === 'bool') {
    const target = data as Uint8Array;
    filled = readVarints(bytes, ranges, count, (i, reader) => {
      reader.varint64();
      target[i] = reader.lo !== 0 || reader.hi !== 0 ? 1 : 0;
    });
  } else {
    // int_val, uint32_val, half_val: the typed array's conversion truncates as C++'s static_cast.
    const target = data as Int32Array | Int16Array | Int8Array | Uint8Array | Uint16Array | Uint32Array;
    filled = readVarints(bytes, ranges, count, (i, reader) => {
      target[i] = reader.uint32();
    });
  }
  if (filled > 0 && filled < count) repeatLast(tensor, filled, count);
}

function readVarints(bytes: Uint8Array, ranges: ValueRanges, count: number, store: (i: number, reader: WireReader) => void): number {
  let i = 0;
  for (let r = 0; r < ranges.starts.length && i < count; r++) {
    const reader = new WireReader(bytes, 'tensorflow.TensorProto', ranges.starts[r]!, ranges.ends[r]!);
    while (!reader.done() && i < count) store(i++, reader);
  }
  return i;
}

function repeatLast(tensor: Tensor<NumericDType>, filled: number, count: number): void {
  const data = tensor.data;
  if (data instanceof BigInt64Array || data instanceof BigUint64Array) {
    (data as BigInt64Array).fill((data as BigInt64Array)[filled - 1]!, filled, count);
  } else {
    (data as Float32Array).fill((data as Float32Array)[filled - 1]!, filled, count);
  }
}

function stringValues(bytes: Uint8Array, scan: ScannedTensor, count: number, alias: string): Uint8Array[] {
  if (count === 0) return [];
  if (scan.contentEnd > scan.contentStart) return decodeStringList(bytes, scan.contentStart, scan.contentEnd, count, alias);
  const ranges = scan.values.get(F_STRING);
  const out = new Array<Uint8Array>(count);
  const given = ranges ? Math.min(ranges.starts.length, count) : 0;
  for (let i = 0; i < given; i++) out[i] = bytes.subarray(ranges!.starts[i]!, ranges!.ends[i]!);
  out.fill(given > 0 ? out[given - 1]! : EMPTY, given, count);
  return out;
}

/** TensorFlow's string tensor_content: `count` varint32 lengths, then the strings back to back. */
function decodeStringList(bytes: Uint8Array, start: number, end: number, count: number, alias: string): Uint8Array[] {
  const reader = new WireReader(bytes, 'tensorflow.TensorProto', start, end);
  const lengths = new Array<number>(count);
  let total = 0;
  try {
    for (let i = 0; i < count; i++) total += lengths[i] = reader.uint32();
  } catch {
    throw parsingError(alias, 'string tensor_content ends inside its lengths');
  }
  if (total !== end - reader.pos) throw parsingError(alias, 'string tensor_content size does not match its lengths');
  const out = new Array<Uint8Array>(count);
  let at = reader.pos;
  for (let i = 0; i < count; i++) {
    out[i] = bytes.subarray(at, at + lengths[i]!);
    at += lengths[i]!;
  }
  return out;
}

// ---------------------------------------------------------------------------------------------------
// Out

export interface TensorProtoOptions {
  /** Write values as tensor_content (`--enable_serialization_as_tensor_content`) instead of typed fields. */
  readonly tensorContent?: boolean;
}

const tag = (field: number, wireType: number): number => ((field << 3) | wireType) >>> 0;

/** A view of a typed array's bytes, which is what a packed fixed-width field holds on a little-endian host. */
function rawBytes(data: ArrayBufferView): Uint8Array {
  return new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
}

function varint32Size(value: number): number {
  return value < 0x80 ? 1 : value < 0x4000 ? 2 : value < 0x200000 ? 3 : value < 0x10000000 ? 4 : 5;
}

/**
 * The packed varints of an integer typed field, encoded by hand into one buffer (protobufjs would
 * add one writer operation per value). Signed values are sign-extended to 64 bits, as int32 requires.
 */
function packedVarints(data: ArrayLike<number>, signed: boolean): Uint8Array {
  let size = 0;
  for (let i = 0; i < data.length; i++) {
    const v = data[i]!;
    size += v < 0 ? 10 : varint32Size(v);
  }
  const out = Buffer.allocUnsafe(size);
  let pos = 0;
  for (let i = 0; i < data.length; i++) {
    let v = data[i]!;
    if (v < 0 && signed) {
      // Low 32 bits as 5 groups, then the sign extension: 0xff.. 4 times and 0x01.
      v >>>= 0;
      for (let k = 0; k < 4; k++) {
        out[pos++] = (v & 0x7f) | 0x80;
        v >>>= 7;
      }
      out[pos++] = v | 0x70 | 0x80;
      out[pos++] = 0xff;
      out[pos++] = 0xff;
      out[pos++] = 0xff;
      out[pos++] = 0xff;
      out[pos++] = 0x01;
      continue;
    }
    while (v >= 0x80) {
      out[pos++] = (v & 0x7f) | 0x80;
      v >>>= 7;
    }
    out[pos++] = v;
  }
  return out;
}

/** Packed 64-bit varints from the two 32-bit halves of each value (two's complement for int64). */
function packedVarints64(data: BigInt64Array | BigUint64Array): Uint8Array {
  const words = new Uint32Array(data.buffer, data.byteOffset, data.length * 2);
  let size = 0;
  for (let i = 0; i < data.length; i++) {
    const hi = words[2 * i + 1]!;
    if (hi === 0) size += varint32Size(words[2 * i]!);
    else size += hi < 0x8 ? 5 : hi < 0x400 ? 6 : hi < 0x20000 ? 7 : hi < 0x1000000 ? 8 : hi < 0x80000000 ? 9 : 10;
  }
  const out = Buffer.allocUnsafe(size);
  let pos = 0;
  for (let i = 0; i < data.length; i++) {
    let lo = words[2 * i]!;
    let hi = words[2 * i + 1]!;
    while (hi !== 0 || lo >= 0x80) {
      out[pos++] = (lo & 0x7f) | 0x80;
      lo = ((lo >>> 7) | (hi << 25)) >>> 0;
      hi >>>= 7;
    }
    out[pos++] = lo;
  }
  return out;
}

function packedBools(data: Uint8Array): Uint8Array {
  const out = Buffer.allocUnsafe(data.length);
  for (let i = 0; i < data.length; i++) out[i] = data[i] ? 1 : 0;
  return out;
}

/** TensorFlow's string tensor_content (EncodeStringList): the varint32 lengths, then the bytes. */
function stringList(strings: readonly Uint8Array[]): Uint8Array {
  let size = 0;
  for (const s of strings) size += varint32Size(s.length) + s.length;
  const out = Buffer.allocUnsafe(size);
  let pos = 0;
  for (const s of strings) {
    let v = s.length;
    while (v >= 0x80) {
      out[pos++] = (v & 0x7f) | 0x80;
      v >>>= 7;
    }
    out[pos++] = v;
  }
  for (const s of strings) {
    out.set(s, pos);
    pos += s.length;
  }
  return out;
}

/**
 * Writes the fields of a TensorProto for `tensor` (no tag or length of its own: wrap it in
 * `writer.uint32(tag).fork() ... .ldelim()` to embed it). Packed fixed-width values are handed to
 * the writer as one view of the typed array's memory, copied once when the writer finishes.
 */
export function writeTensorProto(writer: protobuf.Writer, tensor: Tensor, options: TensorProtoOptions = {}): protobuf.Writer {
  const { dtype, shape, data } = tensor;
  writer.uint32(tag(1, VARINT)).uint32(DTYPES[dtype].tfType);
  writer.uint32(tag(F_SHAPE, LEN)).fork();
  for (const dim of shape) {
    writer.uint32(tag(2, LEN)).fork();
    if (dim !== 0) writer.uint32(tag(1, VARINT)).int64(dim);
    writer.ldelim();
  }
  writer.ldelim();
  const length = dtype === 'string' ? (data as Uint8Array[]).length : (data as ArrayBufferView & { length: number }).length;
  if (length === 0) return writer;
  if (options.tensorContent) {
    const content = dtype === 'string' ? stringList(data as Uint8Array[]) : dtype === 'bool' ? packedBools(data as Uint8Array) : rawBytes(data as ArrayBufferView);
    return writer.uint32(tag(F_CONTENT, LEN)).bytes(content);
  }
  const field = VALUE_FIELD[dtype];
  switch (dtype) {
    case 'string':
      for (const value of data as Uint8Array[]) writer.uint32(tag(F_STRING, LEN)).bytes(value);
      return writer;
    case 'float32':
    case 'float64':
      return writer.uint32(tag(field, LEN)).bytes(rawBytes(data as ArrayBufferView));
    case 'int64':
    case 'uint64':
      return writer.uint32(tag(field, LEN)).bytes(packedVarints64(data as BigInt64Array));
    case 'bool':
      return writer.uint32(tag(field, LEN)).bytes(packedBools(data as Uint8Array));
    default:
      return writer.uint32(tag(field, LEN)).bytes(packedVarints(data as ArrayLike<number>, dtype === 'int8' || dtype === 'int16' || dtype === 'int32'));
  }
}

/** One serialized TensorProto. */
export function encodeTensorProto(tensor: Tensor, options?: TensorProtoOptions): Uint8Array {
  return writeTensorProto(protobuf.Writer.create(), tensor, options).finish();
}

/**
 * The Open Inference Protocol's (KServe v2) tensors and its gRPC messages, for both transports: the
 * datatype names, the raw tensor layout that `raw_input_contents` / `raw_output_contents` and the
 * HTTP binary tensor data extension share, the protocol's request and response objects, and
 * `inference.GRPCInferenceService`'s wire codec (KSERVE_V2_SPEC.md A.1-A.3).
 *
 * Contract: pure functions, no I/O. Decoders take the request's bytes and throw TfServeError:
 * INVALID_ARGUMENT for a request the protocol refuses (texts name the input and the model, in
 * Triton's words where it has them), WireFormatError (INTERNAL) for bytes that are not the message.
 * Tensor values are copied once, from the wire into 64-byte aligned memory from `allocTensor` that
 * TensorFlow uses without another copy; BYTES elements are views of the request. Encoders return the
 * canonical encoding (what protobuf C++ writes), and answer every output in `raw_output_contents`,
 * the only place tritonclient reads numeric outputs from.
 *
 * Raw layout: little-endian, row-major, BOOL one byte 0/1, FP16 and BF16 their 16-bit patterns,
 * BYTES each element as a uint32 little-endian length and its bytes. Assumes a little-endian host,
 * as every platform tfserve builds for is.
 */
import protobuf from 'protobufjs';

import { type DType, DTYPES, type NumericDType, type NumericTypedArray } from '../model/dtypes.js';
import { TfServeError } from '../model/errors.js';
import { allocTensor, MAX_RANK, type Tensor } from '../model/tensor.js';
import { messageCodec } from './serving-protos.js';
import { I32, I64, LEN, VARINT, WireReader } from './wire.js';

// ---------------------------------------------------------------------------------------------------
// Datatypes

/** The v2 datatype of every dtype of the library. */
export const V2_DATATYPES: Readonly<Record<DType, string>> = {
  bool: 'BOOL',
  uint8: 'UINT8',
  uint16: 'UINT16',
  uint32: 'UINT32',
  uint64: 'UINT64',
  int8: 'INT8',
  int16: 'INT16',
  int32: 'INT32',
  int64: 'INT64',
  float16: 'FP16',
  float32: 'FP32',
  float64: 'FP64',
  bfloat16: 'BF16',
  string: 'BYTES',
};

const BY_DATATYPE = new Map<string, DType>((Object.entries(V2_DATATYPES) as [DType, string][]).map(([dtype, name]) => [name, dtype]));

/** Our dtype for a v2 datatype name (case-sensitive, as the protocol's), or null for an unknown one. */
export function dtypeOfDatatype(datatype: string): DType | null {
  return BY_DATATYPE.get(datatype) ?? null;
}

/**
 * The datatype a signature tensor is described with: its v2 name, or, for the TensorFlow types the
 * protocol has no name for (complex, resource, variant…), TensorFlow's name upper-cased, which no
 * request can match.
 */
export function datatypeOf(dtype: string): string {
  return Object.prototype.hasOwnProperty.call(V2_DATATYPES, dtype) ? V2_DATATYPES[dtype as DType] : dtype.toUpperCase();
}

// ---------------------------------------------------------------------------------------------------
// The protocol's objects, whichever transport carried them

/** A request or tensor parameter: InferParameter's oneof, or a JSON string, number or boolean. */
export type InferParameter = boolean | number | bigint | string;

export type InferParameters = ReadonlyMap<string, InferParameter>;

export interface InferInput {
  readonly name: string;
  readonly datatype: string;
  readonly shape: number[];
  readonly parameters: InferParameters;
  /** The values, already in the dtype the datatype names. */
  readonly tensor: Tensor;
}

export interface InferRequestedOutput {
  readonly name: string;
  readonly parameters: InferParameters;
}

export interface InferRequest {
  /** "" when the request has none; the response leaves it out then. */
  readonly id: string;
  readonly parameters: InferParameters;
  readonly inputs: readonly InferInput[];
  /** The outputs asked for, in order; empty means every output of the model. */
  readonly outputs: readonly InferRequestedOutput[];
}

export interface InferOutput {
  readonly name: string;
  readonly datatype: string;
  readonly shape: number[];
  readonly tensor: Tensor;
}

export interface InferResponse {
  readonly modelName: string;
  readonly modelVersion: string;
  readonly id: string;
  readonly outputs: readonly InferOutput[];
}

/** Where numeric tensor memory comes from; the default is aligned native memory (allocTensor). */
export type TensorAllocator = (dtype: NumericDType, length: number) => NumericTypedArray;

export const alignedAllocator: TensorAllocator = (dtype, length) => allocTensor(dtype, [length]).data;

function invalid(message: string): TfServeError {
  return new TfServeError('INVALID_ARGUMENT', message);
}

/** "for input 'x' for model 'm'": every tensor error says which. */
export function inputWhere(input: string, model: string): string {
  return `input '${input}' for model '${model}'`;
}

/** ∏shape, or an error for a shape no tensor can have (negative, too many dims or elements). */
export function checkShape(shape: readonly number[], where: string): number {
  if (shape.length > MAX_RANK) throw invalid(`Unable to parse 'shape' of ${where}: more than ${MAX_RANK} dimensions`);
  let count = 1;
  for (const dim of shape) {
    if (!Number.isSafeInteger(dim) || dim < 0) throw invalid(`Unable to parse 'shape' of ${where}: dimension ${dim} is not a non-negative integer`);
    count *= dim;
  }
  if (!Number.isSafeInteger(count)) throw invalid(`Unable to parse 'shape' of ${where}: too many elements`);
  return count;
}

// ---------------------------------------------------------------------------------------------------
// Raw tensors

/**
 * A tensor from its raw bytes (a `raw_input_contents` entry or a binary HTTP input): numeric values
 * copied once into `allocate`'s memory, BYTES elements as views of `bytes`.
 */
export function tensorFromRaw(
  bytes: Uint8Array,
  dtype: DType,
  shape: number[],
  where: string,
  allocate: TensorAllocator = alignedAllocator,
): Tensor {
  const count = checkShape(shape, where);
  if (dtype === 'string') return { dtype, shape, data: bytesElements(bytes, count, where) };
  const expected = count * DTYPES[dtype].byteSize;
  if (bytes.byteLength !== expected) throw invalid(`input byte size mismatch for ${where}. Expected ${expected}, got ${bytes.byteLength}`);
  const data = allocate(dtype, count);
  new Uint8Array(data.buffer, data.byteOffset, data.byteLength).set(bytes);
  if (dtype === 'bool') {
    const flags = data as Uint8Array;
    for (let i = 0; i < flags.length; i++) {
      if (flags[i]! > 1) throw invalid(`BOOL data of ${where} holds byte ${flags[i]} at element ${i}; only 0 and 1 are booleans`);
    }
  }
  return { dtype, shape, data } as Tensor;
}

/** BYTES raw data: `count` elements, each a uint32 little-endian length and that many bytes, filling `bytes` exactly. */
function bytesElements(bytes: Uint8Array, count: number, where: string): Uint8Array[] {
  const out = new Array<Uint8Array>(count);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  let pos = 0;
  for (let i = 0; i < count; i++) {
    if (bytes.byteLength - pos < 4) throw invalid(`BYTES data of ${where} ends inside the length of element ${i} (${count} expected)`);
    const length = view.getUint32(pos, true);
    pos += 4;
    if (bytes.byteLength - pos < length) throw invalid(`BYTES data of ${where} ends inside element ${i}, which says it has ${length} bytes`);
    out[i] = bytes.subarray(pos, pos + length);
    pos += length;
  }
  if (pos !== bytes.byteLength) throw invalid(`BYTES data of ${where} holds ${bytes.byteLength - pos} bytes after its ${count} elements`);
  return out;
}

/** The raw bytes of a tensor: a view of its memory, or for BYTES the length-prefixed elements. */
export function rawTensorBytes(tensor: Tensor): Uint8Array {
  if (tensor.dtype !== 'string') {
    const data = tensor.data as ArrayBufferView;
    return new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
  }
  const elements = tensor.data as Uint8Array[];
  let size = 4 * elements.length;
  for (const element of elements) size += element.length;
  const out = Buffer.allocUnsafe(size);
  let pos = 0;
  for (const element of elements) {
    out.writeUInt32LE(element.length, pos);
    out.set(element, pos + 4);
    pos += 4 + element.length;
  }
  return out;
}

// ---------------------------------------------------------------------------------------------------
// gRPC: ModelInferRequest, read by hand so that values go from the wire to tensor memory once

const tag = (field: number, wireType: number): number => ((field << 3) | wireType) >>> 0;

interface Ranges {
  starts: number[];
  ends: number[];
}

interface InputParts {
  name: string;
  datatype: string;
  shape: number[];
  parameters: Map<string, InferParameter>;
  /** Each occurrence of `contents` (several merge, as protobuf merges them), or null if none. */
  contents: Ranges | null;
}

function addRange(ranges: Ranges, start: number, end: number): void {
  ranges.starts.push(start);
  ranges.ends.push(end);
}

/** int64 from a varint's halves: a number when it is a safe integer, else a bigint. */
function int64Value(lo: number, hi: number, signed: boolean): number | bigint {
  const big = (BigInt(hi) << 32n) | BigInt(lo);
  const value = signed ? BigInt.asIntN(64, big) : big;
  return value >= BigInt(Number.MIN_SAFE_INTEGER) && value <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(value) : value;
}

function readInferParameter(buf: Uint8Array, start: number, end: number): InferParameter {
  const reader = new WireReader(buf, 'inference.InferParameter', start, end);
  // An unset oneof reads as the first member's default, as protobuf's accessors would.
  let value: InferParameter = false;
  while (!reader.done()) {
    const t = reader.tag();
    if (t === tag(1, VARINT)) {
      reader.varint64();
      value = reader.lo !== 0 || reader.hi !== 0;
    } else if (t === tag(2, VARINT) || t === tag(5, VARINT)) {
      reader.varint64();
      value = int64Value(reader.lo, reader.hi, t === tag(2, VARINT));
    } else if (t === tag(3, LEN)) value = reader.string();
    else if (t === tag(4, I64)) {
      reader.advance(8);
      value = new DataView(buf.buffer, buf.byteOffset + reader.pos - 8, 8).getFloat64(0, true);
    } else reader.skip(t & 7);
  }
  return value;
}

/** One map<string, InferParameter> entry into `into` (a repeated key: the last wins, as in a protobuf map). */
function readParameterEntry(reader: WireReader, into: Map<string, InferParameter>, what: string): void {
  const end = reader.len();
  const entry = new WireReader(reader.buf, what, reader.start, end);
  let key = '';
  let value: InferParameter = false;
  while (!entry.done()) {
    const t = entry.tag();
    if (t === tag(1, LEN)) key = entry.string();
    else if (t === tag(2, LEN)) {
      const valueEnd = entry.len();
      value = readInferParameter(entry.buf, entry.start, valueEnd);
    } else entry.skip(t & 7);
  }
  into.set(key, value);
}

/** repeated int64, packed or not. A dimension beyond 2^53 cannot be a real tensor's: NaN, which checkShape refuses. */
function readInt64s(reader: WireReader, wireType: number, into: number[], what: string): void {
  const push = (values: WireReader): void => {
    values.varint64();
    const value = int64Value(values.lo, values.hi, true);
    into.push(typeof value === 'bigint' ? NaN : value);
  };
  if (wireType === VARINT) return push(reader);
  const end = reader.len();
  const packed = new WireReader(reader.buf, what, reader.start, end);
  while (!packed.done()) push(packed);
}

function readInput(buf: Uint8Array, start: number, end: number): InputParts {
  const what = 'inference.ModelInferRequest.InferInputTensor';
  const reader = new WireReader(buf, what, start, end);
  const parts: InputParts = { name: '', datatype: '', shape: [], parameters: new Map(), contents: null };
  while (!reader.done()) {
    const t = reader.tag();
    if (t === tag(1, LEN)) parts.name = reader.string();
    else if (t === tag(2, LEN)) parts.datatype = reader.string();
    else if (t === tag(3, LEN) || t === tag(3, VARINT)) readInt64s(reader, t & 7, parts.shape, what);
    else if (t === tag(4, LEN)) readParameterEntry(reader, parts.parameters, `${what}.ParametersEntry`);
    else if (t === tag(5, LEN)) {
      const contentsEnd = reader.len();
      parts.contents ??= { starts: [], ends: [] };
      addRange(parts.contents, reader.start, contentsEnd);
    } else reader.skip(t & 7);
  }
  return parts;
}

function readRequestedOutput(buf: Uint8Array, start: number, end: number): InferRequestedOutput {
  const what = 'inference.ModelInferRequest.InferRequestedOutputTensor';
  const reader = new WireReader(buf, what, start, end);
  let name = '';
  const parameters = new Map<string, InferParameter>();
  while (!reader.done()) {
    const t = reader.tag();
    if (t === tag(1, LEN)) name = reader.string();
    else if (t === tag(2, LEN)) readParameterEntry(reader, parameters, `${what}.ParametersEntry`);
    else reader.skip(t & 7);
  }
  return { name, parameters };
}

/** A ModelInferRequest: the model it names and the protocol's request, every input decoded. */
export interface ModelInferCall {
  readonly modelName: string;
  /** "" lets the server choose. */
  readonly modelVersion: string;
  readonly request: InferRequest;
}

export function decodeModelInferRequest(bytes: Uint8Array): ModelInferCall {
  const reader = new WireReader(bytes, 'inference.ModelInferRequest');
  let modelName = '';
  let modelVersion = '';
  let id = '';
  const parameters = new Map<string, InferParameter>();
  const inputs: InputParts[] = [];
  const outputs: InferRequestedOutput[] = [];
  const raw: Uint8Array[] = [];
  while (!reader.done()) {
    const t = reader.tag();
    if (t === tag(1, LEN)) modelName = reader.string();
    else if (t === tag(2, LEN)) modelVersion = reader.string();
    else if (t === tag(3, LEN)) id = reader.string();
    else if (t === tag(4, LEN)) readParameterEntry(reader, parameters, 'inference.ModelInferRequest.ParametersEntry');
    else if (t === tag(5, LEN)) {
      const end = reader.len();
      inputs.push(readInput(bytes, reader.start, end));
    } else if (t === tag(6, LEN)) {
      const end = reader.len();
      outputs.push(readRequestedOutput(bytes, reader.start, end));
    } else if (t === tag(7, LEN)) raw.push(reader.bytes());
    else reader.skip(t & 7);
  }
  // Decoded once the model name is known (the fields may come in any order): errors name it.
  let next = 0;
  const decoded = inputs.map((input): InferInput => {
    const where = inputWhere(input.name, modelName);
    const dtype = dtypeOfDatatype(input.datatype);
    if (dtype === null) throw invalid(`invalid datatype '${input.datatype}' of ${where}`);
    let tensor: Tensor;
    if (raw.length > 0) {
      if (input.contents !== null) throw invalid(`contents field must not be specified when using raw_input_contents for '${input.name}' for model '${modelName}'`);
      if (next >= raw.length) throw invalid(`unable to find data for input tensor '${input.name}' for model '${modelName}' in request.`);
      tensor = tensorFromRaw(raw[next++]!, dtype, input.shape, where);
    } else {
      if (input.contents === null) throw invalid(`unable to find data for input tensor '${input.name}' for model '${modelName}' in request.`);
      tensor = tensorFromContents(bytes, input.contents, dtype, input.shape, input.datatype, where);
    }
    return { name: input.name, datatype: input.datatype, shape: input.shape, parameters: input.parameters, tensor };
  });
  if (next < raw.length) throw invalid(`the request has ${raw.length} raw_input_contents for ${next} inputs of model '${modelName}'`);
  return { modelName, modelVersion, request: { id, parameters, inputs: decoded, outputs } };
}

// InferTensorContents: the one typed field each datatype travels in.
const CONTENTS_FIELD: Readonly<Record<DType, number>> = {
  bool: 1,
  int8: 2,
  int16: 2,
  int32: 2,
  int64: 3,
  uint8: 4,
  uint16: 4,
  uint32: 4,
  uint64: 5,
  float32: 6,
  float64: 7,
  string: 8,
  // No typed field: raw only.
  float16: 0,
  bfloat16: 0,
};

const CONTENTS_NAMES = ['', 'bool_contents', 'int_contents', 'int64_contents', 'uint_contents', 'uint64_contents', 'fp32_contents', 'fp64_contents', 'bytes_contents'];

/** Element wire type of each InferTensorContents field (8, bytes, is always LEN). */
const CONTENTS_WIRE_TYPE = [-1, VARINT, VARINT, VARINT, VARINT, VARINT, I32, I64, LEN];

const NARROW_RANGES: Partial<Record<DType, [number, number]>> = {
  int8: [-128, 127],
  int16: [-32768, 32767],
  uint8: [0, 255],
  uint16: [0, 65535],
};

/** Where each field's values lie: packed runs, or single unpacked elements (bytes_contents: one element each). */
function scanContents(buf: Uint8Array, contents: Ranges): Map<number, Ranges> {
  const fields = new Map<number, Ranges>();
  for (let r = 0; r < contents.starts.length; r++) {
    const reader = new WireReader(buf, 'inference.InferTensorContents', contents.starts[r]!, contents.ends[r]!);
    while (!reader.done()) {
      const t = reader.tag();
      const field = t >>> 3;
      const wireType = t & 7;
      const elementType = CONTENTS_WIRE_TYPE[field];
      if (elementType === undefined || elementType < 0 || (wireType !== LEN && wireType !== elementType)) {
        reader.skip(wireType);
        continue;
      }
      let ranges = fields.get(field);
      if (!ranges) fields.set(field, (ranges = { starts: [], ends: [] }));
      if (wireType === LEN) {
        const end = reader.len();
        if (elementType === I32 && (end - reader.start) % 4 !== 0) reader.fail('packed fixed32 field of a length not divisible by 4');
        if (elementType === I64 && (end - reader.start) % 8 !== 0) reader.fail('packed fixed64 field of a length not divisible by 8');
        if (elementType === VARINT && end > reader.start && buf[end - 1]! >= 0x80) reader.fail('truncated varint in packed field');
        addRange(ranges, reader.start, end);
      } else {
        const start = reader.pos;
        reader.skip(wireType);
        addRange(ranges, start, reader.pos);
      }
    }
  }
  return fields;
}

function varintCount(buf: Uint8Array, ranges: Ranges): number {
  let count = 0;
  for (let r = 0; r < ranges.starts.length; r++) {
    for (let i = ranges.starts[r]!; i < ranges.ends[r]!; i++) if (buf[i]! < 0x80) count++;
  }
  return count;
}

function forEachVarint(buf: Uint8Array, ranges: Ranges, visit: (i: number, reader: WireReader) => void): void {
  let i = 0;
  for (let r = 0; r < ranges.starts.length; r++) {
    const reader = new WireReader(buf, 'inference.InferTensorContents', ranges.starts[r]!, ranges.ends[r]!);
    while (!reader.done()) visit(i++, reader);
  }
}

/** A tensor from typed `contents`: exactly ∏shape values in the datatype's field, none in another. */
function tensorFromContents(buf: Uint8Array, contents: Ranges, dtype: DType, shape: number[], datatype: string, where: string): Tensor {
  const count = checkShape(shape, where);
  const fields = scanContents(buf, contents);
  const field = CONTENTS_FIELD[dtype];
  if (field === 0 && count > 0) throw invalid(`${datatype} has no typed contents field: send the values of ${where} in raw_input_contents`);
  for (const other of fields.keys()) {
    if (other !== field) throw invalid(`contents of ${where} hold ${CONTENTS_NAMES[other]}, which does not carry ${datatype}`);
  }
  const ranges = fields.get(field) ?? { starts: [], ends: [] };
  let given: number;
  if (field === 8) given = ranges.starts.length;
  else if (field === 6 || field === 7) {
    given = 0;
    for (let r = 0; r < ranges.starts.length; r++) given += (ranges.ends[r]! - ranges.starts[r]!) / (field === 6 ? 4 : 8);
  } else given = varintCount(buf, ranges);
  if (given !== count) throw invalid(`unexpected number of ${CONTENTS_NAMES[field] || 'values'} of ${where}: shape [${shape.join(',')}] holds ${count} elements, the request ${given}`);
  if (dtype === 'string') return { dtype, shape, data: ranges.starts.map((start, r) => buf.subarray(start, ranges.ends[r]!)) };
  const tensor = allocTensor(dtype, shape) as Tensor<NumericDType>;
  const data = tensor.data;
  if (field === 6 || field === 7) {
    const target = new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
    let at = 0;
    for (let r = 0; r < ranges.starts.length; r++) {
      target.set(buf.subarray(ranges.starts[r]!, ranges.ends[r]!), at);
      at += ranges.ends[r]! - ranges.starts[r]!;
    }
  } else if (field === 3 || field === 5) {
    const words = new Uint32Array(data.buffer, data.byteOffset, count * 2);
    forEachVarint(buf, ranges, (i, reader) => {
      reader.varint64();
      words[2 * i] = reader.lo;
      words[2 * i + 1] = reader.hi;
    });
  } else if (field === 1) {
    const target = data as Uint8Array;
    forEachVarint(buf, ranges, (i, reader) => {
      reader.varint64();
      target[i] = reader.lo !== 0 || reader.hi !== 0 ? 1 : 0;
    });
  } else {
    const range = NARROW_RANGES[dtype];
    const signed = field === 2;
    const target = data as Int32Array | Int16Array | Int8Array | Uint8Array | Uint16Array | Uint32Array;
    forEachVarint(buf, ranges, (i, reader) => {
      const value = signed ? reader.uint32() | 0 : reader.uint32();
      if (range && (value < range[0] || value > range[1])) {
        throw invalid(`value ${value} at element ${i} of ${where} is out of range for ${datatype}`);
      }
      target[i] = value;
    });
  }
  return tensor;
}

// ---------------------------------------------------------------------------------------------------
// gRPC: ModelInferResponse and the small messages

/** ModelInferResponse with every output's values in raw_output_contents, in `outputs` order. */
export function encodeModelInferResponse(response: InferResponse): Buffer {
  const writer = protobuf.Writer.create();
  if (response.modelName) writer.uint32(tag(1, LEN)).string(response.modelName);
  if (response.modelVersion) writer.uint32(tag(2, LEN)).string(response.modelVersion);
  if (response.id) writer.uint32(tag(3, LEN)).string(response.id);
  for (const output of response.outputs) {
    writer.uint32(tag(5, LEN)).fork();
    if (output.name) writer.uint32(tag(1, LEN)).string(output.name);
    if (output.datatype) writer.uint32(tag(2, LEN)).string(output.datatype);
    if (output.shape.length > 0) {
      writer.uint32(tag(3, LEN)).fork();
      for (const dim of output.shape) writer.int64(dim);
      writer.ldelim();
    }
    writer.ldelim();
  }
  for (const output of response.outputs) writer.uint32(tag(6, LEN)).bytes(rawTensorBytes(output.tensor));
  return writer.finish() as Buffer;
}

/** ModelReadyRequest and ModelMetadataRequest: name and version ("" lets the server choose). */
export function decodeModelRequest(bytes: Uint8Array, message: 'ModelReadyRequest' | 'ModelMetadataRequest'): { name: string; version: string } {
  const decoded = messageCodec<{ name?: string; version?: string }>(`inference.${message}`).decode(bytes);
  return { name: decoded.name ?? '', version: decoded.version ?? '' };
}

export function encodeServerLiveResponse(live: boolean): Buffer {
  return Buffer.from(messageCodec('inference.ServerLiveResponse').encode({ live }));
}

export function encodeServerReadyResponse(ready: boolean): Buffer {
  return Buffer.from(messageCodec('inference.ServerReadyResponse').encode({ ready }));
}

export function encodeModelReadyResponse(ready: boolean): Buffer {
  return Buffer.from(messageCodec('inference.ModelReadyResponse').encode({ ready }));
}

export interface ServerMetadata {
  readonly name: string;
  readonly version: string;
  readonly extensions: readonly string[];
}

export interface TensorMetadata {
  readonly name: string;
  readonly datatype: string;
  /** -1 marks a variable dimension. */
  readonly shape: readonly number[];
}

export interface ModelMetadata {
  readonly name: string;
  readonly versions: readonly string[];
  readonly platform: string;
  readonly inputs: readonly TensorMetadata[];
  readonly outputs: readonly TensorMetadata[];
}

export function encodeServerMetadataResponse(metadata: ServerMetadata): Buffer {
  return Buffer.from(messageCodec('inference.ServerMetadataResponse').encode({ ...metadata, extensions: [...metadata.extensions] }));
}

export function encodeModelMetadataResponse(metadata: ModelMetadata): Buffer {
  return Buffer.from(messageCodec('inference.ModelMetadataResponse').encode(metadata as unknown as Record<string, unknown>));
}

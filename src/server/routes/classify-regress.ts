/**
 * POST ...:classify and ...:regress (spec §1.8), as TF Serving runs them for a TensorFlow model:
 *   JSON body -> tf.Example protos (util/json_tensor.cc FillClassifyRegressRequestFromJson)
 *   -> servable + signature checks (servables/tensorflow/{classifier,regressor}.cc PreProcess*)
 *   -> one DT_STRING [N] tensor of serialized Examples fed to the signature's `inputs`
 *   -> output checks (PostProcess*) -> `{"results": ...}` (MakeJsonFrom{Classification,Regression}Result).
 * Everything about the request body is checked before the servable is looked up, so JSON and Example
 * errors win over unknown model/version/label errors, as in TF Serving. Examples are encoded by hand
 * (the wire format of Example/Features/Feature is tiny) straight into one buffer; the fed strings are
 * views of it. Errors are TfServeError with TF Serving's texts; the route runs on the event loop except
 * for the TF session run itself.
 */
import { DTYPES, isDType, tfTypeName } from '../../model/dtypes.js';
import { TfServeError } from '../../model/errors.js';
import { DEFAULT_SIGNATURE } from '../../model/saved-model.js';
import type { ServableHandle } from '../../serving/manager.js';
import { dataTypeEnumName } from '../../model/signature.js';
import type { Tensor } from '../../model/tensor.js';
import { MAX_FLOAT_TEXT, writeFloat32 } from '../../json/float-format.js';
import { decodeBase64, isBase64Object, jsonTypeName, parsePredictBody, PrettyWriter } from '../../json/predict-codec.js';
import { dumpJson, type JsonNumbers, type JsonValue } from '../../json/parse.js';

export type ClassifyRegressKind = 'classify' | 'regress';

const INT64_MAX = 2n ** 63n - 1n;

function invalid(message: string): TfServeError {
  return new TfServeError('INVALID_ARGUMENT', message);
}

export async function classifyRegressBody(
  kind: ClassifyRegressKind,
  body: Uint8Array,
  acquire: () => ServableHandle,
  timeoutMs: number | undefined,
): Promise<Buffer | string> {
  const request = parseClassifyRegressBody(body);
  const handle = acquire();
  try {
    const name = request.signatureName ? request.signatureName : DEFAULT_SIGNATURE;
    const plan = kind === 'classify' ? classificationPlan(handle, name) : regressionPlan(handle, name);
    const count = request.examples.length;
    // TF Serving feeds the Examples whatever dtype the signature records and lets the graph decide:
    // saved_model_half_plus_three's regress signature records DT_FLOAT for a string placeholder.
    let outputs;
    try {
      outputs = await handle.model.predict(
        { inputs: { dtype: 'string', shape: [count], data: request.examples } },
        { signature: name, outputs: plan.outputs, checkShapes: false, checkDtypes: false, timeoutMs },
      );
    } catch (error) {
      throw asTfFeedError(error);
    }
    return kind === 'classify' ? encodeClassificationResults(count, outputs) : encodeRegressionResults(count, outputs);
  } finally {
    handle.release();
  }
}

// ---------------------------------------------------------------------------------------------------
// Request: JSON -> serialized tf.Example

export interface ClassifyRegressRequest {
  /** `signature_name` when present (possibly ""). */
  readonly signatureName: string | undefined;
  /** One serialized Example per element of `examples`, each prefixed by the serialized `context`. */
  readonly examples: Uint8Array[];
}

/**
 * Parses a classify/regress body and encodes its Examples, with TF Serving's checks in its order:
 * JSON syntax, top-level object, `signature_name` a string, `context` (if any), then `examples`.
 */
export function parseClassifyRegressBody(body: Uint8Array | string): ClassifyRegressRequest {
  const { document, signatureName } = parsePredictBody(body);
  const contextValue = document.members.get('context');
  const context = contextValue === undefined ? null : exampleFromJson(contextValue);
  const examples = document.members.get('examples');
  if (examples === undefined) {
    // TF Serving says "classify" for regress requests too.
    throw invalid(`JSON Value: ${dumpJson(document)} When method is classify, key 'examples' is expected and was not found`);
  }
  if (examples.kind !== 'array' && examples.kind !== 'numbers') {
    throw invalid(`JSON Value: ${dumpJson(document)} Expecting 'examples' value to be an list/array`);
  }
  if (examples.kind === 'numbers') {
    if (examples.shape[0] === 0) throw invalid(`JSON Value: ${dumpJson(document)} 'examples' value is an empty array`);
    throw notAnObject(examples.shape.length > 1 ? 'Array' : 'Number');
  }
  if (examples.items.length === 0) throw invalid(`JSON Value: ${dumpJson(document)} 'examples' value is an empty array`);
  const encoded = examples.items.map(exampleFromJson);

  const contextSize = context === null ? 0 : context.size;
  let total = 0;
  for (const example of encoded) total += contextSize + example.size;
  const buffer = new Uint8Array(total);
  const views: Uint8Array[] = new Array<Uint8Array>(encoded.length);
  let pos = 0;
  let contextAt = -1;
  for (let i = 0; i < encoded.length; i++) {
    const start = pos;
    if (context !== null) {
      // Proto merge semantics: the context's features first, so the example's win on a key clash.
      if (contextAt < 0) {
        contextAt = pos;
        pos = writeExample(context, buffer, pos);
      } else {
        buffer.copyWithin(pos, contextAt, contextAt + contextSize);
        pos += contextSize;
      }
    }
    pos = writeExample(encoded[i]!, buffer, pos);
    views[i] = buffer.subarray(start, pos);
  }
  return { signatureName, examples: views };
}

const enum Kind {
  None = 0,
  Bytes = 1,
  Float = 2,
  Int64 = 3,
}

const KIND_NAMES = ['UNKNOWN', 'bytes', 'float', 'int64'];

/** One Feature of an Example: its values and the sizes of its encoded messages. */
interface FeatureRecord {
  readonly key: Buffer;
  kind: Kind;
  readonly bytes: Uint8Array[];
  /** Float values, or int64 values as (low, high) 32-bit halves of their two's complement. */
  readonly numbers: number[];
  /** Bytes of the packed values (float, int64) or of the repeated value fields (bytes). */
  payload: number;
  /** Bytes of the Feature message. */
  size: number;
  /** Bytes of the Features.feature map entry. */
  entry: number;
}

interface ExampleRecord {
  readonly features: FeatureRecord[];
  /** Bytes of the Features message. */
  readonly featuresSize: number;
  /** Bytes of the Example message (0 when it has no features: nothing is written). */
  readonly size: number;
}

function notAnObject(type: string): TfServeError {
  return invalid(`Example must be JSON object but got JSON ${type}`);
}

function unexpectedType(name: string, type: string): TfServeError {
  return invalid(`Feature: ${name} has element with unexpected JSON type: ${type}`);
}

/** MakeExampleFromJsonObject: each member is a feature; a scalar is a one-element list. */
function exampleFromJson(value: JsonValue): ExampleRecord {
  if (value.kind !== 'object') throw notAnObject(jsonTypeName(value));
  const features: FeatureRecord[] = [];
  let featuresSize = 0;
  for (const [key, content] of value.members) {
    // TF Serving builds the name from a C string: it ends at the first NUL.
    const nul = key.indexOf('\0');
    const name = nul < 0 ? key : key.slice(0, nul);
    const feature: FeatureRecord = {
      key: Buffer.from(name, 'utf8'),
      kind: Kind.None,
      bytes: [],
      numbers: [],
      payload: 0,
      size: 0,
      entry: 0,
    };
    if (content.kind === 'array') {
      for (const item of content.items) addValue(item, name, feature);
    } else if (content.kind === 'numbers') {
      addNumbers(content, name, feature);
    } else {
      addValue(content, name, feature);
    }
    if (feature.kind !== Kind.None) {
      const list = feature.kind === Kind.Bytes ? feature.payload : 1 + varintSize(feature.payload) + feature.payload;
      feature.size = 1 + varintSize(list) + list;
    }
    feature.entry = 1 + varintSize(feature.key.length) + feature.key.length + 1 + varintSize(feature.size) + feature.size;
    featuresSize += 1 + varintSize(feature.entry) + feature.entry;
    features.push(feature);
  }
  const size = features.length === 0 ? 0 : 1 + varintSize(featuresSize) + featuresSize;
  return { features, featuresSize, size };
}

function expectKind(feature: FeatureRecord, kind: Kind, name: string): void {
  if (feature.kind === kind) return;
  if (feature.kind !== Kind.None) {
    throw invalid(`Unexpected element type in feature: ${name} expecting type: ${KIND_NAMES[feature.kind]}`);
  }
  feature.kind = kind;
}

/** AddValueToFeature for one JSON value. */
function addValue(value: JsonValue, name: string, feature: FeatureRecord): void {
  switch (value.kind) {
    case 'null':
      throw unexpectedType(name, 'Null');
    case 'array':
    case 'numbers':
      throw unexpectedType(name, 'Array');
    case 'bool':
      expectKind(feature, Kind.Int64, name);
      pushInt(feature, value.value ? 1 : 0, null);
      return;
    case 'object': {
      if (!isBase64Object(value)) throw unexpectedType(name, 'Object');
      expectKind(feature, Kind.Bytes, name);
      const b64 = value.members.get('b64')!;
      const decoded = b64.kind === 'string' ? decodeBase64(b64.bytes) : null;
      if (decoded === null) throw invalid('Unable to base64 decode');
      pushBytes(feature, decoded);
      return;
    }
    case 'string':
      expectKind(feature, Kind.Bytes, name);
      pushBytes(feature, value.bytes);
      return;
    case 'number':
      addNumber(feature, name, value.value, value.integer, value.exact);
  }
}

/** A `numbers` node as the feature's list: one number per element unless its elements are arrays. */
function addNumbers(node: JsonNumbers, name: string, feature: FeatureRecord): void {
  if (node.shape.length > 1) {
    if (node.shape[0]! > 0) throw unexpectedType(name, 'Array');
    return;
  }
  const { values, integers } = node;
  for (let i = 0; i < values.length; i++) {
    const exact = integers[i] === 1 && node.exact !== null ? (node.exact.get(i) ?? null) : null;
    addNumber(feature, name, values[i]!, integers[i] === 1, exact);
  }
}

/** rapidjson doubles (fraction, exponent, NaN/Inf, or beyond uint64) are floats; integers int64. */
function addNumber(feature: FeatureRecord, name: string, value: number, integer: boolean, exact: bigint | null): void {
  if (!integer) {
    expectKind(feature, Kind.Float, name);
    feature.numbers.push(value);
    feature.payload += 4;
    return;
  }
  expectKind(feature, Kind.Int64, name);
  if (exact !== null && exact > INT64_MAX) throw invalid(`Feature: ${name} has uint64_t element. Only int64_t is supported.`);
  pushInt(feature, value, exact);
}

function pushBytes(feature: FeatureRecord, bytes: Uint8Array): void {
  feature.bytes.push(bytes);
  feature.payload += 1 + varintSize(bytes.length) + bytes.length;
}

const TWO_32 = 2 ** 32;

function pushInt(feature: FeatureRecord, value: number, exact: bigint | null): void {
  let low: number;
  let high: number;
  if (exact !== null) {
    low = Number(BigInt.asUintN(32, exact));
    high = Number(BigInt.asUintN(32, exact >> 32n));
  } else if (value >= 0) {
    low = value % TWO_32;
    high = Math.floor(value / TWO_32);
  } else {
    // Two's complement of a negative safe integer, in 32-bit halves.
    const magnitude = -value;
    low = (~(magnitude % TWO_32) + 1) >>> 0;
    high = (~Math.floor(magnitude / TWO_32) + (low === 0 ? 1 : 0)) >>> 0;
  }
  feature.numbers.push(low, high);
  feature.payload += varint64Size(low, high);
}

function varintSize(value: number): number {
  let size = 1;
  while (value >= 0x80) {
    value = Math.floor(value / 128);
    size++;
  }
  return size;
}

function varint64Size(low: number, high: number): number {
  if (high === 0) return varintSize(low);
  // 32 low bits take 4 full groups (28 bits) plus 4 bits shared with the high half.
  return 4 + varintSize(high * 16 + Math.floor(low / 0x10000000));
}

function writeVarint(out: Uint8Array, pos: number, value: number): number {
  while (value >= 0x80) {
    out[pos++] = (value & 0x7f) | 0x80;
    value = Math.floor(value / 128);
  }
  out[pos++] = value;
  return pos;
}

function writeVarint64(out: Uint8Array, pos: number, low: number, high: number): number {
  if (high === 0) return writeVarint(out, pos, low);
  for (let i = 0; i < 4; i++) {
    out[pos++] = (low & 0x7f) | 0x80;
    low >>>= 7;
  }
  // 4 bits of `low` left; the rest comes from `high` (up to 36 bits: a safe integer).
  return writeVarint(out, pos, high * 16 + low);
}

const F32 = new Float32Array(1);
const F32_BYTES = new Uint8Array(F32.buffer);
const LITTLE_ENDIAN = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

/** Writes an Example (Example.features = 1; Features.feature = 1 map<string, Feature>). */
function writeExample(example: ExampleRecord, out: Uint8Array, pos: number): number {
  if (example.size === 0) return pos;
  out[pos++] = 0x0a;
  pos = writeVarint(out, pos, example.featuresSize);
  for (const feature of example.features) {
    out[pos++] = 0x0a;
    pos = writeVarint(out, pos, feature.entry);
    out[pos++] = 0x0a; // map entry key
    pos = writeVarint(out, pos, feature.key.length);
    out.set(feature.key, pos);
    pos += feature.key.length;
    out[pos++] = 0x12; // map entry value: Feature
    pos = writeVarint(out, pos, feature.size);
    if (feature.kind === Kind.None) continue;
    // Feature.bytes_list = 1, float_list = 2, int64_list = 3; each list's values are field 1.
    out[pos++] = feature.kind === Kind.Bytes ? 0x0a : feature.kind === Kind.Float ? 0x12 : 0x1a;
    if (feature.kind === Kind.Bytes) {
      pos = writeVarint(out, pos, feature.payload);
      for (const bytes of feature.bytes) {
        out[pos++] = 0x0a;
        pos = writeVarint(out, pos, bytes.length);
        out.set(bytes, pos);
        pos += bytes.length;
      }
      continue;
    }
    pos = writeVarint(out, pos, 1 + varintSize(feature.payload) + feature.payload);
    out[pos++] = 0x0a;
    pos = writeVarint(out, pos, feature.payload);
    if (feature.kind === Kind.Float) {
      for (const value of feature.numbers) {
        F32[0] = value;
        if (LITTLE_ENDIAN) {
          out[pos++] = F32_BYTES[0]!;
          out[pos++] = F32_BYTES[1]!;
          out[pos++] = F32_BYTES[2]!;
          out[pos++] = F32_BYTES[3]!;
        } else {
          out[pos++] = F32_BYTES[3]!;
          out[pos++] = F32_BYTES[2]!;
          out[pos++] = F32_BYTES[1]!;
          out[pos++] = F32_BYTES[0]!;
        }
      }
    } else {
      const ints = feature.numbers;
      for (let i = 0; i < ints.length; i += 2) pos = writeVarint64(out, pos, ints[i]!, ints[i + 1]!);
    }
  }
  return pos;
}

// ---------------------------------------------------------------------------------------------------
// Signature checks (PreProcessClassification / PreProcessRegression)

interface Plan {
  /** Output keys to fetch. */
  readonly outputs: string[];
}

interface SignatureDefJson {
  inputs?: Record<string, unknown>;
  outputs?: Record<string, unknown>;
}

/**
 * The signature as TF Serving sees it: every SignatureDef of the MetaGraph (the TF2 init op too, which
 * `signatures` leaves out but TF Serving would find and then reject for its input count).
 */
function findSignature(handle: ServableHandle, name: string): SignatureDefJson {
  const defs = handle.model.signatureDefJson;
  if (!Object.hasOwn(defs, name)) throw invalid(`No signature was found with the name: ${name}`);
  return defs[name] as SignatureDefJson;
}

function tensorName(json: SignatureDefJson, output: string): unknown {
  return (json.outputs?.[output] as { name?: unknown } | undefined)?.name;
}

function keysOf(map: Record<string, unknown> | undefined): string[] {
  return Object.keys(map ?? {});
}

// The binding checks each feed against its graph tensor before TF runs ("input 'x2:0' expects float32
// but got string"); TF's session, which TF Serving reports, says it so.
const GRAPH_DTYPE_MISMATCH = /^input '[^']*' expects (\w+) but got string$/;

/** The binding's dtype rejection of the one fed tensor, in TF's words; any other error unchanged. */
function asTfFeedError(error: unknown): unknown {
  if (!(error instanceof TfServeError) || error.code !== 'INVALID_ARGUMENT') return error;
  const expected = GRAPH_DTYPE_MISMATCH.exec(error.message)?.[1];
  if (expected === undefined || !isDType(expected)) return error;
  return invalid(`Expects arg[0] to be ${tfTypeName(DTYPES[expected].tfType)} but string is provided`);
}

function classificationPlan(handle: ServableHandle, name: string): Plan {
  const json = findSignature(handle, name);
  const inputs = keysOf(json.inputs);
  const outputs = keysOf(json.outputs);
  if (inputs.length !== 1) throw invalid('Expected one input Tensor.');
  if (outputs.length !== 1 && outputs.length !== 2) throw invalid(`Expected one or two output Tensors, found ${outputs.length}`);
  if (!inputs.includes('inputs')) throw invalid(`No classification inputs found in SignatureDef: ${signatureDebugString(json)}`);
  const hasClasses = outputs.includes('classes');
  const hasScores = outputs.includes('scores');
  if (!hasClasses && !hasScores) {
    throw invalid(
      `Expected classification signature outputs to contain at least one of "classes" or "scores". Signature was: ${signatureDebugString(json)}`,
    );
  }
  const fetch = hasClasses ? ['classes'] : [];
  // TF Serving matches fetched tensors by name: when both aliases name one tensor, it is the classes.
  if (hasScores && !(hasClasses && tensorName(json, 'classes') === tensorName(json, 'scores'))) fetch.push('scores');
  return { outputs: fetch };
}

function regressionPlan(handle: ServableHandle, name: string): Plan {
  const json = findSignature(handle, name);
  const inputs = keysOf(json.inputs);
  const outputs = keysOf(json.outputs);
  if (inputs.length !== 1) throw invalid('Expected one input Tensor.');
  if (outputs.length !== 1) throw invalid('Expected one output Tensor.');
  if (!inputs.includes('inputs')) throw invalid(`No regression inputs found in SignatureDef: ${signatureDebugString(json)}`);
  if (!outputs.includes('outputs')) throw invalid(`No regression outputs found in SignatureDef: ${signatureDebugString(json)}`);
  return { outputs: ['outputs'] };
}

// ---------------------------------------------------------------------------------------------------
// Response: output tensors -> {"results": ...}

function shapeDebugString(shape: readonly number[]): string {
  return `[${shape.join(',')}]`;
}

function dtypeEnum(tensor: Tensor): string {
  return dataTypeEnumName(DTYPES[tensor.dtype].tfType);
}

/** PostProcessClassificationResult + MakeJsonFromClassificationResult. */
export function encodeClassificationResults(count: number, outputs: Readonly<Record<string, Tensor>>): Buffer {
  const classes = outputs['classes'];
  const scores = outputs['scores'];
  for (const [tensor, what, dtype, enumName] of [
    [classes, 'classes', 'string', 'DT_STRING'],
    [scores, 'scores', 'float32', 'DT_FLOAT'],
  ] as const) {
    if (tensor === undefined) continue;
    if (tensor.shape.length !== 2) {
      throw invalid(`Expected Tensor shape: [batch_size num_classes] but got ${shapeDebugString(tensor.shape)}`);
    }
    if (tensor.dtype !== dtype) throw invalid(`Expected ${what} Tensor of ${enumName}. Got: ${dtypeEnum(tensor)}`);
    if (tensor.shape[0] !== count) throw invalid(`Expected ${what} output batch size of ${count}. Got: ${tensor.shape[0]}`);
  }
  let numClasses = 0;
  if (classes !== undefined && scores !== undefined) {
    if (classes.shape[1] !== scores.shape[1]) {
      throw invalid(`Tensors class and score should match in dim_size(1). Got ${classes.shape[1]} vs. ${scores.shape[1]}`);
    }
    numClasses = classes.shape[1]!;
  } else {
    numClasses = (classes ?? scores)?.shape[1] ?? 0;
  }
  const labels = classes?.data as Uint8Array[] | undefined;
  const values = scores?.data as Float32Array | undefined;
  const empty = new Uint8Array(0);
  let estimate = 64 + count * numClasses * 24;
  if (labels !== undefined) for (const label of labels) estimate += label.length;
  const writer = new PrettyWriter(estimate);
  writer.startObject();
  writer.key('results');
  writer.startArray();
  for (let i = 0; i < count; i++) {
    writer.singleLine = true;
    writer.startArray();
    for (let c = 0; c < numClasses; c++) {
      const at = i * numClasses + c;
      writer.startArray();
      writer.prefix();
      writer.stringBytes(labels !== undefined ? labels[at]! : empty);
      writer.prefix();
      writer.pos = writeFloat32(writer.reserve(MAX_FLOAT_TEXT), writer.pos, values !== undefined ? values[at]! : 0);
      writer.endArray();
    }
    writer.endArray();
    writer.singleLine = false;
  }
  writer.endArray();
  writer.endObject();
  return writer.finish();
}

/** PostProcessRegressionResult + MakeJsonFromRegressionResult. */
export function encodeRegressionResults(count: number, outputs: Readonly<Record<string, Tensor>>): Buffer {
  const tensor = outputs['outputs'];
  if (tensor === undefined) throw invalid("Could not find output tensor 'outputs'");
  const { shape } = tensor;
  if (!(shape.length === 1 || (shape.length === 2 && shape[1] === 1))) {
    throw invalid(`Expected output Tensor shape to be either [batch_size] or [batch_size, 1] but got ${shapeDebugString(shape)}`);
  }
  if (shape[0] !== count) throw invalid(`Input batch size did not match output batch size: ${count} vs. ${shape[0]}`);
  if (tensor.dtype !== 'float32') throw invalid(`Expected output Tensor of DT_FLOAT.  Got: ${dtypeEnum(tensor)}`);
  const values = tensor.data as Float32Array;
  const writer = new PrettyWriter(64 + count * 16);
  writer.startObject();
  writer.key('results');
  writer.singleLine = true;
  writer.startArray();
  for (let i = 0; i < count; i++) {
    writer.prefix();
    writer.pos = writeFloat32(writer.reserve(MAX_FLOAT_TEXT), writer.pos, values[i]!);
  }
  writer.endArray();
  writer.endObject();
  return writer.finish();
}

// ---------------------------------------------------------------------------------------------------
// SignatureDef.DebugString() (protobuf text format), which TF Serving quotes in its signature errors

/** protobuf's CEscape: C escapes for quotes, backslash and \n\r\t, octal for other non-printables. */
function cEscape(bytes: Uint8Array): string {
  let text = '';
  for (const c of bytes) {
    switch (c) {
      case 0x0a:
        text += '\\n';
        break;
      case 0x0d:
        text += '\\r';
        break;
      case 0x09:
        text += '\\t';
        break;
      case 0x22:
        text += '\\"';
        break;
      case 0x27:
        text += "\\'";
        break;
      case 0x5c:
        text += '\\\\';
        break;
      default:
        text += c >= 0x20 && c < 0x7f ? String.fromCharCode(c) : `\\${c.toString(8).padStart(3, '0')}`;
    }
  }
  return text;
}

function quoted(text: string): string {
  return `"${cEscape(Buffer.from(text, 'utf8'))}"`;
}

interface ShapeJson {
  dim?: { size?: string; name?: string }[];
  unknown_rank?: boolean;
}

function shapeText(shape: ShapeJson, indent: string): string {
  let text = '';
  for (const dim of shape.dim ?? []) {
    text += `${indent}dim {\n`;
    if (dim.size !== undefined && dim.size !== '0') text += `${indent}  size: ${dim.size}\n`;
    if (dim.name) text += `${indent}  name: ${quoted(dim.name)}\n`;
    text += `${indent}}\n`;
  }
  if (shape.unknown_rank) text += `${indent}unknown_rank: true\n`;
  return text;
}

function messageField(name: string, body: string, indent: string): string {
  return `${indent}${name} {\n${body}${indent}}\n`;
}

/** Text format of a TensorInfo or TensorProto given in its proto JSON form (fields in number order). */
function tensorText(value: Record<string, unknown>, indent: string): string {
  let text = '';
  if (typeof value['name'] === 'string' && value['name'] !== '') text += `${indent}name: ${quoted(value['name'])}\n`;
  if (typeof value['dtype'] === 'string' && value['dtype'] !== 'DT_INVALID') text += `${indent}dtype: ${value['dtype']}\n`;
  if (value['tensor_shape'] !== undefined) {
    text += messageField('tensor_shape', shapeText(value['tensor_shape'] as ShapeJson, `${indent}  `), indent);
  }
  if (typeof value['tensor_content'] === 'string') {
    text += `${indent}tensor_content: "${cEscape(Buffer.from(value['tensor_content'], 'base64'))}"\n`;
  }
  for (const field of ['float_val', 'double_val', 'int_val', 'string_val', 'int64_val', 'bool_val', 'half_val', 'uint32_val', 'uint64_val']) {
    const values = value[field];
    if (!Array.isArray(values)) continue;
    for (const item of values) {
      const rendered = field === 'string_val' ? `"${cEscape(Buffer.from(String(item), 'base64'))}"` : String(item);
      text += `${indent}${field}: ${rendered}\n`;
    }
  }
  return text;
}

function mapText(field: string, map: Record<string, unknown> | undefined, indent: string): string {
  let text = '';
  for (const key of Object.keys(map ?? {}).sort()) {
    const inner = `${indent}  `;
    const value = tensorText(map![key] as Record<string, unknown>, `${inner}  `);
    text += messageField(field, `${inner}key: ${quoted(key)}\n${messageField('value', value, inner)}`, indent);
  }
  return text;
}

export function signatureDebugString(signature: SignatureDefJson & { method_name?: string; defaults?: Record<string, unknown> }): string {
  let text = mapText('inputs', signature.inputs, '') + mapText('outputs', signature.outputs, '');
  if (signature.method_name) text += `method_name: ${quoted(signature.method_name)}\n`;
  return text + mapText('defaults', signature.defaults, '');
}

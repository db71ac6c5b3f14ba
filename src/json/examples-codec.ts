/**
 * TF Serving's classify/regress JSON (util/json_tensor.cc FillClassifyRegressRequestFromJson and
 * MakeJsonFrom{Classification,Regression}Result) <-> the serving layer's Examples and results.
 *
 * Request: `{"signature_name": ..., "context": {...}, "examples": [{...}, ...]}`; each object becomes a
 * tf.Example whose members are features (a scalar is a one-element list): strings and b64 objects
 * bytes_list, numbers with a fraction or exponent (NaN/Inf too) float_list, integers and booleans
 * int64_list. Checks and texts in TF Serving's order: JSON syntax, top-level object, `signature_name`,
 * `context`, then `examples`. Pure and synchronous; everything thrown is TfServeError INVALID_ARGUMENT.
 */
import { TfServeError } from '../model/errors.js';
import type { Example, Feature, Int64Value } from '../proto/example.js';
import { dumpJson, type JsonNumbers, type JsonValue, type ParseOptions } from './parse.js';
import { parsePredictBody } from './predict-codec.js';
import { decodeBase64, isBase64Object, jsonTypeName } from './values.js';
import { PrettyWriter } from './writer.js';

export interface ExamplesBody {
  /** `signature_name` when present (possibly ""). */
  readonly signatureName: string | undefined;
  readonly examples: Example[];
  readonly context?: Example;
}

/** A classification result as the serving layer returns it: per example, per class. */
export interface ClassificationJson {
  readonly classifications: readonly { readonly classes: readonly { readonly label: Uint8Array; readonly score: number }[] }[];
}

export interface RegressionJson {
  readonly regressions: readonly { readonly value: number }[];
}

const INT64_MAX = 2n ** 63n - 1n;

function invalid(message: string): TfServeError {
  return new TfServeError('INVALID_ARGUMENT', message);
}

export function parseExamplesBody(body: Uint8Array | string, options: ParseOptions = {}): ExamplesBody {
  const { document, signatureName } = parsePredictBody(body, options);
  const contextValue = document.members.get('context');
  const context = contextValue === undefined ? undefined : exampleFromJson(contextValue);
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
  return { signatureName, examples: examples.items.map(exampleFromJson), ...(context === undefined ? {} : { context }) };
}

const enum Kind {
  None = 0,
  Bytes = 1,
  Float = 2,
  Int64 = 3,
}

const KIND_NAMES = ['UNKNOWN', 'bytes', 'float', 'int64'];

/** One feature's values while its JSON is read; its kind is fixed by the first value. */
interface FeatureValues {
  kind: Kind;
  readonly bytes: Uint8Array[];
  readonly floats: number[];
  readonly ints: Int64Value[];
}

function notAnObject(type: string): TfServeError {
  return invalid(`Example must be JSON object but got JSON ${type}`);
}

function unexpectedType(name: string, type: string): TfServeError {
  return invalid(`Feature: ${name} has element with unexpected JSON type: ${type}`);
}

/** MakeExampleFromJsonObject: each member is a feature; a scalar is a one-element list. */
function exampleFromJson(value: JsonValue): Example {
  if (value.kind !== 'object') throw notAnObject(jsonTypeName(value));
  const feature: Record<string, Feature> = {};
  for (const [key, content] of value.members) {
    // TF Serving builds the name from a C string: it ends at the first NUL.
    const nul = key.indexOf('\0');
    const name = nul < 0 ? key : key.slice(0, nul);
    const values: FeatureValues = { kind: Kind.None, bytes: [], floats: [], ints: [] };
    if (content.kind === 'array') {
      for (const item of content.items) addValue(item, name, values);
    } else if (content.kind === 'numbers') {
      addNumbers(content, name, values);
    } else {
      addValue(content, name, values);
    }
    // A later member with the same truncated name replaces the earlier one, as a map insert does.
    feature[name] =
      values.kind === Kind.Bytes
        ? { bytesList: { value: values.bytes } }
        : values.kind === Kind.Float
          ? { floatList: { value: values.floats } }
          : values.kind === Kind.Int64
            ? { int64List: { value: values.ints } }
            : {};
  }
  return Object.keys(feature).length === 0 ? {} : { features: { feature } };
}

function expectKind(values: FeatureValues, kind: Kind, name: string): void {
  if (values.kind === kind) return;
  if (values.kind !== Kind.None) {
    throw invalid(`Unexpected element type in feature: ${name} expecting type: ${KIND_NAMES[values.kind]}`);
  }
  values.kind = kind;
}

/** AddValueToFeature for one JSON value. */
function addValue(value: JsonValue, name: string, values: FeatureValues): void {
  switch (value.kind) {
    case 'null':
      throw unexpectedType(name, 'Null');
    case 'array':
    case 'numbers':
      throw unexpectedType(name, 'Array');
    case 'bool':
      expectKind(values, Kind.Int64, name);
      values.ints.push(value.value ? 1 : 0);
      return;
    case 'object': {
      if (!isBase64Object(value)) throw unexpectedType(name, 'Object');
      expectKind(values, Kind.Bytes, name);
      const b64 = value.members.get('b64')!;
      const decoded = b64.kind === 'string' ? decodeBase64(b64.bytes) : null;
      if (decoded === null) throw invalid('Unable to base64 decode');
      values.bytes.push(decoded);
      return;
    }
    case 'string':
      expectKind(values, Kind.Bytes, name);
      values.bytes.push(value.bytes);
      return;
    case 'number':
      addNumber(values, name, value.value, value.integer, value.exact);
  }
}

/** A `numbers` node as the feature's list: one number per element unless its elements are arrays. */
function addNumbers(node: JsonNumbers, name: string, values: FeatureValues): void {
  if (node.shape.length > 1) {
    if (node.shape[0]! > 0) throw unexpectedType(name, 'Array');
    return;
  }
  const { values: numbers, integers } = node;
  for (let i = 0; i < numbers.length; i++) {
    const exact = integers[i] === 1 && node.exact !== null ? (node.exact.get(i) ?? null) : null;
    addNumber(values, name, numbers[i]!, integers[i] === 1, exact);
  }
}

/** rapidjson doubles (fraction, exponent, NaN/Inf, or beyond uint64) are floats; integers int64. */
function addNumber(values: FeatureValues, name: string, value: number, integer: boolean, exact: bigint | null): void {
  if (!integer) {
    expectKind(values, Kind.Float, name);
    values.floats.push(value);
    return;
  }
  expectKind(values, Kind.Int64, name);
  if (exact === null) {
    values.ints.push(value);
    return;
  }
  if (exact > INT64_MAX) throw invalid(`Feature: ${name} has uint64_t element. Only int64_t is supported.`);
  // Beyond 2^53 a double cannot hold it: its two's complement halves, exactly.
  values.ints.push({ low: Number(BigInt.asUintN(32, exact)), high: Number(BigInt.asUintN(32, exact >> 32n)) });
}

/** MakeJsonFromClassificationResult: `{"results": [[["label", score], ...], ...]}`. */
export function encodeClassificationResults(result: ClassificationJson): Buffer {
  let estimate = 64;
  for (const { classes } of result.classifications) {
    for (const { label } of classes) estimate += label.length + 28;
  }
  const writer = new PrettyWriter(estimate);
  writer.startObject();
  writer.key('results');
  writer.startArray();
  for (const { classes } of result.classifications) {
    writer.singleLine = true;
    writer.startArray();
    for (const { label, score } of classes) {
      writer.startArray();
      writer.prefix();
      writer.stringBytes(label);
      writer.float32(score);
      writer.endArray();
    }
    writer.endArray();
    writer.singleLine = false;
  }
  writer.endArray();
  writer.endObject();
  return writer.finish();
}

/** MakeJsonFromRegressionResult: `{"results": [v, ...]}`. */
export function encodeRegressionResults(result: RegressionJson): Buffer {
  const writer = new PrettyWriter(64 + result.regressions.length * 16);
  writer.startObject();
  writer.key('results');
  writer.singleLine = true;
  writer.startArray();
  for (const { value } of result.regressions) writer.float32(value);
  writer.endArray();
  writer.endObject();
  return writer.finish();
}

/**
 * tensorflow.ConfigProto in protobuf text format: the `--tensorflow_session_config_file` syntax.
 *
 * Contract: the text-format schema is derived from the protobufjs declaration in messages.ts, so the
 * parser and the encoder cannot disagree on a field's name, type or number. `parseConfigProto` returns
 * the parsed message keyed by proto field names (text-format.ts's values); `configProtoFields` turns
 * such a message into the plain object protobufjs encodes, the way C++ protobuf would serialize it:
 * proto3 scalars holding their default value are left out, enum names become numbers, int64s stay
 * exact, map entries are in key order (protobuf's deterministic serialization). Both are synchronous
 * and pure; errors are TfServeErrors with code INVALID_ARGUMENT.
 */
import protobuf from 'protobufjs';

import { TfServeError } from '../model/errors.js';
import { ConfigProto } from './messages.js';
import {
  parseTextProto,
  type FieldSchema,
  type MapKeyType,
  type MessageSchema,
  type ScalarType,
  type TextProtoMessage,
  type TextProtoValue,
} from './text-format.js';

/** A parsed tensorflow.ConfigProto, keyed by proto field names (`gpu_options`, `device_count`...). */
export type ConfigProtoMessage = TextProtoMessage;

// Fields whose types tfserve does not declare (their closure is half of TensorFlow's framework protos).
const UNDECLARED: Readonly<Record<string, Readonly<Record<string, string>>>> = {
  'tensorflow.RewriterConfig.CustomGraphOptimizer': {
    parameter_map: 'Field "parameter_map" (map<string, tensorflow.AttrValue>) of "tensorflow.RewriterConfig.CustomGraphOptimizer" is not supported by tfserve.',
  },
};

const SCALARS: ReadonlySet<string> = new Set<ScalarType>(['string', 'bytes', 'int32', 'int64', 'uint32', 'uint64', 'float', 'double', 'bool']);

function fullName(object: protobuf.ReflectionObject): string {
  return object.fullName.replace(/^\./, '');
}

function valueSchema(field: protobuf.Field, cache: Map<protobuf.Type, MessageSchema>): Pick<FieldSchema, 'type' | 'enum'> {
  const resolved = field.resolve().resolvedType;
  if (resolved instanceof protobuf.Type) return { type: schemaOf(resolved, cache) };
  if (resolved instanceof protobuf.Enum) return { type: 'enum', enum: { name: fullName(resolved), values: resolved.values } };
  if (!SCALARS.has(field.type)) throw new Error(`${fullName(field)}: ${field.type} fields have no text-format schema`);
  return { type: field.type as ScalarType };
}

function schemaOf(type: protobuf.Type, cache: Map<protobuf.Type, MessageSchema>): MessageSchema {
  const cached = cache.get(type);
  if (cached) return cached;
  const fields: Record<string, FieldSchema> = {};
  const schema: MessageSchema = { name: fullName(type), fields };
  cache.set(type, schema);
  for (const field of type.fieldsArray) {
    const value = valueSchema(field, cache);
    if (field instanceof protobuf.MapField) fields[field.name] = { ...value, map: field.keyType as MapKeyType };
    else fields[field.name] = { ...value, repeated: field.repeated || undefined, oneof: field.partOf?.name };
  }
  for (const [name, reason] of Object.entries(UNDECLARED[schema.name] ?? {})) fields[name] = { type: 'bytes', unsupported: reason };
  return schema;
}

/** tensorflow.ConfigProto's text-format schema, from messages.ts's declaration. */
export const CONFIG_PROTO_SCHEMA: MessageSchema = schemaOf(ConfigProto, new Map());

/**
 * Parses ConfigProto text. With `source` (a file name) an error reads as TF Serving's
 * ParseProtoTextFile reports it: `Invalid protobuf file: '<source>': Error parsing text-format
 * tensorflow.ConfigProto: <line>:<col>: <reason>`, the TextFormatError as its cause.
 */
export function parseConfigProto(text: string | Uint8Array, source?: string): ConfigProtoMessage {
  try {
    return parseTextProto(text, CONFIG_PROTO_SCHEMA);
  } catch (err) {
    if (source === undefined || !(err instanceof TfServeError)) throw err;
    throw new TfServeError('INVALID_ARGUMENT', `Invalid protobuf file: '${source}': ${err.message}`, { cause: err });
  }
}

function invalid(path: string, expected: string, value: unknown): TfServeError {
  return new TfServeError('INVALID_ARGUMENT', `Expected ${expected} for ${path} but received ${String(value)} of type ${typeof value}`);
}

const INT_RANGES: Readonly<Record<string, readonly [bigint, bigint]>> = {
  int32: [-(2n ** 31n), 2n ** 31n - 1n],
  uint32: [0n, 2n ** 32n - 1n],
  int64: [-(2n ** 63n), 2n ** 63n - 1n],
  uint64: [0n, 2n ** 64n - 1n],
};

function scalar(type: protobuf.Field, value: TextProtoValue, path: string): unknown {
  const resolved = type.resolvedType;
  if (resolved instanceof protobuf.Enum) {
    if (typeof value === 'string' && Object.hasOwn(resolved.values, value)) return resolved.values[value];
    if (typeof value === 'number' && Number.isInteger(value) && Math.abs(value) < 2 ** 31) return value;
    throw invalid(path, `a value of ${fullName(resolved)}`, value);
  }
  switch (type.type) {
    case 'string':
      if (typeof value !== 'string') throw invalid(path, 'string', value);
      return value;
    case 'bytes':
      if (!(value instanceof Uint8Array)) throw invalid(path, 'Uint8Array', value);
      return value;
    case 'bool':
      if (typeof value !== 'boolean') throw invalid(path, 'boolean', value);
      return value;
    case 'float':
    case 'double':
      if (typeof value !== 'number') throw invalid(path, 'number', value);
      return value;
    default: {
      const [min, max] = INT_RANGES[type.type]!;
      const int = typeof value === 'bigint' ? value : typeof value === 'number' && Number.isSafeInteger(value) ? BigInt(value) : undefined;
      if (int === undefined || int < min || int > max) throw invalid(path, `${type.type} integer`, value);
      if (type.type === 'int32' || type.type === 'uint32') return Number(int);
      // protobufjs writes 64-bit varints from {low, high}: exact where a number would round.
      const bits = BigInt.asUintN(64, int);
      return { low: Number(bits & 0xffffffffn), high: Number(bits >> 32n), unsigned: type.type === 'uint64' };
    }
  }
}

// proto3 fields without presence are not serialized while they hold their default (-0.0 is not it).
function isDefault(value: unknown): boolean {
  if (value instanceof Uint8Array) return value.length === 0;
  if (typeof value === 'object' && value !== null) return false;
  return Object.is(value, 0) || value === false || value === '' || value === 0n;
}

// C++'s MapSorter order: strings bytewise, integers by value.
function compareKeys(keyType: string, x: unknown, y: unknown): number {
  if (keyType === 'string') return Buffer.compare(Buffer.from(String(x)), Buffer.from(String(y)));
  if (keyType === 'bool') return Number(x) - Number(y);
  const [bx, by] = [BigInt(x as number | bigint), BigInt(y as number | bigint)];
  return bx < by ? -1 : bx > by ? 1 : 0;
}

function checkKey(keyType: string, key: unknown, path: string): void {
  const ok =
    keyType === 'string' ? typeof key === 'string' : keyType === 'bool' ? typeof key === 'boolean' : /^-?\d+$/.test(String(key)) && typeof key !== 'boolean';
  if (!ok) throw invalid(`${path} key`, keyType, key);
}

function fieldsOf(message: TextProtoMessage, type: protobuf.Type, path: string): Record<string, unknown> {
  if (typeof message !== 'object' || message === null || Array.isArray(message) || message instanceof Uint8Array || message instanceof Map) {
    throw invalid(path, `a ${fullName(type)} message`, message);
  }
  const out: Record<string, unknown> = {};
  for (const [name, value] of Object.entries(message)) {
    const field = Object.hasOwn(type.fields, name) ? type.fields[name]!.resolve() : undefined;
    if (field === undefined) throw new TfServeError('INVALID_ARGUMENT', `Message type "${fullName(type)}" has no field named "${name}" (${path}).`);
    const at = `${path}.${name}`;
    const one = (item: TextProtoValue, where: string): unknown =>
      field.resolvedType instanceof protobuf.Type ? fieldsOf(item as TextProtoMessage, field.resolvedType, where) : scalar(field, item, where);
    if (field instanceof protobuf.MapField) {
      const entries = value instanceof Map ? [...value.entries()] : typeof value === 'object' && value !== null ? Object.entries(value) : undefined;
      if (entries === undefined) throw invalid(at, 'a Map or an object', value);
      entries.sort(([x], [y]) => compareKeys(field.keyType, x, y));
      const map: Record<string, unknown> = {};
      for (const [key, item] of entries) {
        checkKey(field.keyType, key, at);
        map[String(key)] = one(item as TextProtoValue, `${at}[${String(key)}]`);
      }
      out[name] = map;
    } else if (field.repeated) {
      if (!Array.isArray(value)) throw invalid(at, 'array', value);
      out[name] = value.map((item, i) => one(item, `${at}[${i}]`));
    } else {
      const converted = one(value, at);
      if (field.partOf !== null || !(isDefault(value) || isDefault(converted))) out[name] = converted;
    }
  }
  return out;
}

/** The object protobufjs's ConfigProto encodes to the bytes C++ protobuf serializes for `message`. */
export function configProtoFields(message: ConfigProtoMessage, path = 'configProto'): Record<string, unknown> {
  return fieldsOf(message, ConfigProto, path);
}

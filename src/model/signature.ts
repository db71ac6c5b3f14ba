/**
 * Signature metadata from the serialized MetaGraphDef that TF_LoadSessionFromSavedModel returns:
 * exactly what was loaded, for any tag set, without reading saved_model.pb again.
 */
import { type DType, dtypeFromTf, tfTypeName } from './dtypes.js';
import { MetaGraphDef } from '../proto/messages.js';

export interface TensorInfo {
  /** The graph tensor, "operation:index". Empty for sparse and composite tensors, which tfserve cannot feed. */
  readonly name: string;
  /** Our dtype name, or TensorFlow's (e.g. "complex64", "resource") for types tfserve does not map. */
  readonly dtype: DType | string;
  /** -1 marks an unknown dimension; null an unknown rank. */
  readonly shape: number[] | null;
  /** TF_DataType number, as TF Serving's metadata reports it ("DT_FLOAT"). */
  readonly tfType: number;
}

export interface SignatureInfo {
  readonly methodName: string;
  readonly inputs: Readonly<Record<string, TensorInfo>>;
  readonly outputs: Readonly<Record<string, TensorInfo>>;
}

/** One SignatureDef in protobuf's JSON form with proto field names (`method_name`, `tensor_shape`…). */
export interface SignatureDefJson {
  readonly inputs?: Readonly<Record<string, unknown>>;
  readonly outputs?: Readonly<Record<string, unknown>>;
  readonly method_name?: string;
  readonly defaults?: Readonly<Record<string, unknown>>;
}

export interface MetaGraphInfo {
  readonly tags: string[];
  readonly signatures: Readonly<Record<string, SignatureInfo>>;
  /**
   * Every SignatureDef (the init op too) in protobuf's JSON form with proto field names, as TF Serving's
   * metadata endpoint prints it.
   */
  readonly signatureDefJson: Record<string, SignatureDefJson>;
}

/** The entry TF2 exports use to run initializers; it is not something to call. */
export const INIT_OP_SIGNATURE_KEY = '__saved_model_init_op';

interface RawShape {
  dim?: { size?: number; name?: string }[];
  unknownRank?: boolean;
}

interface RawTensorInfo {
  name?: string;
  dtype?: number;
  tensorShape?: RawShape;
}

interface RawTensorProto {
  dtype?: number;
  tensorShape?: RawShape;
  [values: string]: unknown;
}

interface RawSignature {
  methodName?: string;
  inputs?: Record<string, RawTensorInfo>;
  outputs?: Record<string, RawTensorInfo>;
  defaults?: Record<string, RawTensorProto>;
}

const DT_NAMES = [
  'DT_INVALID', 'DT_FLOAT', 'DT_DOUBLE', 'DT_INT32', 'DT_UINT8', 'DT_INT16', 'DT_INT8', 'DT_STRING', 'DT_COMPLEX64',
  'DT_INT64', 'DT_BOOL', 'DT_QINT8', 'DT_QUINT8', 'DT_QINT32', 'DT_BFLOAT16', 'DT_QINT16', 'DT_QUINT16', 'DT_UINT16',
  'DT_COMPLEX128', 'DT_HALF', 'DT_RESOURCE', 'DT_VARIANT', 'DT_UINT32', 'DT_UINT64',
];

/** TensorFlow's enum name for a DataType number ("DT_FLOAT", "DT_FLOAT_REF"). */
export function dataTypeEnumName(tfType: number): string {
  const base = tfType > 100 ? tfType - 100 : tfType;
  const name = DT_NAMES[base] ?? `DT_${base}`;
  return tfType > 100 ? `${name}_REF` : name;
}

function shapeJson(shape: RawShape): unknown {
  return {
    dim: (shape.dim ?? []).map((d) => ({ size: String(d.size ?? 0), name: d.name ?? '' })),
    unknown_rank: shape.unknownRank ?? false,
  };
}

function tensorInfoJson(info: RawTensorInfo): unknown {
  return {
    dtype: dataTypeEnumName(info.dtype ?? 0),
    ...(info.tensorShape ? { tensor_shape: shapeJson(info.tensorShape) } : {}),
    name: info.name ?? '',
  };
}

const TENSOR_VALUE_FIELDS: [string, string, boolean][] = [
  ['floatVal', 'float_val', false], ['doubleVal', 'double_val', false], ['intVal', 'int_val', false],
  ['stringVal', 'string_val', false], ['int64Val', 'int64_val', true], ['boolVal', 'bool_val', false],
  ['halfVal', 'half_val', false], ['uint32Val', 'uint32_val', false], ['uint64Val', 'uint64_val', true],
];

function tensorProtoJson(tensor: RawTensorProto): unknown {
  const json: Record<string, unknown> = { dtype: dataTypeEnumName(tensor.dtype ?? 0) };
  if (tensor.tensorShape) json['tensor_shape'] = shapeJson(tensor.tensorShape);
  if (tensor['tensorContent']) json['tensor_content'] = tensor['tensorContent'];
  for (const [field, jsonName, int64] of TENSOR_VALUE_FIELDS) {
    const values = tensor[field] as unknown[] | undefined;
    if (values && values.length > 0) json[jsonName] = int64 ? values.map(String) : values;
  }
  return json;
}

function signatureJson(raw: RawSignature): SignatureDefJson {
  const map = <T>(entries: Record<string, T> | undefined, render: (value: T) => unknown) =>
    Object.fromEntries(Object.entries(entries ?? {}).map(([k, v]) => [k, render(v)]));
  return {
    inputs: map(raw.inputs, tensorInfoJson),
    outputs: map(raw.outputs, tensorInfoJson),
    method_name: raw.methodName ?? '',
    defaults: map(raw.defaults, tensorProtoJson),
  };
}

// TF1 graphs can name reference tensors (DT_FLOAT_REF = DT_FLOAT + 100); they hold base-type values.
const REF_TYPE_OFFSET = 100;

function tensorInfo(raw: RawTensorInfo): TensorInfo {
  const rawType = raw.dtype ?? 0;
  const tfType = rawType > REF_TYPE_OFFSET ? rawType - REF_TYPE_OFFSET : rawType;
  const shapeProto = raw.tensorShape;
  const shape = !shapeProto || shapeProto.unknownRank ? null : (shapeProto.dim ?? []).map((d) => Number(d.size ?? 0));
  return { name: raw.name ?? '', dtype: dtypeFromTf(tfType) ?? tfTypeName(tfType), shape, tfType };
}

function tensorMap(raw: Record<string, RawTensorInfo> | undefined): Record<string, TensorInfo> {
  const result: Record<string, TensorInfo> = {};
  for (const key of Object.keys(raw ?? {}).sort()) result[key] = tensorInfo(raw![key]!);
  return result;
}

export function parseMetaGraphDef(bytes: Uint8Array): MetaGraphInfo {
  const message = MetaGraphDef.decode(bytes);
  const plain = MetaGraphDef.toObject(message, { longs: String, bytes: String, defaults: false }) as {
    metaInfoDef?: { tags?: string[] };
    signatureDef?: Record<string, RawSignature>;
  };
  const signatures: Record<string, SignatureInfo> = {};
  const signatureDefJson: Record<string, SignatureDefJson> = {};
  for (const key of Object.keys(plain.signatureDef ?? {}).sort()) {
    signatureDefJson[key] = signatureJson(plain.signatureDef![key]!);
    if (key === INIT_OP_SIGNATURE_KEY) continue;
    const raw = plain.signatureDef![key]!;
    signatures[key] = {
      methodName: raw.methodName ?? '',
      inputs: tensorMap(raw.inputs),
      outputs: tensorMap(raw.outputs),
    };
  }
  return { tags: plain.metaInfoDef?.tags ?? [], signatures, signatureDefJson };
}

/**
 * Signature metadata from the serialized MetaGraphDef that TF_LoadSessionFromSavedModel returns:
 * exactly what was loaded, for any tag set, without reading saved_model.pb again.
 */
import { type DType, dtypeFromTf, tfTypeName } from './dtypes.js';
import { MetaGraphDef } from './proto/messages.js';

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

export interface MetaGraphInfo {
  readonly tags: string[];
  readonly signatures: Readonly<Record<string, SignatureInfo>>;
}

/** The entry TF2 exports use to run initializers; it is not something to call. */
export const INIT_OP_SIGNATURE_KEY = '__saved_model_init_op';

interface RawTensorInfo {
  name?: string;
  dtype?: number;
  tensorShape?: { dim?: { size?: number }[]; unknownRank?: boolean };
}

interface RawSignature {
  methodName?: string;
  inputs?: Record<string, RawTensorInfo>;
  outputs?: Record<string, RawTensorInfo>;
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
  const plain = MetaGraphDef.toObject(message, { longs: Number, defaults: false }) as {
    metaInfoDef?: { tags?: string[] };
    signatureDef?: Record<string, RawSignature>;
  };
  const signatures: Record<string, SignatureInfo> = {};
  for (const key of Object.keys(plain.signatureDef ?? {}).sort()) {
    if (key === INIT_OP_SIGNATURE_KEY) continue;
    const raw = plain.signatureDef![key]!;
    signatures[key] = {
      methodName: raw.methodName ?? '',
      inputs: tensorMap(raw.inputs),
      outputs: tensorMap(raw.outputs),
    };
  }
  return { tags: plain.metaInfoDef?.tags ?? [], signatures };
}

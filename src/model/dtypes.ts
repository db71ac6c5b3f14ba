/**
 * The single dtype table: name <-> TF_DataType number <-> TypedArray for `data`. The numbers are the
 * TF_DataType enum values (native/tensor.cc static_asserts the same ones).
 */
export type DType =
  | 'float32'
  | 'float64'
  | 'float16'
  | 'bfloat16'
  | 'int8'
  | 'int16'
  | 'int32'
  | 'int64'
  | 'uint8'
  | 'uint16'
  | 'uint32'
  | 'uint64'
  | 'bool'
  | 'string';

export type NumericDType = Exclude<DType, 'string'>;

export interface DataTypeMap {
  float32: Float32Array;
  float64: Float64Array;
  float16: Uint16Array;
  bfloat16: Uint16Array;
  int8: Int8Array;
  int16: Int16Array;
  int32: Int32Array;
  int64: BigInt64Array;
  uint8: Uint8Array;
  uint16: Uint16Array;
  uint32: Uint32Array;
  uint64: BigUint64Array;
  bool: Uint8Array;
  string: Uint8Array[];
}

export type NumericTypedArray = DataTypeMap[NumericDType];

type TypedArrayConstructor = {
  new (length: number): NumericTypedArray;
  new (buffer: ArrayBufferLike, byteOffset?: number, length?: number): NumericTypedArray;
  readonly BYTES_PER_ELEMENT: number;
};

interface DTypeInfo {
  readonly tfType: number;
  readonly array: TypedArrayConstructor | null;
  readonly byteSize: number;
}

export const DTYPES: Readonly<Record<DType, DTypeInfo>> = {
  float32: { tfType: 1, array: Float32Array, byteSize: 4 },
  float64: { tfType: 2, array: Float64Array, byteSize: 8 },
  int32: { tfType: 3, array: Int32Array, byteSize: 4 },
  uint8: { tfType: 4, array: Uint8Array, byteSize: 1 },
  int16: { tfType: 5, array: Int16Array, byteSize: 2 },
  int8: { tfType: 6, array: Int8Array, byteSize: 1 },
  string: { tfType: 7, array: null, byteSize: 0 },
  int64: { tfType: 9, array: BigInt64Array as unknown as TypedArrayConstructor, byteSize: 8 },
  bool: { tfType: 10, array: Uint8Array, byteSize: 1 },
  bfloat16: { tfType: 14, array: Uint16Array, byteSize: 2 },
  uint16: { tfType: 17, array: Uint16Array, byteSize: 2 },
  float16: { tfType: 19, array: Uint16Array, byteSize: 2 },
  uint32: { tfType: 22, array: Uint32Array, byteSize: 4 },
  uint64: { tfType: 23, array: BigUint64Array as unknown as TypedArrayConstructor, byteSize: 8 },
};

const BY_TF_TYPE = new Map<number, DType>(
  (Object.entries(DTYPES) as [DType, DTypeInfo][]).map(([name, info]) => [info.tfType, name]),
);

/** TensorFlow's DT_* names for the few messages that quote them (TF Serving's texts use them). */
const TF_TYPE_NAMES: Readonly<Record<number, string>> = {
  1: 'float', 2: 'double', 3: 'int32', 4: 'uint8', 5: 'int16', 6: 'int8', 7: 'string', 8: 'complex64',
  9: 'int64', 10: 'bool', 14: 'bfloat16', 17: 'uint16', 18: 'complex128', 19: 'half', 20: 'resource',
  21: 'variant', 22: 'uint32', 23: 'uint64',
};

export function isDType(value: unknown): value is DType {
  return typeof value === 'string' && Object.prototype.hasOwnProperty.call(DTYPES, value);
}

/** Our dtype name for a TF_DataType number, or null for types tfserve does not map (complex, resource…). */
export function dtypeFromTf(tfType: number): DType | null {
  return BY_TF_TYPE.get(tfType) ?? null;
}

export function tfTypeName(tfType: number): string {
  return TF_TYPE_NAMES[tfType] ?? `type ${tfType}`;
}

export function isNumeric(dtype: DType): dtype is NumericDType {
  return dtype !== 'string';
}

/** The TypedArray class that carries `dtype` (Uint16Array for float16/bfloat16 raw bits). */
export function arrayClass(dtype: NumericDType): TypedArrayConstructor {
  return DTYPES[dtype].array as TypedArrayConstructor;
}

/** The values each integer dtype holds (64-bit ones as bigint), for range checks on input. */
export const INTEGER_RANGES: Readonly<Partial<Record<DType, readonly [number, number]>>> = {
  int8: [-128, 127],
  int16: [-32768, 32767],
  int32: [-2147483648, 2147483647],
  uint8: [0, 255],
  uint16: [0, 65535],
  uint32: [0, 4294967295],
};

export const BIGINT_RANGES: Readonly<Partial<Record<DType, readonly [bigint, bigint]>>> = {
  int64: [-(2n ** 63n), 2n ** 63n - 1n],
  uint64: [0n, 2n ** 64n - 1n],
};

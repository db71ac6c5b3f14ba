/**
 * Tensors as plain `{ dtype, shape, data }` objects, their validation (messages in one vocabulary:
 * "Expected X for <what> but received Y"), conversion of plain JS arrays per dtype, and aligned
 * allocation for zero-copy inputs.
 */
import {
  arrayClass,
  BIGINT_RANGES,
  type DataTypeMap,
  type DType,
  DTYPES,
  dtypeFromTf,
  INTEGER_RANGES,
  isDType,
  isNumeric,
  type NumericDType,
  type NumericTypedArray,
} from './dtypes.js';
import { invalidArgument, TfServeError } from './errors.js';
import { bfloat16Bits, float16Bits } from './float16.js';
import { binding, type NativeOutput } from './native.js';

export interface Tensor<D extends DType = DType> {
  readonly dtype: D;
  readonly shape: number[];
  readonly data: DataTypeMap[D];
}

/** What predict accepts: typed arrays as they are, or plain (nested) arrays converted per dtype. */
export interface TensorInput {
  readonly dtype: DType;
  readonly shape: readonly number[];
  readonly data: ArrayBufferView | readonly unknown[];
}

/** The most dimensions a tensor may have (the addon enforces the same limit). */
export const MAX_RANK = 32;

function describe(value: unknown): string {
  if (Array.isArray(value)) return 'an array';
  if (ArrayBuffer.isView(value)) return value.constructor.name;
  if (typeof value === 'string') return `"${value.length > 40 ? `${value.slice(0, 40)}…` : value}" of type string`;
  return `${String(value)} of type ${typeof value}`;
}

export function validateShape(shape: unknown, what: string): number[] {
  if (!Array.isArray(shape)) throw invalidArgument(`Expected array of integers for ${what}.shape but received ${describe(shape)}`);
  if (shape.length > MAX_RANK) throw invalidArgument(`Expected at most ${MAX_RANK} dimensions for ${what}.shape but received ${shape.length}`);
  shape.forEach((dim, i) => {
    if (typeof dim !== 'number' || !Number.isSafeInteger(dim) || dim < 0) {
      throw invalidArgument(`Expected non-negative integer for ${what}.shape[${i}] but received ${describe(dim)}`);
    }
  });
  return [...(shape as number[])];
}

export function elementCount(shape: readonly number[]): number {
  let count = 1;
  for (const dim of shape) count *= dim;
  if (!Number.isSafeInteger(count)) throw invalidArgument(`Shape [${shape.join(',')}] has too many elements`);
  return count;
}

/**
 * A tensor whose memory is 64-byte aligned native memory, so TensorFlow uses it without a copy.
 * The memory stays valid while the typed array or any run using it is alive.
 */
export function allocTensor<D extends NumericDType>(dtype: D, shape: readonly number[]): Tensor<D> {
  if (!isDType(dtype) || !isNumeric(dtype)) {
    throw invalidArgument(`Expected numeric dtype for allocTensor but received ${describe(dtype)}`);
  }
  const dims = validateShape(shape, 'allocTensor');
  const count = elementCount(dims);
  const Ctor = arrayClass(dtype);
  const buffer = binding().allocAligned(count * Ctor.BYTES_PER_ELEMENT);
  return { dtype, shape: dims, data: new Ctor(buffer, 0, count) as DataTypeMap[D] };
}

/** Flattens nested arrays without recursion, so hostile nesting depth cannot overflow the stack. */
function flatten(data: readonly unknown[], maxDepth: number, what: string): unknown[] {
  if (!data.some(Array.isArray)) return data as unknown[];
  const flat: unknown[] = [];
  const stack: { items: readonly unknown[]; next: number }[] = [{ items: data, next: 0 }];
  while (stack.length > 0) {
    const top = stack[stack.length - 1]!;
    if (top.next >= top.items.length) {
      stack.pop();
      continue;
    }
    const item = top.items[top.next++];
    if (Array.isArray(item)) {
      if (stack.length >= maxDepth) throw invalidArgument(`Expected ${what}.data nested at most ${maxDepth} deep`);
      stack.push({ items: item, next: 0 });
    } else {
      flat.push(item);
    }
  }
  return flat;
}

function toBigInt(value: unknown): bigint | null {
  if (typeof value === 'bigint') return value;
  if (typeof value === 'number' && Number.isSafeInteger(value)) return BigInt(value);
  if (typeof value === 'string' && /^-?\d{1,20}$/.test(value)) return BigInt(value);
  return null;
}

function convertValues(dtype: NumericDType, values: unknown[], what: string): NumericTypedArray {
  const Ctor = arrayClass(dtype);
  const out = new Ctor(values.length);
  const fail = (i: number, expected: string): never => {
    throw invalidArgument(`Expected ${expected} for ${what}.data[${i}] but received ${describe(values[i])}`);
  };
  if (dtype === 'int64' || dtype === 'uint64') {
    const [min, max] = BIGINT_RANGES[dtype]!;
    const target = out as BigInt64Array | BigUint64Array;
    values.forEach((value, i) => {
      const big = toBigInt(value);
      if (big === null || big < min || big > max) fail(i, `${dtype} (bigint, safe integer or decimal string)`);
      target[i] = big!;
    });
    return out;
  }
  const target = out as Exclude<NumericTypedArray, BigInt64Array | BigUint64Array>;
  if (dtype === 'bool') {
    values.forEach((value, i) => {
      if (typeof value === 'boolean') target[i] = value ? 1 : 0;
      else if (value === 0 || value === 1) target[i] = value;
      else fail(i, 'boolean');
    });
    return out;
  }
  const range = INTEGER_RANGES[dtype];
  const encode = dtype === 'float16' ? float16Bits : dtype === 'bfloat16' ? bfloat16Bits : null;
  values.forEach((value, i) => {
    if (typeof value !== 'number') fail(i, 'number');
    if (range && (!Number.isInteger(value) || (value as number) < range[0] || (value as number) > range[1])) {
      fail(i, `integer between ${range[0]} and ${range[1]}`);
    }
    target[i] = encode ? encode(value as number) : (value as number);
  });
  return out;
}

/**
 * The data to hand to the native binding for one input: the caller's typed array itself (no copy
 * here), a new typed array converted from a plain array, or the list of strings/byte arrays.
 */
export function toNativeData(input: TensorInput, what: string): ArrayBufferView | Array<string | Uint8Array> {
  const { dtype, data } = input;
  const shape = validateShape(input.shape, what);
  const count = elementCount(shape);
  if (dtype === 'string') {
    if (!Array.isArray(data)) throw invalidArgument(`Expected array of strings or Uint8Arrays for ${what}.data but received ${describe(data)}`);
    const items = flatten(data, Math.max(shape.length, 1), what);
    if (items.length !== count) {
      throw invalidArgument(`Expected ${count} elements for ${what}.data (shape [${shape.join(',')}]) but received ${items.length}`);
    }
    items.forEach((item, i) => {
      if (typeof item !== 'string' && !(item instanceof Uint8Array)) {
        throw invalidArgument(`Expected string or Uint8Array for ${what}.data[${i}] but received ${describe(item)}`);
      }
    });
    return items as Array<string | Uint8Array>;
  }
  if (ArrayBuffer.isView(data)) {
    const Ctor = arrayClass(dtype);
    if (!(data instanceof Ctor)) {
      throw invalidArgument(`Expected ${Ctor.name} for ${what}.data (dtype ${dtype}) but received ${describe(data)}`);
    }
    if (data.length !== count) {
      throw invalidArgument(`Expected ${count} elements for ${what}.data (shape [${shape.join(',')}]) but received ${data.length}`);
    }
    return data;
  }
  if (!Array.isArray(data)) {
    throw invalidArgument(`Expected TypedArray or array for ${what}.data but received ${describe(data)}`);
  }
  const values = flatten(data, Math.max(shape.length, 1), what);
  if (values.length !== count) {
    throw invalidArgument(`Expected ${count} elements for ${what}.data (shape [${shape.join(',')}]) but received ${values.length}`);
  }
  return convertValues(dtype, values, what);
}

export function checkTensorInput(input: unknown, what: string): TensorInput {
  if (typeof input !== 'object' || input === null || Array.isArray(input)) {
    throw invalidArgument(`Expected { dtype, shape, data } for ${what} but received ${describe(input)}`);
  }
  const { dtype } = input as { dtype?: unknown };
  if (!isDType(dtype)) {
    throw invalidArgument(`Expected one of ${Object.keys(DTYPES).join(', ')} for ${what}.dtype but received ${describe(dtype)}`);
  }
  return input as TensorInput;
}

/** Wraps a native output: a typed array view over TensorFlow's buffer, or the list of byte strings. */
export function fromNativeOutput([tfType, shape, data]: NativeOutput): Tensor {
  const dtype = dtypeFromTf(tfType);
  if (dtype === null) throw new TfServeError('INTERNAL', `the binding returned unknown TF_DataType ${tfType}`);
  if (dtype === 'string') return { dtype, shape, data: data as Uint8Array[] };
  const Ctor = arrayClass(dtype);
  return { dtype, shape, data: new Ctor(data as ArrayBuffer) } as Tensor;
}

import assert from 'node:assert/strict';
import { suite, test } from 'node:test';

import { float16Value } from '../../src/model/float16.js';
import { allocTensor, checkTensorInput, elementCount, toNativeData, validateShape } from '../../src/model/tensor.js';

suite('tensor', () => {
  test('typed arrays of the right class pass through untouched (no copy)', () => {
    const data = new Float32Array([1, 2, 3, 4]);
    assert.equal(toNativeData({ dtype: 'float32', shape: [2, 2], data }, 'x'), data);
    const big = new BigInt64Array([1n, 2n]);
    assert.equal(toNativeData({ dtype: 'int64', shape: [2], data: big }, 'x'), big);
  });

  test('plain nested arrays are converted per dtype', () => {
    assert.deepEqual(toNativeData({ dtype: 'float32', shape: [2, 2], data: [[1, 2], [3, 4]] }, 'x'), new Float32Array([1, 2, 3, 4]));
    assert.deepEqual(toNativeData({ dtype: 'int64', shape: [3], data: [1, 2n, '9007199254740993'] }, 'x'), new BigInt64Array([1n, 2n, 9007199254740993n]));
    assert.deepEqual(toNativeData({ dtype: 'uint64', shape: [1], data: ['18446744073709551615'] }, 'x'), new BigUint64Array([2n ** 64n - 1n]));
    assert.deepEqual(toNativeData({ dtype: 'bool', shape: [3], data: [true, false, 1] }, 'x'), new Uint8Array([1, 0, 1]));
    const half = toNativeData({ dtype: 'float16', shape: [2], data: [1.5, -2] }, 'x') as Uint16Array;
    assert.deepEqual([...half].map(float16Value), [1.5, -2]);
    assert.deepEqual(toNativeData({ dtype: 'string', shape: [2], data: ['a', new Uint8Array([0xff])] }, 'x'), ['a', new Uint8Array([0xff])]);
    assert.deepEqual(toNativeData({ dtype: 'int8', shape: [], data: [-128] }, 'x'), new Int8Array([-128]));
  });

  test('BAD CALL - wrong element types and ranges name the element', () => {
    assert.throws(() => toNativeData({ dtype: 'float32', shape: [2], data: [1, 'a'] }, "input 'x'"), {
      code: 'INVALID_ARGUMENT',
      message: `Expected number for input 'x'.data[1] but received "a" of type string`,
    });
    assert.throws(() => toNativeData({ dtype: 'int32', shape: [1], data: [1.5] }, 'x'), { message: /integer between -2147483648 and 2147483647 for x.data\[0\]/ });
    assert.throws(() => toNativeData({ dtype: 'uint8', shape: [1], data: [256] }, 'x'), { message: /integer between 0 and 255/ });
    assert.throws(() => toNativeData({ dtype: 'int64', shape: [1], data: [2 ** 63] }, 'x'), { message: /int64/ });
    assert.throws(() => toNativeData({ dtype: 'uint64', shape: [1], data: [-1n] }, 'x'), { message: /uint64/ });
    assert.throws(() => toNativeData({ dtype: 'bool', shape: [1], data: [2] }, 'x'), { message: /boolean/ });
    assert.throws(() => toNativeData({ dtype: 'string', shape: [1], data: [1] }, 'x'), { message: /string or Uint8Array for x.data\[0\]/ });
  });

  test('BAD CALL - element count, class and shape mismatches', () => {
    assert.throws(() => toNativeData({ dtype: 'float32', shape: [3], data: new Float32Array(2) }, 'x'), { message: 'Expected 3 elements for x.data (shape [3]) but received 2' });
    assert.throws(() => toNativeData({ dtype: 'float32', shape: [2], data: new Float64Array(2) }, 'x'), { message: /Expected Float32Array for x.data \(dtype float32\) but received Float64Array/ });
    assert.throws(() => toNativeData({ dtype: 'float32', shape: [2, 1], data: [[1], [2, 3]] }, 'x'), { message: /Expected 2 elements/ });
    assert.throws(() => toNativeData({ dtype: 'float32', shape: [1], data: 'abc' as never }, 'x'), { message: /TypedArray or array/ });
    assert.throws(() => validateShape([2, -1], 'x'), { message: /non-negative integer for x.shape\[1\]/ });
    assert.throws(() => validateShape('2' as never, 'x'), { message: /array of integers/ });
    assert.throws(() => validateShape(new Array(33).fill(1), 'x'), { message: /at most 32 dimensions/ });
    assert.throws(() => elementCount([2 ** 40, 2 ** 40]), { message: /too many elements/ });
    assert.throws(() => checkTensorInput({ dtype: 'complex64', shape: [], data: [] }, 'x'), { message: /for x.dtype but received "complex64"/ });
    assert.throws(() => checkTensorInput(null, 'x'), { message: /Expected \{ dtype, shape, data \} for x/ });
  });

  test('hostile nesting depth is rejected without a stack overflow', () => {
    let deep: unknown[] = [1];
    for (let i = 0; i < 100000; i += 1) deep = [deep];
    assert.throws(() => toNativeData({ dtype: 'float32', shape: [1], data: deep }, 'x'), { message: /nested at most 1 deep/ });
  });

  test('allocTensor hands out 64-byte aligned, zeroed memory', async () => {
    const { binding } = await import('../../src/model/native.js');
    for (const shape of [[1], [3, 5], [1000, 7], [0]]) {
      const tensor = allocTensor('float32', shape);
      assert.equal(tensor.data.length, elementCount(shape));
      assert.ok(tensor.data.every((v) => v === 0));
      if (tensor.data.length > 0) assert.equal(binding()._addressOf(tensor.data) % 64n, 0n);
    }
    assert.ok(allocTensor('int64', [2]).data instanceof BigInt64Array);
    assert.throws(() => allocTensor('string' as never, [1]), { message: /numeric dtype/ });
  });
});

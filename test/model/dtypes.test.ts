import assert from 'node:assert/strict';
import { suite, test } from 'node:test';

import { arrayClass, DTYPES, dtypeFromTf, isDType, isNumeric, tfTypeName } from '../../src/model/dtypes.js';

suite('dtypes', () => {
  test('every dtype round-trips through its TF_DataType number', () => {
    for (const [name, info] of Object.entries(DTYPES)) assert.equal(dtypeFromTf(info.tfType), name);
  });

  test('TypedArray classes carry the documented element types', () => {
    assert.equal(arrayClass('float32'), Float32Array);
    assert.equal(arrayClass('int64'), BigInt64Array);
    assert.equal(arrayClass('uint64'), BigUint64Array);
    assert.equal(arrayClass('float16'), Uint16Array);
    assert.equal(arrayClass('bfloat16'), Uint16Array);
    assert.equal(arrayClass('bool'), Uint8Array);
    for (const [name, info] of Object.entries(DTYPES)) {
      if (info.array) assert.equal(info.array.BYTES_PER_ELEMENT, info.byteSize, name);
    }
  });

  test('names outside the table are rejected', () => {
    assert.equal(isDType('float32'), true);
    assert.equal(isDType('complex64'), false);
    assert.equal(isDType('toString'), false);
    assert.equal(isNumeric('string'), false);
    assert.equal(dtypeFromTf(8), null);
    assert.equal(tfTypeName(8), 'complex64');
    assert.equal(tfTypeName(19), 'half');
  });
});

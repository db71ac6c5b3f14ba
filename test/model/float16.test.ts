import assert from 'node:assert/strict';
import { suite, test } from 'node:test';

import { bfloat16Bits, bfloat16Value, float16Bits, float16Value } from '../../src/model/float16.js';

suite('float16', () => {
  test('IEEE half encodes known values', () => {
    const cases: [number, number][] = [
      [0, 0x0000], [-0, 0x8000], [1, 0x3c00], [-2, 0xc000], [0.5, 0x3800], [65504, 0x7bff],
      [65520, 0x7c00], [Infinity, 0x7c00], [-Infinity, 0xfc00], [2 ** -24, 0x0001], [2 ** -14, 0x0400],
      [0.1, 0x2e66], [1e-9, 0x0000],
    ];
    for (const [value, bits] of cases) assert.equal(float16Bits(value), bits, `${value}`);
    assert.equal(float16Bits(NaN) & 0x7c00, 0x7c00);
    assert.notEqual(float16Bits(NaN) & 0x3ff, 0);
  });

  test('IEEE half decodes and round-trips every finite pattern', () => {
    for (let bits = 0; bits < 0x10000; bits += 1) {
      const value = float16Value(bits);
      if (Number.isNaN(value)) continue;
      assert.equal(float16Bits(value), bits, `0x${bits.toString(16)}`);
    }
  });

  test('rounds to nearest even', () => {
    assert.equal(float16Bits(1 + 2 ** -11), 0x3c00); // halfway, even stays
    assert.equal(float16Bits(1 + 3 * 2 ** -11), 0x3c02); // halfway, odd rounds up
  });

  test('bfloat16 keeps float32 range and rounds to nearest even', () => {
    assert.equal(bfloat16Bits(1), 0x3f80);
    assert.equal(bfloat16Bits(-2), 0xc000);
    assert.equal(bfloat16Bits(3.4e38), 0x7f80); // rounds up past the largest finite bfloat16
    assert.equal(bfloat16Value(0x3f80), 1);
    assert.equal(bfloat16Value(bfloat16Bits(3.140625)), 3.140625);
    assert.ok(Number.isNaN(bfloat16Value(bfloat16Bits(NaN))));
    assert.equal(bfloat16Value(bfloat16Bits(Infinity)), Infinity);
  });
});

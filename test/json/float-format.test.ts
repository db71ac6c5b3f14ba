import assert from 'node:assert/strict';
import { suite, test } from 'node:test';

import { formatFloat32, formatFloat64, MAX_FLOAT_TEXT, writeFloat32, writeFloat64 } from '../../src/json/float-format.js';

// Expected texts produced by glibc: printf("%.6g"), strtof/strtod round trip, "%.9g"/"%.17g", ".0".
const FLOAT32_GOLDEN: [number, string][] = [
  [3, '3.0'],
  [0.5, '0.5'],
  [9000000, '9e+06'],
  [999999, '999999.0'],
  [0.00003, '3e-05'],
  [0.0003, '0.0003'],
  [555557.5, '555557.5'],
  [123456789, '123456792.0'],
  [-0, '-0.0'],
  [0, '0.0'],
  [0.1, '0.1'],
  [0.2, '0.2'],
  [0.3, '0.3'],
  [1 / 3, '0.333333343'],
  [1048575.625, '1048575.62'], // an exact tie at 9 digits: printf rounds to even, toPrecision would not
  [1234565, '1234565.0'], // an exact tie at 6 digits: neither neighbour reads back, so 9 digits
  [16777217, '16777216.0'],
  [3.4028234663852886e38, '3.40282347e+38'],
  [1.401298464324817e-45, '1.4013e-45'],
  [1.1754943508222875e-38, '1.17549435e-38'],
  [1e-40, '9.99995e-41'],
  [1e-7, '1e-07'],
  [2.5e-7, '2.5e-07'],
  [7e-10, '7e-10'],
  [100000, '100000.0'],
  [1e6, '1e+06'],
  [1e10, '1e+10'],
  [0.0001, '0.0001'],
  [99999.5, '99999.5'],
  [65504, '65504.0'],
  [1.5, '1.5'],
  [-2.75, '-2.75'],
];

const FLOAT64_GOLDEN: [number, string][] = [
  [3, '3.0'],
  [0.5, '0.5'],
  [9000000, '9e+06'],
  [0.1, '0.1'],
  [0.1 + 0.2, '0.30000000000000004'],
  [1 / 3, '0.33333333333333331'],
  [5e-324, '4.94066e-324'],
  [1.7976931348623157e308, '1.7976931348623157e+308'],
  [2.2250738585072014e-308, '2.2250738585072014e-308'],
  [1e21, '1e+21'],
  [1e-7, '1e-07'],
  [123456789, '123456789.0'],
  [2251799813685246.25, '2251799813685246.2'], // exact ties at 17 digits go to even
  [2251799813685247.75, '2251799813685247.8'],
  [1234567.125, '1234567.125'],
  [0.123456789, '0.123456789'],
  [100, '100.0'],
  [1e100, '1e+100'],
  [-2.5, '-2.5'],
  [9007199254740992, '9007199254740992.0'],
  [-0, '-0.0'],
];

/** An independent, slow reference: exact BigInt decimal expansion, half-even rounding, exact round trip. */
function referenceFormat(value: number, float: boolean): string {
  if (Number.isNaN(value)) return 'NaN';
  if (value === Infinity) return 'Infinity';
  if (value === -Infinity) return '-Infinity';
  if (value === 0) return Object.is(value, -0) ? '-0.0' : '0.0';
  const sign = value < 0 ? '-' : '';
  const x = Math.abs(value);
  const view = new DataView(new ArrayBuffer(8));
  view.setFloat64(0, x);
  const bits = view.getBigUint64(0);
  const biased = Number((bits >> 52n) & 0x7ffn);
  let mantissa = bits & ((1n << 52n) - 1n);
  if (biased !== 0) mantissa |= 1n << 52n;
  const e2 = (biased === 0 ? 1 : biased) - 1075;
  // x = mantissa * 2^e2 = digits * 10^e10 exactly.
  const digits = e2 >= 0 ? (mantissa << BigInt(e2)).toString() : (mantissa * 5n ** BigInt(-e2)).toString();
  const e10 = e2 >= 0 ? 0 : e2;
  const lead = digits.length - 1 + e10; // decimal exponent of the first digit
  const rounded = (precision: number): [bigint, number] => {
    if (digits.length <= precision) return [BigInt(digits) * 10n ** BigInt(precision - digits.length), lead];
    const keep = BigInt(digits.slice(0, precision));
    const rest = digits.slice(precision);
    const half = `5${'0'.repeat(rest.length - 1)}`;
    const up = rest > half || (rest === half && keep % 2n === 1n);
    const n = up ? keep + 1n : keep;
    return n === 10n ** BigInt(precision) ? [10n ** BigInt(precision - 1), lead + 1] : [n, lead];
  };
  const readsBack = (n: bigint, exponent: number, precision: number): boolean => {
    // D = n * 10^(exponent - precision + 1); is it inside x's rounding interval (ties to even)?
    const p = exponent - precision + 1;
    const mantissaBits = float ? 24 : 53;
    const top = biased === 0 ? mantissa.toString(2).length - 1 - 1074 : biased - 1023;
    let ulpExponent = top - (mantissaBits - 1);
    const minExponent = float ? -149 : -1074;
    if (ulpExponent < minExponent) ulpExponent = minExponent;
    // Scale by 2^k so that x and half its ulp are integers (a float32's low double bits are zeros).
    const k = Math.max(0, 1 - ulpExponent);
    const scaledX = e2 + k >= 0 ? mantissa << BigInt(e2 + k) : mantissa >> BigInt(-(e2 + k));
    const half = 1n << BigInt(ulpExponent - 1 + k);
    const powerOfTwo = x === 2 ** top && ulpExponent > minExponent;
    const below = powerOfTwo ? half / 2n : half;
    const even = (scaledX / (half * 2n)) % 2n === 0n;
    // Compare n * 10^p * 2^k with scaledX +- half using integers.
    const left = (scale: bigint): bigint => (p >= 0 ? n * 10n ** BigInt(p) * scale : n * scale);
    const right = (v: bigint): bigint => (p >= 0 ? v : v * 10n ** BigInt(-p));
    const d = left(1n << BigInt(k));
    const hi = right(scaledX + half);
    const lo = right(scaledX - below);
    return (d < hi || (d === hi && even)) && (d > lo || (d === lo && even));
  };
  const layout = (n: bigint, exponent: number, precision: number): string => {
    const text = n.toString().replace(/0+$/, '') || '0';
    if (exponent < -4 || exponent >= precision) {
      const mant = text.length > 1 ? `${text[0]}.${text.slice(1)}` : text;
      const magnitude = Math.abs(exponent);
      return `${mant}e${exponent < 0 ? '-' : '+'}${magnitude < 10 ? '0' : ''}${magnitude}`;
    }
    if (exponent < 0) return `0.${'0'.repeat(-exponent - 1)}${text}`;
    if (text.length <= exponent + 1) return `${text}${'0'.repeat(exponent + 1 - text.length)}.0`;
    return `${text.slice(0, exponent + 1)}.${text.slice(exponent + 1)}`;
  };
  const [n6, e6] = rounded(6);
  if (readsBack(n6, e6, 6)) return sign + layout(n6, e6, 6);
  const precision = float ? 9 : 17;
  const [n, e] = rounded(precision);
  return sign + layout(n, e, precision);
}

function random(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (Math.imul(state, 1664525) + 1013904223) >>> 0;
    return state / 2 ** 32;
  };
}

suite('float-format', () => {
  test('float32: the examples of TF Serving and glibc-checked texts', () => {
    for (const [value, text] of FLOAT32_GOLDEN) assert.equal(formatFloat32(value), text, String(value));
  });

  test('float64: glibc-checked texts, including ties at 17 digits and subnormals', () => {
    for (const [value, text] of FLOAT64_GOLDEN) assert.equal(formatFloat64(value), text, String(value));
  });

  test('non-finite values are bare tokens', () => {
    for (const format of [formatFloat32, formatFloat64]) {
      assert.equal(format(NaN), 'NaN');
      assert.equal(format(Infinity), 'Infinity');
      assert.equal(format(-Infinity), '-Infinity');
    }
    assert.equal(formatFloat32(1e39), 'Infinity'); // beyond float32: rounds to infinity first
  });

  test('0.1f prints as 0.1: the six-digit text reads back as the same float', () => {
    assert.equal(formatFloat32(Math.fround(0.1)), '0.1');
    assert.equal(formatFloat64(Math.fround(0.1)), '0.10000000149011612');
  });

  test('random floats and doubles match an exact BigInt reference', () => {
    const next = random(20240601);
    const view = new DataView(new ArrayBuffer(8));
    for (let i = 0; i < 3000; i++) {
      const pick = i % 4;
      let f: number;
      if (pick === 0) {
        view.setUint32(0, Math.floor(next() * 0x7f800000));
        f = view.getFloat32(0);
      } else if (pick === 1) {
        f = Math.fround(next());
      } else if (pick === 2) {
        f = Math.fround((next() - 0.5) * 10 ** Math.floor(next() * 40 - 20));
      } else {
        f = Math.fround(Math.round(next() * 2e6) / 2 ** Math.floor(next() * 8));
      }
      assert.equal(formatFloat32(f), referenceFormat(f, true), `float32 ${f}`);
      let d: number;
      if (pick === 0) {
        view.setUint32(0, Math.floor(next() * 0x7ff00000));
        view.setUint32(4, Math.floor(next() * 2 ** 32));
        d = view.getFloat64(0);
      } else if (pick === 1) {
        d = next();
      } else if (pick === 2) {
        d = (next() - 0.5) * 10 ** Math.floor(next() * 60 - 30);
      } else {
        d = Math.round(next() * 2e15) / 2 ** Math.floor(next() * 8);
      }
      assert.equal(formatFloat64(d), referenceFormat(d, false), `float64 ${d}`);
    }
  });

  test('writers put ASCII at an offset and return the end', () => {
    const out = new Uint8Array(2 + MAX_FLOAT_TEXT * 2);
    out[0] = 0x5b;
    let end = writeFloat32(out, 1, 0.5);
    out[end++] = 0x2c;
    end = writeFloat64(out, end, -2.2250738585072014e-308);
    assert.equal(Buffer.from(out.subarray(0, end)).toString('latin1'), '[0.5,-2.2250738585072014e-308');
    assert.ok(end - 5 <= MAX_FLOAT_TEXT);
  });
});

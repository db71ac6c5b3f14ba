/**
 * TF Serving's text for float and double tensor values (util/json_tensor.cc WriteDecimal): printf "%g"
 * (six significant digits) when that text reads back as the identical float/double, otherwise "%.9g"
 * (float) or "%.17g" (double); then ".0" is appended when the text has neither '.' nor 'e'. NaN and
 * ±infinity print as the bare tokens NaN, Infinity, -Infinity. Pure functions; `writeFloat32/64` put
 * the ASCII bytes straight into a caller's buffer (the JSON encoder's hot path), `formatFloat32/64`
 * return a string.
 *
 * printf rounds exact decimal ties to even while Number#toPrecision rounds them up, and a float read
 * back must be rounded once (decimal -> float), not twice (decimal -> double -> float). So the common
 * magnitudes are done with exact (or error-bounded) double arithmetic and no strings; the rest, and the
 * rare value too close to a rounding boundary to decide, go through toPrecision plus an exact BigInt
 * check. Verified against glibc printf/strtof/strtod on millions of values.
 */

import { F64, F64_WORDS, HALF_ULP64, HIGH_WORD, POW10, PRODUCT, twoProduct } from './numerics.js';

/** The longest text either writer produces ("-2.2250738585072014e-308" is 24 bytes). */
export const MAX_FLOAT_TEXT = 32;

const LOG10_2 = 0.30102999566398120;

const f32 = new Float32Array(1);
const f32Bits = new Uint32Array(f32.buffer);

// Half an ulp for each biased exponent of a normal float32.
const HALF_ULP32 = new Float64Array(256).map((_, e) => 2 ** (e - 151));

// Significant digits (ASCII) of the value being written, and the results of the digit generators.
const DIGITS = new Uint8Array(24);
let digitCount = 0;
let roundedValue = 0;
let roundedExponent = 0;
let scaledDistance = 0;
let distanceError = 0;
let distanceScale = 0;

const scratch = new Uint8Array(MAX_FLOAT_TEXT);

export function formatFloat32(value: number): string {
  return scratchText(writeFloat32(scratch, 0, value));
}

export function formatFloat64(value: number): string {
  return scratchText(writeFloat64(scratch, 0, value));
}

function scratchText(end: number): string {
  let text = '';
  for (let i = 0; i < end; i++) text += String.fromCharCode(scratch[i]!);
  return text;
}

/** Writes TF Serving's text for the float32 nearest `value` at out[pos]; returns the end. Needs MAX_FLOAT_TEXT bytes. */
export function writeFloat32(out: Uint8Array, pos: number, value: number): number {
  const x = Math.fround(value);
  if (x !== x) return writeAscii(out, pos, 'NaN');
  if (x === 0) return writeAscii(out, pos, 1 / x < 0 ? '-0.0' : '0.0');
  if (x < 0) {
    if (x === -Infinity) return writeAscii(out, pos, '-Infinity');
    out[pos++] = 45;
    return writePositiveFloat32(out, pos, -x);
  }
  if (x === Infinity) return writeAscii(out, pos, 'Infinity');
  return writePositiveFloat32(out, pos, x);
}

/** Writes TF Serving's text for the double `value` at out[pos]; returns the end. Needs MAX_FLOAT_TEXT bytes. */
export function writeFloat64(out: Uint8Array, pos: number, value: number): number {
  if (value !== value) return writeAscii(out, pos, 'NaN');
  if (value === 0) return writeAscii(out, pos, 1 / value < 0 ? '-0.0' : '0.0');
  if (value < 0) {
    if (value === -Infinity) return writeAscii(out, pos, '-Infinity');
    out[pos++] = 45;
    return writePositiveFloat64(out, pos, -value);
  }
  if (value === Infinity) return writeAscii(out, pos, 'Infinity');
  return writePositiveFloat64(out, pos, value);
}

function writeAscii(out: Uint8Array, pos: number, text: string): number {
  for (let i = 0; i < text.length; i++) out[pos++] = text.charCodeAt(i);
  return pos;
}

function writePositiveFloat32(out: Uint8Array, pos: number, x: number): number {
  f32[0] = x;
  const bits = f32Bits[0]!;
  const biased = bits >>> 23;
  if (biased !== 0) {
    // floor((e2) * log10 2) is floor(log10 x) or one less; the digit generators correct it upwards.
    const estimate = Math.floor((biased - 127) * LOG10_2);
    if (roundFloat32(x, estimate, 6) && scaledDistance === scaledDistance) {
      const halfAbove = HALF_ULP32[biased]! * distanceScale;
      // Below a power of two the next float is half as far away.
      const halfBelow = (bits & 0x7fffff) === 0 && biased > 1 ? halfAbove / 2 : halfAbove;
      const d = scaledDistance;
      const gap = d >= 0 ? d - halfAbove : -d - halfBelow;
      if (gap > distanceError || gap < -distanceError) {
        if (gap < 0 || (gap === 0 && (bits & 1) === 0)) {
          setDigitsFromNumber(roundedValue, 6);
          return layout(out, pos, roundedExponent, 6);
        }
        if (roundFloat32(x, estimate, 9)) {
          setDigitsFromNumber(roundedValue, 9);
          return layout(out, pos, roundedExponent, 9);
        }
      }
    }
  }
  // Outside the ranges above, or too close to a boundary to decide with doubles.
  let exponent = precisionDigits(x, 6);
  if (decimalToFloat32(exponent - 5) === x) {
    stripDigits();
    return layout(out, pos, exponent, 6);
  }
  exponent = precisionDigits(x, 9);
  stripDigits();
  return layout(out, pos, exponent, 9);
}

/**
 * Rounds the float x > 0 to `precision` significant digits, ties to even: roundedValue (an integer
 * with `precision` digits) times 10^(roundedExponent - precision + 1). Also leaves the distance from
 * that decimal to x (NaN when unknown), in units where x's ulp is distanceScale times its own size,
 * with its error bound. False when the magnitude is out of reach or a tie cannot be decided.
 */
function roundFloat32(x: number, estimate: number, precision: number): boolean {
  const top = POW10[precision]!;
  const bottom = POW10[precision - 1]!;
  let exponent = estimate;
  if (exponent < precision - 1) {
    let k = precision - 1 - exponent;
    if (k > 22) return false;
    let scaled = x * POW10[k]!;
    if (scaled >= top) {
      k--;
      exponent++;
      scaled = x * POW10[k]!;
    }
    // Exact while 24 bits times 5^k fit a double (k <= 12); beyond, off by at most half an ulp.
    const error = k > 12 ? scaled * 2.3e-16 : 0;
    if (error > 0 && (scaled - bottom <= error || top - scaled <= error)) return false;
    let n = Math.floor(scaled);
    const fraction = scaled - n;
    if (error > 0 && fraction - 0.5 <= error && 0.5 - fraction <= error) return false;
    if (fraction > 0.5 || (fraction === 0.5 && (n & 1) === 1)) n++;
    scaledDistance = n - scaled;
    distanceError = error;
    distanceScale = POW10[k]!;
    setRounded(n, exponent, precision);
    return true;
  }
  let j = exponent - (precision - 1);
  if (j > 21) return false;
  let step = POW10[j]!;
  let remainder = x % step;
  let q = Math.round((x - remainder) / step);
  if (q >= top) {
    j++;
    exponent++;
    step = POW10[j]!;
    remainder = x % step;
    q = Math.round((x - remainder) / step);
  }
  // fmod is exact, so is comparing the remainder with half a step.
  const half = step / 2;
  const n = remainder > half || (remainder === half && (q & 1) === 1) ? q + 1 : q;
  // n * 10^j is exact up to j = 14 (20 bits times 5^14), and so is its distance to x (Sterbenz).
  scaledDistance = j <= 14 ? n * step - x : NaN;
  distanceError = 0;
  distanceScale = 1;
  setRounded(n, exponent, precision);
  return true;
}

function setRounded(n: number, exponent: number, precision: number): void {
  if (n >= POW10[precision]!) {
    roundedValue = n / 10;
    roundedExponent = exponent + 1;
  } else {
    roundedValue = n;
    roundedExponent = exponent;
  }
}

function writePositiveFloat64(out: Uint8Array, pos: number, x: number): number {
  F64[0] = x;
  const high = F64_WORDS[HIGH_WORD]!;
  const biased = high >>> 20;
  let exponent = Math.floor((biased - 1023) * LOG10_2);
  if (biased !== 0 && exponent >= -6 && exponent <= 16) {
    // x * 10^m as an exact double-double hi + lo, scaled into [1e16, 1e17): 17 digits.
    let m = 16 - exponent;
    twoProduct(x, POW10[m]!);
    if (PRODUCT[0]! > 1e17 || (PRODUCT[0]! === 1e17 && PRODUCT[1]! >= 0)) {
      exponent++;
      m--;
      if (m >= 0) twoProduct(x, POW10[m]!);
    }
    if (m >= 0) {
      const hi = PRODUCT[0]!; // an even integer: hi >= 1e16 > 2^53
      const lo = PRODUCT[1]!; // |lo| <= 8
      const halfAbove = HALF_ULP64[biased]! * POW10[m]!;
      const halfBelow = (high & 0xfffff) === 0 && F64_WORDS[1 - HIGH_WORD] === 0 && biased > 1 ? halfAbove / 2 : halfAbove;
      // Six digits: hi + lo = q6 * 1e11 + remainder + lo.
      let q6 = Math.floor(hi / 1e11);
      let remainder = hi - q6 * 1e11;
      if (remainder < 0) {
        q6--;
        remainder += 1e11;
      } else if (remainder >= 1e11) {
        q6++;
        remainder -= 1e11;
      }
      const overHalf = remainder - 5e10;
      const n6 = overHalf > -lo || (overHalf === -lo && (q6 & 1) === 1) ? q6 + 1 : q6;
      const diff = n6 * 1e11 - hi;
      let decided = true;
      let roundTrips = false;
      if (diff <= 32 && diff >= -32) {
        const d = diff - lo;
        const gap = d >= 0 ? d - halfAbove : -d - halfBelow;
        if (gap > 1e-9 || gap < -1e-9) roundTrips = gap < 0;
        else decided = false;
      }
      if (decided) {
        if (roundTrips) {
          setRounded(n6, exponent, 6);
          setDigitsFromNumber(roundedValue, 6);
          return layout(out, pos, roundedExponent, 6);
        }
        // Seventeen digits: hi + round-half-even(lo), kept as 9 + 8 digits (above 2^53 as one number).
        const floorLo = Math.floor(lo);
        const fraction = lo - floorLo;
        const carry = fraction > 0.5 || (fraction === 0.5 && (floorLo & 1) !== 0) ? floorLo + 1 : floorLo;
        let upper = Math.floor(hi / 1e8);
        let lower = hi - upper * 1e8 + carry;
        while (lower < 0) {
          upper--;
          lower += 1e8;
        }
        while (lower >= 1e8) {
          upper++;
          lower -= 1e8;
        }
        if (upper >= 1e9) {
          setDigitsFromNumber(1e8, 9);
          return layout(out, pos, exponent + 1, 17);
        }
        setDigitsFromParts(upper, lower);
        return layout(out, pos, exponent, 17);
      }
    }
  }
  exponent = precisionDigits(x, 6);
  if (Number(`${digitsText()}e${exponent - 5}`) === x) {
    stripDigits();
    return layout(out, pos, exponent, 6);
  }
  exponent = precisionDigits(x, 17);
  stripDigits();
  return layout(out, pos, exponent, 17);
}

/** DIGITS := the decimal digits of n (exactly `precision` <= 9 of them) without trailing zeros. */
function setDigitsFromNumber(value: number, precision: number): void {
  // Below 2^31, so int32 arithmetic: a double % or / per digit would cost a libm call each.
  let n = value | 0;
  let count = precision;
  let q = (n / 10) | 0;
  while (n - q * 10 === 0) {
    n = q;
    q = (n / 10) | 0;
    count--;
  }
  writeDigits(n, count - 1, count);
  digitCount = count;
}

/** DIGITS := upper (9 digits) followed by lower (8 digits, zero padded), without trailing zeros. */
function setDigitsFromParts(upper: number, lower: number): void {
  if (lower === 0) {
    setDigitsFromNumber(upper, 9);
    return;
  }
  let n = lower | 0;
  let count = 17;
  let q = (n / 10) | 0;
  while (n - q * 10 === 0) {
    n = q;
    q = (n / 10) | 0;
    count--;
  }
  writeDigits(n, count - 1, count - 9);
  writeDigits(upper | 0, 8, 9);
  digitCount = count;
}

/** DIGITS[last - length + 1 .. last] := the `length` low decimal digits of the int32 n. */
function writeDigits(n: number, last: number, length: number): void {
  for (let i = last; i > last - length; i--) {
    const q = (n / 10) | 0;
    DIGITS[i] = 48 + n - q * 10;
    n = q;
  }
}

function stripDigits(): void {
  while (digitCount > 1 && DIGITS[digitCount - 1] === 48) digitCount--;
}

function digitsText(): string {
  let text = '';
  for (let i = 0; i < digitCount; i++) text += String.fromCharCode(DIGITS[i]!);
  return text;
}

/** printf's %g layout of DIGITS (first digit at 10^exponent) with TF Serving's ".0" for integers. */
function layout(out: Uint8Array, pos: number, exponent: number, precision: number): number {
  const count = digitCount;
  if (exponent < -4 || exponent >= precision) {
    out[pos++] = DIGITS[0]!;
    if (count > 1) {
      out[pos++] = 46;
      for (let i = 1; i < count; i++) out[pos++] = DIGITS[i]!;
    }
    out[pos++] = 101;
    let magnitude = exponent;
    if (exponent < 0) {
      out[pos++] = 45;
      magnitude = -exponent;
    } else {
      out[pos++] = 43;
    }
    if (magnitude >= 100) {
      const hundreds = Math.floor(magnitude / 100);
      out[pos++] = 48 + hundreds;
      magnitude -= hundreds * 100;
    }
    const tens = Math.floor(magnitude / 10);
    out[pos++] = 48 + tens;
    out[pos++] = 48 + magnitude - tens * 10;
    return pos;
  }
  if (exponent < 0) {
    out[pos++] = 48;
    out[pos++] = 46;
    for (let i = -1; i > exponent; i--) out[pos++] = 48;
    for (let i = 0; i < count; i++) out[pos++] = DIGITS[i]!;
    return pos;
  }
  if (count <= exponent + 1) {
    for (let i = 0; i < count; i++) out[pos++] = DIGITS[i]!;
    for (let i = count; i <= exponent; i++) out[pos++] = 48;
    out[pos++] = 46;
    out[pos++] = 48;
    return pos;
  }
  for (let i = 0; i <= exponent; i++) out[pos++] = DIGITS[i]!;
  out[pos++] = 46;
  for (let i = exponent + 1; i < count; i++) out[pos++] = DIGITS[i]!;
  return pos;
}

/**
 * DIGITS := `precision` correctly rounded significant digits of x > 0, ties to even as glibc's printf;
 * returns the decimal exponent of the first. toPrecision is exact but rounds ties up, so a suspected
 * tie is confirmed with exact arithmetic.
 */
function precisionDigits(x: number, precision: number): number {
  const text = x.toPrecision(precision);
  let exponent = 0;
  let end = text.indexOf('e');
  if (end >= 0) exponent = Number(text.slice(end + 1));
  else end = text.length;
  let integerLength = end;
  let leadingZeros = 0;
  let seenNonZero = false;
  let count = 0;
  for (let i = 0; i < end; i++) {
    const c = text.charCodeAt(i);
    if (c === 46) {
      integerLength = i;
    } else if (c === 48 && !seenNonZero) {
      leadingZeros++;
    } else {
      seenNonZero = true;
      DIGITS[count++] = c;
    }
  }
  digitCount = count;
  exponent += integerLength - 1 - leadingZeros;
  const last = DIGITS[count - 1]! - 48;
  if (last % 2 === 1) {
    DIGITS[count - 1] = 48 + last - 1;
    const below = digitsText();
    if (!(Number(`${below}5e${exponent - precision}`) === x && compareDecimal(`${below}5`, exponent - precision, x) === 0)) {
      DIGITS[count - 1] = 48 + last;
    }
  }
  return exponent;
}

/** The float32 that DIGITS * 10^exponent reads as: one correct rounding, like strtof. */
function decimalToFloat32(exponent: number): number {
  const digits = digitsText();
  const d = Number(`${digits}e${exponent}`);
  const f = Math.fround(d);
  if (f === d || !Number.isFinite(f)) return f;
  // Rounding through a double can only go wrong when that double is a float32 midpoint.
  f32[0] = f;
  f32Bits[0] = d > f ? f32Bits[0]! + 1 : f32Bits[0]! - 1;
  const neighbour = f32[0]!;
  if ((f + neighbour) / 2 !== d) return f;
  const side = compareDecimal(digits, exponent, d);
  if (side === 0) {
    f32[0] = f;
    return (f32Bits[0]! & 1) === 0 ? f : neighbour;
  }
  return side > 0 === neighbour > f ? neighbour : f;
}

/** Sign of digits * 10^exponent - x, computed exactly, for a finite double x > 0. */
function compareDecimal(digits: string, exponent: number, x: number): number {
  F64[0] = x;
  const high = F64_WORDS[HIGH_WORD]!;
  const biased = high >>> 20;
  let mantissa = (BigInt(high & 0xfffff) << 32n) | BigInt(F64_WORDS[1 - HIGH_WORD]!);
  if (biased !== 0) mantissa |= 1n << 52n;
  const binaryExponent = (biased === 0 ? 1 : biased) - 1075;
  let left = BigInt(digits);
  let right = mantissa;
  if (exponent >= 0) left *= 10n ** BigInt(exponent);
  else right *= 10n ** BigInt(-exponent);
  if (binaryExponent >= 0) right <<= BigInt(binaryExponent);
  else left <<= BigInt(-binaryExponent);
  return left > right ? 1 : left < right ? -1 : 0;
}

/**
 * The exact-arithmetic pieces TF Serving's JSON needs in both directions — reading decimal literals
 * into correctly rounded doubles (parse.ts) and writing the shortest round-tripping text
 * (float-format.ts): exact powers of ten, Dekker's error-free product, and the bits of a double.
 */

/** 1e0..1e22: every one an exact double, so a product or quotient with one is correctly rounded. */
export const POW10 = new Float64Array(23).map((_, i) => 10 ** i);

const SPLITTER = 134217729; // 2^27 + 1, Dekker's split of a double into two 26-bit halves

/** twoProduct's result: [high, low]. A typed array, since hot loops read it (cheaper than exports). */
export const PRODUCT = new Float64Array(2);

/** Dekker's exact product a * b = PRODUCT[0] + PRODUCT[1]. */
export function twoProduct(a: number, b: number): void {
  const p = a * b;
  let t = SPLITTER * a;
  const ah = t - (t - a);
  const al = a - ah;
  t = SPLITTER * b;
  const bh = t - (t - b);
  const bl = b - bh;
  PRODUCT[0] = p;
  PRODUCT[1] = ah * bh - p + ah * bl + al * bh + al * bl;
}

/** Write a double to F64[0], read its 32-bit words from F64_WORDS (the sign and exponent at HIGH_WORD). */
export const F64 = new Float64Array(1);
export const F64_WORDS = new Uint32Array(F64.buffer);
export const HIGH_WORD = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1 ? 1 : 0;

/** Half an ulp of a double by its biased exponent; subnormals (0) share the smallest normal's. */
export const HALF_ULP64 = new Float64Array(2048).map((_, e) => 2 ** (Math.max(e, 1) - 1076));

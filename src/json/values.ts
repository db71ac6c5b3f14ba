/** What TF Serving's JSON layers share about values: b64 objects, base64, rapidjson's type names. */
import type { JsonValue } from './parse.js';

/** TF Serving's IsValBase64Object: exactly one member, `b64`, whose value is a string. */
export function isBase64Object(value: JsonValue): boolean {
  if (value.kind !== 'object' || value.members.size !== 1) return false;
  return value.members.get('b64')?.kind === 'string';
}

/** rapidjson's type names as TF Serving prints them (JsonTypeString). */
export function jsonTypeName(value: JsonValue): string {
  switch (value.kind) {
    case 'null':
      return 'Null';
    case 'bool':
      return value.value ? 'True' : 'False';
    case 'number':
      return 'Number';
    case 'string':
      return 'String';
    case 'array':
    case 'numbers':
      return 'Array';
    case 'object':
      return 'Object';
  }
}

/** absl::Base64Unescape: standard alphabet, whitespace skipped, '=' (or '.') padding optional but exact. */
const BASE64_VALUES = new Int8Array(256).fill(-1);
for (let i = 0; i < 64; i++) {
  BASE64_VALUES['ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/'.charCodeAt(i)] = i;
}

function isAsciiSpace(c: number): boolean {
  return c === 0x20 || (c >= 0x09 && c <= 0x0d);
}

export function decodeBase64(text: Uint8Array): Uint8Array | null {
  const out = new Uint8Array(Math.floor((text.length * 3) / 4) + 3);
  let size = 0;
  let quantum = 0;
  let sextets = 0;
  let i = 0;
  for (; i < text.length; i++) {
    const c = text[i]!;
    const v = BASE64_VALUES[c]!;
    if (v >= 0) {
      quantum = (quantum << 6) | v;
      if (++sextets === 4) {
        out[size++] = quantum >>> 16;
        out[size++] = (quantum >>> 8) & 0xff;
        out[size++] = quantum & 0xff;
        quantum = 0;
        sextets = 0;
      }
    } else if (c === 0x3d || c === 0x2e) {
      break;
    } else if (!isAsciiSpace(c)) {
      return null;
    }
  }
  let expectedPadding = 0;
  if (sextets === 1) return null;
  if (sextets === 2) {
    out[size++] = (quantum >>> 4) & 0xff;
    expectedPadding = 2;
  } else if (sextets === 3) {
    out[size++] = (quantum >>> 10) & 0xff;
    out[size++] = (quantum >>> 2) & 0xff;
    expectedPadding = 1;
  }
  let padding = 0;
  for (; i < text.length; i++) {
    const c = text[i]!;
    if (c === 0x3d || c === 0x2e) padding++;
    else if (!isAsciiSpace(c)) return null;
  }
  if (padding !== 0 && padding !== expectedPadding) return null;
  return out.subarray(0, size);
}


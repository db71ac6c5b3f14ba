/**
 * rapidjson's PrettyWriter as TF Serving configures it (4-space indent, kFormatSingleLineArray for rows),
 * over one growing Buffer: every JSON answer tfserve writes in TF Serving's layout goes through it.
 * Strings are written as raw bytes (rapidjson does not validate UTF-8 unless asked).
 */
import { MAX_FLOAT_TEXT, writeFloat32, writeFloat64 } from './float-format.js';

const HEX_DIGITS = '0123456789ABCDEF';
// rapidjson's escapes: control characters, '"' and '\'; 0 = copy the byte as it is.
const ESCAPES = new Uint8Array(256);
for (let c = 0; c < 0x20; c++) ESCAPES[c] = 0x75; // \u00XX
ESCAPES[0x08] = 0x62;
ESCAPES[0x09] = 0x74;
ESCAPES[0x0a] = 0x6e;
ESCAPES[0x0c] = 0x66;
ESCAPES[0x0d] = 0x72;
ESCAPES[0x22] = 0x22;
ESCAPES[0x5c] = 0x5c;

/**
 * rapidjson's PrettyWriter (4-space indent) over a growing Buffer, including its kFormatSingleLineArray
 * mode that TF Serving switches on for each row.
 */
export class PrettyWriter {
  #buf: Buffer;
  #pos = 0;
  readonly #inArray: boolean[] = [];
  readonly #counts: number[] = [];
  singleLine = false;
  /**
   * tfserve's own answers (the image route's labels) also keep objects on one line; TF Serving's never
   * do, so this is separate from singleLine.
   */
  singleLineObjects = false;

  constructor(capacity: number) {
    this.#buf = Buffer.allocUnsafe(Math.max(256, capacity));
  }

  finish(): Buffer {
    return this.#buf.subarray(0, this.#pos);
  }

  /** Room for `bytes` more bytes. */
  reserve(bytes: number): Buffer {
    if (this.#pos + bytes > this.#buf.length) {
      const bigger = Buffer.allocUnsafe(Math.max(this.#buf.length * 2, this.#pos + bytes));
      this.#buf.copy(bigger, 0, 0, this.#pos);
      this.#buf = bigger;
    }
    return this.#buf;
  }

  get pos(): number {
    return this.#pos;
  }

  set pos(pos: number) {
    this.#pos = pos;
  }

  /** What rapidjson writes before a value or key: separators, newline and indentation. */
  prefix(): void {
    const depth = this.#counts.length;
    if (depth === 0) return;
    const count = this.#counts[depth - 1]!;
    const buf = this.reserve(3 + depth * 4);
    let pos = this.#pos;
    if (this.#inArray[depth - 1]) {
      if (count > 0) {
        buf[pos++] = 0x2c;
        if (this.singleLine) buf[pos++] = 0x20;
      }
      if (!this.singleLine) pos = newline(buf, pos, depth);
    } else if (count % 2 === 1) {
      buf[pos++] = 0x3a;
      buf[pos++] = 0x20;
    } else if (this.singleLineObjects) {
      if (count > 0) {
        buf[pos++] = 0x2c;
        buf[pos++] = 0x20;
      }
    } else {
      if (count > 0) buf[pos++] = 0x2c;
      pos = newline(buf, pos, depth);
    }
    this.#counts[depth - 1] = count + 1;
    this.#pos = pos;
  }

  startArray(): void {
    this.prefix();
    this.#byte(0x5b);
    this.#inArray.push(true);
    this.#counts.push(0);
  }

  endArray(): void {
    this.#inArray.pop();
    const empty = this.#counts.pop() === 0;
    if (!empty && !this.singleLine) this.#pos = newline(this.reserve(1 + this.#counts.length * 4), this.#pos, this.#counts.length);
    this.#byte(0x5d);
  }

  startObject(): void {
    this.prefix();
    this.#byte(0x7b);
    this.#inArray.push(false);
    this.#counts.push(0);
  }

  endObject(): void {
    this.#inArray.pop();
    const empty = this.#counts.pop() === 0;
    if (!empty && !this.singleLineObjects) this.#pos = newline(this.reserve(1 + this.#counts.length * 4), this.#pos, this.#counts.length);
    this.#byte(0x7d);
  }

  key(name: string): void {
    this.prefix();
    this.stringBytes(Buffer.from(name, 'utf8'));
  }

  raw(text: string): void {
    this.prefix();
    const buf = this.reserve(text.length);
    this.#pos += buf.write(text, this.#pos, 'latin1');
  }

  /** A JSON string of raw bytes (not validated as UTF-8, as rapidjson without kWriteValidateEncodingFlag). */
  stringBytes(bytes: Uint8Array): void {
    const buf = this.reserve(bytes.length * 6 + 2);
    let pos = this.#pos;
    buf[pos++] = 0x22;
    for (let i = 0; i < bytes.length; i++) {
      const c = bytes[i]!;
      const escape = ESCAPES[c]!;
      if (escape === 0) {
        buf[pos++] = c;
      } else {
        buf[pos++] = 0x5c;
        buf[pos++] = escape;
        if (escape === 0x75) {
          buf[pos++] = 0x30;
          buf[pos++] = 0x30;
          buf[pos++] = HEX_DIGITS.charCodeAt(c >> 4);
          buf[pos++] = HEX_DIGITS.charCodeAt(c & 15);
        }
      }
    }
    buf[pos++] = 0x22;
    this.#pos = pos;
  }

  float32(value: number): void {
    this.prefix();
    this.#pos = writeFloat32(this.reserve(MAX_FLOAT_TEXT), this.#pos, value);
  }

  float64(value: number): void {
    this.prefix();
    this.#pos = writeFloat64(this.reserve(MAX_FLOAT_TEXT), this.#pos, value);
  }

  string(text: string): void {
    this.prefix();
    this.stringBytes(Buffer.from(text, 'utf8'));
  }

  #byte(c: number): void {
    this.reserve(1)[this.#pos++] = c;
  }
}

function newline(buf: Buffer, pos: number, depth: number): number {
  buf[pos++] = 0x0a;
  for (let i = depth * 4; i > 0; i--) buf[pos++] = 0x20;
  return pos;
}


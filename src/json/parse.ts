/**
 * JSON text -> a compact DOM, with the rules of rapidjson as TF Serving configures it
 * (kParseIterativeFlag | kParseNanAndInfFlag | kParseStopWhenDoneFlag): NaN, Inf, Infinity, -Inf and
 * -Infinity are numbers; whatever follows the top-level value is ignored; a repeated object key keeps
 * its first value; strings keep their raw bytes (UTF-8 is not validated); nesting depth is unlimited
 * (no recursion anywhere). Errors are TfServeError INVALID_ARGUMENT with rapidjson's English texts and
 * byte offsets: "JSON Parse error: Invalid value. at offset: 0".
 *
 * Arrays whose elements are all numbers, or all equally shaped such arrays, become one `numbers` node:
 * a shape plus a Float64Array of the values in row-major order, so a 224x224x3 image is one node, not
 * 150,528 boxed values. Integer literals stay exact (a bigint beside the double above 2^53) and each
 * value remembers whether its literal was an integer, which TF Serving's int dtypes require.
 *
 * Synchronous and pure; the DOM may share memory with the input (string bytes are views of it).
 */
import { TfServeError } from '../model/errors.js';
import { formatFloat32, formatFloat64 } from './float-format.js';
import { F64, F64_WORDS, HALF_ULP64, HIGH_WORD, POW10, PRODUCT, twoProduct } from './numerics.js';

export type JsonValue = JsonNull | JsonBoolean | JsonNumber | JsonString | JsonArray | JsonNumbers | JsonObject;

export interface JsonNull {
  readonly kind: 'null';
}

export interface JsonBoolean {
  readonly kind: 'bool';
  readonly value: boolean;
}

export interface JsonNumber {
  readonly kind: 'number';
  /** The value as a double (NaN and ±Infinity included). */
  readonly value: number;
  /** The literal was an integer fitting int64 or uint64 (rapidjson's integer types): `1` is, `1.0` is not. */
  readonly integer: boolean;
  /** The exact value of an integer literal beyond ±(2^53 - 1); null otherwise. */
  readonly exact: bigint | null;
}

export interface JsonString {
  readonly kind: 'string';
  /** The raw bytes, escapes decoded. */
  readonly bytes: Uint8Array;
}

export interface JsonArray {
  readonly kind: 'array';
  readonly items: readonly JsonValue[];
}

/** A (nested) array of numbers only, all sub-arrays of a level of equal length. */
export interface JsonNumbers {
  readonly kind: 'numbers';
  /** Its nesting: [3] for [1, 2, 3], [2, 0] for [[], []]. */
  readonly shape: readonly number[];
  /** The numbers in row-major order. */
  readonly values: Float64Array;
  /** 1 where the literal was an integer (see JsonNumber.integer). */
  readonly integers: Uint8Array;
  /** How many of `integers` are 1. */
  readonly integerCount: number;
  /** Exact values of the integers beyond ±(2^53 - 1), by index; null when there are none. */
  readonly exact: ReadonlyMap<number, bigint> | null;
}

export interface JsonObject {
  readonly kind: 'object';
  /** Members in document order; a repeated key keeps its first value. */
  readonly members: ReadonlyMap<string, JsonValue>;
}

export const JSON_NULL: JsonNull = Object.freeze({ kind: 'null' });
export const JSON_TRUE: JsonBoolean = Object.freeze({ kind: 'bool', value: true });
export const JSON_FALSE: JsonBoolean = Object.freeze({ kind: 'bool', value: false });

/** The number of elements of an array node (either kind). */
export function arrayLength(node: JsonArray | JsonNumbers): number {
  return node.kind === 'array' ? node.items.length : node.shape[0]!;
}

/** Element `index` of a `numbers` node with a single dimension, as a scalar node. */
export function numberAt(node: JsonNumbers, index: number): JsonNumber {
  return {
    kind: 'number',
    value: node.values[index]!,
    integer: node.integers[index] === 1,
    exact: node.exact?.get(index) ?? null,
  };
}

/** The string's bytes decoded as UTF-8 (invalid sequences become U+FFFD). */
export function stringText(node: JsonString): string {
  return Buffer.from(node.bytes.buffer, node.bytes.byteOffset, node.bytes.byteLength).toString('utf8');
}

/** Parses a request body. Throws TfServeError INVALID_ARGUMENT with TF Serving's "JSON Parse error: …" texts. */
/**
 * A bulk reader of rectangular nests of plain numbers (native/json_numbers.h): the values exactly as
 * this parser makes them, or null to let this parser read the nest itself.
 */
export type DenseNumberScanner = (
  bytes: Uint8Array,
  start: number,
) => [end: number, shape: number[], values: Float64Array, integers: Uint8Array, integerCount: number] | null;

export interface ParseOptions {
  /**
   * Reads big number nests in one native pass (the server passes the addon's); without one everything
   * is parsed in TypeScript, as a process without the addon (the REST client) does.
   */
  readonly numberScanner?: DenseNumberScanner | null;
}

export function parseJson(body: Uint8Array | string, options: ParseOptions = {}): JsonValue {
  const bytes =
    typeof body === 'string'
      ? Buffer.from(body, 'utf8')
      : Buffer.isBuffer(body)
        ? body
        : Buffer.from(body.buffer, body.byteOffset, body.byteLength);
  // TF Serving checks for an empty body itself, before rapidjson, hence no period and no offset.
  if (bytes.length === 0) throw new TfServeError('INVALID_ARGUMENT', 'JSON Parse error: The document is empty');
  return new JsonParser(bytes, options.numberScanner ?? null).parse();
}

// Parser states, named after rapidjson's IterativeParsingState.
const START = 0;
const ARRAY_INITIAL = 1;
const ELEMENT_DELIMITER = 2;
const ELEMENT = 3;
const OBJECT_INITIAL = 4;
const MEMBER_DELIMITER = 5;
const MEMBER_KEY = 6;
const KEY_VALUE_DELIMITER = 7;
const MEMBER_VALUE = 8;

// What rapidjson reports when the input ends or an unexpected token arrives in each state.
const STATE_ERRORS: readonly string[] = [
  'The document is empty.',
  'Invalid value.',
  'Invalid value.',
  "Missing a comma or ']' after an array element.",
  'Missing a name for object member.',
  'Missing a name for object member.',
  'Missing a colon after a name of object member.',
  'Invalid value.',
  "Missing a comma or '}' after an object member.",
];

const QUOTE = 0x22;
const COMMA = 0x2c;
const COLON = 0x3a;
const BACKSLASH = 0x5c;
const LEFT_BRACKET = 0x5b;
const RIGHT_BRACKET = 0x5d;
const LEFT_BRACE = 0x7b;
const RIGHT_BRACE = 0x7d;

// Deeper equally-shaped numeric nesting stays as ordinary array nodes (TF allows 254 dims anyway), which
// keeps merging linear for absurdly deep documents.
const MAX_DENSE_RANK = 64;
// The native scanner is asked about arrays with at least this many bytes after them, and stops
// being asked in a document after this many arrays it declined or found smaller than worth a call.
const SCANNER_MIN_BYTES = 1024;
const SCANNER_MIN_VALUES = 64;
const SCANNER_MAX_MISSES = 8;
const MAX_SAFE = Number.MAX_SAFE_INTEGER;
const INT64_MAGNITUDE = 2n ** 63n;
const UINT64_MAX = 2n ** 64n - 1n;

const SIMPLE_ESCAPES = new Int16Array(256).fill(-1);
SIMPLE_ESCAPES[QUOTE] = QUOTE;
SIMPLE_ESCAPES[BACKSLASH] = BACKSLASH;
SIMPLE_ESCAPES[0x2f] = 0x2f;
SIMPLE_ESCAPES[0x62] = 0x08;
SIMPLE_ESCAPES[0x66] = 0x0c;
SIMPLE_ESCAPES[0x6e] = 0x0a;
SIMPLE_ESCAPES[0x72] = 0x0d;
SIMPLE_ESCAPES[0x74] = 0x09;

function parseError(text: string, offset: number): TfServeError {
  return new TfServeError('INVALID_ARGUMENT', `JSON Parse error: ${text} at offset: ${offset}`);
}

/** One open array or object. Frames are reused by depth, so innermost arrays allocate nothing. */
class Frame {
  isObject = false;
  /** Array still all numbers (count scalars) or all equal blocks (count blocks of blockShape). */
  dense = true;
  start = 0;
  integerStart = 0;
  exactStart = 0;
  count = 0;
  blockShape: number[] | null = null;
  items: JsonValue[] | null = null;
  members: Map<string, JsonValue> | null = null;
  key = '';
}

class JsonParser {
  readonly #buf: Buffer;
  #pos = 0;
  readonly #stack: Frame[] = [];
  #depth = -1;
  #root: JsonValue | null = null;
  // The pool: every number of a still-dense array, in document order. Dense nodes are views of it.
  // Sized for the body (a number takes two bytes at least, "1,"), so that a small request does not
  // pay for zero-filling 9 KiB; it grows by doubling.
  #values: Float64Array;
  #integers: Uint8Array;
  #size = 0;
  #integerTotal = 0;
  readonly #exact = new Map<number, bigint>();
  // The number just scanned.
  #number = 0;
  #numberInteger = false;
  #numberExact: bigint | null = null;

  // The native scanner while it pays: a call costs about a microsecond, what TypeScript spends on
  // ~15 numbers, so a document whose arrays are small or not numeric stops asking it.
  #scanner: DenseNumberScanner | null;
  #scannerMisses = 0;

  constructor(buf: Buffer, scanner: DenseNumberScanner | null) {
    this.#buf = buf;
    this.#scanner = scanner;
    const capacity = Math.min(1024, (buf.length >> 1) + 1);
    this.#values = new Float64Array(capacity);
    this.#integers = new Uint8Array(capacity);
  }

  parse(): JsonValue {
    const buf = this.#buf;
    const length = buf.length;
    // rapidjson's UTF-8 memory stream skips each byte of a byte order mark; offsets still count them.
    let pos = 0;
    if (buf[pos] === 0xef) pos++;
    if (buf[pos] === 0xbb) pos++;
    if (buf[pos] === 0xbf) pos++;
    let state = START;
    for (;;) {
      let c = pos < length ? buf[pos]! : 0;
      while (c === 0x20 || c === 0x0a || c === 0x0d || c === 0x09) c = ++pos < length ? buf[pos]! : 0;
      // rapidjson stops at a NUL byte as at the end of the input.
      if (c === 0) throw parseError(STATE_ERRORS[state]!, pos);
      let done = false;
      switch (state) {
        case ELEMENT:
          if (c === COMMA) {
            pos++;
            state = ELEMENT_DELIMITER;
            continue;
          }
          if (c !== RIGHT_BRACKET) throw parseError(STATE_ERRORS[state]!, pos);
          pos++;
          done = this.#closeArray();
          break;
        case MEMBER_VALUE:
          if (c === COMMA) {
            pos++;
            state = MEMBER_DELIMITER;
            continue;
          }
          if (c !== RIGHT_BRACE) throw parseError(STATE_ERRORS[state]!, pos);
          pos++;
          done = this.#closeObject();
          break;
        case OBJECT_INITIAL:
        case MEMBER_DELIMITER:
          if (c === RIGHT_BRACE && state === OBJECT_INITIAL) {
            pos++;
            done = this.#closeObject();
            break;
          }
          if (c !== QUOTE) throw parseError(STATE_ERRORS[state]!, pos);
          this.#pos = pos;
          this.#stack[this.#depth]!.key = this.#parseKey();
          pos = this.#pos;
          state = MEMBER_KEY;
          continue;
        case MEMBER_KEY:
          if (c !== COLON) throw parseError(STATE_ERRORS[state]!, pos);
          pos++;
          state = KEY_VALUE_DELIMITER;
          continue;
        default:
          // START, ARRAY_INITIAL, ELEMENT_DELIMITER, KEY_VALUE_DELIMITER: a value is expected.
          if (c === LEFT_BRACKET) {
            if (this.#scanner !== null && length - pos >= SCANNER_MIN_BYTES && this.#scanDense(pos)) {
              pos = this.#pos;
              done = this.#closeArray();
              break;
            }
            pos++;
            this.#openArray();
            state = ARRAY_INITIAL;
            continue;
          }
          if (c === LEFT_BRACE) {
            pos++;
            this.#openObject();
            state = OBJECT_INITIAL;
            continue;
          }
          if (c === RIGHT_BRACKET && state === ARRAY_INITIAL) {
            pos++;
            done = this.#closeArray();
            break;
          }
          if (c === RIGHT_BRACKET || c === RIGHT_BRACE || c === COMMA || c === COLON) {
            throw parseError(STATE_ERRORS[state]!, pos);
          }
          this.#pos = pos;
          done = this.#parseScalar(c);
          pos = this.#pos;
      }
      if (done) return this.#root!;
      state = this.#stack[this.#depth]!.isObject ? MEMBER_VALUE : ELEMENT;
    }
  }

  /** Scans a string, literal or number at #pos and adds it to the open container; true at the root. */
  #parseScalar(c: number): boolean {
    if (c === QUOTE) return this.#add({ kind: 'string', bytes: this.#parseString() });
    if (c === 0x74) {
      this.#literal('true');
      return this.#add(JSON_TRUE);
    }
    if (c === 0x66) {
      this.#literal('false');
      return this.#add(JSON_FALSE);
    }
    if (c === 0x6e) {
      this.#literal('null');
      return this.#add(JSON_NULL);
    }
    this.#parseNumber();
    const frame = this.#depth >= 0 ? this.#stack[this.#depth]! : null;
    if (frame !== null && !frame.isObject && frame.dense && frame.blockShape === null) {
      this.#push(this.#number, this.#numberInteger, this.#numberExact);
      frame.count++;
      return false;
    }
    return this.#add({ kind: 'number', value: this.#number, integer: this.#numberInteger, exact: this.#numberExact });
  }

  #literal(word: string): void {
    const buf = this.#buf;
    let pos = this.#pos + 1;
    for (let i = 1; i < word.length; i++) {
      if (pos >= buf.length || buf[pos] !== word.charCodeAt(i)) throw parseError('Invalid value.', pos);
      pos++;
    }
    this.#pos = pos;
  }

  /** Adds a finished value to the open container, or makes it the root (returns true then). */
  #add(value: JsonValue): boolean {
    if (this.#depth < 0) {
      this.#root = value;
      return true;
    }
    const frame = this.#stack[this.#depth]!;
    if (frame.isObject) {
      if (!frame.members!.has(frame.key)) frame.members!.set(frame.key, value);
    } else {
      if (frame.dense) this.#makeGeneric(frame);
      frame.items!.push(value);
    }
    return false;
  }

  /**
   * Reads the array at `pos` with the native scanner, leaving its frame open as if this parser had
   * read every element (the caller closes it); false, having read nothing, where the scanner declines.
   */
  #scanDense(pos: number): boolean {
    const result = this.#scanner!(this.#buf, pos);
    if (result === null || result[2].length < SCANNER_MIN_VALUES) {
      if (++this.#scannerMisses >= SCANNER_MAX_MISSES) this.#scanner = null;
      if (result === null) return false;
    }
    const [end, shape, values, integers, integerCount] = result;
    this.#openArray();
    const frame = this.#stack[this.#depth]!;
    this.#append(values, integers, integerCount);
    frame.count = shape[0]!;
    frame.blockShape = shape.length > 1 ? shape.slice(1) : null;
    this.#pos = end;
    return true;
  }

  #append(values: Float64Array, integers: Uint8Array, integerCount: number): void {
    const size = this.#size;
    const needed = size + values.length;
    if (needed > this.#values.length) {
      const capacity = Math.max(needed, this.#values.length * 2);
      const grownValues = new Float64Array(capacity);
      grownValues.set(this.#values.subarray(0, size));
      this.#values = grownValues;
      const grownIntegers = new Uint8Array(capacity);
      grownIntegers.set(this.#integers.subarray(0, size));
      this.#integers = grownIntegers;
    }
    this.#values.set(values, size);
    this.#integers.set(integers, size);
    this.#integerTotal += integerCount;
    this.#size = needed;
  }

  #openArray(): void {
    const frame = this.#enter();
    frame.isObject = false;
    frame.dense = true;
    frame.start = this.#size;
    frame.integerStart = this.#integerTotal;
    frame.exactStart = this.#exact.size;
    frame.count = 0;
    frame.blockShape = null;
    frame.items = null;
  }

  #openObject(): void {
    const frame = this.#enter();
    frame.isObject = true;
    frame.members = new Map();
    frame.items = null;
    frame.blockShape = null;
  }

  #enter(): Frame {
    const depth = ++this.#depth;
    let frame = this.#stack[depth];
    if (frame === undefined) {
      frame = new Frame();
      this.#stack.push(frame);
    }
    return frame;
  }

  #closeObject(): boolean {
    const frame = this.#stack[this.#depth--]!;
    const members = frame.members!;
    frame.members = null;
    return this.#add({ kind: 'object', members });
  }

  #closeArray(): boolean {
    const child = this.#stack[this.#depth--]!;
    if (!child.dense) {
      const items = child.items!;
      child.items = null;
      return this.#add({ kind: 'array', items });
    }
    const parent = this.#depth >= 0 ? this.#stack[this.#depth]! : null;
    if (parent !== null && !parent.isObject && parent.dense) {
      // The child's values follow the parent's earlier blocks in the pool: merge when shapes agree.
      const childRank = child.blockShape === null ? 1 : child.blockShape.length + 1;
      if (parent.count === 0 && childRank < MAX_DENSE_RANK) {
        parent.blockShape = child.blockShape === null ? [child.count] : [child.count, ...child.blockShape];
        parent.count = 1;
        return false;
      }
      if (parent.blockShape !== null && sameBlock(parent.blockShape, child.count, child.blockShape)) {
        parent.count++;
        return false;
      }
    }
    const shape = child.blockShape === null ? [child.count] : [child.count, ...child.blockShape];
    return this.#add(this.#denseNode(child.start, shape, this.#integerTotal - child.integerStart, child.exactStart));
  }

  /** Turns a dense array frame into an ordinary one: its scalars or blocks become nodes. */
  #makeGeneric(frame: Frame): void {
    const items: JsonValue[] = [];
    const { start, count, blockShape } = frame;
    if (blockShape === null) {
      for (let i = 0; i < count; i++) {
        const index = start + i;
        items.push({
          kind: 'number',
          value: this.#values[index]!,
          integer: this.#integers[index] === 1,
          exact: this.#integers[index] === 1 ? (this.#exact.get(index) ?? null) : null,
        });
      }
    } else {
      let size = 1;
      for (const dim of blockShape) size *= dim;
      for (let i = 0; i < count; i++) {
        const blockStart = start + i * size;
        let integerCount = 0;
        for (let j = blockStart; j < blockStart + size; j++) integerCount += this.#integers[j]!;
        items.push(this.#denseNode(blockStart, [...blockShape], integerCount, 0));
      }
    }
    frame.dense = false;
    frame.items = items;
    frame.blockShape = null;
  }

  #denseNode(start: number, shape: number[], integerCount: number, exactStart: number): JsonNumbers {
    let length = 1;
    for (const dim of shape) length *= dim;
    let exact: Map<number, bigint> | null = null;
    if (this.#exact.size > exactStart) {
      for (const [index, value] of this.#exact) {
        if (index >= start && index < start + length) (exact ??= new Map()).set(index - start, value);
      }
    }
    return {
      kind: 'numbers',
      shape,
      values: this.#values.subarray(start, start + length),
      integers: this.#integers.subarray(start, start + length),
      integerCount,
      exact,
    };
  }

  #push(value: number, integer: boolean, exact: bigint | null): void {
    const index = this.#size;
    if (index === this.#values.length) {
      // Nodes already made keep views of the old buffers, which still hold their values.
      const values = new Float64Array(index * 2);
      values.set(this.#values);
      this.#values = values;
      const integers = new Uint8Array(index * 2);
      integers.set(this.#integers);
      this.#integers = integers;
    }
    this.#values[index] = value;
    if (integer) {
      this.#integers[index] = 1;
      this.#integerTotal++;
      if (exact !== null) this.#exact.set(index, exact);
    } else {
      this.#integers[index] = 0;
    }
    this.#size = index + 1;
  }

  #parseKey(): string {
    const start = this.#pos + 1;
    const bytes = this.#parseString();
    if (bytes.buffer === this.#buf.buffer) return this.#buf.toString('utf8', start, start + bytes.length);
    return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('utf8');
  }

  /** The bytes of the string whose opening quote is at #pos; moves #pos past the closing quote. */
  #parseString(): Uint8Array {
    const buf = this.#buf;
    const length = buf.length;
    const start = this.#pos + 1;
    let pos = start;
    for (;;) {
      const c = pos < length ? buf[pos]! : 0;
      if (c === QUOTE) {
        this.#pos = pos + 1;
        return new Uint8Array(buf.buffer, buf.byteOffset + start, pos - start);
      }
      if (c === BACKSLASH) return this.#parseEscapedString(start, pos);
      if (c < 0x20) {
        throw parseError(c === 0 ? 'Missing a closing quotation mark in string.' : 'Invalid encoding in string.', pos);
      }
      pos++;
    }
  }

  #parseEscapedString(start: number, firstEscape: number): Uint8Array {
    const buf = this.#buf;
    const length = buf.length;
    // Escapes never expand, so the rest of the input bounds the result.
    const out = new Uint8Array(Math.min(length - start, Math.max(64, (firstEscape - start) * 2 + 64)));
    let grown = out;
    let size = firstEscape - start;
    grown.set(buf.subarray(start, firstEscape));
    let pos = firstEscape;
    const put = (byte: number): void => {
      if (size === grown.length) {
        const bigger = new Uint8Array(Math.min(length - start, grown.length * 2));
        bigger.set(grown);
        grown = bigger;
      }
      grown[size++] = byte;
    };
    for (;;) {
      const c = pos < length ? buf[pos]! : 0;
      if (c === QUOTE) {
        this.#pos = pos + 1;
        return grown.subarray(0, size);
      }
      if (c === BACKSLASH) {
        const escapeOffset = pos;
        const e = pos + 1 < length ? buf[pos + 1]! : 0;
        const simple = SIMPLE_ESCAPES[e]!;
        if (simple >= 0) {
          put(simple);
          pos += 2;
          continue;
        }
        if (e !== 0x75) throw parseError('Invalid escape character in string.', escapeOffset);
        let codepoint = this.#hex4(pos + 2, escapeOffset);
        pos += 6;
        if (codepoint >= 0xd800 && codepoint <= 0xdfff) {
          if (codepoint > 0xdbff || buf[pos] !== BACKSLASH || buf[pos + 1] !== 0x75 || pos + 1 >= length) {
            throw parseError('The surrogate pair in string is invalid.', escapeOffset);
          }
          const low = this.#hex4(pos + 2, escapeOffset);
          if (low < 0xdc00 || low > 0xdfff) throw parseError('The surrogate pair in string is invalid.', escapeOffset);
          codepoint = ((codepoint - 0xd800) << 10) + (low - 0xdc00) + 0x10000;
          pos += 6;
        }
        if (codepoint < 0x80) {
          put(codepoint);
        } else if (codepoint < 0x800) {
          put(0xc0 | (codepoint >> 6));
          put(0x80 | (codepoint & 0x3f));
        } else if (codepoint < 0x10000) {
          put(0xe0 | (codepoint >> 12));
          put(0x80 | ((codepoint >> 6) & 0x3f));
          put(0x80 | (codepoint & 0x3f));
        } else {
          put(0xf0 | (codepoint >> 18));
          put(0x80 | ((codepoint >> 12) & 0x3f));
          put(0x80 | ((codepoint >> 6) & 0x3f));
          put(0x80 | (codepoint & 0x3f));
        }
        continue;
      }
      if (c < 0x20) {
        throw parseError(c === 0 ? 'Missing a closing quotation mark in string.' : 'Invalid encoding in string.', pos);
      }
      put(c);
      pos++;
    }
  }

  #hex4(pos: number, escapeOffset: number): number {
    const buf = this.#buf;
    let value = 0;
    for (let i = 0; i < 4; i++) {
      const c = pos + i < buf.length ? buf[pos + i]! : 0;
      let digit: number;
      if (c >= 0x30 && c <= 0x39) digit = c - 0x30;
      else if (c >= 0x41 && c <= 0x46) digit = c - 0x37;
      else if (c >= 0x61 && c <= 0x66) digit = c - 0x57;
      else throw parseError('Incorrect hex digit after \\u escape in string.', escapeOffset);
      value = value * 16 + digit;
    }
    return value;
  }

  /**
   * Scans the number at #pos into #number/#numberInteger/#numberExact. The value is the correctly
   * rounded double, computed without strings for up to 19 significant digits (the 17 of a double's
   * repr included); longer or far-out literals go through Number().
   */
  #parseNumber(): void {
    const buf = this.#buf;
    const length = buf.length;
    const start = this.#pos;
    let pos = start;
    let c = buf[pos]!;
    const minus = c === 0x2d;
    if (minus) c = ++pos < length ? buf[pos]! : 0;
    const digitsStart = pos;
    // The literal's significant digits: the first 15 in `high`, up to 4 more in `low`.
    let high = 0;
    let low = 0;
    let lowDigits = 0;
    let significant = 0;
    let tooLong = false;
    if (c === 0x30) {
      c = ++pos < length ? buf[pos]! : 0;
    } else if (c >= 0x31 && c <= 0x39) {
      do {
        if (significant < 15) {
          high = high * 10 + (c - 0x30);
        } else if (significant < 19) {
          low = low * 10 + (c - 0x30);
          lowDigits++;
        } else {
          tooLong = true;
        }
        significant++;
        c = ++pos < length ? buf[pos]! : 0;
      } while (c >= 0x30 && c <= 0x39);
    } else if (c === 0x4e || c === 0x49) {
      this.#parseNanOrInfinity(pos, minus);
      return;
    } else {
      throw parseError('Invalid value.', pos);
    }
    const integerEnd = pos;
    let integer = true;
    let fractionDigits = 0;
    // Fraction digits rapidjson counts against its exponent limit (those within 17 significant digits).
    let countedFraction = 0;
    if (c === 0x2e) {
      integer = false;
      c = ++pos < length ? buf[pos]! : 0;
      if (!(c >= 0x30 && c <= 0x39)) throw parseError('Missing fraction part in number.', pos);
      do {
        const digit = c - 0x30;
        if (significant === 0 && digit === 0) {
          fractionDigits++;
          countedFraction++;
        } else {
          if (significant < 15) {
            high = high * 10 + digit;
            fractionDigits++;
          } else if (significant < 19) {
            low = low * 10 + digit;
            lowDigits++;
            fractionDigits++;
          } else {
            tooLong = true;
          }
          significant++;
          if (significant <= 17) countedFraction++;
        }
        c = ++pos < length ? buf[pos]! : 0;
      } while (c >= 0x30 && c <= 0x39);
    }
    let exponent = 0;
    if (c === 0x65 || c === 0x45) {
      integer = false;
      c = ++pos < length ? buf[pos]! : 0;
      let exponentMinus = false;
      if (c === 0x2b || c === 0x2d) {
        exponentMinus = c === 0x2d;
        c = ++pos < length ? buf[pos]! : 0;
      }
      if (!(c >= 0x30 && c <= 0x39)) throw parseError('Missing exponent in number.', pos);
      do {
        if (exponent < 100000) exponent = exponent * 10 + (c - 0x30);
        c = ++pos < length ? buf[pos]! : 0;
      } while (c >= 0x30 && c <= 0x39);
      if (!exponentMinus && exponent > 308 + countedFraction) {
        throw parseError('Number too big to be stored in double.', start);
      }
      if (exponentMinus) exponent = -exponent;
    }
    this.#pos = pos;
    if (integer) {
      this.#numberInteger = true;
      this.#numberExact = null;
      if (significant <= 15) {
        // rapidjson reads "-0" as the integer 0, not as -0.0.
        this.#number = minus && high !== 0 ? -high : high;
        return;
      }
      const text = buf.toString('latin1', digitsStart, integerEnd);
      const magnitude = BigInt(text);
      if (magnitude > (minus ? INT64_MAGNITUDE : UINT64_MAX)) {
        // Beyond int64/uint64 rapidjson falls back to a double.
        this.#numberInteger = false;
        this.#number = this.#finiteDouble(minus ? -Number(text) : Number(text), start);
        return;
      }
      const signed = minus ? -magnitude : magnitude;
      this.#number = Number(signed);
      this.#numberExact = this.#number > MAX_SAFE || this.#number < -MAX_SAFE ? signed : null;
      return;
    }
    this.#numberInteger = false;
    this.#numberExact = null;
    const scale = exponent - fractionDigits;
    let value = NaN;
    if (!tooLong) {
      if (lowDigits === 0) {
        // Clinger's fast path: both operands exact, so one correctly rounded operation.
        if (scale >= -22 && scale <= 22) value = scale < 0 ? high / POW10[-scale]! : high * POW10[scale]!;
      } else if (scale >= -22 && scale <= 0) {
        value = longDecimal(high, low, lowDigits, -scale);
      }
    }
    if (value !== value) value = Number(buf.toString('latin1', digitsStart, pos));
    this.#number = this.#finiteDouble(minus ? -value : value, start);
  }

  #finiteDouble(value: number, start: number): number {
    if (value === Infinity || value === -Infinity) throw parseError('Number too big to be stored in double.', start);
    return value;
  }

  #parseNanOrInfinity(pos: number, minus: boolean): void {
    const buf = this.#buf;
    const expect = (text: string): boolean => {
      for (let i = 0; i < text.length; i++) {
        if (buf[pos] !== text.charCodeAt(i) || pos >= buf.length) return false;
        pos++;
      }
      return true;
    };
    let value: number;
    if (buf[pos] === 0x4e) {
      if (!expect('NaN')) throw parseError('Invalid value.', pos);
      value = NaN;
    } else {
      if (!expect('Inf')) throw parseError('Invalid value.', pos);
      if (buf[pos] === 0x69 && !expect('inity')) throw parseError('Invalid value.', pos);
      value = minus ? -Infinity : Infinity;
    }
    this.#pos = pos;
    this.#number = value;
    this.#numberInteger = false;
    this.#numberExact = null;
  }
}

/**
 * (high * 10^lowDigits + low) / 10^k correctly rounded, for a 16..19-digit significand and k <= 22, or
 * NaN in the (vanishingly rare) case too close to a rounding boundary to decide. The significand is
 * held exactly as a double-double; the quotient's residual is exact (Dekker), so the only error left
 * is far below the margin checked.
 */
function longDecimal(high: number, low: number, lowDigits: number, k: number): number {
  twoProduct(high, POW10[lowDigits]!);
  const p = PRODUCT[0]!;
  const pe = PRODUCT[1]!;
  // M = p + pe + low exactly; every part is an integer, so the small ones add exactly.
  const s1 = p + low;
  const e1 = low - (s1 - p);
  const mh = s1 + (e1 + pe);
  const ml = e1 + pe - (mh - s1);
  if (k === 0) return mh;
  const divisor = POW10[k]!;
  const q1 = mh / divisor;
  twoProduct(q1, divisor);
  const residual = mh - PRODUCT[0]! - PRODUCT[1]! + ml;
  const q2 = residual / divisor;
  const result = q1 + q2;
  const offset = q1 - result + q2;
  F64[0] = result;
  const word = F64_WORDS[HIGH_WORD]!;
  let halfUlp = HALF_ULP64[word >>> 20]!;
  // Just below a power of two the doubles are twice as dense.
  if (offset < 0 && (word & 0xfffff) === 0 && F64_WORDS[1 - HIGH_WORD] === 0) halfUlp /= 2;
  const margin = offset < 0 ? halfUlp + offset : halfUlp - offset;
  return margin > halfUlp * 2 ** -40 ? result : NaN;
}

function sameBlock(blockShape: readonly number[], count: number, childBlock: readonly number[] | null): boolean {
  if (blockShape[0] !== count) return false;
  const rest = childBlock === null ? 0 : childBlock.length;
  if (blockShape.length !== rest + 1) return false;
  for (let i = 0; i < rest; i++) if (blockShape[i + 1] !== childBlock![i]) return false;
  return true;
}

/**
 * A compact JSON text of `value` for error messages, cut at `limit` characters (TF Serving quotes the
 * offending value in many of its texts). Numbers print as TF Serving's writer prints them.
 */
export function dumpJson(value: JsonValue, limit = 256): string {
  const out: string[] = [];
  const budget = { left: limit };
  if (value.kind === 'number') {
    write(out, budget, topLevelNumber(value));
  } else {
    dumpInto(value, out, budget);
  }
  const text = out.join('');
  return text.length > limit ? text.slice(0, limit) : text;
}

interface Budget {
  left: number;
}

function write(out: string[], budget: Budget, text: string): boolean {
  out.push(text);
  budget.left -= text.length;
  return budget.left > 0;
}

/** Recursion is bounded by the budget: every level writes at least one character before descending. */
function dumpInto(value: JsonValue, out: string[], budget: Budget): boolean {
  switch (value.kind) {
    case 'null':
      return write(out, budget, 'null');
    case 'bool':
      return write(out, budget, value.value ? 'true' : 'false');
    case 'number':
      return write(out, budget, nestedNumber(value));
    case 'string':
      return write(out, budget, quote(stringText(value)));
    case 'array': {
      if (!write(out, budget, '[')) return false;
      for (let i = 0; i < value.items.length; i++) {
        if (i > 0 && !write(out, budget, ',')) return false;
        if (!dumpInto(value.items[i]!, out, budget)) return false;
      }
      return write(out, budget, ']');
    }
    case 'numbers':
      return dumpNumbers(value, 0, 0, out, budget);
    case 'object': {
      if (!write(out, budget, '{')) return false;
      let first = true;
      for (const [key, member] of value.members) {
        if (!first && !write(out, budget, ',')) return false;
        first = false;
        if (!write(out, budget, `${quote(key)}:`)) return false;
        if (!dumpInto(member, out, budget)) return false;
      }
      return write(out, budget, '}');
    }
  }
}

function dumpNumbers(node: JsonNumbers, dim: number, offset: number, out: string[], budget: Budget): boolean {
  if (!write(out, budget, '[')) return false;
  const size = node.shape[dim]!;
  let stride = 1;
  for (let d = dim + 1; d < node.shape.length; d++) stride *= node.shape[d]!;
  for (let i = 0; i < size; i++) {
    if (i > 0 && !write(out, budget, ',')) return false;
    if (dim + 1 < node.shape.length) {
      if (!dumpNumbers(node, dim + 1, offset + i * stride, out, budget)) return false;
    } else if (!write(out, budget, nestedNumber(numberAt(node, offset + i)))) {
      return false;
    }
  }
  return write(out, budget, ']');
}

/** TF Serving dumps a lone double through its float writer when it fits a float (rapidjson IsFloat). */
function topLevelNumber(value: JsonNumber): string {
  if (value.integer) return integerText(value);
  const v = value.value;
  return v >= -3.4028234e38 && v <= 3.4028234e38 ? formatFloat32(v) : formatFloat64(v);
}

/** rapidjson's Writer::Double inside containers: shortest digits, "1.0" for integral values, "1e21". */
function nestedNumber(value: JsonNumber): string {
  if (value.integer) return integerText(value);
  const v = value.value;
  if (v !== v) return 'NaN';
  if (v === Infinity) return 'Infinity';
  if (v === -Infinity) return '-Infinity';
  if (v === 0) return 1 / v < 0 ? '-0.0' : '0.0';
  const text = String(v);
  if (text.includes('e')) return text.replace('e+', 'e');
  return text.includes('.') ? text : `${text}.0`;
}

function integerText(value: JsonNumber): string {
  return value.exact !== null ? value.exact.toString() : String(value.value);
}

/** A JSON string literal with rapidjson's escaping (control characters, quote and backslash only). */
function quote(text: string): string {
  let escaped = '"';
  let from = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c >= 0x20 && c !== QUOTE && c !== BACKSLASH) continue;
    escaped += text.slice(from, i) + escapeChar(c);
    from = i + 1;
  }
  return `${escaped}${text.slice(from)}"`;
}

function escapeChar(c: number): string {
  switch (c) {
    case QUOTE:
      return '\\"';
    case BACKSLASH:
      return '\\\\';
    case 0x08:
      return '\\b';
    case 0x09:
      return '\\t';
    case 0x0a:
      return '\\n';
    case 0x0c:
      return '\\f';
    case 0x0d:
      return '\\r';
    default:
      return `\\u00${c.toString(16).toUpperCase().padStart(2, '0')}`;
  }
}

/**
 * Protobuf text format (the `.pbtxt` / `model_config_file` syntax) parsed against a small schema, with
 * the same acceptance rules and first error, at the same `line:column`, as C++ `TextFormat::Parser` with
 * its default options (what tensorflow_model_server uses for every text config file).
 *
 * Contract: `parseTextProto(text, schema)` is synchronous and pure. It returns a plain object keyed by
 * the proto field names that appeared in the text (absent fields stay absent, so callers apply proto3
 * defaults themselves), or throws a `TextFormatError` (a `TfServeError` with code INVALID_ARGUMENT)
 * whose message is protobuf's own log line: `Error parsing text-format <type>: <line>:<col>: <reason>`.
 * Lines and columns are 1-based; columns count bytes of the UTF-8 input and tabs advance to the next
 * multiple of 8, as protobuf's tokenizer does. Where protobuf would report several errors we throw the
 * first one it reports.
 *
 * Values: string → string (escapes decoded as bytes, then UTF-8), bytes → Uint8Array, int32/uint32/
 * float/double → number, int64/uint64 → bigint (exact), bool → boolean, enum → value name (or the number
 * for values the schema does not list: proto3 enums are open), message → object, repeated → array,
 * map → Map. As with `TextFormat::ParseFromString`, a singular field may not be given twice
 * (`Non-repeated field "x" is specified multiple times.`; a proto3 scalar still holding its default value
 * does not count as given) and neither may two members of one oneof.
 *
 * Known difference: the expanded Any form `[type.url/pkg.Type] { ... }` is accepted for any type name and
 * its body skipped (only `type_url` is kept): the schema cannot know every type protobuf's pool knows.
 */
import { TfServeError } from '../model/errors.js';

export type ScalarType = 'string' | 'bytes' | 'int32' | 'int64' | 'uint32' | 'uint64' | 'float' | 'double' | 'bool';
export type MapKeyType = 'string' | 'int32' | 'int64' | 'uint32' | 'uint64' | 'bool';

export interface EnumSchema {
  /** Full protobuf name, e.g. "tensorflow.serving.ModelType". */
  readonly name: string;
  readonly values: Readonly<Record<string, number>>;
}

export interface MessageSchema {
  /** Full protobuf name, e.g. "tensorflow.serving.ModelConfig": error messages quote it. */
  readonly name: string;
  readonly fields: Readonly<Record<string, FieldSchema>>;
  /** google.protobuf.Any: also accepts the expanded `[type_url] { ... }` form. */
  readonly any?: boolean;
}

export interface FieldSchema {
  readonly type: ScalarType | 'enum' | MessageSchema;
  readonly repeated?: boolean;
  /** `map<key, type>`: written as repeated `{ key: .. value: .. }` entries, returned as a Map. */
  readonly map?: MapKeyType;
  /** Required when `type` is 'enum'. */
  readonly enum?: EnumSchema;
  /** Name of the oneof this field belongs to (oneof members always track presence). */
  readonly oneof?: string;
  /** proto3 `optional`: presence is tracked even for default values. */
  readonly optional?: boolean;
  /** Protobuf warns when a deprecated field is used; see `ParseOptions.onWarning`. */
  readonly deprecated?: boolean;
  /**
   * A real field of the message whose type the schema does not declare: using it fails with this
   * reason at its position, rather than as an unknown field, which protobuf would not call it.
   */
  readonly unsupported?: string;
}

export type MapKey = string | number | bigint | boolean;
export type TextProtoValue =
  | string
  | number
  | bigint
  | boolean
  | Uint8Array
  | TextProtoMessage
  | TextProtoValue[]
  | Map<MapKey, TextProtoValue>;
export interface TextProtoMessage {
  [field: string]: TextProtoValue;
}

export interface ParseOptions {
  /** Receives protobuf's warnings (deprecated fields); line and column are 1-based. */
  onWarning?: (message: string, line: number, column: number) => void;
}

/** A text-format syntax or schema error; `message` is protobuf's log line for it. */
export class TextFormatError extends TfServeError {
  /** 1-based line, or 0 when the error has no position. */
  readonly line: number;
  /** 1-based column (bytes, tabs to multiples of 8). */
  readonly column: number;
  /** The error alone, without the type name and position. */
  readonly reason: string;
  readonly typeName: string;

  constructor(typeName: string, line: number, column: number, reason: string) {
    super('INVALID_ARGUMENT', `Error parsing text-format ${typeName}: ${line}:${column}: ${reason}`);
    this.typeName = typeName;
    this.line = line;
    this.column = column;
    this.reason = reason;
  }
}

const TAB_WIDTH = 8;
// Protobuf's default is INT_MAX; a finite limit keeps hostile nesting (skipped Any bodies) off the JS stack.
const RECURSION_LIMIT = 100;
const INT32_MAX = 0x7fffffffn;
const UINT32_MAX = 0xffffffffn;
const INT64_MAX = 0x7fffffffffffffffn;
const UINT64_MAX = 0xffffffffffffffffn;
const FLOAT_MAX = 3.4028234663852886e38;
// Any double up to here rounds to FLT_MAX rather than infinity (protobuf's SafeDoubleToFloat).
const FLOAT_MAX_ROUNDED = 3.4028235677973366e38;

const CH_TAB = 0x09;
const CH_NL = 0x0a;
const CH_SPACE = 0x20;
const CH_DQUOTE = 0x22;
const CH_HASH = 0x23;
const CH_SQUOTE = 0x27;
const CH_DOT = 0x2e;
const CH_0 = 0x30;
const CH_BACKSLASH = 0x5c;

// Escapes the tokenizer accepts after a backslash, and what ParseStringAppend turns them into.
const SIMPLE_ESCAPES: ReadonlyMap<number, number> = new Map([
  [0x61, 0x07], // \a
  [0x62, 0x08], // \b
  [0x66, 0x0c], // \f
  [0x6e, 0x0a], // \n
  [0x72, 0x0d], // \r
  [0x74, 0x09], // \t
  [0x76, 0x0b], // \v
  [0x5c, 0x5c], // \\
  [0x3f, 0x3f], // \?
  [0x27, 0x27], // \'
  [0x22, 0x22], // \"
]);

function isWhitespace(c: number): boolean {
  return c === CH_SPACE || (c >= CH_TAB && c <= 0x0d);
}
function isDigit(c: number): boolean {
  return c >= 0x30 && c <= 0x39;
}
function isOctalDigit(c: number): boolean {
  return c >= 0x30 && c <= 0x37;
}
function isHexDigit(c: number): boolean {
  return isDigit(c) || (c >= 0x41 && c <= 0x46) || (c >= 0x61 && c <= 0x66);
}
function isLetter(c: number): boolean {
  return (c >= 0x41 && c <= 0x5a) || (c >= 0x61 && c <= 0x7a) || c === 0x5f;
}
function isAlphanumeric(c: number): boolean {
  return isLetter(c) || isDigit(c);
}
function isUrlChar(c: number): boolean {
  return isAlphanumeric(c) || (c !== 0 && '-.~!$&()*+,;=%/'.includes(String.fromCharCode(c)));
}
function hexValue(c: number): number {
  if (isDigit(c)) return c - 0x30;
  return (c | 0x20) - 0x61 + 10;
}

type TokenType = 'start' | 'end' | 'identifier' | 'integer' | 'float' | 'string' | 'symbol' | 'url';

interface Token {
  type: TokenType;
  text: string;
  /** Byte offsets of the token in the input (string escapes are decoded from these bytes). */
  start: number;
  end: number;
  line: number;
  column: number;
  endColumn: number;
}

type ErrorSink = (line: number, column: number, reason: string) => never;

/**
 * Protobuf's io::Tokenizer in SH comment style with `f` allowed after floats: one token of lookahead,
 * scanned when the parser moves past the previous one, so its errors surface in the same order.
 */
class Tokenizer {
  current: Token;
  previous: Token;
  /** Scan `[type.googleapis.com/x.Y]` contents as URL-character runs (for Any and extension names). */
  urlMode = false;
  readonly #buf: Uint8Array;
  readonly #fail: ErrorSink;
  #pos = 0;
  #line = 0;
  #column = 0;

  constructor(buf: Uint8Array, fail: ErrorSink) {
    this.#buf = buf;
    this.#fail = fail;
    this.current = { type: 'start', text: '', start: 0, end: 0, line: 0, column: 0, endColumn: 0 };
    this.previous = this.current;
  }

  // Past the end this reads as NUL, like the C++ tokenizer's current_char_.
  #ch(offset = 0): number {
    return this.#buf[this.#pos + offset] ?? 0;
  }

  #atEnd(): boolean {
    return this.#pos >= this.#buf.length;
  }

  #advance(): void {
    const c = this.#buf[this.#pos];
    if (c === CH_NL) {
      this.#line++;
      this.#column = 0;
    } else if (c === CH_TAB) {
      this.#column += TAB_WIDTH - (this.#column % TAB_WIDTH);
    } else {
      this.#column++;
    }
    this.#pos++;
  }

  #error(reason: string): never {
    return this.#fail(this.#line, this.#column, reason);
  }

  next(): void {
    this.previous = this.current;
    while (!this.#atEnd()) {
      while (!this.#atEnd() && isWhitespace(this.#ch())) this.#advance();
      if (this.#ch() === CH_HASH) {
        while (!this.#atEnd() && this.#ch() !== 0 && this.#ch() !== CH_NL) this.#advance();
        if (this.#ch() === CH_NL) this.#advance();
        continue;
      }
      if (this.#atEnd()) break;
      if (this.#ch() < CH_SPACE) this.#error('Invalid control characters encountered in text.');
      this.#scanToken();
      return;
    }
    this.current = {
      type: 'end',
      text: '',
      start: this.#pos,
      end: this.#pos,
      line: this.#line,
      column: this.#column,
      endColumn: this.#column,
    };
  }

  #scanToken(): void {
    const start = this.#pos;
    const line = this.#line;
    const column = this.#column;
    const c = this.#ch();
    let type: TokenType;
    if (this.urlMode) {
      if (isUrlChar(c)) {
        while (isUrlChar(this.#ch())) this.#advance();
        type = 'url';
      } else {
        this.#scanSymbol();
        type = 'symbol';
      }
    } else if (isLetter(c)) {
      while (isAlphanumeric(this.#ch())) this.#advance();
      type = 'identifier';
    } else if (c === CH_0) {
      this.#advance();
      type = this.#scanNumber(true, false);
    } else if (c === CH_DOT) {
      this.#advance();
      if (isDigit(this.#ch())) {
        this.#advance();
        const prev = this.current;
        if (prev.type === 'identifier' && prev.line === line && prev.endColumn === column) {
          this.#fail(this.#line, this.#column - 2, 'Need space between identifier and decimal point.');
        }
        type = this.#scanNumber(false, true);
      } else {
        type = 'symbol';
      }
    } else if (isDigit(c)) {
      this.#advance();
      type = this.#scanNumber(false, false);
    } else if (c === CH_DQUOTE || c === CH_SQUOTE) {
      this.#advance();
      this.#scanString(c);
      type = 'string';
    } else {
      this.#scanSymbol();
      type = 'symbol';
    }
    const end = this.#pos;
    this.current = {
      type,
      text: Buffer.from(this.#buf.subarray(start, end)).toString('utf8'),
      start,
      end,
      line,
      column,
      endColumn: this.#column,
    };
  }

  #scanSymbol(): void {
    const c = this.#ch();
    if (c >= 0x80) this.#error(`Interpreting non ascii codepoint ${c}.`);
    this.#advance();
  }

  #scanDigits(test: (c: number) => boolean): void {
    while (test(this.#ch())) this.#advance();
  }

  #scanNumber(startedWithZero: boolean, startedWithDot: boolean): TokenType {
    let isFloat = false;
    const c = this.#ch();
    if (startedWithZero && (c === 0x78 || c === 0x58)) {
      this.#advance();
      if (!isHexDigit(this.#ch())) this.#error('"0x" must be followed by hex digits.');
      this.#scanDigits(isHexDigit);
    } else if (startedWithZero && isDigit(c)) {
      this.#scanDigits(isOctalDigit);
      if (isDigit(this.#ch())) this.#error('Numbers starting with leading zero must be in octal.');
    } else {
      if (startedWithDot) {
        isFloat = true;
        this.#scanDigits(isDigit);
      } else {
        this.#scanDigits(isDigit);
        if (this.#ch() === CH_DOT) {
          this.#advance();
          isFloat = true;
          this.#scanDigits(isDigit);
        }
      }
      if (this.#ch() === 0x65 || this.#ch() === 0x45) {
        this.#advance();
        isFloat = true;
        if (this.#ch() === 0x2d || this.#ch() === 0x2b) this.#advance();
        if (!isDigit(this.#ch())) this.#error('"e" must be followed by exponent.');
        this.#scanDigits(isDigit);
      }
      if (this.#ch() === 0x66 || this.#ch() === 0x46) {
        this.#advance();
        isFloat = true;
      }
    }
    if (isLetter(this.#ch())) {
      this.#error('Need space between number and identifier.');
    } else if (this.#ch() === CH_DOT) {
      this.#error(
        isFloat ? "Already saw decimal point or exponent; can't have another one." : 'Hex and octal numbers must be integers.',
      );
    }
    return isFloat ? 'float' : 'integer';
  }

  #scanString(delimiter: number): void {
    for (;;) {
      const c = this.#ch();
      if (c === 0) this.#error('Unexpected end of string.');
      if (c === CH_NL) this.#error('Multiline strings are not allowed. Did you miss a ".');
      this.#advance();
      if (c === delimiter) return;
      if (c !== CH_BACKSLASH) continue;
      const e = this.#ch();
      if (SIMPLE_ESCAPES.has(e) || isOctalDigit(e)) {
        // Further octal digits are ordinary characters to the scanner.
        this.#advance();
      } else if (e === 0x78 || e === 0x58) {
        this.#advance();
        if (!isHexDigit(this.#ch())) this.#error('Expected hex digits for escape sequence.');
        this.#advance();
      } else if (e === 0x75) {
        this.#advance();
        for (let i = 0; i < 4; i++) {
          if (!isHexDigit(this.#ch())) this.#error('Expected four hex digits for \\u escape sequence.');
          this.#advance();
        }
      } else if (e === 0x55) {
        this.#advance();
        for (let i = 0; i < 8; i++) {
          const d = this.#ch();
          const ok = i < 2 ? d === CH_0 : i === 2 ? d === CH_0 || d === 0x31 : isHexDigit(d);
          if (!ok) this.#error('Expected eight hex digits up to 10ffff for \\U escape sequence');
          this.#advance();
        }
      } else {
        this.#error('Invalid escape sequence in string literal.');
      }
    }
  }

  /** The bytes a string token stands for (escapes decoded; the scanner has already validated them). */
  stringBytes(token: Token, out: number[]): void {
    const buf = this.#buf;
    const end = token.end - 1; // closing quote
    for (let i = token.start + 1; i < end; i++) {
      const c = buf[i]!;
      if (c !== CH_BACKSLASH) {
        out.push(c);
        continue;
      }
      const e = buf[++i]!;
      if (isOctalDigit(e)) {
        let code = e - CH_0;
        for (let n = 0; n < 2 && i + 1 < end && isOctalDigit(buf[i + 1]!); n++) code = code * 8 + (buf[++i]! - CH_0);
        out.push(code & 0xff);
      } else if (e === 0x78 || e === 0x58) {
        let code = 0;
        for (let n = 0; n < 2 && i + 1 < end && isHexDigit(buf[i + 1]!); n++) code = code * 16 + hexValue(buf[++i]!);
        out.push(code);
      } else if (e === 0x75 || e === 0x55) {
        const digits = e === 0x75 ? 4 : 8;
        let codePoint = readHex(buf, i + 1, digits);
        i += digits;
        // A UTF-16 head surrogate followed by a \u trail surrogate forms one code point.
        if (codePoint >= 0xd800 && codePoint < 0xdc00 && buf[i + 1] === CH_BACKSLASH && buf[i + 2] === 0x75 && i + 6 < end) {
          const trail = readHex(buf, i + 3, 4);
          if (trail >= 0xdc00 && trail < 0xe000) {
            codePoint = 0x10000 + (((codePoint - 0xd800) << 10) | (trail - 0xdc00));
            i += 6;
          }
        }
        appendUtf8(codePoint, out);
      } else {
        out.push(SIMPLE_ESCAPES.get(e) ?? 0x3f);
      }
    }
  }
}

function readHex(buf: Uint8Array, start: number, count: number): number {
  let value = 0;
  for (let i = 0; i < count; i++) value = value * 16 + hexValue(buf[start + i]!);
  return value;
}

// Surrogates are encoded as-is (three bytes), as protobuf does; UTF-8 decoding later replaces them.
function appendUtf8(codePoint: number, out: number[]): void {
  if (codePoint <= 0x7f) {
    out.push(codePoint);
  } else if (codePoint <= 0x7ff) {
    out.push(0xc0 | (codePoint >> 6), 0x80 | (codePoint & 0x3f));
  } else if (codePoint <= 0xffff) {
    out.push(0xe0 | (codePoint >> 12), 0x80 | ((codePoint >> 6) & 0x3f), 0x80 | (codePoint & 0x3f));
  } else if (codePoint <= 0x10ffff) {
    out.push(
      0xf0 | (codePoint >> 18),
      0x80 | ((codePoint >> 12) & 0x3f),
      0x80 | ((codePoint >> 6) & 0x3f),
      0x80 | (codePoint & 0x3f),
    );
  } else {
    for (const ch of `\\U${codePoint.toString(16).padStart(8, '0')}`) out.push(ch.charCodeAt(0));
  }
}

/** Protobuf's Tokenizer::ParseInteger: 0x hex, leading-0 octal, else decimal; null past `max`. */
function parseInteger(text: string, max: bigint): bigint | null {
  let value: bigint;
  if (/^0[xX][0-9a-fA-F]+$/.test(text)) value = BigInt(text);
  else if (/^0[0-7]*$/.test(text)) value = BigInt(`0o${text.slice(1) || '0'}`);
  else if (/^[1-9][0-9]*$/.test(text)) value = BigInt(text);
  else return null;
  return value <= max ? value : null;
}

function isHexNumber(text: string): boolean {
  return text.length >= 2 && text[0] === '0' && (text[1] === 'x' || text[1] === 'X');
}
function isOctNumber(text: string): boolean {
  return text.length >= 2 && text[0] === '0' && text[1]! >= '0' && text[1]! < '8';
}

function toFloat32(value: number): number {
  if (value > FLOAT_MAX) return value <= FLOAT_MAX_ROUNDED ? FLOAT_MAX : Infinity;
  if (value < -FLOAT_MAX) return value >= -FLOAT_MAX_ROUNDED ? -FLOAT_MAX : -Infinity;
  return Math.fround(value);
}

function isIdentifier(text: string): boolean {
  return /^[A-Za-z_][A-Za-z0-9_]*$/.test(text);
}

// Protobuf names a map field's entry type after the field: version_labels → VersionLabelsEntry.
function mapEntryName(parent: string, field: string): string {
  const camel = field.replace(/(^|_)([a-z])/g, (_m, _u: string, ch: string) => ch.toUpperCase()).replace(/_/g, '');
  return `${parent}.${camel}Entry`;
}

const MAP_ENTRY_SCHEMAS = new WeakMap<FieldSchema, MessageSchema>();

function mapEntrySchema(parent: MessageSchema, fieldName: string, field: FieldSchema): MessageSchema {
  let entry = MAP_ENTRY_SCHEMAS.get(field);
  if (entry === undefined) {
    const value: FieldSchema = field.enum ? { type: field.type, enum: field.enum } : { type: field.type };
    entry = { name: mapEntryName(parent.name, fieldName), fields: { key: { type: field.map! }, value } };
    MAP_ENTRY_SCHEMAS.set(field, entry);
  }
  return entry;
}

function defaultValue(field: FieldSchema): TextProtoValue {
  const type = field.type;
  if (typeof type === 'object') return {};
  switch (type) {
    case 'string':
      return '';
    case 'bytes':
      return new Uint8Array(0);
    case 'int64':
    case 'uint64':
      return 0n;
    case 'bool':
      return false;
    case 'enum': {
      const zero = Object.entries(field.enum?.values ?? {}).find(([, number]) => number === 0);
      return zero ? zero[0] : 0;
    }
    case 'int32':
    case 'uint32':
    case 'float':
    case 'double':
      return 0;
  }
}

function hasField(message: TextProtoMessage, name: string, field: FieldSchema): boolean {
  if (!Object.hasOwn(message, name)) return false;
  if (typeof field.type === 'object' || field.oneof !== undefined || field.optional) return true;
  const value = message[name];
  // proto3 scalars have no presence: holding the default value reads as unset (and -0.0 as set).
  if (value instanceof Uint8Array) return value.length > 0;
  if (field.type === 'enum') return value !== defaultValue(field) && value !== 0;
  return !Object.is(value, defaultValue(field));
}

class Parser {
  readonly #root: MessageSchema;
  readonly #tok: Tokenizer;
  readonly #onWarning: ParseOptions['onWarning'];
  #depth = RECURSION_LIMIT;

  constructor(input: Uint8Array, root: MessageSchema, options: ParseOptions) {
    this.#root = root;
    this.#onWarning = options.onWarning;
    this.#tok = new Tokenizer(input, (line, column, reason) => this.#failAt(line, column, reason));
    this.#tok.next();
  }

  parse(): TextProtoMessage {
    const message: TextProtoMessage = {};
    while (this.#tok.current.type !== 'end') this.#consumeField(message, this.#root);
    return message;
  }

  #failAt(line: number, column: number, reason: string): never {
    throw new TextFormatError(this.#root.name, line + 1, column + 1, reason);
  }

  // Errors point at the current token, which after a consumed name or value is the one that follows it.
  #fail(reason: string): never {
    return this.#failAt(this.#tok.current.line, this.#tok.current.column, reason);
  }

  #lookingAt(text: string): boolean {
    const current = this.#tok.current;
    return current.text === text && current.type !== 'string';
  }

  #tryConsume(text: string): boolean {
    if (!this.#lookingAt(text)) return false;
    this.#tok.next();
    return true;
  }

  #consume(text: string): void {
    if (!this.#tryConsume(text)) this.#fail(`Expected "${text}", found "${this.#tok.current.text}".`);
  }

  #consumeIdentifier(): string {
    const current = this.#tok.current;
    if (current.type !== 'identifier') this.#fail(`Expected identifier, got: ${current.text}`);
    this.#tok.next();
    return current.text;
  }

  #enter(): void {
    if (--this.#depth < 0) {
      this.#fail(`Message is too deep, the parser exceeded the configured recursion limit of ${RECURSION_LIMIT}.`);
    }
  }

  #consumeField(message: TextProtoMessage, schema: MessageSchema): void {
    if (this.#lookingAt('[')) {
      const { prefix, typeName } = this.#consumeTypeUrlOrName();
      if (!schema.any) {
        if (prefix !== '') this.#fail('Extension name contains "/"');
        this.#fail(`Extension "${typeName}" is not defined or is not an extension of "${schema.name}".`);
      }
      if (prefix === '') this.#fail('Type URL prefix is missing');
      this.#tryConsume(':');
      this.#skipFieldMessage();
      if (hasField(message, 'type_url', schema.fields['type_url']!) || hasField(message, 'value', schema.fields['value']!)) {
        this.#fail('Non-repeated Any specified multiple times.');
      }
      message['type_url'] = prefix + typeName;
      delete message['value'];
      if (!this.#tryConsume(';')) this.#tryConsume(',');
      return;
    }

    const name = this.#consumeIdentifier();
    const field = Object.hasOwn(schema.fields, name) ? schema.fields[name] : undefined;
    if (field === undefined) this.#fail(`Message type "${schema.name}" has no field named "${name}".`);
    if (field.unsupported !== undefined) this.#fail(field.unsupported);
    if (field.deprecated && this.#onWarning) {
      const current = this.#tok.current;
      this.#onWarning(`text format contains deprecated field "${name}"`, current.line + 1, current.column + 1);
    }

    this.#checkSingular(message, schema, name, field);

    const isMessage = typeof field.type === 'object' || field.map !== undefined;
    if (isMessage) this.#tryConsume(':');
    else this.#consume(':');

    if ((field.repeated || field.map) && this.#tryConsume('[')) {
      if (!this.#tryConsume(']')) {
        for (;;) {
          this.#consumeOne(message, schema, name, field, isMessage);
          if (this.#tryConsume(']')) break;
          this.#consume(',');
        }
      }
      // "foo: []" still marks a repeated field present.
      if (!Object.hasOwn(message, name)) message[name] = field.map ? new Map() : [];
    } else {
      this.#consumeOne(message, schema, name, field, isMessage);
    }
    // Historically fields may be separated by commas or semicolons.
    if (!this.#tryConsume(';')) this.#tryConsume(',');
  }

  #consumeOne(message: TextProtoMessage, schema: MessageSchema, name: string, field: FieldSchema, isMessage: boolean): void {
    if (field.map !== undefined) {
      const entrySchema = mapEntrySchema(schema, name, field);
      const entry: TextProtoMessage = {};
      this.#consumeMessageBody(entry, entrySchema);
      const map = (message[name] ??= new Map()) as Map<MapKey, TextProtoValue>;
      const key = (entry['key'] ?? defaultValue(entrySchema.fields['key']!)) as MapKey;
      map.set(key, entry['value'] ?? defaultValue(entrySchema.fields['value']!));
      return;
    }
    if (isMessage) {
      const type = field.type as MessageSchema;
      let target: TextProtoMessage;
      if (field.repeated) {
        target = {};
        ((message[name] ??= []) as TextProtoValue[]).push(target);
      } else {
        target = (message[name] ??= {}) as TextProtoMessage;
      }
      this.#consumeMessageBody(target, type);
      return;
    }
    const value = this.#consumeScalar(name, field);
    if (field.repeated) {
      ((message[name] ??= []) as TextProtoValue[]).push(value);
    } else {
      message[name] = value;
    }
  }

  // ParseFromString's FORBID_SINGULAR_OVERWRITES, judged with proto3's HasField.
  #checkSingular(message: TextProtoMessage, schema: MessageSchema, name: string, field: FieldSchema): void {
    if (field.repeated || field.map !== undefined) return;
    if (hasField(message, name, field)) this.#fail(`Non-repeated field "${name}" is specified multiple times.`);
    if (field.oneof === undefined) return;
    for (const [other, otherField] of Object.entries(schema.fields)) {
      if (other !== name && otherField.oneof === field.oneof && Object.hasOwn(message, other)) {
        this.#fail(`Field "${name}" is specified along with field "${other}", another member of oneof "${field.oneof}".`);
      }
    }
  }

  #consumeMessageBody(target: TextProtoMessage, schema: MessageSchema): void {
    const delimiter = this.#tryConsume('<') ? '>' : (this.#consume('{'), '}');
    this.#enter();
    while (!this.#lookingAt('>') && !this.#lookingAt('}')) this.#consumeField(target, schema);
    this.#consume(delimiter);
    this.#depth++;
  }

  #consumeScalar(name: string, field: FieldSchema): TextProtoValue {
    const type = field.type as ScalarType | 'enum';
    switch (type) {
      case 'int32':
        return Number(this.#consumeSigned(INT32_MAX));
      case 'int64':
        return this.#consumeSigned(INT64_MAX);
      case 'uint32':
        return Number(this.#consumeUnsigned(UINT32_MAX));
      case 'uint64':
        return this.#consumeUnsigned(UINT64_MAX);
      case 'float':
        return toFloat32(this.#consumeDouble());
      case 'double':
        return this.#consumeDouble();
      case 'string':
        return Buffer.from(this.#consumeStringBytes()).toString('utf8');
      case 'bytes':
        return this.#consumeStringBytes();
      case 'bool':
        return this.#consumeBool(name);
      case 'enum':
        return this.#consumeEnum(name, field);
    }
  }

  #consumeUnsigned(max: bigint): bigint {
    const current = this.#tok.current;
    if (current.type !== 'integer') this.#fail(`Expected integer, got: ${current.text}`);
    const value = parseInteger(current.text, max);
    if (value === null) this.#fail(`Integer out of range (${current.text})`);
    this.#tok.next();
    return value;
  }

  #consumeSigned(max: bigint): bigint {
    // The tokenizer has no negative numbers: '-' is a symbol of its own, and may stand apart.
    const negative = this.#tryConsume('-');
    const value = this.#consumeUnsigned(negative ? max + 1n : max);
    return negative ? -value : value;
  }

  #consumeDouble(): number {
    const negative = this.#tryConsume('-');
    const current = this.#tok.current;
    let value: number;
    if (current.type === 'integer') {
      if (isHexNumber(current.text) || isOctNumber(current.text)) this.#fail(`Expect a decimal number, got: ${current.text}`);
      value = Number(current.text);
    } else if (current.type === 'float') {
      value = Number(current.text.replace(/[fF]$/, ''));
    } else if (current.type === 'identifier') {
      const lower = current.text.toLowerCase();
      if (lower === 'inf' || lower === 'infinity') value = Infinity;
      else if (lower === 'nan') value = NaN;
      else this.#fail(`Expected double, got: ${lower}`);
    } else {
      this.#fail(`Expected double, got: ${current.text}`);
    }
    this.#tok.next();
    return negative ? -value : value;
  }

  #consumeStringBytes(): Uint8Array {
    const current = this.#tok.current;
    if (current.type !== 'string') this.#fail(`Expected string, got: ${current.text}`);
    const bytes: number[] = [];
    // Adjacent literals concatenate, whatever their quotes.
    while (this.#tok.current.type === 'string') {
      this.#tok.stringBytes(this.#tok.current, bytes);
      this.#tok.next();
    }
    return Uint8Array.from(bytes);
  }

  #consumeBool(name: string): boolean {
    if (this.#tok.current.type === 'integer') return this.#consumeUnsigned(1n) === 1n;
    const value = this.#consumeIdentifier();
    if (value === 'true' || value === 'True' || value === 't') return true;
    if (value === 'false' || value === 'False' || value === 'f') return false;
    return this.#fail(`Invalid value for boolean field "${name}". Value: "${value}".`);
  }

  #consumeEnum(name: string, field: FieldSchema): string | number {
    const values = field.enum?.values ?? {};
    const current = this.#tok.current;
    if (current.type === 'identifier') {
      this.#tok.next();
      if (!Object.hasOwn(values, current.text)) this.#fail(`Unknown enumeration value of "${current.text}" for field "${name}".`);
      return current.text;
    }
    if (this.#lookingAt('-') || current.type === 'integer') {
      const number = Number(this.#consumeSigned(INT32_MAX));
      const known = Object.entries(values).find(([, n]) => n === number);
      return known ? known[0] : number;
    }
    return this.#fail(`Expected integer or identifier, got: ${current.text}`);
  }

  /** `[name]` or `[prefix/name]` as used by extensions and expanded Any; validated as protobuf does. */
  #consumeTypeUrlOrName(): { prefix: string; typeName: string } {
    this.#tok.urlMode = true;
    this.#consume('[');
    let text = '';
    while (this.#tok.current.type === 'url') {
      text += this.#tok.current.text;
      this.#tok.next();
    }
    this.#tok.urlMode = false;
    this.#consume(']');
    const slash = text.lastIndexOf('/');
    const prefix = slash < 0 ? '' : text.slice(0, slash + 1);
    const typeName = text.slice(slash + 1);
    if (prefix === '/') this.#fail('Type URL prefix is empty');
    if (prefix.startsWith('/')) this.#fail('Type URL starts with "/"');
    for (let i = 0; i < prefix.length; i++) {
      if (prefix[i] === '%' && !/^%[0-9A-Fa-f]{2}/.test(prefix.slice(i, i + 3))) {
        this.#fail(`Invalid percent encode, got: "${prefix.slice(i, i + 3)}"`);
      }
    }
    for (const part of typeName.split('.')) {
      if (!isIdentifier(part)) this.#fail(`Invalid identifier in type name, got: "${part}"`);
    }
    return { prefix, typeName };
  }

  #skipFieldMessage(): void {
    this.#enter();
    const delimiter = this.#tryConsume('<') ? '>' : (this.#consume('{'), '}');
    while (!this.#lookingAt('>') && !this.#lookingAt('}')) this.#skipField();
    this.#consume(delimiter);
    this.#depth++;
  }

  #skipField(): void {
    if (this.#lookingAt('[')) this.#consumeTypeUrlOrName();
    else this.#consumeIdentifier();
    if (this.#tryConsume(':') && !this.#lookingAt('{') && !this.#lookingAt('<')) this.#skipFieldValue();
    else this.#skipFieldMessage();
    if (!this.#tryConsume(';')) this.#tryConsume(',');
  }

  #skipFieldValue(): void {
    this.#enter();
    if (this.#tok.current.type === 'string') {
      while (this.#tok.current.type === 'string') this.#tok.next();
    } else if (this.#tryConsume('[')) {
      if (!this.#tryConsume(']')) {
        for (;;) {
          if (!this.#lookingAt('{') && !this.#lookingAt('<')) this.#skipFieldValue();
          else this.#skipFieldMessage();
          if (this.#tryConsume(']')) break;
          this.#consume(',');
        }
      }
    } else {
      const negative = this.#tryConsume('-');
      const current = this.#tok.current;
      if (current.type !== 'integer' && current.type !== 'float' && current.type !== 'identifier') {
        this.#fail(`Cannot skip field value, unexpected token: ${current.text}`);
      }
      if (negative && current.type === 'identifier') {
        const lower = current.text.toLowerCase();
        if (lower !== 'inf' && lower !== 'infinity' && lower !== 'nan') this.#fail(`Invalid float number: ${lower}`);
      }
      this.#tok.next();
    }
    this.#depth++;
  }
}

/**
 * Parses protobuf text format against `schema`. Accepts the text as a string or as the file's bytes
 * (columns are counted in UTF-8 bytes either way). Throws TextFormatError on the first error.
 */
export function parseTextProto(input: string | Uint8Array, schema: MessageSchema, options: ParseOptions = {}): TextProtoMessage {
  if (typeof input !== 'string' && !(input instanceof Uint8Array)) {
    throw new TfServeError(
      'INVALID_ARGUMENT',
      `Expected string or Uint8Array for text but received ${String(input)} of type ${typeof input}`,
    );
  }
  if (typeof schema !== 'object' || schema === null || typeof schema.name !== 'string' || typeof schema.fields !== 'object') {
    throw new TfServeError('INVALID_ARGUMENT', 'Expected a message schema with name and fields for schema');
  }
  const bytes = typeof input === 'string' ? Buffer.from(input, 'utf8') : input;
  return new Parser(bytes, schema, options).parse();
}

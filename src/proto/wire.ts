/**
 * A minimal protobuf wire-format reader for the messages tfserve decodes by hand (TensorProto, the
 * Predict and Input envelopes, tf.Example checks): it hands out byte ranges of the buffer instead of
 * building objects, so a tensor's values are copied once, from the wire into tensor memory.
 *
 * Contract: every read checks bounds; a malformed buffer throws WireFormatError (INTERNAL, the code
 * gRPC C++ servers such as TF Serving answer for a request they cannot parse) naming the message.
 * Unknown fields, and known fields with an unexpected wire type, are skipped as protobuf does.
 */
import { TfServeError } from '../model/errors.js';

export const VARINT = 0;
export const I64 = 1;
export const LEN = 2;
export const SGROUP = 3;
export const EGROUP = 4;
export const I32 = 5;

export class WireFormatError extends TfServeError {
  constructor(what: string, reason: string) {
    super('INTERNAL', `Failed to parse ${what}: ${reason}`);
  }
}

export class WireReader {
  readonly buf: Uint8Array;
  readonly end: number;
  readonly what: string;
  pos: number;
  /** The low and high 32 bits of the last varint64(). */
  lo = 0;
  hi = 0;
  /** Where the value of the last len() starts (it ends at the returned offset). */
  start = 0;

  constructor(buf: Uint8Array, what: string, start = 0, end = buf.length) {
    this.buf = buf;
    this.what = what;
    this.pos = start;
    this.end = end;
  }

  fail(reason: string): never {
    throw new WireFormatError(this.what, reason);
  }

  done(): boolean {
    return this.pos >= this.end;
  }

  /** The next tag (field number << 3 | wire type); field 0 is invalid. */
  tag(): number {
    const tag = this.uint32();
    if (tag >>> 3 === 0) this.fail('invalid tag (field 0)');
    return tag;
  }

  /** A varint truncated to its low 32 bits, unsigned (int32 fields: `| 0` for the sign). */
  uint32(): number {
    const { buf, end } = this;
    let pos = this.pos;
    let value = 0;
    let shift = 0;
    for (let i = 0; i < 10; i++) {
      if (pos >= end) this.fail('truncated varint');
      const byte = buf[pos++]!;
      if (shift < 32) value |= (byte & 0x7f) << shift;
      shift += 7;
      if (byte < 0x80) {
        this.pos = pos;
        return value >>> 0;
      }
    }
    return this.fail('varint longer than 10 bytes');
  }

  /** A 64-bit varint into `lo`/`hi`. */
  varint64(): void {
    const { buf, end } = this;
    let pos = this.pos;
    let lo = 0;
    let hi = 0;
    for (let i = 0; i < 10; i++) {
      if (pos >= end) this.fail('truncated varint');
      const byte = buf[pos++]!;
      const bits = byte & 0x7f;
      if (i < 4) lo |= bits << (7 * i);
      else if (i === 4) {
        lo |= bits << 28;
        hi |= bits >>> 4;
      } else hi |= bits << (7 * i - 32);
      if (byte < 0x80) {
        this.pos = pos;
        this.lo = lo >>> 0;
        this.hi = hi >>> 0;
        return;
      }
    }
    this.fail('varint longer than 10 bytes');
  }

  /** A length-delimited value: sets `start`, moves past it and returns where it ends. */
  len(): number {
    const length = this.uint32();
    const start = this.pos;
    if (length > this.end - start) this.fail('length-delimited field runs past the end');
    this.start = start;
    this.pos = start + length;
    return this.pos;
  }

  bytes(): Uint8Array {
    const end = this.len();
    return this.buf.subarray(this.start, end);
  }

  string(): string {
    const end = this.len();
    return Buffer.from(this.buf.buffer, this.buf.byteOffset + this.start, end - this.start).toString('utf8');
  }

  skip(wireType: number): void {
    switch (wireType) {
      case VARINT:
        this.uint32();
        return;
      case I64:
        this.advance(8);
        return;
      case LEN:
        this.len();
        return;
      case I32:
        this.advance(4);
        return;
      case SGROUP: {
        // Groups are obsolete, but a parser must still step over them, nested ones included.
        let depth = 1;
        while (depth > 0) {
          if (this.done()) this.fail('unterminated group');
          const wt = this.tag() & 7;
          if (wt === SGROUP) depth++;
          else if (wt === EGROUP) depth--;
          else this.skip(wt);
        }
        return;
      }
      default:
        this.fail(`unexpected wire type ${wireType}`);
    }
  }

  advance(bytes: number): void {
    if (bytes > this.end - this.pos) this.fail('truncated fixed-width value');
    this.pos += bytes;
  }
}

/** Bytes of concatenated serializations, which protobuf parses as one message merged in order. */
export function concatBytes(parts: readonly Uint8Array[]): Uint8Array {
  return parts.length === 1 ? parts[0]! : Buffer.concat(parts);
}

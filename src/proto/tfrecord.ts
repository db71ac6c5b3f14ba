/**
 * TFRecord files: the framing of `assets.extra/tf_serving_warmup_requests` (TFSERVING_SPEC.md §6).
 * Each record is
 *
 *     uint64 LE length | uint32 LE masked CRC32C(length bytes) | payload | uint32 LE masked CRC32C(payload)
 *
 * with mask(crc) = ((crc >>> 15) | (crc << 17)) + 0xa282ead8 (mod 2^32). Uncompressed files only, which is
 * all TF Serving reads for warmup.
 *
 * Contract: everything is synchronous and pure except the two file helpers, which read or write the whole
 * file at once (warmup files hold at most 1000 small requests, so no streaming). Parsed records are
 * views into the input bytes, not copies: they stay valid as long as the caller keeps the input unchanged.
 *
 * Errors: a bad record throws a `TfServeError` with code DATA_LOSS and the message tensorflow_model_server
 * returns for the same file: the text of TensorFlow's RecordReader on a local file (`corrupted record at
 * <offset>`, with ` (Is this even a TFRecord file?)` when the offset is 0, or `truncated record at
 * <offset>' failed with Read less bytes than requested` for a payload cut short) followed by `. Please
 * verify your warmup data is in TFRecord format.` (warmup is the only reader of TFRecords in tfserve, so
 * the suffix lives here). As in TensorFlow, a file that ends between records, or inside a record's
 * 12-byte header, simply has no more records: an empty file holds zero records. File system errors from
 * the helpers pass through.
 */
import fs from 'node:fs/promises';

import { TfServeError } from '../model/errors.js';

export const TFRECORD_FORMAT_HINT = '. Please verify your warmup data is in TFRecord format.';

const HEADER_SIZE = 12; // length + its CRC
const FOOTER_SIZE = 4;
const MASK_DELTA = 0xa282ead8;

// CRC32C (Castagnoli, reflected polynomial 0x82F63B78), one table lookup per byte. Our own 15 lines
// rather than a package: @node-rs/crc32 and fast-crc32c are native addons (prebuilt binaries or a build
// step for one checksum), @aws-crypto/crc32c pulls in AWS SDK types, crc-32 has not been released since
// 2022, and Node's zlib.crc32 (22.2+) is the IEEE polynomial. Warmup files are small, so byte-at-a-time
// speed (hundreds of MB/s) is plenty.
const CRC32C_TABLE = (() => {
  const table = new Int32Array(256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0x82f63b78 ^ (c >>> 1) : c >>> 1;
    table[n] = c;
  }
  return table;
})();

/** CRC32C of `data`, continuing from `crc` (the CRC of the bytes before it), as an unsigned 32-bit number. */
export function crc32c(data: Uint8Array, crc = 0): number {
  let c = ~crc;
  for (let i = 0; i < data.length; i++) c = CRC32C_TABLE[(c ^ data[i]!) & 0xff]! ^ (c >>> 8);
  return ~c >>> 0;
}

/** TensorFlow's masked CRC (crc32c::Mask): what TFRecord files store. */
export function maskCrc(crc: number): number {
  return ((((crc >>> 15) | (crc << 17)) >>> 0) + MASK_DELTA) >>> 0;
}

function dataLoss(message: string): TfServeError {
  return new TfServeError('DATA_LOSS', message + TFRECORD_FORMAT_HINT);
}

// RecordReader adds this reminder at offset 0 because TFRecord files carry no format marker.
function suffix(offset: number): string {
  return offset === 0 ? ' (Is this even a TFRecord file?)' : '';
}

export interface ParseOptions {
  /** Stop after this many records; the rest of the file is not looked at. Default: all. */
  readonly limit?: number;
}

/** The records of a TFRecord file held in memory, in file order. */
export function parseTfRecords(bytes: Uint8Array, options: ParseOptions = {}): Buffer[] {
  const limit = options.limit ?? Infinity;
  const records: Buffer[] = [];
  if (limit <= 0) return records;
  for (const record of iterateTfRecords(bytes)) {
    records.push(record);
    if (records.length >= limit) break;
  }
  return records;
}

/**
 * The records one at a time, as TensorFlow's SequentialRecordReader reads them: a damaged record throws
 * (DATA_LOSS, as parseTfRecords) only when it is reached, after the records before it were handed out.
 */
export function* iterateTfRecords(bytes: Uint8Array): Generator<Buffer, void, undefined> {
  const buf = Buffer.isBuffer(bytes) ? bytes : Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  let offset = 0;
  // A file that ends inside a header ends the records: the short read is OUT_OF_RANGE, which RecordReader's
  // callers (warmup included) take as end of file.
  while (buf.length - offset >= HEADER_SIZE) {
    if (maskCrc(crc32c(buf.subarray(offset, offset + 8))) !== buf.readUInt32LE(offset + 8)) {
      throw dataLoss(`corrupted record at ${offset}${suffix(offset)}`);
    }
    const length = buf.readBigUInt64LE(offset);
    // RecordReader refuses n >= SIZE_MAX - 4 before reading anything.
    if (length >= 0xffff_ffff_ffff_fffbn) throw dataLoss('record size too large');
    const start = offset + HEADER_SIZE;
    if (BigInt(buf.length - start) < length + BigInt(FOOTER_SIZE)) {
      throw dataLoss(`truncated record at ${offset}' failed with Read less bytes than requested`);
    }
    const end = start + Number(length);
    const record = buf.subarray(start, end);
    if (maskCrc(crc32c(record)) !== buf.readUInt32LE(end)) throw dataLoss(`corrupted record at ${start}`);
    offset = end + FOOTER_SIZE;
    yield record;
  }
}

/** Reads a whole TFRecord file and parses it (see `parseTfRecords`). */
export async function readTfRecordFile(path: string, options: ParseOptions = {}): Promise<Buffer[]> {
  return parseTfRecords(await fs.readFile(path), options);
}

/** The TFRecord file holding `records` in order: the same bytes as TensorFlow's TFRecordWriter writes. */
export function encodeTfRecords(records: Iterable<Uint8Array>): Buffer {
  const list = [...records];
  const out = Buffer.allocUnsafe(list.reduce((n, r) => n + HEADER_SIZE + r.length + FOOTER_SIZE, 0));
  let offset = 0;
  for (const record of list) {
    out.writeBigUInt64LE(BigInt(record.length), offset);
    out.writeUInt32LE(maskCrc(crc32c(out.subarray(offset, offset + 8))), offset + 8);
    out.set(record, offset + HEADER_SIZE);
    offset += HEADER_SIZE + record.length;
    out.writeUInt32LE(maskCrc(crc32c(record)), offset);
    offset += FOOTER_SIZE;
  }
  return out;
}

/** Writes `records` as a TFRecord file (replacing any file at `path`). */
export async function writeTfRecordFile(path: string, records: Iterable<Uint8Array>): Promise<void> {
  await fs.writeFile(path, encodeTfRecords(records));
}

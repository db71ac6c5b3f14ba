import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { suite, test } from 'node:test';

import {
  crc32c, encodeTfRecords, iterateTfRecords, maskCrc, parseTfRecords, readTfRecordFile, TFRECORD_FORMAT_HINT, writeTfRecordFile,
} from '../../src/proto/tfrecord.js';
import { REPO_ROOT } from '../helpers.js';

// Written by scripts/make-tfrecord-fixture.py with TensorFlow's TFRecordWriter and TFRecordDataset.
const FIXTURES = path.join(REPO_ROOT, 'test', 'fixtures', 'tfrecord');

interface DamagedCase {
  name: string;
  truncate?: number;
  flip?: number;
  append?: string;
  replace?: string;
  records?: number;
  error?: { code: string; message: string };
}
interface Golden {
  records: Array<{ length: number; seed: number; sha256: string }>;
  tfserveWrittenReadByTensorFlow: Array<{ length: number; sha256: string }>;
  damaged: DamagedCase[];
}
const golden = JSON.parse(fs.readFileSync(path.join(FIXTURES, 'golden.json'), 'utf8')) as Golden;
const tfWritten = fs.readFileSync(path.join(FIXTURES, 'tf_written.tfrecord'));
const tfserveWritten = fs.readFileSync(path.join(FIXTURES, 'tfserve_written.tfrecord'));

const sha256 = (bytes: Uint8Array) => crypto.createHash('sha256').update(bytes).digest('hex');
const payload = (length: number, seed: number) => Uint8Array.from({ length }, (_, i) => (seed + 131 * i) & 0xff);
const RECORDS = golden.records.map((r) => payload(r.length, r.seed));

function damage(c: DamagedCase): Buffer {
  if (c.truncate !== undefined) return tfWritten.subarray(0, c.truncate);
  if (c.flip !== undefined) {
    const copy = Buffer.from(tfWritten);
    copy[c.flip]! ^= 0x01;
    return copy;
  }
  if (c.append !== undefined) return Buffer.concat([tfWritten, Buffer.from(c.append, 'hex')]);
  return Buffer.from(c.replace!, 'hex');
}

suite('crc32c', () => {
  test('known answers (RFC 3720 B.4 and the usual check value)', () => {
    assert.equal(crc32c(Buffer.from('123456789')), 0xe3069283);
    assert.equal(crc32c(new Uint8Array(32)), 0x8a9136aa);
    assert.equal(crc32c(new Uint8Array(32).fill(0xff)), 0x62a8ab43);
    assert.equal(crc32c(Uint8Array.from({ length: 32 }, (_, i) => i)), 0x46dd794e);
    assert.equal(crc32c(new Uint8Array(0)), 0);
  });

  test('continues across chunks', () => {
    const data = Buffer.from('The quick brown fox jumps over the lazy dog');
    assert.equal(crc32c(data.subarray(10), crc32c(data.subarray(0, 10))), crc32c(data));
  });

  test('maskCrc gives the CRCs TensorFlow\'s writer stored', () => {
    assert.equal(maskCrc(0), 0xa282ead8);
    // Record 0: an 8-byte zero length and an empty payload; record 1 starts at 16 with a 1-byte payload.
    assert.equal(maskCrc(crc32c(tfWritten.subarray(0, 8))), tfWritten.readUInt32LE(8));
    assert.equal(maskCrc(crc32c(new Uint8Array(0))), tfWritten.readUInt32LE(12));
    assert.equal(maskCrc(crc32c(tfWritten.subarray(28, 29))), tfWritten.readUInt32LE(29));
  });
});

suite('TFRecord files', () => {
  test('the payload generator matches the golden hashes', () => {
    assert.deepEqual(RECORDS.map(sha256), golden.records.map((r) => r.sha256));
  });

  test('reads the records TensorFlow\'s TFRecordWriter wrote (empty, 1 B, 12 B, 300 B, 70000 B)', () => {
    const records = parseTfRecords(tfWritten);
    assert.equal(records.length, RECORDS.length);
    records.forEach((record, i) => assert.ok(record.equals(RECORDS[i]!), `record ${i}`));
  });

  test('records are views into the input, not copies', () => {
    const records = parseTfRecords(tfWritten);
    assert.equal(records[4]!.buffer, tfWritten.buffer);
    assert.equal(records[4]!.byteOffset, tfWritten.byteOffset + tfWritten.length - 4 - 70000);
  });

  test('a plain Uint8Array reads like a Buffer', () => {
    const bytes = new Uint8Array(tfWritten.buffer.slice(tfWritten.byteOffset, tfWritten.byteOffset + tfWritten.length));
    assert.deepEqual(parseTfRecords(bytes).map(sha256), golden.records.map((r) => r.sha256));
  });

  test('writes the same bytes as TensorFlow\'s writer', () => {
    assert.ok(encodeTfRecords(RECORDS).equals(tfWritten));
  });

  test('what our writer wrote, TensorFlow\'s reader read back unchanged', () => {
    // tfserve_written.tfrecord came from encodeTfRecords; it must still be what the writer produces.
    assert.ok(encodeTfRecords(RECORDS).equals(tfserveWritten));
    assert.deepEqual(golden.tfserveWrittenReadByTensorFlow, golden.records.map(({ length, sha256: h }) => ({ length, sha256: h })));
  });

  test('limit stops after that many records and ignores the rest of the file', () => {
    assert.equal(parseTfRecords(tfWritten, { limit: 2 }).length, 2);
    assert.equal(parseTfRecords(tfWritten, { limit: 0 }).length, 0);
    const corruptTail = Buffer.from(tfWritten);
    corruptTail[corruptTail.length - 1]! ^= 1;
    assert.equal(parseTfRecords(corruptTail, { limit: 4 }).length, 4);
  });

  test('an empty list encodes to an empty file, which holds no records', () => {
    assert.equal(encodeTfRecords([]).length, 0);
    assert.deepEqual(parseTfRecords(Buffer.alloc(0)), []);
  });

  test('file helpers round-trip', async (t) => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tfserve-tfrecord-'));
    t.after(() => fs.rmSync(dir, { recursive: true, force: true }));
    const file = path.join(dir, 'tf_serving_warmup_requests');
    await writeTfRecordFile(file, RECORDS);
    assert.ok(fs.readFileSync(file).equals(tfWritten));
    assert.deepEqual((await readTfRecordFile(file)).map(sha256), golden.records.map((r) => r.sha256));
    assert.equal((await readTfRecordFile(file, { limit: 3 })).length, 3);
  });

  test('EXPECTED FAILURE - a missing file rejects with the file system error', async () => {
    await assert.rejects(readTfRecordFile(path.join(os.tmpdir(), 'tfserve-no-such-dir', 'x')), { code: 'ENOENT' });
  });
});

suite('damaged files: the verdicts of TensorFlow\'s RecordReader', () => {
  for (const c of golden.damaged) {
    if (c.error) {
      test(`EXPECTED FAILURE - ${c.name}: ${c.error.message}`, () => {
        assert.throws(() => parseTfRecords(damage(c)), {
          name: 'TfServeError',
          code: c.error!.code,
          message: c.error!.message + TFRECORD_FORMAT_HINT,
        });
      });
    } else {
      test(`${c.name}: ${c.records} record(s), no error`, () => {
        assert.deepEqual(parseTfRecords(damage(c)).map(sha256), golden.records.slice(0, c.records).map((r) => r.sha256));
      });
    }
  }

  test('EXPECTED FAILURE - iterateTfRecords hands out the records before a damaged one, then throws', () => {
    // "payload CRC of record 3 flipped": records 0 to 2 are whole, as TensorFlow's SequentialRecordReader reads them.
    const c = golden.damaged.find((d) => d.name === 'payload CRC of record 3 flipped')!;
    const seen: string[] = [];
    assert.throws(() => {
      for (const record of iterateTfRecords(damage(c))) seen.push(sha256(record));
    }, { name: 'TfServeError', code: 'DATA_LOSS', message: c.error!.message + TFRECORD_FORMAT_HINT });
    assert.deepEqual(seen, golden.records.slice(0, 3).map((r) => r.sha256));
  });

  test('the hint is TF Serving\'s warmup text', () => {
    assert.equal(TFRECORD_FORMAT_HINT, '. Please verify your warmup data is in TFRecord format.');
  });
});

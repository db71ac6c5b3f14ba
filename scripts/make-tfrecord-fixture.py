"""Builds the TFRecord fixtures of test/proto/tfrecord.test.ts with TensorFlow's own reader and writer.

Usage: npm run build:ts && ~/.cache/tfserve/venv/bin/python scripts/make-tfrecord-fixture.py

Writes, in test/fixtures/tfrecord/:
  tf_written.tfrecord       RECORDS written by tf.io.TFRecordWriter
  tfserve_written.tfrecord  the same RECORDS written by tfserve's encodeTfRecords (dist/proto/tfrecord.js)
  golden.json               the records (length, seed, sha256); what tf.data.TFRecordDataset read back
                            from tfserve_written.tfrecord; and, for damaged copies of tf_written.tfrecord,
                            how many records TensorFlow's RecordReader returned or the error it raised.
Payloads are generated from (length, seed), so the test rebuilds them without Python; `npm test` reads
only the committed files.
"""
import hashlib
import json
import os
import struct
import subprocess
import sys
import tempfile

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import tensorflow as tf  # noqa: E402

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), ".."))
OUT = os.path.join(ROOT, "test", "fixtures", "tfrecord")
DIST = os.path.join(ROOT, "dist", "proto", "tfrecord.js")

# (length, seed): an empty record, one byte, exactly a header's size, a few hundred bytes, > 64 KiB.
RECORDS = [(0, 0), (1, 7), (12, 42), (300, 99), (70000, 200)]


def payload(length, seed):
    return bytes((seed + 131 * i) & 0xFF for i in range(length))


def sha256(data):
    return hashlib.sha256(data).hexdigest()


def offsets():
    """Start offset of each record in the file."""
    out, at = [], 0
    for length, _ in RECORDS:
        out.append(at)
        at += 12 + length + 4
    return out


def crc32c(data):
    crc = 0xFFFFFFFF
    for byte in data:
        crc ^= byte
        for _ in range(8):
            crc = (crc >> 1) ^ 0x82F63B78 if crc & 1 else crc >> 1
    return crc ^ 0xFFFFFFFF


def masked(crc):
    return ((((crc >> 15) | (crc << 17)) & 0xFFFFFFFF) + 0xA282EAD8) & 0xFFFFFFFF


def header(length):
    """A record header whose length CRC is right; TensorFlow's verdict on it checks this script's CRC."""
    raw = struct.pack("<Q", length)
    return raw + struct.pack("<I", masked(crc32c(raw)))


CODE_NAMES = {v: k for k, v in vars(tf.errors).items() if k.isupper() and isinstance(v, int)}


def read_with_tf(path):
    """Records as TensorFlow's RecordReader returns them (unbuffered, like warmup), or its error text."""
    try:
        return [bytes(r.numpy()) for r in tf.data.TFRecordDataset(path, buffer_size=0)], None
    except tf.errors.OpError as err:
        # tf.data wraps the reader's status as "{{function_node ...}} <message> [Op:IteratorGetNext] ...".
        message = err.message.split("}} ", 1)[-1].split(" [Op:", 1)[0]
        return None, {"code": CODE_NAMES[err.error_code], "message": message}


def main():
    if not os.path.exists(DIST):
        sys.exit(f"{DIST} is missing: run `npm run build:ts` first")
    os.makedirs(OUT, exist_ok=True)
    records = [payload(n, seed) for n, seed in RECORDS]

    tf_path = os.path.join(OUT, "tf_written.tfrecord")
    with tf.io.TFRecordWriter(tf_path) as writer:
        for record in records:
            writer.write(record)

    ours_path = os.path.join(OUT, "tfserve_written.tfrecord")
    node = (
        "const { encodeTfRecords } = require(process.argv[1]);"
        "const spec = JSON.parse(process.argv[3]);"
        "const records = spec.map(([n, seed]) => Uint8Array.from({ length: n }, (_, i) => (seed + 131 * i) & 0xff));"
        "require('node:fs').writeFileSync(process.argv[2], encodeTfRecords(records));"
    )
    subprocess.run(["node", "-e", node, DIST, ours_path, json.dumps(RECORDS)], check=True)
    ours_read, error = read_with_tf(ours_path)
    if error:
        sys.exit(f"TensorFlow could not read {ours_path}: {error}")

    tf_bytes = open(tf_path, "rb").read()
    at = offsets()
    big = len(RECORDS) - 1

    def flip(index):
        data = bytearray(tf_bytes)
        data[index] ^= 0x01
        return bytes(data)

    # Each case: a name, how to damage tf_written.tfrecord (the test applies the same edit), then TF's verdict.
    edits = [
        ("empty file", {"truncate": 0}),
        ("text instead of records", {"replace": b"not a TFRecord file, just some text\n".hex()}),
        ("first length's CRC flipped", {"flip": 8}),
        ("second record's length changed", {"flip": at[1]}),
        ("last payload byte flipped", {"flip": at[big] + 12 + 69999}),
        ("payload CRC of record 3 flipped", {"flip": at[3] + 12 + 300}),
        ("cut inside the big payload", {"truncate": at[big] + 12 + 1000}),
        ("cut right after a header", {"truncate": at[2] + 12}),
        ("cut before the last payload CRC", {"truncate": len(tf_bytes) - 1}),
        ("cut inside a header", {"truncate": at[2] + 5}),
        ("three stray bytes after the last record", {"append": "000102"}),
        ("a length of 2^64-1 with a valid CRC", {"replace": header(2**64 - 1).hex()}),
    ]
    cases = []
    with tempfile.TemporaryDirectory() as tmp:
        for name, edit in edits:
            if "truncate" in edit:
                data = tf_bytes[: edit["truncate"]]
            elif "flip" in edit:
                data = flip(edit["flip"])
            elif "append" in edit:
                data = tf_bytes + bytes.fromhex(edit["append"])
            else:
                data = bytes.fromhex(edit["replace"])
            path = os.path.join(tmp, "damaged.tfrecord")
            with open(path, "wb") as f:
                f.write(data)
            read, error = read_with_tf(path)
            case = {"name": name, **edit}
            if error:
                case["error"] = error
            else:
                if read != records[: len(read)]:
                    sys.exit(f"{name}: TensorFlow returned records that are not a prefix of the originals")
                case["records"] = len(read)
            cases.append(case)

    golden = {
        "generator": "payload byte i = (seed + 131 * i) & 0xff",
        "tensorflow": tf.__version__,
        "records": [{"length": n, "seed": seed, "sha256": sha256(r)} for (n, seed), r in zip(RECORDS, records)],
        "tfserveWrittenReadByTensorFlow": [{"length": len(r), "sha256": sha256(r)} for r in ours_read],
        "damaged": cases,
    }
    with open(os.path.join(OUT, "golden.json"), "w") as f:
        json.dump(golden, f, indent=2)
        f.write("\n")
    print(f"wrote {OUT}: {len(records)} records, {len(cases)} damaged cases")


if __name__ == "__main__":
    main()

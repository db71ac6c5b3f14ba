/**
 * Test images for the image tests: the committed scene (scripts/make-image-fixtures.py) with its PIL and
 * TensorFlow references, and bad images made on the fly (truncated, not an image, a decompression bomb).
 */
import fs from 'node:fs';
import path from 'node:path';
import { deflateSync } from 'node:zlib';

import { REPO_ROOT } from '../helpers.js';

export const IMAGES_DIR = path.join(REPO_ROOT, 'test', 'fixtures', 'images');
export const SCENE_PNG_PATH = path.join(IMAGES_DIR, 'scene.png');
export const SCENE_JPEG_PATH = path.join(IMAGES_DIR, 'scene.jpg');
export const SCENE_PNG = fs.readFileSync(SCENE_PNG_PATH);
export const SCENE_JPEG = fs.readFileSync(SCENE_JPEG_PATH);

interface ReferenceArray {
  dtype: 'uint8' | 'float32';
  shape: number[];
  b64: string;
}

export interface SceneReference {
  size: [number, number];
  png: Record<string, ReferenceArray>;
  jpeg: Record<string, ReferenceArray>;
}

export const REFERENCE = JSON.parse(fs.readFileSync(path.join(IMAGES_DIR, 'scene.reference.json'), 'utf8')) as SceneReference;

/** A reference array's values (HWC order). */
export function referenceData(entry: ReferenceArray): Uint8Array | Float32Array {
  const bytes = Buffer.from(entry.b64, 'base64');
  if (entry.dtype === 'uint8') return new Uint8Array(bytes);
  const copy = new Uint8Array(bytes);
  return new Float32Array(copy.buffer, 0, copy.byteLength / 4);
}

const CRC_TABLE = new Int32Array(256).map((_, n) => {
  let c = n;
  for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
  return c;
});

function crc32(bytes: Uint8Array): number {
  let c = -1;
  for (const b of bytes) c = CRC_TABLE[(c ^ b) & 0xff]! ^ (c >>> 8);
  return (c ^ -1) >>> 0;
}

function pngChunk(type: string, data: Buffer): Buffer {
  const length = Buffer.alloc(4);
  length.writeUInt32BE(data.length);
  const body = Buffer.concat([Buffer.from(type, 'latin1'), data]);
  const crc = Buffer.alloc(4);
  crc.writeUInt32BE(crc32(body));
  return Buffer.concat([length, body, crc]);
}

/**
 * A decompression bomb: a valid PNG of ~100 bytes whose header declares width x height 1-bit pixels.
 * Its IDAT holds only a few rows, so decoding it would fail too, but only after allocating the image.
 */
export function pngBomb(width: number, height: number): Buffer {
  const header = Buffer.alloc(13);
  header.writeUInt32BE(width, 0);
  header.writeUInt32BE(height, 4);
  header[8] = 1; // bit depth
  header[9] = 0; // greyscale
  return Buffer.concat([
    Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
    pngChunk('IHDR', header),
    pngChunk('IDAT', deflateSync(Buffer.alloc(4 * (1 + Math.ceil(width / 8))))),
    pngChunk('IEND', Buffer.alloc(0)),
  ]);
}

/** Differences between two equally long arrays: largest, 99th percentile, mean. */
export function differences(actual: ArrayLike<number>, expected: ArrayLike<number>): { max: number; p99: number; mean: number } {
  if (actual.length !== expected.length) throw new Error(`length ${actual.length} vs ${expected.length}`);
  const d = Float64Array.from({ length: actual.length }, (_, i) => Math.abs(actual[i]! - expected[i]!)).sort();
  let sum = 0;
  for (const v of d) sum += v;
  return { max: d[d.length - 1]!, p99: d[Math.floor(d.length * 0.99)]!, mean: sum / d.length };
}

export function describeDifferences(d: { max: number; p99: number; mean: number }): string {
  return `max ${d.max.toFixed(2)}, p99 ${d.p99.toFixed(2)}, mean ${d.mean.toFixed(3)} grey levels`;
}

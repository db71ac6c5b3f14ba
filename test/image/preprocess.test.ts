// preprocessImage (src/image/preprocess.ts) against what PIL and TensorFlow compute for the same image
// (test/fixtures/images/, written by scripts/make-image-fixtures.py), then its spec options, its
// argument checks and the bad-image table.
//
// Tolerances, in grey levels (0..255) of uint8 output, and what was measured when they were set:
//   no resize (decode + PIL's 'L' luma)      exact                      measured: exact (PNG and JPEG)
//   enlarging (bilinear, bicubic)             exact                      measured: exact (PIL's own arithmetic)
//   shrinking (libvips's antialiased reduce)  max 24, p99 4, mean 0.5    measured: max 18, p99 3, mean 0.30
//   vs tf.image.resize(antialias=True)        max 24, p99 4, mean 0.5    measured: max 18, p99 3.4, mean 0.34
// Shrinking differs at the scene's one-pixel lines and hard colour edges only: libvips quantises its filter
// positions and weights more coarsely than PIL. tf.image.resize's default antialias=False is *not* a
// tolerance: it differs from PIL and sharp by ~10 levels on average (max ~165) when shrinking. sharp's own
// greyscale (grayscale: 'sharp') differs from PIL's 'L' by 22 levels on average, 70 at most.
import assert from 'node:assert/strict';
import { suite, test } from 'node:test';

import sharp from 'sharp';

import { TfServeError } from '../../src/model/errors.js';
import { type ImageSpec, preprocessImage, resolveImageSpec } from '../../src/image/preprocess.js';
import {
  describeDifferences,
  differences,
  pngBomb,
  REFERENCE,
  referenceData,
  SCENE_JPEG,
  SCENE_JPEG_PATH,
  SCENE_PNG,
  SCENE_PNG_PATH,
} from './images.js';

const [WIDTH, HEIGHT] = REFERENCE.size;
const SHRINK = { max: 24, p99: 4, mean: 0.5 };
const EXACT = { max: 0, p99: 0, mean: 0 };

interface ReferenceCase {
  name: string;
  source: 'png' | 'jpeg';
  reference: string;
  spec: ImageSpec;
  tolerance: { max: number; p99: number; mean: number };
}

const REFERENCE_CASES: ReferenceCase[] = [
  { name: 'PNG, grey at its own size: PIL\'s ITU-R 601-2 luma', source: 'png', reference: 'pil_grey_native', spec: { width: WIDTH, height: HEIGHT, channels: 1 }, tolerance: EXACT },
  { name: 'JPEG, grey at its own size', source: 'jpeg', reference: 'pil_grey_native', spec: { width: WIDTH, height: HEIGHT, channels: 1 }, tolerance: EXACT },
  { name: 'JPEG, RGB at its own size: the decoders agree', source: 'jpeg', reference: 'pil_rgb_native', spec: { width: WIDTH, height: HEIGHT }, tolerance: EXACT },
  { name: 'PNG, grey 64x64 (width shrinks, height grows)', source: 'png', reference: 'pil_grey_64x64', spec: { width: 64, height: 64, channels: 1 }, tolerance: SHRINK },
  { name: 'JPEG, grey 64x64', source: 'jpeg', reference: 'pil_grey_64x64', spec: { width: 64, height: 64, channels: 1 }, tolerance: SHRINK },
  { name: 'PNG, RGB 32x32 (both shrink)', source: 'png', reference: 'pil_rgb_32x32', spec: { width: 32, height: 32 }, tolerance: SHRINK },
  { name: 'JPEG, RGB 32x32', source: 'jpeg', reference: 'pil_rgb_32x32', spec: { width: 32, height: 32 }, tolerance: SHRINK },
  { name: 'PNG, grey 128x80 (both grow), BILINEAR', source: 'png', reference: 'pil_grey_128x80_linear', spec: { width: 128, height: 80, channels: 1 }, tolerance: EXACT },
  { name: 'PNG, grey 128x80, BICUBIC', source: 'png', reference: 'pil_grey_128x80_cubic', spec: { width: 128, height: 80, channels: 1, kernel: 'cubic' }, tolerance: EXACT },
  { name: 'PNG, RGB 32x32 vs tf.image.resize(antialias=True)', source: 'png', reference: 'tf_rgb_32x32_antialias', spec: { width: 32, height: 32 }, tolerance: SHRINK },
  { name: 'PNG, grey 64x64 vs tf.image.resize(antialias=True) + rgb_to_grayscale', source: 'png', reference: 'tf_grey_64x64_antialias', spec: { width: 64, height: 64, channels: 1 }, tolerance: SHRINK },
];

function source(name: 'png' | 'jpeg'): Buffer {
  return name === 'png' ? SCENE_PNG : SCENE_JPEG;
}

suite('sharp preprocessing vs PIL and TensorFlow on the same image', () => {
  for (const c of REFERENCE_CASES) {
    test(`${c.name}: within max ${c.tolerance.max}, p99 ${c.tolerance.p99}, mean ${c.tolerance.mean}`, async (t) => {
      const expected = referenceData(REFERENCE[c.source][c.reference]!);
      const got = await preprocessImage(source(c.source), { ...c.spec, dtype: 'uint8' });
      assert.deepEqual(got.shape, [1, ...REFERENCE[c.source][c.reference]!.shape]);
      const d = differences(got.data, expected);
      t.diagnostic(describeDifferences(d));
      assert.ok(d.max <= c.tolerance.max && d.p99 <= c.tolerance.p99 && d.mean <= c.tolerance.mean, describeDifferences(d));
    });
  }

  test('float32 output is the uint8 output times 1/255, exactly as numpy computes it', async () => {
    const bytes = await preprocessImage(SCENE_PNG, { width: 32, height: 32, dtype: 'uint8' });
    const floats = await preprocessImage(SCENE_PNG, { width: 32, height: 32 });
    assert.equal(floats.dtype, 'float32');
    assert.ok(floats.data instanceof Float32Array);
    floats.data.forEach((v, i) => assert.equal(v, Math.fround(bytes.data[i]! / 255), `element ${i}`));
  });

  test('tf.image.resize without antialias is far from PIL when shrinking: documented, not a tolerance', async (t) => {
    const got = await preprocessImage(SCENE_PNG, { width: 32, height: 32, dtype: 'uint8' });
    const d = differences(got.data, referenceData(REFERENCE.png.tf_rgb_32x32_plain!));
    t.diagnostic(describeDifferences(d));
    assert.ok(d.mean > 5 && d.max > 100, describeDifferences(d));
  });

  test("grayscale 'sharp' is libvips's linear-light Rec.709 grey: 22 levels from PIL's 'L' on average", async (t) => {
    const got = await preprocessImage(SCENE_PNG, { width: WIDTH, height: HEIGHT, channels: 1, dtype: 'uint8', grayscale: 'sharp' });
    const d = differences(got.data, referenceData(REFERENCE.png.pil_grey_native!));
    t.diagnostic(describeDifferences(d));
    assert.ok(d.mean > 15 && d.mean < 30 && d.max <= 80, describeDifferences(d));
    const red = await sharp({ create: { width: 1, height: 1, channels: 3, background: { r: 255, g: 0, b: 0 } } }).png().toBuffer();
    const spec = { width: 1, height: 1, channels: 1, dtype: 'uint8' } as const;
    assert.equal((await preprocessImage(red, spec)).data[0], 76, "PIL's L of pure red");
    assert.equal((await preprocessImage(red, { ...spec, grayscale: 'sharp' })).data[0], 127, "libvips's grey of pure red");
  });
});

suite('ImageSpec options', () => {
  test('inputs: a Buffer, a Uint8Array view at an offset, and a file path give the same tensor', async () => {
    const spec: ImageSpec = { width: 16, height: 12 };
    const fromBuffer = await preprocessImage(SCENE_JPEG, spec);
    const padded = new Uint8Array(SCENE_JPEG.length + 7);
    padded.set(SCENE_JPEG, 7);
    const fromView = await preprocessImage(padded.subarray(7), spec);
    const fromPath = await preprocessImage(SCENE_JPEG_PATH, spec);
    assert.deepEqual(fromBuffer.shape, [1, 12, 16, 3]);
    assert.deepEqual(fromView.data, fromBuffer.data);
    assert.deepEqual(fromPath.data, fromBuffer.data);
  });

  test('layout nchw is the transpose of nhwc', async () => {
    const nhwc = await preprocessImage(SCENE_PNG, { width: 8, height: 6 });
    const nchw = await preprocessImage(SCENE_PNG, { width: 8, height: 6, layout: 'nchw' });
    assert.deepEqual(nchw.shape, [1, 3, 6, 8]);
    for (let c = 0; c < 3; c++) {
      for (let p = 0; p < 48; p++) assert.equal(nchw.data[c * 48 + p], nhwc.data[p * 3 + c]);
    }
  });

  test('scale, then per-channel mean and std: (x * scale - mean[c]) / std[c]', async () => {
    const bytes = await preprocessImage(SCENE_PNG, { width: 8, height: 6, dtype: 'uint8' });
    const mean = [0.485, 0.456, 0.406];
    const std = [0.229, 0.224, 0.225];
    const got = await preprocessImage(SCENE_PNG, { width: 8, height: 6, mean, std });
    got.data.forEach((v, i) => assert.equal(v, Math.fround((bytes.data[i]! / 255 - mean[i % 3]!) / std[i % 3]!), `element ${i}`));
    const centred = await preprocessImage(SCENE_PNG, { width: 8, height: 6, scale: 1, mean: 127.5, std: 127.5 });
    centred.data.forEach((v, i) => assert.equal(v, Math.fround((bytes.data[i]! - 127.5) / 127.5)));
  });

  test('channels 4 adds an opaque alpha to an RGB image; grey stays one channel', async () => {
    const rgba = await preprocessImage(SCENE_PNG, { width: 5, height: 5, channels: 4, dtype: 'uint8' });
    assert.deepEqual(rgba.shape, [1, 5, 5, 4]);
    for (let p = 0; p < 25; p++) assert.equal(rgba.data[p * 4 + 3], 255);
    const grey = await preprocessImage(SCENE_PNG, { width: 5, height: 5, channels: 1 });
    assert.deepEqual(grey.shape, [1, 5, 5, 1]);
  });

  test("fit: 'cover' crops the centre, 'contain' pads with black, 'inside'/'outside' keep the aspect ratio", async () => {
    const spec = { width: 40, height: 40, dtype: 'uint8' } as const;
    const cover = await preprocessImage(SCENE_PNG, { ...spec, fit: 'cover' });
    assert.deepEqual(cover.shape, [1, 40, 40, 3]);
    const contain = await preprocessImage(SCENE_PNG, { ...spec, fit: 'contain' });
    assert.deepEqual(contain.shape, [1, 40, 40, 3]);
    // 97x61 into 40x40 is 40x25: rows 0..6 and 32..39 are padding.
    const row = (y: number) => contain.data.subarray(y * 120, (y + 1) * 120);
    assert.ok(row(0).every((v) => v === 0) && row(39).every((v) => v === 0), 'padding rows are black');
    assert.ok(row(20).some((v) => v !== 0), 'the image is in the middle');
    assert.deepEqual((await preprocessImage(SCENE_PNG, { ...spec, fit: 'inside' })).shape, [1, 25, 40, 3]);
    assert.deepEqual((await preprocessImage(SCENE_PNG, { ...spec, fit: 'outside' })).shape, [1, 40, 64, 3]);
    // cover at the source's aspect ratio is fill.
    const same = { width: 97 * 2, height: 61 * 2, dtype: 'uint8' } as const;
    assert.deepEqual((await preprocessImage(SCENE_PNG, { ...same, fit: 'cover' })).data, (await preprocessImage(SCENE_PNG, same)).data);
  });

  test('every sharp kernel runs, libvips-only ones (mks2013, mks2021) included', async () => {
    for (const kernel of ['nearest', 'linear', 'cubic', 'mitchell', 'lanczos2', 'lanczos3', 'mks2013', 'mks2021'] as const) {
      const out = await preprocessImage(SCENE_PNG, { width: 150, height: 20, kernel });
      assert.deepEqual(out.shape, [1, 20, 150, 3], kernel);
      assert.ok(out.data.every((v) => v >= 0 && v <= 1), kernel);
    }
  });

  test('resolveImageSpec fills the defaults', () => {
    assert.deepEqual(
      { ...resolveImageSpec({ width: 2, height: 3 }) },
      {
        width: 2, height: 3, channels: 3, fit: 'fill', kernel: 'linear', scale: 1 / 255, mean: [0, 0, 0], std: [1, 1, 1],
        dtype: 'float32', layout: 'nhwc', grayscale: 'rec601', shrinkOnLoad: false,
      },
    );
    assert.equal(resolveImageSpec({ width: 2, height: 3, dtype: 'uint8' }).scale, 1);
    assert.deepEqual(resolveImageSpec({ width: 2, height: 3, channels: 1, mean: [0.5] }).mean, [0.5]);
  });

  test('shrinkOnLoad lets libjpeg decode a large JPEG at reduced scale, close to the full decode', async () => {
    const big = await sharp(SCENE_PNG).resize(970, 610).jpeg({ quality: 95 }).toBuffer();
    const full = await preprocessImage(big, { width: 48, height: 48, dtype: 'uint8' });
    const fast = await preprocessImage(big, { width: 48, height: 48, dtype: 'uint8', shrinkOnLoad: true });
    const d = differences(fast.data, full.data);
    assert.ok(d.mean < 3, describeDifferences(d));
  });
});

const invalid = (message: RegExp) => ({ name: 'TfServeError', code: 'INVALID_ARGUMENT', message });

suite('BAD CALL - spec and argument checks reject with sharp-style messages', () => {
  const base = { width: 4, height: 4 };
  const cases: [string, unknown, RegExp][] = [
    ['spec null', null, /^Expected object for spec but received null of type null$/],
    ['width 0', { ...base, width: 0 }, /^Expected integer between 1 and 16384 for spec\.width but received 0 of type number$/],
    ['width 1.5', { ...base, width: 1.5 }, /spec\.width but received 1\.5/],
    ['height as string', { ...base, height: '64' }, /^Expected integer between 1 and 16384 for spec\.height but received "64" of type string$/],
    ['channels 2', { ...base, channels: 2 }, /^Expected one of 1, 3, 4 for spec\.channels but received 2 of type number$/],
    ['fit stretch', { ...base, fit: 'stretch' }, /^Expected one of fill, cover, contain, inside, outside for spec\.fit but received "stretch"/],
    ['kernel bicubic', { ...base, kernel: 'bicubic' }, /^Expected one of nearest, linear, .* for spec\.kernel but received "bicubic"/],
    ['scale NaN', { ...base, scale: NaN }, /^Expected finite number for spec\.scale but received NaN/],
    ['mean of 2 for 3 channels', { ...base, mean: [1, 2] }, /^Expected number or array of 1 or 3 numbers for spec\.mean but received array of length 2$/],
    ['std 0', { ...base, std: [1, 0, 1] }, /^Expected finite non-zero number for spec\.std\[1\] but received 0 of type number$/],
    ['dtype float16', { ...base, dtype: 'float16' }, /^Expected one of float32, uint8 for spec\.dtype/],
    ['layout hwc', { ...base, layout: 'hwc' }, /^Expected one of nhwc, nchw for spec\.layout/],
    ['uint8 with a mean', { ...base, dtype: 'uint8', mean: 0.5 }, /^spec\.dtype uint8 takes the pixels as they are/],
    ['grayscale pil', { ...base, grayscale: 'pil' }, /^Expected one of rec601, sharp for spec\.grayscale/],
  ];
  for (const [name, spec, message] of cases) {
    test(name, async () => {
      await assert.rejects(preprocessImage(SCENE_PNG, spec as ImageSpec), invalid(message));
    });
  }

  test('input of a wrong type, and options of a wrong type, reject (never throw)', async () => {
    const pending = preprocessImage(42 as unknown as Buffer, base);
    assert.ok(pending instanceof Promise);
    await assert.rejects(pending, invalid(/^Expected Buffer, Uint8Array or file path for input but received 42 of type number$/));
    await assert.rejects(preprocessImage(SCENE_PNG, base, { limitInputPixels: -1 }), invalid(/options\.limitInputPixels/));
    await assert.rejects(preprocessImage(SCENE_PNG, base, { formats: 'png' as unknown as string[] }), invalid(/options\.formats/));
  });
});

suite('EXPECTED FAILURE - bad images', () => {
  const spec = { width: 8, height: 8 };
  const cases: [string, Buffer | string, RegExp, object?][] = [
    ['zero bytes', Buffer.alloc(0), /^Image is empty \(0 bytes\)$/],
    ['not an image', Buffer.from('hello, this is text'), /^Input is not an image/],
    ['a PNG cut in half', SCENE_PNG.subarray(0, SCENE_PNG.length / 2), /^Image data is truncated or corrupt: /],
    ['a JPEG cut in half', SCENE_JPEG.subarray(0, SCENE_JPEG.length / 2), /^Image data is truncated or corrupt: .*premature end/i],
    ['a PNG cut inside its header', SCENE_PNG.subarray(0, 30), /^Image header is truncated or corrupt: /],
    ['a decompression bomb (a 94-byte PNG declaring 30000x30000)', pngBomb(30000, 30000), /^Image is 30000x30000 = 900000000 pixels, over the limit of 40000000$/],
    ['over a custom pixel limit', SCENE_PNG, /^Image is 97x61 = 5917 pixels, over the limit of 5000$/, { limitInputPixels: 5000 }],
    ['a format not in options.formats', SCENE_JPEG, /^Image format jpeg is not accepted here; expected png, webp$/, { formats: ['png', 'webp'] }],
  ];
  for (const [name, input, message, options] of cases) {
    test(name, async () => {
      await assert.rejects(preprocessImage(input, spec, options), invalid(message));
    });
  }

  test('a missing file is NOT_FOUND', async () => {
    await assert.rejects(preprocessImage('/nonexistent/face.png', spec), { name: 'TfServeError', code: 'NOT_FOUND', message: 'Image file not found: /nonexistent/face.png' });
  });

  test('the pixel limit can be lifted: the bomb then fails as truncated data, still cleanly', async () => {
    const error = await preprocessImage(pngBomb(3000, 3000), spec, { limitInputPixels: false }).catch((e: unknown) => e);
    assert.ok(error instanceof TfServeError && error.code === 'INVALID_ARGUMENT', String(error));
    assert.match(error.message, /truncated or corrupt/);
  });

  test('the other images still decode after the failures', async () => {
    assert.deepEqual((await preprocessImage(SCENE_PNG_PATH, spec)).shape, [1, 8, 8, 3]);
  });
});

/**
 * preprocessImage: an encoded image (a Buffer or a file path) -> the { dtype, shape, data } tensor a
 * vision model takes, computed the way a Python training pipeline computes it with PIL
 * (`Image.open(f).convert('L' | 'RGB').resize((w, h), Image.BILINEAR)`, then `x * scale`, `(x - mean) / std`).
 *
 * Two stages. (1) sharp, on libuv's thread pool: read the header (format and pixel-count checks come
 * before any pixel is decoded, so a decompression bomb fails cleanly), then decode, drop or add alpha,
 * convert to sRGB (or libvips's grey) and *reduce* every axis that shrinks, with the antialiasing kernel
 * PIL also uses. (2) this thread, over the already small pixels only: ITU-R 601-2 luma, *enlarge* any axis
 * that grows, crop or pad for the fit, then scale/mean/std through a per-channel 256-entry table while
 * writing NHWC or NCHW. Stage 2 touches at most the output's size, so it stays far below a millisecond for
 * model-sized inputs and never scales with the photo.
 *
 * Why enlarge here and not in sharp: libvips places enlarged samples half an output pixel away from
 * PIL's and TensorFlow's pixel-centre convention (a 3-pixel ramp 0,100,200 doubled gives 0,0,50,100,150,200;
 * PIL gives 0,25,75,125,175,200), which moves edges by up to 144 grey levels on the test image. Stage 2
 * reproduces PIL's resampling (its coefficients and 22-bit fixed-point rounding) for the kernels below.
 *
 * Why 'rec601' grey by default: sharp's greyscale() is libvips's B_W conversion, Rec.709 weights applied in
 * linear light and re-encoded, so pure red becomes 127 where PIL's `convert('L')` (and
 * tf.image.rgb_to_grayscale, and Keras' load_img(color_mode='grayscale')) give 76; over the test image the
 * two differ by 22 levels on average and 70 at most. A model trained on PIL's grey expects PIL's grey:
 * 'rec601' computes L = (19595 R + 38470 G + 7471 B + 32768) >> 16 exactly as PIL does; 'sharp' keeps
 * libvips's conversion.
 *
 * Why 'linear' is the default kernel: models are trained on PIL BILINEAR or tf.image.resize 'bilinear'
 * (the TF and Keras default), and sharp's own default, lanczos3, differs from them by several grey levels
 * at every edge. Reductions use libvips's antialiasing filter, like PIL (and tf.image.resize with
 * antialias=True); tf.image.resize's default antialias=False samples without a filter when shrinking and
 * differs from both by up to ~160 levels at fine detail (measured in test/image/preprocess.test.ts).
 *
 * EXIF orientation and embedded ICC profiles are ignored, as PIL's Image.open and tf.io.decode_image
 * ignore them. Errors are TfServeError INVALID_ARGUMENT (NOT_FOUND for a missing file) with sharp-style
 * messages. sharp is loaded on first use, so importing tfserve does not require it.
 */
import { invalidArgument, TfServeError } from '../model/errors.js';

import type SharpModule from 'sharp';

type Sharp = typeof SharpModule;

export type ImageFit = 'fill' | 'cover' | 'contain' | 'inside' | 'outside';
export type ImageKernel = 'nearest' | 'linear' | 'cubic' | 'mitchell' | 'lanczos2' | 'lanczos3' | 'mks2013' | 'mks2021';
export type ImageLayout = 'nhwc' | 'nchw';
export type ImageDType = 'float32' | 'uint8';
export type GrayscaleMethod = 'rec601' | 'sharp';

export interface ImageSpec {
  width: number;
  height: number;
  /** 1 = grey, 3 = RGB (default), 4 = RGBA. */
  channels?: 1 | 3 | 4;
  /** sharp's fit: 'fill' (default) stretches to width x height, as tf.image.resize and PIL's resize do. */
  fit?: ImageFit;
  /** Resampling kernel; default 'linear' (bilinear), what PIL BILINEAR and tf.image.resize compute. */
  kernel?: ImageKernel;
  /** Multiplies each pixel value first; default 1/255 for float32. uint8 output takes pixels as they are. */
  scale?: number;
  /** Subtracted after scaling: one value, or one per channel. Default 0. */
  mean?: number | readonly number[];
  /** Divides after the mean: one value, or one per channel. Default 1. */
  std?: number | readonly number[];
  dtype?: ImageDType;
  /** 'nhwc' (default): [1, height, width, channels]; 'nchw': [1, channels, height, width]. */
  layout?: ImageLayout;
  /** How colour becomes grey for channels 1: 'rec601' (default, PIL's 'L') or 'sharp' (libvips, linear light). */
  grayscale?: GrayscaleMethod;
  /**
   * Let libjpeg and libwebp decode large images at 1/2, 1/4 or 1/8 scale: several times faster for
   * camera photos, a little further from PIL's full decode. Default false.
   */
  shrinkOnLoad?: boolean;
}

export interface PreprocessOptions {
  /** Largest width x height accepted, checked from the header before decoding; false = no limit. Default 40 megapixels. */
  limitInputPixels?: number | false;
  /** Accepted formats, by content (sharp's names: 'jpeg', 'png', 'webp', 'gif', 'tiff', ...). Default: any sharp decodes. */
  formats?: readonly string[];
}

export interface ImageTensor {
  dtype: ImageDType;
  shape: number[];
  data: Float32Array | Uint8Array;
}

/** An ImageSpec with every default applied and per-channel arrays expanded. */
export interface ResolvedImageSpec {
  readonly width: number;
  readonly height: number;
  readonly channels: 1 | 3 | 4;
  readonly fit: ImageFit;
  readonly kernel: ImageKernel;
  readonly scale: number;
  readonly mean: readonly number[];
  readonly std: readonly number[];
  readonly dtype: ImageDType;
  readonly layout: ImageLayout;
  readonly grayscale: GrayscaleMethod;
  readonly shrinkOnLoad: boolean;
}

/** One image after stage 1: sharp's raw pixels plus where stage 2 puts them. */
export interface DecodedImage {
  readonly format: string;
  readonly sourceWidth: number;
  readonly sourceHeight: number;
  /** Raw interleaved uint8 pixels from sharp, pixelsWidth x pixelsHeight x pixelsChannels. */
  readonly pixels: Uint8Array;
  readonly pixelsWidth: number;
  readonly pixelsHeight: number;
  readonly pixelsChannels: number;
  /** The size the whole image is resampled to before crop or pad. */
  readonly resizedWidth: number;
  readonly resizedHeight: number;
  /** The output's size, and where its top-left pixel lies in the resized image (negative = padding). */
  readonly width: number;
  readonly height: number;
  readonly left: number;
  readonly top: number;
}

/** Every field of ImageSpec: what a tfserve.json "image" section may hold besides the server's own keys. */
export const IMAGE_SPEC_KEYS: readonly (keyof ImageSpec)[] = Object.freeze([
  'width', 'height', 'channels', 'fit', 'kernel', 'scale', 'mean', 'std', 'dtype', 'layout', 'grayscale', 'shrinkOnLoad',
]);

export const DEFAULT_LIMIT_INPUT_PIXELS = 40_000_000;
const MAX_DIMENSION = 16_384;

const FITS: readonly ImageFit[] = ['fill', 'cover', 'contain', 'inside', 'outside'];
const KERNELS: readonly ImageKernel[] = ['nearest', 'linear', 'cubic', 'mitchell', 'lanczos2', 'lanczos3', 'mks2013', 'mks2021'];
const LAYOUTS: readonly ImageLayout[] = ['nhwc', 'nchw'];
const DTYPES: readonly ImageDType[] = ['float32', 'uint8'];
const GRAYSCALES: readonly GrayscaleMethod[] = ['rec601', 'sharp'];

let sharpModule: Sharp | undefined;

function sharp(): Sharp {
  if (sharpModule === undefined) {
    try {
      sharpModule = require('sharp') as Sharp;
    } catch (err) {
      throw new TfServeError('FAILED_PRECONDITION', `Image preprocessing needs the sharp package, which failed to load: ${(err as Error).message}`, { cause: err });
    }
  }
  return sharpModule;
}

// ---------------------------------------------------------------------------------------------------
// Validation

function describe(value: unknown): string {
  if (typeof value === 'string') return `${JSON.stringify(value)} of type string`;
  if (Array.isArray(value)) return `array of length ${value.length}`;
  return `${String(value)} of type ${value === null ? 'null' : typeof value}`;
}

function invalidParameter(name: string, expected: string, actual: unknown): TfServeError {
  return invalidArgument(`Expected ${expected} for ${name} but received ${describe(actual)}`);
}

function oneOf<T extends string>(value: unknown, allowed: readonly T[], fallback: T, name: string): T {
  if (value === undefined) return fallback;
  if (!allowed.includes(value as T)) throw invalidParameter(name, `one of ${allowed.join(', ')}`, value);
  return value as T;
}

function perChannel(value: unknown, channels: number, fallback: number, name: string, nonZero: boolean): number[] {
  if (value === undefined) return new Array<number>(channels).fill(fallback);
  const check = (v: unknown, where: string): number => {
    if (typeof v !== 'number' || !Number.isFinite(v) || (nonZero && v === 0)) {
      throw invalidParameter(where, nonZero ? 'finite non-zero number' : 'finite number', v);
    }
    return v;
  };
  if (typeof value === 'number') return new Array<number>(channels).fill(check(value, name));
  if (!Array.isArray(value) || (value.length !== 1 && value.length !== channels)) {
    throw invalidParameter(name, `number or array of 1 or ${channels} numbers`, value);
  }
  const values = value.map((v, i) => check(v, `${name}[${i}]`));
  return values.length === 1 ? new Array<number>(channels).fill(values[0]!) : values;
}

/** Applies ImageSpec's defaults; throws TfServeError INVALID_ARGUMENT naming the offending field. */
export function resolveImageSpec(spec: unknown, name = 'spec'): ResolvedImageSpec {
  if (typeof spec !== 'object' || spec === null || Array.isArray(spec)) throw invalidParameter(name, 'object', spec);
  const s = spec as Record<string, unknown>;
  const dimension = (key: string): number => {
    const v = s[key];
    if (!Number.isInteger(v) || (v as number) < 1 || (v as number) > MAX_DIMENSION) {
      throw invalidParameter(`${name}.${key}`, `integer between 1 and ${MAX_DIMENSION}`, v);
    }
    return v as number;
  };
  const width = dimension('width');
  const height = dimension('height');
  const channels = s.channels ?? 3;
  if (channels !== 1 && channels !== 3 && channels !== 4) throw invalidParameter(`${name}.channels`, 'one of 1, 3, 4', s.channels);
  const dtype = oneOf(s.dtype, DTYPES, 'float32', `${name}.dtype`);
  if (s.scale !== undefined && (typeof s.scale !== 'number' || !Number.isFinite(s.scale))) {
    throw invalidParameter(`${name}.scale`, 'finite number', s.scale);
  }
  if (dtype === 'uint8' && ((s.scale !== undefined && s.scale !== 1) || s.mean !== undefined || s.std !== undefined)) {
    throw invalidArgument(`${name}.dtype uint8 takes the pixels as they are: scale, mean and std need dtype float32`);
  }
  if (s.shrinkOnLoad !== undefined && typeof s.shrinkOnLoad !== 'boolean') {
    throw invalidParameter(`${name}.shrinkOnLoad`, 'boolean', s.shrinkOnLoad);
  }
  return Object.freeze({
    width,
    height,
    channels,
    fit: oneOf(s.fit, FITS, 'fill', `${name}.fit`),
    kernel: oneOf(s.kernel, KERNELS, 'linear', `${name}.kernel`),
    scale: (s.scale as number | undefined) ?? (dtype === 'float32' ? 1 / 255 : 1),
    mean: Object.freeze(perChannel(s.mean, channels, 0, `${name}.mean`, false)),
    std: Object.freeze(perChannel(s.std, channels, 1, `${name}.std`, true)),
    dtype,
    layout: oneOf(s.layout, LAYOUTS, 'nhwc', `${name}.layout`),
    grayscale: oneOf(s.grayscale, GRAYSCALES, 'rec601', `${name}.grayscale`),
    shrinkOnLoad: (s.shrinkOnLoad as boolean | undefined) ?? false,
  });
}

function resolveOptions(options: unknown): { limit: number | false; formats: readonly string[] | undefined } {
  if (options === undefined) return { limit: DEFAULT_LIMIT_INPUT_PIXELS, formats: undefined };
  if (typeof options !== 'object' || options === null) throw invalidParameter('options', 'object', options);
  const { limitInputPixels, formats } = options as PreprocessOptions;
  if (limitInputPixels !== undefined && limitInputPixels !== false && (!Number.isSafeInteger(limitInputPixels) || limitInputPixels < 1)) {
    throw invalidParameter('options.limitInputPixels', 'positive integer or false', limitInputPixels);
  }
  if (formats !== undefined && (!Array.isArray(formats) || formats.some((f) => typeof f !== 'string'))) {
    throw invalidParameter('options.formats', 'array of format names', formats);
  }
  return { limit: limitInputPixels ?? DEFAULT_LIMIT_INPUT_PIXELS, formats };
}

function toSharpInput(input: unknown): Buffer | string {
  if (typeof input === 'string') {
    if (input.length === 0) throw invalidParameter('input', 'Buffer, Uint8Array or file path', input);
    return input;
  }
  if (input instanceof Uint8Array) {
    if (input.byteLength === 0) throw invalidArgument('Image is empty (0 bytes)');
    return Buffer.isBuffer(input) ? input : Buffer.from(input.buffer, input.byteOffset, input.byteLength);
  }
  throw invalidParameter('input', 'Buffer, Uint8Array or file path', input);
}

/** sharp's error texts -> ours. Pixel-limit and format errors are raised before sharp sees the pixels. */
function imageError(err: unknown, input: Buffer | string): TfServeError {
  const message = err instanceof Error ? err.message : String(err);
  if (/Input file is missing/.test(message)) return new TfServeError('NOT_FOUND', `Image file not found: ${String(input)}`, { cause: err });
  if (/Input (buffer|file) is empty/i.test(message)) return new TfServeError('INVALID_ARGUMENT', 'Image is empty (0 bytes)', { cause: err });
  if (/unsupported image format/.test(message)) {
    return new TfServeError('INVALID_ARGUMENT', 'Input is not an image (no decoder recognises its first bytes)', { cause: err });
  }
  if (/corrupt header/.test(message)) {
    return new TfServeError('INVALID_ARGUMENT', `Image header is truncated or corrupt: ${message.replace(/^Input \w+ has corrupt header: /, '')}`, { cause: err });
  }
  return new TfServeError('INVALID_ARGUMENT', `Image data is truncated or corrupt: ${message}`, { cause: err });
}

// ---------------------------------------------------------------------------------------------------
// Geometry

/** The resized size and the crop/pad offsets for `fit`, from the source size. */
function layoutFor(spec: ResolvedImageSpec, sourceWidth: number, sourceHeight: number) {
  const { width, height, fit } = spec;
  if (fit === 'fill') return { resizedWidth: width, resizedHeight: height, width, height, left: 0, top: 0 };
  const grow = fit === 'cover' || fit === 'outside' ? Math.max : Math.min;
  const factor = grow(width / sourceWidth, height / sourceHeight);
  // The side that sets the factor gets the exact target size; the other is rounded.
  const fitWidth = factor === width / sourceWidth ? width : Math.max(1, Math.round(sourceWidth * factor));
  const fitHeight = factor === height / sourceHeight ? height : Math.max(1, Math.round(sourceHeight * factor));
  if (fit === 'inside' || fit === 'outside') {
    return { resizedWidth: fitWidth, resizedHeight: fitHeight, width: fitWidth, height: fitHeight, left: 0, top: 0 };
  }
  // cover crops the centre, contain pads around it (negative offsets).
  return {
    resizedWidth: fitWidth,
    resizedHeight: fitHeight,
    width,
    height,
    left: Math.floor((fitWidth - width) / 2),
    top: Math.floor((fitHeight - height) / 2),
  };
}

// ---------------------------------------------------------------------------------------------------
// Stage 1: sharp

/**
 * Decodes `input` and reduces it with sharp (libuv's pool). The result is small (at most the resized
 * size) and needs `writeImage` to become tensor values.
 */
export async function decodeImage(input: Buffer | Uint8Array | string, spec: ResolvedImageSpec, options?: PreprocessOptions): Promise<DecodedImage> {
  const source = toSharpInput(input);
  const { limit, formats } = resolveOptions(options);
  const sharpFn = sharp();
  // failOn 'error': truncated or corrupt data fails, a benign decoder warning (extraneous bytes before a
  // JPEG marker, common in camera files) does not, as with PIL.
  const common = { ignoreIcc: true, failOn: 'error' as const, autoOrient: false };

  let meta: SharpModule.Metadata;
  try {
    // The header only: the limits are checked here with the image's own numbers.
    meta = await sharpFn(source, { ...common, limitInputPixels: false }).metadata();
  } catch (err) {
    throw imageError(err, source);
  }
  const format = String(meta.format);
  if (formats !== undefined && !formats.includes(format)) {
    throw invalidArgument(`Image format ${format} is not accepted here; expected ${formats.join(', ')}`);
  }
  const sourceWidth = meta.width ?? 0;
  const sourceHeight = meta.height ?? 0;
  if (sourceWidth < 1 || sourceHeight < 1) throw invalidArgument(`Image has no pixels (${sourceWidth}x${sourceHeight})`);
  if (limit !== false && sourceWidth * sourceHeight > limit) {
    throw invalidArgument(`Image is ${sourceWidth}x${sourceHeight} = ${sourceWidth * sourceHeight} pixels, over the limit of ${limit}`);
  }

  const geometry = layoutFor(spec, sourceWidth, sourceHeight);
  // sharp reduces; stage 2 enlarges (see the header), except with libvips-only kernels.
  const sharpOnly = spec.kernel === 'mks2013' || spec.kernel === 'mks2021';
  const pixelsWidth = sharpOnly ? geometry.resizedWidth : Math.min(sourceWidth, geometry.resizedWidth);
  const pixelsHeight = sharpOnly ? geometry.resizedHeight : Math.min(sourceHeight, geometry.resizedHeight);
  const sharpGrey = spec.channels === 1 && spec.grayscale === 'sharp';
  const pixelsChannels = sharpGrey ? 1 : spec.channels === 4 ? 4 : 3;

  let pipeline = sharpFn(source, { ...common, limitInputPixels: limit === false ? false : Math.max(limit, 1) });
  pipeline = spec.channels === 4 ? pipeline.ensureAlpha() : pipeline.removeAlpha();
  pipeline = sharpGrey ? pipeline.greyscale().toColourspace('b-w') : pipeline.toColourspace('srgb');
  if (pixelsWidth !== sourceWidth || pixelsHeight !== sourceHeight) {
    pipeline = pipeline.resize(pixelsWidth, pixelsHeight, { fit: 'fill', kernel: spec.kernel, fastShrinkOnLoad: spec.shrinkOnLoad });
  }
  let raw: { data: Buffer; info: SharpModule.OutputInfo };
  try {
    raw = await pipeline.raw({ depth: 'uchar' }).toBuffer({ resolveWithObject: true });
  } catch (err) {
    throw imageError(err, source);
  }
  const { info } = raw;
  if (info.width !== pixelsWidth || info.height !== pixelsHeight || info.channels !== pixelsChannels) {
    throw new TfServeError(
      'INTERNAL',
      `sharp returned ${info.width}x${info.height}x${info.channels} pixels where ${pixelsWidth}x${pixelsHeight}x${pixelsChannels} were expected`,
    );
  }
  return {
    format,
    sourceWidth,
    sourceHeight,
    pixels: new Uint8Array(raw.data.buffer, raw.data.byteOffset, raw.data.byteLength),
    pixelsWidth,
    pixelsHeight,
    pixelsChannels,
    ...geometry,
  };
}

// ---------------------------------------------------------------------------------------------------
// Stage 2: this thread, over small buffers

/** PIL's filters (libImaging/Resample.c), indexed by sharp's kernel names. */
const FILTERS: Partial<Record<ImageKernel, { support: number; weight: (x: number) => number }>> = {
  linear: { support: 1, weight: (x) => (x < 0 ? -x : x) < 1 ? 1 - (x < 0 ? -x : x) : 0 },
  cubic: { support: 2, weight: cubicWeight(-0.5) },
  mitchell: { support: 2, weight: mitchellWeight },
  lanczos2: { support: 2, weight: lanczosWeight(2) },
  lanczos3: { support: 3, weight: lanczosWeight(3) },
};

function cubicWeight(a: number): (x: number) => number {
  return (x) => {
    const t = Math.abs(x);
    if (t < 1) return ((a + 2) * t - (a + 3)) * t * t + 1;
    if (t < 2) return (((t - 5) * t + 8) * t - 4) * a;
    return 0;
  };
}

function mitchellWeight(x: number): number {
  const t = Math.abs(x);
  const b = 1 / 3;
  const c = 1 / 3;
  if (t < 1) return ((12 - 9 * b - 6 * c) * t ** 3 + (-18 + 12 * b + 6 * c) * t * t + (6 - 2 * b)) / 6;
  if (t < 2) return ((-b - 6 * c) * t ** 3 + (6 * b + 30 * c) * t * t + (-12 * b - 48 * c) * t + (8 * b + 24 * c)) / 6;
  return 0;
}

function lanczosWeight(a: number): (x: number) => number {
  const sinc = (x: number): number => (x === 0 ? 1 : Math.sin(Math.PI * x) / (Math.PI * x));
  return (x) => (x > -a && x < a ? sinc(x) * sinc(x / a) : 0);
}

const PRECISION_BITS = 32 - 8 - 2;
const FIXED_ONE = 2 ** PRECISION_BITS;

/** Taps of one enlarged axis: PIL's precompute_coeffs + normalize_coeffs_8bpc (fixed point). */
interface Taps {
  first: Int32Array;
  count: Int32Array;
  width: number;
  weights: Float64Array;
}

function enlargeTaps(kernel: ImageKernel, inSize: number, outSize: number): Taps {
  const scale = inSize / outSize;
  const first = new Int32Array(outSize);
  const count = new Int32Array(outSize);
  const filter = FILTERS[kernel];
  if (filter === undefined) {
    // nearest: PIL's affine sampling, source = floor((x + 0.5) * scale).
    const weights = new Float64Array(outSize).fill(FIXED_ONE);
    for (let x = 0; x < outSize; x++) {
      first[x] = Math.min(inSize - 1, Math.floor((x + 0.5) * scale));
      count[x] = 1;
    }
    return { first, count, width: 1, weights };
  }
  // Enlarging: the filter is not stretched (PIL's filterscale = max(scale, 1) = 1).
  const support = filter.support;
  const width = Math.ceil(support) * 2 + 1;
  const weights = new Float64Array(outSize * width);
  const k = new Float64Array(width);
  for (let x = 0; x < outSize; x++) {
    const center = (x + 0.5) * scale;
    const xmin = Math.max(Math.trunc(center - support + 0.5), 0);
    const xmax = Math.min(Math.trunc(center + support + 0.5), inSize) - xmin;
    let total = 0;
    for (let i = 0; i < xmax; i++) {
      k[i] = filter.weight(i + xmin - center + 0.5);
      total += k[i]!;
    }
    for (let i = 0; i < xmax; i++) {
      const w = total === 0 ? 0 : k[i]! / total;
      weights[x * width + i] = w < 0 ? Math.trunc(-0.5 + w * FIXED_ONE) : Math.trunc(0.5 + w * FIXED_ONE);
    }
    first[x] = xmin;
    count[x] = xmax;
  }
  return { first, count, width, weights };
}

/** One separable pass with PIL's rounding: +half, then floor and clamp to 0..255. */
function enlargeAxis(src: Uint8Array, w: number, h: number, channels: number, taps: Taps, horizontal: boolean): Uint8Array {
  const outW = horizontal ? taps.first.length : w;
  const outH = horizontal ? h : taps.first.length;
  const out = new Uint8Array(outW * outH * channels);
  const { first, count, width, weights } = taps;
  const half = FIXED_ONE / 2;
  for (let y = 0; y < outH; y++) {
    for (let x = 0; x < outW; x++) {
      const t = horizontal ? x : y;
      const start = first[t]!;
      const n = count[t]!;
      const base = t * width;
      const o = (y * outW + x) * channels;
      for (let c = 0; c < channels; c++) {
        let sum = half;
        for (let i = 0; i < n; i++) {
          const s = horizontal ? (y * w + start + i) * channels + c : ((start + i) * w + x) * channels + c;
          sum += src[s]! * weights[base + i]!;
        }
        const v = Math.floor(sum / FIXED_ONE);
        out[o + c] = v < 0 ? 0 : v > 255 ? 255 : v;
      }
    }
  }
  return out;
}

/** PIL's ImagingConvert RGB -> L: ITU-R 601-2 luma in 16-bit fixed point. */
function rec601(rgb: Uint8Array, pixels: number): Uint8Array {
  const out = new Uint8Array(pixels);
  for (let i = 0, j = 0; i < pixels; i++, j += 3) {
    out[i] = (rgb[j]! * 19595 + rgb[j + 1]! * 38470 + rgb[j + 2]! * 7471 + 0x8000) >>> 16;
  }
  return out;
}

/** The tensor shape of one image (no batch dimension). */
export function imageShape(image: Pick<DecodedImage, 'width' | 'height'>, spec: ResolvedImageSpec): number[] {
  return spec.layout === 'nchw' ? [spec.channels, image.height, image.width] : [image.height, image.width, spec.channels];
}

// Resolved specs are frozen and, in the server, cached per model version: one table each.
const valueTables = new WeakMap<ResolvedImageSpec, Float32Array>();

/** value = (pixel * scale - mean[c]) / std[c], per channel and pixel value, computed once in double. */
function valueTable(spec: ResolvedImageSpec): Float32Array {
  let table = valueTables.get(spec);
  if (table === undefined) {
    table = new Float32Array(spec.channels * 256);
    for (let c = 0; c < spec.channels; c++) {
      for (let v = 0; v < 256; v++) table[c * 256 + v] = (v * spec.scale - spec.mean[c]!) / spec.std[c]!;
    }
    valueTables.set(spec, table);
  }
  return table;
}

/**
 * Stage 2: writes one decoded image's tensor values into `out` at `offset` (elements), in the spec's
 * dtype and layout. `out` must hold imageShape's element count from `offset` on.
 */
export function writeImage(image: DecodedImage, spec: ResolvedImageSpec, out: Float32Array | Uint8Array, offset = 0): void {
  const channels = spec.channels;
  let pixels = image.pixels;
  let w = image.pixelsWidth;
  let h = image.pixelsHeight;
  if (image.pixelsChannels === 3 && channels === 1) pixels = rec601(pixels, w * h);
  if (image.resizedWidth > w) {
    pixels = enlargeAxis(pixels, w, h, channels, enlargeTaps(spec.kernel, w, image.resizedWidth), true);
    w = image.resizedWidth;
  }
  if (image.resizedHeight > h) {
    pixels = enlargeAxis(pixels, w, h, channels, enlargeTaps(spec.kernel, h, image.resizedHeight), false);
    h = image.resizedHeight;
  }

  const { width, height, left, top } = image;
  const count = width * height * channels;
  if (out.length - offset < count) throw new TfServeError('INTERNAL', `writeImage: ${out.length - offset} elements left for ${count}`);
  const nchw = spec.layout === 'nchw';
  const plane = width * height;
  const float = out instanceof Float32Array;
  const table = float ? valueTable(spec) : null;
  if (!nchw && left === 0 && top === 0 && width === w && height === h) {
    // The usual case (fit 'fill', or a crop-free 'cover'): the pixels are the tensor, in order.
    if (table === null) {
      out.set(pixels.subarray(0, count), offset);
    } else {
      for (let i = 0, c = 0; i < count; i++) {
        out[offset + i] = table[c * 256 + pixels[i]!]!;
        if (++c === channels) c = 0;
      }
    }
    return;
  }
  for (let y = 0; y < height; y++) {
    const sy = y + top;
    const rowInside = sy >= 0 && sy < h;
    for (let x = 0; x < width; x++) {
      const sx = x + left;
      const inside = rowInside && sx >= 0 && sx < w;
      const src = (sy * w + sx) * channels;
      const p = y * width + x;
      for (let c = 0; c < channels; c++) {
        // Padding (fit 'contain') is black, and opaque where there is alpha.
        const v = inside ? pixels[src + c]! : c === 3 ? 255 : 0;
        const o = offset + (nchw ? c * plane + p : p * channels + c);
        out[o] = table === null ? v : table[c * 256 + v]!;
      }
    }
  }
}

/**
 * An encoded image -> { dtype, shape: [1, H, W, C] (or [1, C, H, W]), data }, ready for
 * SavedModel.predict or a TF Serving JSON request. Rejects with TfServeError: INVALID_ARGUMENT for a
 * bad spec, an input that is not an image, a truncated or corrupt one, or one over limitInputPixels;
 * NOT_FOUND for a missing file.
 */
export async function preprocessImage(input: Buffer | Uint8Array | string, spec: ImageSpec, options?: PreprocessOptions): Promise<ImageTensor> {
  const resolved = resolveImageSpec(spec);
  const image = await decodeImage(input, resolved, options);
  const shape = imageShape(image, resolved);
  const count = shape[0]! * shape[1]! * shape[2]!;
  const data = resolved.dtype === 'float32' ? new Float32Array(count) : new Uint8Array(count);
  writeImage(image, resolved, data);
  return { dtype: resolved.dtype, shape: [1, ...shape], data };
}

/**
 * POST ...:predict with an image body: tfserve's extension of TF Serving's predict API for models whose
 * base path holds a tfserve.json (server/image-config.ts).
 *
 *   Content-Type image/jpeg | image/png | image/webp   one image, the body itself
 *   Content-Type multipart/form-data                    one or more images, one per part, in order
 *
 * Each image is decoded and reduced by sharp on libuv's pool (all of a request's images at once), the
 * small results are written into one 64-byte-aligned batch tensor [n, ...] on the event loop, the model
 * runs once on a native thread, and the answer is TF Serving's row-format `{"predictions": [...]}` (the
 * JSON predict encoder, same float text) plus, where the config has labels, `"labels"`: per image the
 * top-k `{"label", "score"}` of the labelled output, highest score first.
 *
 * Every client mistake is INVALID_ARGUMENT, so HTTP 400 with `{"error": ...}`: other image types
 * (image/gif, image/avif...) are refused by name rather than with 415, because tfserve's error mapping is
 * TF Serving's status-code table, which has no 415. Which formats are accepted is decided by content,
 * not by the declared type: a GIF declared as image/png is refused too. A model without tfserve.json
 * answers image requests with 400. Other Content-Types never reach this file: like TF Serving, tfserve
 * parses them as JSON.
 */
import { Busboy, type BusboyFileStream } from '@fastify/busboy';

import { TfServeError } from '../../model/errors.js';
import { decodeImage, type DecodedImage, imageShape, writeImage } from '../../image/preprocess.js';
import { allocTensor, elementCount, type Tensor } from '../../model/tensor.js';
import { DEFAULT_IMAGE_LIMITS, type ImageLimits, type ImageModelConfig, imageConfigFor } from '../image-config.js';
import { encodePredictResponse } from '../../json/predict-codec.js';
import type { PrettyWriter } from '../../json/writer.js';
import type { DType } from '../../model/dtypes.js';
import type { RestContext, RestTarget } from './context.js';

export type ImageRequestKind = 'image' | 'multipart';

/** Media types an image body or part may declare; the content decides in the end. */
export const IMAGE_TYPES: readonly string[] = ['image/jpeg', 'image/png', 'image/webp'];
/** sharp's names for the formats accepted. */
const IMAGE_FORMATS: readonly string[] = ['jpeg', 'png', 'webp'];
const ACCEPTED = 'image/jpeg, image/png or image/webp';

interface ImagePart {
  /** How errors name it: "image" for a single body, "image 2 (part 'b')" for a part. */
  readonly what: string;
  readonly data: Buffer;
}

function invalid(message: string): TfServeError {
  return new TfServeError('INVALID_ARGUMENT', message);
}

function mediaType(contentType: string | undefined): string {
  return (contentType ?? '').split(';', 1)[0]!.trim().toLowerCase();
}

/** Which requests are image requests: image/* and multipart/form-data; anything else is JSON, as before. */
export function imageRequestKind(contentType: string | undefined): ImageRequestKind | null {
  const type = mediaType(contentType);
  if (type.startsWith('image/')) return 'image';
  if (type === 'multipart/form-data') return 'multipart';
  return null;
}

export async function predictImageRoute(
  kind: ImageRequestKind,
  context: RestContext,
  target: RestTarget,
  body: Buffer,
  contentType: string,
  serverLimits: Partial<ImageLimits> = {},
): Promise<Buffer> {
  if (kind === 'image' && !IMAGE_TYPES.includes(mediaType(contentType))) {
    throw invalid(`Unsupported Content-Type ${mediaType(contentType)}: send ${ACCEPTED}, multipart/form-data with such images, or JSON`);
  }
  const { inference } = context;
  const handle = inference.acquire(target);
  let config: ImageModelConfig;
  let batch: Tensor;
  try {
    const found = await imageConfigFor(handle.servable);
    if (found === null) {
      throw invalid(`Model ${handle.name} takes JSON only: image requests need a tfserve.json with an "image" section in its base path`);
    }
    config = found;
    const limits: ImageLimits = { ...DEFAULT_IMAGE_LIMITS, ...serverLimits, ...config.limits };
    const parts = kind === 'image' ? [singleImage(body, limits)] : await multipartImages(body, contentType, limits);
    const images = await Promise.all(
      parts.map(async ({ what, data }) => {
        try {
          return await decodeImage(data, config.spec, { limitInputPixels: limits.maxPixels, formats: IMAGE_FORMATS });
        } catch (err) {
          if (err instanceof TfServeError && err.code === 'INVALID_ARGUMENT') throw invalid(`${what}: ${err.message}`);
          throw err;
        }
      }),
    );
    batch = batchTensor(images, config);
  } catch (error) {
    handle.release();
    throw error;
  }
  // The exact version whose tfserve.json was read, even if a newer one became available meanwhile.
  const modelSpec = { name: handle.name, version: handle.version, signatureName: config.signature };
  const { outputs } = await inference.predictWith(handle, { modelSpec, inputs: { [config.input]: batch } }, context.call);
  if (config.labels === null) return encodePredictResponse('row', outputs);
  const labels = topLabels(outputs[config.output!]!, config);
  return encodePredictResponse('row', outputs, (writer) => writeLabels(writer, labels, outputs[config.output!]!.dtype));
}

function singleImage(body: Buffer, limits: ImageLimits): ImagePart {
  if (body.length === 0) throw invalid('image: Image is empty (0 bytes)');
  if (body.length > limits.maxImageBytes) throw invalid(`image: ${body.length} bytes is over the limit of ${limits.maxImageBytes} bytes per image`);
  return { what: 'image', data: body };
}

/** A part is an image if it has a filename or an image/* or application/octet-stream type. */
function isPartAFile(_name: string | undefined, contentType: string | undefined, filename: string | undefined): boolean {
  const type = mediaType(contentType);
  return filename !== undefined || type.startsWith('image/') || type === 'application/octet-stream';
}

function multipartImages(body: Buffer, contentType: string, limits: ImageLimits): Promise<ImagePart[]> {
  return new Promise((resolve, reject) => {
    let parser;
    try {
      parser = Busboy({
        headers: { 'content-type': contentType },
        isPartAFile,
        limits: { files: limits.maxImages, fileSize: limits.maxImageBytes, fields: 64, fieldSize: 64 * 1024, parts: limits.maxImages + 64 },
      });
    } catch (err) {
      reject(invalid(`Malformed multipart/form-data request: ${(err as Error).message}`));
      return;
    }
    const parts: { what: string; type: string; chunks: Buffer[]; size: number; done: boolean }[] = [];
    let failure: TfServeError | null = null;
    const fail = (error: TfServeError): void => {
      failure ??= error;
    };
    parser.on('file', (name: string, stream: BusboyFileStream, filename: string | undefined, _encoding: string, type: string) => {
      const part = { what: `image ${parts.length + 1} (part '${name}')`, type: mediaType(type), chunks: [] as Buffer[], size: 0, done: false };
      parts.push(part);
      if (part.type !== 'application/octet-stream' && !IMAGE_TYPES.includes(part.type)) {
        fail(invalid(`${part.what}${filename ? ` ${JSON.stringify(filename)}` : ''} has Content-Type ${part.type || '(none)'}: send ${ACCEPTED}`));
      }
      stream.on('data', (chunk: Buffer) => {
        part.chunks.push(chunk);
        part.size += chunk.length;
      });
      // A body cut short errors the open part's stream, then the parser: the first is reported.
      stream.on('error', (err: Error) => fail(invalid(`Malformed multipart/form-data request: ${err.message}`)));
      stream.on('limit', () => fail(invalid(`${part.what} is over the limit of ${limits.maxImageBytes} bytes per image`)));
      stream.on('end', () => {
        part.done = true;
      });
    });
    parser.on('filesLimit', () => fail(invalid(`Request has more than ${limits.maxImages} images, the limit per request`)));
    parser.on('partsLimit', () => fail(invalid('Request has too many multipart parts')));
    parser.on('fieldsLimit', () => fail(invalid('Request has too many multipart fields')));
    // Settles once: 'error' (a malformed body) ends parsing without 'finish'.
    let settled = false;
    const settle = (): void => {
      if (settled) return;
      settled = true;
      if (failure !== null) reject(failure);
      else resolve(parts.map((part) => ({ what: part.what, data: Buffer.concat(part.chunks, part.size) })));
    };
    parser.on('error', (err: unknown) => {
      fail(invalid(`Malformed multipart/form-data request: ${(err as Error).message}`));
      settle();
    });
    parser.on('finish', () => {
      if (parts.length === 0) fail(invalid('multipart/form-data request has no image part (a part with a filename or an image Content-Type)'));
      if (parts.some((part) => !part.done)) fail(invalid('Malformed multipart/form-data request: a part ends early'));
      settle();
    });
    parser.end(body);
  });
}

/** One [n, ...] tensor in aligned native memory (fed to TF without a copy), one image after another. */
function batchTensor(images: DecodedImage[], config: ImageModelConfig): Tensor {
  const shape = imageShape(images[0]!, config.spec);
  images.forEach((image, i) => {
    const other = imageShape(image, config.spec);
    if (other.some((dim, d) => dim !== shape[d])) {
      throw invalid(`image ${i + 1} becomes [${other.join(',')}] but image 1 becomes [${shape.join(',')}]: with fit '${config.spec.fit}' a request's images must share a size`);
    }
  });
  const batch = allocTensor(config.spec.dtype, [images.length, ...shape]);
  const size = elementCount(shape);
  images.forEach((image, i) => writeImage(image, config.spec, batch.data as Float32Array | Uint8Array, i * size));
  return batch;
}

interface ScoredLabel {
  readonly label: string;
  readonly score: number;
}

/** Per image the top-k labels of the labelled output, highest score first, NaN last, ties in label order. */
function topLabels(scores: Tensor, config: ImageModelConfig): ScoredLabel[][] {
  const labels = config.labels!;
  const { shape, data, dtype } = scores;
  if (shape.length !== 2 || shape[1] !== labels.length) {
    throw new TfServeError('FAILED_PRECONDITION', `tfserve.json: image.labels has ${labels.length} labels but output "${config.output}" is [${shape.join(',')}]`);
  }
  if (dtype === 'string' || dtype === 'bool') {
    throw new TfServeError('FAILED_PRECONDITION', `tfserve.json: output "${config.output}" is ${dtype}, not scores`);
  }
  const values = data as ArrayLike<number | bigint>;
  const columns = labels.length;
  const order = Array.from({ length: columns }, (_, i) => i);
  const rows: ScoredLabel[][] = [];
  for (let row = 0; row < shape[0]!; row++) {
    const score = (i: number): number => Number(values[row * columns + i]!);
    const top = [...order]
      .sort((a, b) => {
        const x = score(a);
        const y = score(b);
        if (Number.isNaN(x) || Number.isNaN(y)) return Number.isNaN(x) ? (Number.isNaN(y) ? a - b : 1) : -1;
        return y - x || a - b;
      })
      .slice(0, config.topK);
    rows.push(top.map((i) => ({ label: labels[i]!, score: score(i) })));
  }
  return rows;
}

/** `"labels": [[{"label", "score"}, ...], ...]`: one line per image, scores in the predictions' float text. */
function writeLabels(writer: PrettyWriter, rows: readonly ScoredLabel[][], dtype: DType): void {
  writer.key('labels');
  writer.startArray();
  for (const row of rows) {
    // Each row starts on a line of its own (unlike TF Serving's predictions rows) and stays on it.
    writer.startArray();
    writer.singleLine = true;
    writer.singleLineObjects = true;
    for (const { label, score } of row) {
      writer.startObject();
      writer.key('label');
      writer.string(label);
      writer.key('score');
      if (dtype === 'float64') writer.float64(score);
      else if (dtype === 'float32') writer.float32(score);
      else writer.raw(String(score));
      writer.endObject();
    }
    writer.endArray();
    writer.singleLine = false;
    writer.singleLineObjects = false;
  }
  writer.endArray();
}

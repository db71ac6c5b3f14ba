/**
 * A model's image preprocessing: the optional `tfserve.json` in its base path (beside the version
 * directories), checked against the signature of the version that serves the request:
 *
 *   { "image": { "input": "images", "signature": "serving_default", "output": "probs",
 *                "width": 64, "height": 64, "channels": 1, ...the rest of ImageSpec...,
 *                "labels": "labels.txt" | "asset:labels.txt" | ["angry", ...], "topK": 3 },
 *     "limits": { "maxImages": 32, "maxImageBytes": 20971520, "maxPixels": 40000000 } }
 *
 * Everything but "image" is optional: `input` defaults to the signature's only input, `output` to its
 * only output (needed for labels only), width/height/channels to the input's static shape, `dtype` to
 * the input's dtype when that is uint8. `labels` is a UTF-8 file with one label per line, relative to the
 * base path, or `asset:<file>` for the serving version's assets/<file>, or an inline array. `limits`
 * override the server's defaults (buildApp's imageLimits) for this model.
 *
 * When it is read: per request, cheaply. Each image request stats tfserve.json; the parsed and checked
 * config is cached per loaded version (keyed on the Servable object) while the file's mtime and size stay
 * the same, so an edit applies to the next request and a new version is checked against its own
 * signature. A labels file is read with its tfserve.json (touch tfserve.json to reload labels). A missing
 * file means the model takes JSON only; an invalid one fails image requests with FAILED_PRECONDITION
 * naming the field, and JSON requests are unaffected.
 */
import fs from 'node:fs/promises';
import path from 'node:path';

import { TfServeError } from '../model/errors.js';
import { IMAGE_SPEC_KEYS, type ImageSpec, resolveImageSpec, type ResolvedImageSpec } from '../image/preprocess.js';
import { DEFAULT_SIGNATURE } from '../model/saved-model.js';
import type { Servable } from '../serving/servable.js';

export const CONFIG_FILE = 'tfserve.json';

export interface ImageLimits {
  /** Images in one multipart request. */
  maxImages: number;
  /** Encoded bytes of one image. */
  maxImageBytes: number;
  /** width x height of one image, from its header, before decoding (decompression bombs). */
  maxPixels: number;
}

export const DEFAULT_IMAGE_LIMITS: Readonly<ImageLimits> = Object.freeze({
  maxImages: 32,
  maxImageBytes: 20 * 1024 * 1024,
  maxPixels: 40_000_000,
});

export interface ImageModelConfig {
  readonly signature: string;
  readonly input: string;
  /** The output that `labels` name the columns of; null without labels. */
  readonly output: string | null;
  readonly spec: ResolvedImageSpec;
  readonly labels: readonly string[] | null;
  readonly topK: number;
  readonly limits: Partial<ImageLimits>;
}

interface CacheEntry {
  readonly stamp: string;
  readonly config: Promise<ImageModelConfig>;
}

const cache = new WeakMap<Servable, CacheEntry>();

const IMAGE_KEYS = new Set<string>(['input', 'signature', 'output', 'labels', 'topK', ...IMAGE_SPEC_KEYS]);
const LIMIT_KEYS: readonly (keyof ImageLimits)[] = ['maxImages', 'maxImageBytes', 'maxPixels'];
const DEFAULT_TOP_K = 3;

class ConfigError extends TfServeError {
  constructor(message: string) {
    super('FAILED_PRECONDITION', `${CONFIG_FILE}: ${message}`);
  }
}

/** Checks limit values (buildApp's option or a config's "limits"); `what` names the object. */
export function checkImageLimits(value: unknown, what: string, fail: (message: string) => TfServeError): Partial<ImageLimits> {
  if (value === undefined) return {};
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw fail(`Expected object for ${what}`);
  const out: Partial<ImageLimits> = {};
  for (const [key, limit] of Object.entries(value)) {
    if (!LIMIT_KEYS.includes(key as keyof ImageLimits)) throw fail(`Unknown key ${what}.${key}; expected ${LIMIT_KEYS.join(', ')}`);
    if (!Number.isSafeInteger(limit) || (limit as number) < 1) {
      throw fail(`Expected positive integer for ${what}.${key} but received ${JSON.stringify(limit)}`);
    }
    out[key as keyof ImageLimits] = limit as number;
  }
  return out;
}

/**
 * The image config for the version `model` (a manager's Servable), or null when its base path has
 * no tfserve.json. Rejects with FAILED_PRECONDITION when the file is invalid.
 */
export async function imageConfigFor(model: Servable): Promise<ImageModelConfig | null> {
  const basePath = path.dirname(model.path);
  const file = path.join(basePath, CONFIG_FILE);
  let stat;
  try {
    stat = await fs.stat(file);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT' || (err as NodeJS.ErrnoException).code === 'ENOTDIR') return null;
    throw new ConfigError(`cannot read it: ${(err as Error).message}`);
  }
  const stamp = `${stat.mtimeMs}:${stat.size}:${stat.ino}`;
  let entry = cache.get(model);
  if (entry === undefined || entry.stamp !== stamp) {
    entry = { stamp, config: readConfig(file, basePath, model) };
    // A failed read stays cached until the file changes: every request gets the same answer, cheaply.
    entry.config.catch(() => {});
    cache.set(model, entry);
  }
  return entry.config;
}

async function readConfig(file: string, basePath: string, model: Servable): Promise<ImageModelConfig> {
  let document: unknown;
  try {
    document = JSON.parse(await fs.readFile(file, 'utf8'));
  } catch (err) {
    throw new ConfigError(`cannot parse it: ${(err as Error).message}`);
  }
  if (typeof document !== 'object' || document === null || Array.isArray(document)) throw new ConfigError('Expected a JSON object');
  const { image, limits, ...rest } = document as Record<string, unknown>;
  const unknown = Object.keys(rest);
  if (unknown.length > 0) throw new ConfigError(`Unknown key ${unknown[0]}; expected image, limits`);
  if (typeof image !== 'object' || image === null || Array.isArray(image)) throw new ConfigError('Expected object for image');
  const settings = image as Record<string, unknown>;
  for (const key of Object.keys(settings)) {
    if (!IMAGE_KEYS.has(key)) throw new ConfigError(`Unknown key image.${key}`);
  }
  const checkedLimits = checkImageLimits(limits, 'limits', (message) => new ConfigError(message));

  const signatureName = settings.signature ?? DEFAULT_SIGNATURE;
  if (typeof signatureName !== 'string') throw new ConfigError(`Expected string for image.signature but received ${JSON.stringify(signatureName)}`);
  const signature = Object.hasOwn(model.signatures, signatureName) ? model.signatures[signatureName]! : undefined;
  if (!signature) throw new ConfigError(`image.signature "${signatureName}" is not a signature of this model; it has: ${Object.keys(model.signatures).join(', ')}`);
  const inputKeys = Object.keys(signature.inputs);
  if (inputKeys.length !== 1) {
    throw new ConfigError(`signature "${signatureName}" takes ${inputKeys.length} inputs (${inputKeys.join(', ')}); image requests feed exactly one`);
  }
  const input = settings.input ?? inputKeys[0];
  if (typeof input !== 'string' || !Object.hasOwn(signature.inputs, input)) {
    throw new ConfigError(`image.input ${JSON.stringify(input)} is not an input of signature "${signatureName}"; it takes: ${inputKeys.join(', ')}`);
  }
  const inputInfo = signature.inputs[input]!;

  // Fill what the signature knows: [-1, H, W, C] (or [-1, C, H, W]).
  const filled: Record<string, unknown> = { ...settings };
  const shape = inputInfo.shape;
  const nchw = settings.layout === 'nchw';
  if (shape !== null && shape.length === 4) {
    const [h, w, c] = nchw ? [shape[2]!, shape[3]!, shape[1]!] : [shape[1]!, shape[2]!, shape[3]!];
    // Only a shape that reads as images in this layout fills anything: [-1,64,64,3] is no NCHW shape.
    if (c === 1 || c === 3 || c === 4) {
      if (filled.height === undefined && h > 0) filled.height = h;
      if (filled.width === undefined && w > 0) filled.width = w;
      if (filled.channels === undefined) filled.channels = c;
    }
  }
  if (filled.width === undefined || filled.height === undefined) {
    throw new ConfigError(
      `image.width and image.height are needed: input "${input}" of signature "${signatureName}" is ${shape === null ? 'of unknown shape' : `[${shape.join(',')}]`}, which gives no ${nchw ? 'NCHW' : 'NHWC'} image size`,
    );
  }
  if (filled.dtype === undefined && inputInfo.dtype === 'uint8') filled.dtype = 'uint8';
  let spec: ResolvedImageSpec;
  try {
    spec = resolveImageSpec(filled as unknown as ImageSpec, 'image');
  } catch (err) {
    throw new ConfigError((err as Error).message);
  }
  if (inputInfo.dtype !== spec.dtype) {
    throw new ConfigError(`image.dtype is ${spec.dtype} but input "${input}" of signature "${signatureName}" takes ${inputInfo.dtype}`);
  }
  if (shape !== null) {
    const want = spec.layout === 'nchw' ? [-1, spec.channels, spec.height, spec.width] : [-1, spec.height, spec.width, spec.channels];
    const varies = spec.fit === 'inside' || spec.fit === 'outside';
    const ok = shape.length === 4 && shape.every((dim, i) => dim < 0 || i === 0 || (varies && i !== (spec.layout === 'nchw' ? 1 : 3)) || dim === want[i]);
    if (!ok) {
      throw new ConfigError(
        `image gives [n,${want.slice(1).join(',')}] (${spec.layout}) but input "${input}" of signature "${signatureName}" is [${shape.join(',')}]`,
      );
    }
  }

  const labels = await readLabels(settings.labels, basePath, model.path);
  let output: string | null = null;
  if (labels !== null) {
    const outputKeys = Object.keys(signature.outputs);
    const named = settings.output ?? (outputKeys.length === 1 ? outputKeys[0] : undefined);
    if (named === undefined) {
      throw new ConfigError(`signature "${signatureName}" has ${outputKeys.length} outputs (${outputKeys.join(', ')}): name the one the labels describe in image.output`);
    }
    if (typeof named !== 'string' || !Object.hasOwn(signature.outputs, named)) {
      throw new ConfigError(`image.output ${JSON.stringify(named)} is not an output of signature "${signatureName}"; it has: ${outputKeys.join(', ')}`);
    }
    const outShape = signature.outputs[named]!.shape;
    const columns = outShape !== null && outShape.length === 2 ? outShape[1]! : -1;
    if (columns > 0 && columns !== labels.length) {
      throw new ConfigError(`image.labels has ${labels.length} labels but output "${named}" has ${columns} values per image`);
    }
    output = named;
  } else if (settings.output !== undefined || settings.topK !== undefined) {
    throw new ConfigError('image.output and image.topK need image.labels');
  }
  const topK = settings.topK ?? DEFAULT_TOP_K;
  if (!Number.isSafeInteger(topK) || (topK as number) < 1) throw new ConfigError(`Expected positive integer for image.topK but received ${JSON.stringify(topK)}`);

  return Object.freeze({
    signature: signatureName,
    input,
    output,
    spec,
    labels: labels === null ? null : Object.freeze(labels),
    topK: Math.min(topK as number, labels?.length ?? 1),
    limits: Object.freeze(checkedLimits),
  });
}

async function readLabels(value: unknown, basePath: string, versionPath: string): Promise<string[] | null> {
  if (value === undefined) return null;
  if (Array.isArray(value)) {
    if (value.length === 0 || value.some((label) => typeof label !== 'string')) throw new ConfigError('Expected non-empty array of strings for image.labels');
    return [...value] as string[];
  }
  if (typeof value !== 'string' || value.length === 0) {
    throw new ConfigError(`Expected file name, "asset:<file>" or array of strings for image.labels but received ${JSON.stringify(value)}`);
  }
  let file: string;
  if (value.startsWith('asset:')) {
    const assets = path.join(versionPath, 'assets');
    file = path.resolve(assets, value.slice('asset:'.length));
    if (path.relative(assets, file).startsWith('..')) throw new ConfigError(`image.labels ${value} points outside the version's assets`);
  } else {
    file = path.resolve(basePath, value);
  }
  let text: string;
  try {
    text = await fs.readFile(file, 'utf8');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    throw new ConfigError(`cannot read image.labels ${value}${code === 'ENOENT' ? ': no such file' : `: ${(err as Error).message}`}`);
  }
  const labels = text.replace(/^\uFEFF/, '').split(/\r?\n/).map((line) => line.trim());
  while (labels.length > 0 && labels[labels.length - 1] === '') labels.pop();
  if (labels.length === 0) throw new ConfigError(`image.labels ${value} is empty`);
  return labels;
}

// Deterministic generators for the fuzz test (test/server/fuzz.test.ts) and the longer runs of
// scripts/soak.mjs: REST bodies built from TF Serving's request shapes and then damaged, URLs from
// its grammar and around it, and library inputs that are right, nearly right or nonsense. Not a test
// file itself. Everything comes from `random`, a seeded PRNG, so a failure names a reproducible case.

export type Random = () => number;

/** mulberry32: small, fast, and the same sequence on every machine for a seed. */
export function prng(seed: number): Random {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const int = (random: Random, low: number, high: number): number => low + Math.floor(random() * (high - low + 1));
function pick<T>(random: Random, list: readonly T[]): T {
  return list[Math.floor(random() * list.length)]!;
}

const NUMBER_TOKENS = [
  '0', '1', '-1', '2.5', '-0', '1.0', '0.1', '1e10', '1E-5', '1e400', '-1e400', '1e-400', 'NaN', 'Infinity', '-Infinity',
  'Inf', '-Inf', '9007199254740993', '9223372036854775807', '9223372036854775808', '-9223372036854775809',
  '18446744073709551615', '18446744073709551616', '2147483647', '2147483648', '-2147483649', '4294967296', '255', '256',
  '3.4028236e38', '65504', '00', '.5', '+1', '1e', '-', '0x10', '1_000',
];
const STRING_TOKENS = [
  '""', '"a"', '"hello world"', '"\\u0000"', '"\\ud800"', '"\\uDFFF\\uD800"', '"\\x"', '"\\n\\t\\""', '"ü"', '"\u00ff\u0080"',
  '"aGk="', '"' + 'z'.repeat(300) + '"', '"unterminated',
];
const B64_TOKENS = ['{"b64": "aGk="}', '{"b64": "a$b="}', '{"b64": ""}', '{"b64": 5}', '{"b64": "aGk=", "x": 1}', '{"b64": "AAECAwQFBgc="}'];
const KEYS = ['instances', 'inputs', 'signature_name', 'examples', 'context', 'x', 'y', 'category', 'features', 'ids', 'mask', 'pairs', 'text', '', 'b64', '__proto__', 'constructor'];
const DTYPE_SIGNATURES = ['float32', 'float64', 'int8', 'int16', 'int32', 'int64', 'uint8', 'uint16', 'uint32', 'uint64', 'bool', 'string', 'float16', 'bfloat16', 'mixed'];

function scalar(random: Random): string {
  const roll = random();
  if (roll < 0.55) return pick(random, NUMBER_TOKENS);
  if (roll < 0.65) return String((random() - 0.5) * 10 ** int(random, 0, 12));
  if (roll < 0.8) return pick(random, STRING_TOKENS);
  if (roll < 0.88) return pick(random, B64_TOKENS);
  return pick(random, ['true', 'false', 'null']);
}

/** Any JSON-ish value, up to `depth` levels deep. */
export function value(random: Random, depth: number): string {
  const roll = random();
  if (depth <= 0 || roll < 0.45) return scalar(random);
  if (roll < 0.8) return `[${Array.from({ length: int(random, 0, 5) }, () => value(random, depth - 1)).join(', ')}]`;
  return `{${Array.from({ length: int(random, 0, 4) }, () => `"${pick(random, KEYS)}": ${value(random, depth - 1)}`).join(', ')}}`;
}

/** A nest of `dims` arrays whose leaves are mostly of one kind, now and then ragged or odd. */
function tensor(random: Random, dims: readonly number[], leaf: () => string): string {
  if (dims.length === 0) return random() < 0.03 ? value(random, 2) : leaf();
  let size = dims[0]!;
  if (random() < 0.03) size += pick(random, [-1, 1]);
  return `[${Array.from({ length: Math.max(0, size) }, () => tensor(random, dims.slice(1), leaf)).join(', ')}]`;
}

function dims(random: Random): number[] {
  return Array.from({ length: int(random, 0, 3) }, () => int(random, 0, 4));
}

function leafFor(random: Random, kind: string): () => string {
  switch (kind) {
    case 'bool':
      return () => (random() < 0.95 ? pick(random, ['true', 'false']) : scalar(random));
    case 'string':
      return () => (random() < 0.9 ? pick(random, [...STRING_TOKENS.slice(0, 10), ...B64_TOKENS.slice(0, 1)]) : scalar(random));
    case 'int':
      return () => (random() < 0.9 ? String(int(random, -300, 300)) : pick(random, NUMBER_TOKENS));
    default:
      return () => (random() < 0.9 ? String(Math.round((random() - 0.5) * 2000) / 8) : pick(random, NUMBER_TOKENS));
  }
}

function predictPayload(random: Random, url: string): string {
  const members: string[] = [];
  let kind = 'float';
  if (url.includes('dtypes')) {
    const signature = pick(random, DTYPE_SIGNATURES);
    kind = /int/.test(signature) ? 'int' : signature === 'bool' || signature === 'string' ? signature : 'float';
    members.push(`"signature_name": ${random() < 0.95 ? `"${signature}"` : scalar(random)}`);
  } else if (random() < 0.2) {
    members.push(`"signature_name": ${random() < 0.6 ? pick(random, ['"serving_default"', '""', '"nope"']) : scalar(random)}`);
  }
  const leaf = leafFor(random, kind);
  const multi = url.includes('multi') || (url.includes('dtypes') && random() < 0.2);
  const row = (): string =>
    multi
      ? `{"category": ${tensor(random, [1], leafFor(random, 'int'))}, "features": ${tensor(random, [4], leaf)}${random() < 0.1 ? ', "extra": 1' : ''}}`
      : tensor(random, dims(random).slice(0, 2), leaf);
  const format = random();
  if (format < 0.5) {
    members.push(`"instances": [${Array.from({ length: int(random, 0, 4) }, row).join(', ')}]`);
  } else if (format < 0.85) {
    members.push(
      `"inputs": ${multi ? `{"category": ${tensor(random, [2, 1], leafFor(random, 'int'))}, "features": ${tensor(random, [2, 4], leaf)}}` : tensor(random, dims(random), leaf)}`,
    );
  } else if (format < 0.92) {
    members.push(`"instances": ${value(random, 3)}`, `"inputs": ${value(random, 3)}`);
  } else {
    members.push(`"${pick(random, KEYS)}": ${value(random, 4)}`);
  }
  return `{${members.join(', ')}}`;
}

function feature(random: Random): string {
  const roll = random();
  if (roll < 0.35) return String(Math.round((random() - 0.5) * 100) / 4);
  if (roll < 0.55) return `[${Array.from({ length: int(random, 0, 4) }, () => String(int(random, -10, 10))).join(', ')}]`;
  if (roll < 0.7) return pick(random, STRING_TOKENS.slice(0, 10));
  if (roll < 0.8) return `[${pick(random, STRING_TOKENS.slice(0, 5))}, ${pick(random, B64_TOKENS.slice(0, 1))}]`;
  return value(random, 2);
}

function example(random: Random): string {
  return `{${Array.from({ length: int(random, 0, 3) }, () => `"${random() < 0.7 ? 'x' : pick(random, KEYS)}": ${feature(random)}`).join(', ')}}`;
}

function examplesPayload(random: Random, url: string): string {
  const members: string[] = [];
  const verb = url.endsWith(':classify') ? 'classify' : 'regress';
  if (random() < 0.9) members.push(`"signature_name": ${random() < 0.9 ? `"${random() < 0.85 ? verb : pick(random, ['classify', 'regress', 'predict', 'nope'])}"` : scalar(random)}`);
  if (random() < 0.9) members.push(`"examples": ${random() < 0.9 ? `[${Array.from({ length: int(random, 0, 4) }, () => example(random)).join(', ')}]` : value(random, 3)}`);
  if (random() < 0.2) members.push(`"context": ${random() < 0.8 ? example(random) : value(random, 2)}`);
  return `{${members.join(', ')}}`;
}

/** Damages a body the way broken clients and proxies do: cuts, stray bytes, repeats, splices. */
function damage(random: Random, text: Buffer): Buffer {
  let bytes = text;
  const times = int(random, 1, 3);
  for (let i = 0; i < times; i++) {
    const at = int(random, 0, bytes.length);
    const roll = random();
    if (roll < 0.3) bytes = bytes.subarray(0, at);
    else if (roll < 0.55) bytes = Buffer.concat([bytes.subarray(0, at), Buffer.from([int(random, 0, 255)]), bytes.subarray(at)]);
    else if (roll < 0.7) bytes = Buffer.concat([bytes.subarray(0, at), bytes.subarray(Math.min(bytes.length, at + int(random, 1, 8)))]);
    else if (roll < 0.85) bytes = Buffer.concat([bytes.subarray(0, at), Buffer.from(scalar(random)), bytes.subarray(at)]);
    else bytes = Buffer.concat([bytes, bytes.subarray(at)]);
  }
  return bytes;
}

/** A request body for `url` (a :predict, :classify or :regress URL). */
export function fuzzBody(random: Random, url: string): Buffer {
  const roll = random();
  if (roll < 0.04) return Buffer.from(value(random, 6));
  if (roll < 0.06) return Buffer.from(Array.from({ length: int(random, 0, 64) }, () => int(random, 0, 255)));
  const text = Buffer.from(url.endsWith(':predict') ? predictPayload(random, url) : examplesPayload(random, url));
  return random() < 0.3 ? damage(random, text) : text;
}

const METHODS = ['GET', 'GET', 'POST', 'POST', 'PUT', 'DELETE', 'PATCH', 'OPTIONS', 'HEAD'] as const;
const NAMES = ['half', 'dtypes', 'tf1', 'nope', 'a%2Fb', '%zz', '%', 'h%61lf', 'ü', 'x'.repeat(200), '..', ' ', 'half:predict'];
const TAILS = ['', ':predict', ':classify', ':regress', ':PREDICT', ':foo', '/metadata', '/METADATA', '/', '//', ':predict/', '/metadata:predict'];

/** A method and request target under /v1 (mostly) or elsewhere. */
export function fuzzUrl(random: Random): { method: (typeof METHODS)[number]; url: string } {
  const method = pick(random, METHODS);
  if (random() < 0.1) {
    return { method, url: pick(random, ['/', '/v2/health/ready', '/V1/models/half', '/monitoring/prometheus/metrics', '/v1', '/v1/', '/%', '/v10/models']) };
  }
  let url = pick(random, ['/v1/models', '/v1/models', '/V1/MODELS', '/v1/model', '/v1//models']);
  if (random() < 0.9) url += `/${pick(random, NAMES)}`;
  const version = random();
  if (version < 0.3) url += `/versions/${Array.from({ length: int(random, 1, 22) }, () => int(random, 0, 9)).join('')}`;
  else if (version < 0.4) url += `/versions/${pick(random, ['-1', 'x', '', '1.5', '9223372036854775807', '9223372036854775808'])}`;
  else if (version < 0.55) url += `/labels/${pick(random, ['stable', 'canary', '%41', 'a b', '', 'ü'])}`;
  url += pick(random, TAILS);
  if (random() < 0.15) url += pick(random, ['?token=secret', '?a=1&b=2', '#frag', '?', '?%zz']);
  return { method, url };
}

type ModelName = 'half' | 'dtypes' | 'multi';
const LIBRARY_DTYPES = ['float32', 'float64', 'int8', 'int16', 'int32', 'int64', 'uint8', 'uint16', 'uint32', 'uint64', 'bool', 'string', 'float16', 'bfloat16'];
const ARRAYS: Record<string, new (length: number) => ArrayBufferView> = {
  float32: Float32Array, float64: Float64Array, int8: Int8Array, int16: Int16Array, int32: Int32Array, int64: BigInt64Array,
  uint8: Uint8Array, uint16: Uint16Array, uint32: Uint32Array, uint64: BigUint64Array, bool: Uint8Array, float16: Uint16Array, bfloat16: Uint16Array,
};

function libraryShape(random: Random, rank: number): unknown {
  const roll = random();
  if (roll < 0.8) return Array.from({ length: rank }, () => int(random, 0, 4));
  if (roll < 0.9) return Array.from({ length: int(random, 0, 3) }, () => pick(random, [-1, 1.5, NaN, 2 ** 53, 2 ** 40, '2', null]));
  return pick(random, [null, undefined, 3, 'x', {}, [[2]]]);
}

function libraryData(random: Random, dtype: string, count: number, alloc: (dtype: never, shape: number[]) => { data: unknown }): unknown {
  const roll = random();
  const length = random() < 0.85 ? count : int(random, 0, count + 3);
  if (dtype === 'string' && roll < 0.7) {
    return Array.from({ length }, () => (random() < 0.5 ? pick(random, ['a', '', 'ü', 'x'.repeat(100)]) : new Uint8Array(int(random, 0, 8))));
  }
  const Ctor = ARRAYS[dtype] ?? Float32Array;
  if (roll < 0.4) {
    const data = new Ctor(length) as unknown as { fill(v: unknown): void };
    data.fill(Ctor === BigInt64Array || Ctor === BigUint64Array ? 3n : 1);
    return data;
  }
  if (roll < 0.5 && dtype !== 'string' && dtype in ARRAYS) return alloc(dtype as never, [count]).data;
  if (roll < 0.7) return Array.from({ length }, () => pick(random, [1, 2.5, -3, 0, NaN, Infinity, 2 ** 40, true, 'x', 5n, null]));
  if (roll < 0.75) {
    const detached = new Ctor(length);
    structuredClone(detached.buffer, { transfer: [detached.buffer as ArrayBuffer] });
    return detached;
  }
  if (roll < 0.8) return new Ctor(new SharedArrayBuffer(length * ((Ctor as unknown as { BYTES_PER_ELEMENT: number }).BYTES_PER_ELEMENT)) as never);
  if (roll < 0.85) return new (pick(random, Object.values(ARRAYS)))(length);
  return pick(random, [null, undefined, 7, 'data', {}, [[1, 2], [3]], new DataView(new ArrayBuffer(8))]);
}

/** A predict call to one of the three library models, right or wrong in any part. */
export function fuzzInput(
  random: Random,
  alloc: (dtype: never, shape: number[]) => { data: unknown },
): { model: ModelName; signature: string; inputs: unknown; options: Record<string, unknown> } {
  const model = pick(random, ['half', 'dtypes', 'dtypes', 'multi'] as const);
  let signature = 'serving_default';
  let specs: [string, string, number][] = [['x', 'float32', 1]];
  if (model === 'dtypes') {
    signature = pick(random, LIBRARY_DTYPES);
    specs = [['x', signature, 1]];
  } else if (model === 'multi') {
    specs = [['category', 'int32', 2], ['features', 'float32', 2]];
  }
  if (random() < 0.05) signature = pick(random, ['nope', '', 'mixed', '__saved_model_init_op']);
  const inputs: Record<string, unknown> = {};
  for (const [name, expected, rank] of specs) {
    if (random() < 0.04) continue;
    const dtype = random() < 0.85 ? expected : pick(random, [...LIBRARY_DTYPES, 'complex64', '', 7]);
    const shape = libraryShape(random, rank);
    const count = Array.isArray(shape) ? shape.reduce((a: number, b: unknown) => a * (typeof b === 'number' && Number.isFinite(b) ? Math.max(0, b) : 1), 1) : 1;
    inputs[random() < 0.03 ? pick(random, ['y', 'X', '']) : name] =
      random() < 0.97 ? { dtype, shape, data: libraryData(random, String(dtype), Math.min(count, 64), alloc) } : pick(random, [null, 5, 'x', []]);
  }
  const options: Record<string, unknown> = {};
  if (random() < 0.5) options['checkShapes'] = random() < 0.5;
  if (random() < 0.1) options['outputs'] = pick(random, [['y'], ['n'], ['nope'], [], 'y']);
  if (random() < 0.05) options['timeoutMs'] = pick(random, [1, 1000, -1, 0.5, 'x']);
  return { model, signature, inputs: random() < 0.98 ? inputs : pick(random, [null, 'x', []]), options };
}

// Image requests to :predict (src/server/routes/predict-image.ts, src/server/image-config.ts) through
// app.inject, against the cnn test model ([-1,64,64,3] float32 `images` -> 10 probabilities `output_0`)
// served from temporary base paths whose version 1 is a symlink to test/fixtures/models/cnn/1, each with
// its own tfserve.json. The answers are checked against SavedModel.predict on preprocessImage's tensor
// for the same image, then the bad-image table: every case a 4xx {"error"}, and the server still serves.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, suite, test } from 'node:test';
import { gzipSync } from 'node:zlib';

import type { FastifyInstance } from 'fastify';
import sharp from 'sharp';

import { preprocessImage } from '../../src/image/preprocess.js';
import { loadSavedModel, type SavedModel } from '../../src/model/saved-model.js';
import { buildApp } from '../../src/server/app.js';
import { ModelManager } from '../../src/serving/manager.js';
import { loadServable, modelPath, restApp } from '../helpers.js';
import { pngBomb, SCENE_JPEG, SCENE_PNG } from '../image/images.js';

const LABELS = ['airplane', 'automobile', 'bird', 'cat', 'deer', 'dog', 'frog', 'horse', 'ship', 'truck'];
const SPEC = { width: 64, height: 64, channels: 3 } as const;

interface Reply {
  status: number;
  body: string;
  json: { predictions?: number[][]; labels?: { label: string; score: number }[][]; error?: string };
  contentType: unknown;
}

let root: string;
let manager: ModelManager;
let app: FastifyInstance;
let reference: SavedModel;

/** A base path whose version 1 is the cnn fixture, with this tfserve.json (none when null). */
function basePath(name: string, config: unknown, files: Record<string, string> = {}): string {
  const dir = path.join(root, name);
  fs.mkdirSync(dir);
  fs.symlinkSync(modelPath('cnn'), path.join(dir, '1'));
  if (config !== null) fs.writeFileSync(path.join(dir, 'tfserve.json'), JSON.stringify(config));
  for (const [file, text] of Object.entries(files)) fs.writeFileSync(path.join(dir, file), text);
  return dir;
}

let rewrites = 0;

/** Rewrites a tfserve.json with a distinct, later mtime, so the next request reads it. */
function rewriteConfig(name: string, config: unknown): void {
  const file = path.join(root, name, 'tfserve.json');
  fs.writeFileSync(file, JSON.stringify(config));
  const later = new Date(Date.now() + 5000 + 1000 * ++rewrites);
  fs.utimesSync(file, later, later);
}

async function post(url: string, payload: Buffer | string, contentType: string | undefined, target = app, headers: Record<string, string> = {}): Promise<Reply> {
  const response = await target.inject({
    method: 'POST',
    url,
    payload,
    headers: { ...(contentType === undefined ? {} : { 'content-type': contentType }), ...headers },
  });
  let json = {};
  try {
    json = JSON.parse(response.body);
  } catch {
    // checked by the caller
  }
  return { status: response.statusCode, body: response.body, json, contentType: response.headers['content-type'] };
}

/** multipart/form-data as undici writes it (what fetch and browsers send). */
async function multipart(parts: { name: string; data: Buffer | string; type?: string; filename?: string }[]): Promise<{ body: Buffer; type: string }> {
  const form = new FormData();
  for (const part of parts) {
    if (part.filename === undefined && part.type === undefined) form.append(part.name, String(part.data));
    else form.append(part.name, new Blob([part.data], { type: part.type ?? '' }), part.filename ?? 'blob');
  }
  const response = new Response(form);
  return { body: Buffer.from(await response.arrayBuffer()), type: response.headers.get('content-type')! };
}

async function expectedProbabilities(image: Buffer): Promise<number[]> {
  const tensor = await preprocessImage(image, SPEC);
  const outputs = await reference.predict({ images: tensor });
  return Array.from(outputs.output_0!.data as Float32Array);
}

function assertClose(actual: readonly number[], expected: readonly number[], tolerance: number, what: string): void {
  assert.equal(actual.length, expected.length, `${what}: length`);
  actual.forEach((v, i) => assert.ok(Math.abs(v - expected[i]!) <= tolerance, `${what}[${i}]: ${v} vs ${expected[i]}`));
}

function ok(reply: Reply): Reply['json'] {
  assert.equal(reply.status, 200, reply.body);
  assert.equal(reply.contentType, 'application/json');
  return reply.json;
}

function fails(reply: Reply, status: number, message: RegExp): void {
  assert.equal(reply.status, status, reply.body);
  assert.equal(reply.contentType, 'application/json');
  assert.deepEqual(Object.keys(reply.json), ['error'], reply.body);
  assert.match(reply.json.error!, message);
}

before(async () => {
  root = fs.mkdtempSync(path.join(os.tmpdir(), 'tfserve-image-'));
  const models: Record<string, string> = {
    cnn: basePath('cnn', { image: { input: 'images', signature: 'serving_default', ...SPEC, labels: 'labels.txt', topK: 3 } }, { 'labels.txt': `${LABELS.join('\n')}\n` }),
    // Everything from the signature: input key, 64x64x3, float32; no labels.
    inferred: basePath('inferred', { image: {} }),
    limited: basePath('limited', { image: {}, limits: { maxImages: 2, maxImageBytes: 4096, maxPixels: 6000 } }),
    plain: basePath('plain', null),
    broken: basePath('broken', { image: { width: 64 }, colour: true }),
    live: basePath('live', { image: { labels: LABELS, topK: 1 } }),
  };
  manager = new ModelManager({ load: loadServable, maxLoadRetries: 0 });
  for (const [name, dir] of Object.entries(models)) manager.setAspiredVersions(name, [{ version: 1, path: path.join(dir, '1') }]);
  await manager.settled();
  manager.setLabels('cnn', new Map([['stable', 1]]));
  app = await restApp(manager);
  reference = await loadSavedModel(modelPath('cnn'));
});

after(async () => {
  await app?.close();
  await manager?.close();
  await reference?.dispose();
  if (root) fs.rmSync(root, { recursive: true, force: true });
});

suite('image bodies to :predict', () => {
  test('a PNG body: predictions equal SavedModel.predict on preprocessImage of the same image', async () => {
    const json = ok(await post('/v1/models/cnn:predict', SCENE_PNG, 'image/png'));
    assert.equal(json.predictions!.length, 1);
    assertClose(json.predictions![0]!, await expectedProbabilities(SCENE_PNG), 1e-6, 'predictions[0]');
  });

  test('the top-3 labels: highest first, scores equal to the predictions', async () => {
    const json = ok(await post('/v1/models/cnn:predict', SCENE_PNG, 'image/png'));
    const probabilities = json.predictions![0]!;
    const top = json.labels![0]!;
    assert.equal(top.length, 3);
    const ranked = probabilities.map((score, i) => ({ label: LABELS[i]!, score })).sort((a, b) => b.score - a.score);
    assert.deepEqual(top.map((l) => l.label), ranked.slice(0, 3).map((l) => l.label));
    top.forEach(({ label, score }) => assert.equal(score, probabilities[LABELS.indexOf(label)]));
  });

  test("the body keeps TF Serving's layout and float text, with the labels after the predictions", async () => {
    const { body } = await post('/v1/models/cnn:predict', SCENE_PNG, 'image/png');
    assert.match(body, /^\{\n {4}"predictions": \[\[[-\d.e, ]+\]\n {4}\],\n {4}"labels": \[\n {8}\[\{"label": "\w+", "score": [\d.e-]+\}(, \{"label": "\w+", "score": [\d.e-]+\}){2}\]\n {4}\]\n\}$/);
  });

  test('JPEG and WebP bodies; a Content-Type with parameters; a gzip-encoded body', async () => {
    const jpeg = ok(await post('/v1/models/cnn:predict', SCENE_JPEG, 'image/jpeg'));
    assertClose(jpeg.predictions![0]!, await expectedProbabilities(SCENE_JPEG), 1e-6, 'jpeg');
    const webp = await sharp(SCENE_PNG).webp({ lossless: true }).toBuffer();
    assertClose(ok(await post('/v1/models/cnn:predict', webp, 'image/webp')).predictions![0]!, await expectedProbabilities(webp), 1e-6, 'webp');
    const withParameter = ok(await post('/v1/models/cnn:predict', SCENE_PNG, 'Image/PNG; name=scene.png'));
    const gzipped = ok(await post('/v1/models/cnn:predict', gzipSync(SCENE_PNG), 'image/png', app, { 'content-encoding': 'gzip' }));
    assert.deepEqual(gzipped.predictions, withParameter.predictions);
  });

  test('multipart/form-data with 2 images: one batch, in part order, each as alone', async () => {
    const { body, type } = await multipart([
      { name: 'a', data: SCENE_PNG, type: 'image/png', filename: 'scene.png' },
      { name: 'note', data: 'form fields are ignored' },
      { name: 'b', data: SCENE_JPEG, type: 'image/jpeg', filename: 'scene.jpg' },
    ]);
    const json = ok(await post('/v1/models/cnn:predict', body, type));
    assert.equal(json.predictions!.length, 2);
    assert.equal(json.labels!.length, 2);
    // A batch of 2 may use other kernels than a batch of 1: float rounding only.
    assertClose(json.predictions![0]!, await expectedProbabilities(SCENE_PNG), 1e-5, 'image 1');
    assertClose(json.predictions![1]!, await expectedProbabilities(SCENE_JPEG), 1e-5, 'image 2');
  });

  test('multipart parts typed application/octet-stream are sniffed by content', async () => {
    const { body, type } = await multipart([{ name: 'x', data: SCENE_JPEG, type: 'application/octet-stream', filename: 'x' }]);
    assertClose(ok(await post('/v1/models/cnn:predict', body, type)).predictions![0]!, await expectedProbabilities(SCENE_JPEG), 1e-6, 'sniffed');
  });

  test('/versions/1 and /labels/stable address the same version', async () => {
    const latest = ok(await post('/v1/models/cnn:predict', SCENE_PNG, 'image/png'));
    assert.deepEqual(ok(await post('/v1/models/cnn/versions/1:predict', SCENE_PNG, 'image/png')), latest);
    assert.deepEqual(ok(await post('/v1/models/cnn/labels/stable:predict', SCENE_PNG, 'image/png')), latest);
  });

  test('JSON to the same URL behaves as before: preprocessImage tensor as instances gives the same predictions', async () => {
    const tensor = await preprocessImage(SCENE_PNG, SPEC);
    const nested = Array.from({ length: 64 }, (_, y) => Array.from({ length: 64 }, (_, x) => Array.from(tensor.data.subarray((y * 64 + x) * 3, (y * 64 + x) * 3 + 3))));
    const viaJson = ok(await post('/v1/models/cnn:predict', JSON.stringify({ instances: [nested] }), 'application/json'));
    assert.equal(viaJson.labels, undefined);
    assertClose(viaJson.predictions![0]!, ok(await post('/v1/models/cnn:predict', SCENE_PNG, 'image/png')).predictions![0]!, 1e-6, 'json vs image');
    // No Content-Type at all, or text/plain, is JSON too (TF Serving ignores the header).
    ok(await post('/v1/models/plain:predict', JSON.stringify({ instances: [nested] }), undefined));
    ok(await post('/v1/models/plain:predict', JSON.stringify({ instances: [nested] }), 'text/plain'));
  });

  test('a tfserve.json of {"image": {}} takes input, size, channels and dtype from the signature', async () => {
    const json = ok(await post('/v1/models/inferred:predict', SCENE_PNG, 'image/png'));
    assert.equal(json.labels, undefined);
    assertClose(json.predictions![0]!, await expectedProbabilities(SCENE_PNG), 1e-6, 'inferred');
  });

  test('an edited tfserve.json applies to the next request', async () => {
    assert.equal(ok(await post('/v1/models/live:predict', SCENE_PNG, 'image/png')).labels![0]!.length, 1);
    rewriteConfig('live', { image: { labels: LABELS, topK: 4 } });
    assert.equal(ok(await post('/v1/models/live:predict', SCENE_PNG, 'image/png')).labels![0]!.length, 4);
    rewriteConfig('live', { image: { layout: 'nchw' } });
    fails(await post('/v1/models/live:predict', SCENE_PNG, 'image/png'), 400,
      /^tfserve\.json: image\.width and image\.height are needed: input "images" of signature "serving_default" is \[-1,64,64,3\], which gives no NCHW image size$/);
    rewriteConfig('live', { image: { layout: 'nchw', width: 64, height: 64 } });
    fails(await post('/v1/models/live:predict', SCENE_PNG, 'image/png'), 400,
      /^tfserve\.json: image gives \[n,3,64,64\] \(nchw\) but input "images" of signature "serving_default" is \[-1,64,64,3\]$/);
    rewriteConfig('live', { image: { dtype: 'uint8' } });
    fails(await post('/v1/models/live:predict', SCENE_PNG, 'image/png'), 400,
      /^tfserve\.json: image\.dtype is uint8 but input "images" of signature "serving_default" takes float32$/);
    rewriteConfig('live', { image: { input: 'pixels' } });
    fails(await post('/v1/models/live:predict', SCENE_PNG, 'image/png'), 400,
      /^tfserve\.json: image\.input "pixels" is not an input of signature "serving_default"; it takes: images$/);
    rewriteConfig('live', { image: { signature: 'predict' } });
    fails(await post('/v1/models/live:predict', SCENE_PNG, 'image/png'), 400,
      /^tfserve\.json: image\.signature "predict" is not a signature of this model; it has: /);
    rewriteConfig('live', { image: { width: 0 } });
    fails(await post('/v1/models/live:predict', SCENE_PNG, 'image/png'), 400,
      /^tfserve\.json: Expected integer between 1 and 16384 for image\.width but received 0 of type number$/);
    fs.writeFileSync(path.join(root, 'live', 'tfserve.json'), '{"image": ');
    fails(await post('/v1/models/live:predict', SCENE_PNG, 'image/png'), 400, /^tfserve\.json: cannot parse it: /);
    rewriteConfig('live', { image: { labels: 'asset:labels.txt' } });
    fails(await post('/v1/models/live:predict', SCENE_PNG, 'image/png'), 400, /^tfserve\.json: cannot read image\.labels asset:labels\.txt: no such file$/);
    rewriteConfig('live', { image: { labels: LABELS.slice(1) } });
    fails(await post('/v1/models/live:predict', SCENE_PNG, 'image/png'), 400, /^tfserve\.json: image\.labels has 9 labels but output "output_0" has 10 values per image$/);
  });

  test('concurrent image requests each get their own answer', async () => {
    const replies = await Promise.all(Array.from({ length: 8 }, (_, i) => post('/v1/models/cnn:predict', i % 2 ? SCENE_JPEG : SCENE_PNG, i % 2 ? 'image/jpeg' : 'image/png')));
    const [png, jpeg] = [ok(replies[0]!).predictions, ok(replies[1]!).predictions];
    replies.forEach((reply, i) => assert.deepEqual(ok(reply).predictions, i % 2 ? jpeg : png));
  });
});

suite('EXPECTED FAILURE - bad image requests: 4xx {"error"}, and the server keeps serving', () => {
  const gif = () => sharp(SCENE_PNG).gif().toBuffer();
  const url = '/v1/models/cnn:predict';
  const cases: [string, () => Promise<[string, Buffer | string, string | undefined]>, number, RegExp][] = [
    ['not an image', async () => [url, Buffer.from('hello, I am text'), 'image/png'], 400, /^image: Input is not an image/],
    ['zero bytes', async () => [url, Buffer.alloc(0), 'image/jpeg'], 400, /^image: Image is empty \(0 bytes\)$/],
    ['a PNG cut in half', async () => [url, SCENE_PNG.subarray(0, 2000), 'image/png'], 400, /^image: Image data is truncated or corrupt: /],
    ['a JPEG cut in half', async () => [url, SCENE_JPEG.subarray(0, 2000), 'image/jpeg'], 400, /^image: Image data is truncated or corrupt: /],
    ['a header only', async () => [url, SCENE_PNG.subarray(0, 30), 'image/png'], 400, /^image: Image header is truncated or corrupt: /],
    ['a decompression bomb (94 bytes declaring 30000x30000)', async () => [url, pngBomb(30000, 30000), 'image/png'], 400,
      /^image: Image is 30000x30000 = 900000000 pixels, over the limit of 40000000$/],
    ['Content-Type image/gif', async () => [url, await gif(), 'image/gif'], 400,
      /^Unsupported Content-Type image\/gif: send image\/jpeg, image\/png or image\/webp, multipart\/form-data with such images, or JSON$/],
    ['a GIF declared as image/png', async () => [url, await gif(), 'image/png'], 400, /^image: Image format gif is not accepted here; expected jpeg, png, webp$/],
    ['an image as text/plain is read as JSON, as TF Serving does', async () => [url, SCENE_PNG, 'text/plain'], 400, /^JSON Parse error: Invalid value\. at offset: 0$/],
    ['multipart with no image part', async () => {
      const { body, type } = await multipart([{ name: 'note', data: 'just text' }]);
      return [url, body, type];
    }, 400, /^multipart\/form-data request has no image part/],
    ['multipart with a text/plain file part', async () => {
      const { body, type } = await multipart([{ name: 'a', data: 'words', type: 'text/plain', filename: 'a.txt' }]);
      return [url, body, type];
    }, 400, /^image 1 \(part 'a'\) "a\.txt" has Content-Type text\/plain: send image\/jpeg, image\/png or image\/webp$/],
    ['multipart with a bad second image', async () => {
      const { body, type } = await multipart([
        { name: 'a', data: SCENE_PNG, type: 'image/png', filename: 'a.png' },
        { name: 'b', data: SCENE_JPEG.subarray(0, 1500), type: 'image/jpeg', filename: 'b.jpg' },
      ]);
      return [url, body, type];
    }, 400, /^image 2 \(part 'b'\): Image data is truncated or corrupt: /],
    ['multipart without a boundary', async () => [url, SCENE_PNG, 'multipart/form-data'], 400, /^Malformed multipart\/form-data request: Multipart: Boundary not found$/],
    ['multipart cut before its closing boundary', async () => {
      const { body, type } = await multipart([{ name: 'a', data: SCENE_PNG, type: 'image/png', filename: 'a.png' }]);
      return [url, body.subarray(0, body.length - 60), type];
    }, 400, /^Malformed multipart\/form-data request: (Part terminated early due to )?[Uu]nexpected end of multipart data$/],
    ['a model without tfserve.json', async () => ['/v1/models/plain:predict', SCENE_PNG, 'image/png'], 400,
      /^Model plain takes JSON only: image requests need a tfserve\.json with an "image" section in its base path$/],
    ['an unknown model', async () => ['/v1/models/nope:predict', SCENE_PNG, 'image/png'], 404, /^Servable not found for request: Latest\(nope\)$/],
    ['an unknown version', async () => ['/v1/models/cnn/versions/7:predict', SCENE_PNG, 'image/png'], 404, /^Servable not found for request: Specific\(cnn, 7\)$/],
    ['an invalid tfserve.json', async () => ['/v1/models/broken:predict', SCENE_PNG, 'image/png'], 400, /^tfserve\.json: Unknown key colour; expected image, limits$/],
    ['over the model\'s maxImageBytes', async () => ['/v1/models/limited:predict', SCENE_PNG, 'image/png'], 400,
      /^image: 4698 bytes is over the limit of 4096 bytes per image$/],
    ['over the model\'s maxPixels', async () => ['/v1/models/limited:predict', await sharp(SCENE_JPEG).resize(100, 100).jpeg().toBuffer(), 'image/jpeg'], 400,
      /^image: Image is 100x100 = 10000 pixels, over the limit of 6000$/],
    ['a multipart part over maxImageBytes', async () => {
      const { body, type } = await multipart([{ name: 'big', data: SCENE_PNG, type: 'image/png', filename: 'big.png' }]);
      return ['/v1/models/limited:predict', body, type];
    }, 400, /^image 1 \(part 'big'\) is over the limit of 4096 bytes per image$/],
    ['more images than maxImages', async () => {
      const { body, type } = await multipart([1, 2, 3].map((i) => ({ name: `p${i}`, data: SCENE_JPEG, type: 'image/jpeg', filename: `${i}.jpg` })));
      return ['/v1/models/limited:predict', body, type];
    }, 400, /^Request has more than 2 images, the limit per request$/],
  ];
  for (const [name, make, status, message] of cases) {
    test(name, async () => {
      const [target, payload, type] = await make();
      fails(await post(target, payload, type), status, message);
    });
  }

  test('an invalid tfserve.json leaves JSON requests to that model alone', async () => {
    ok(await post('/v1/models/broken:predict', JSON.stringify({ instances: [new Array(64).fill(new Array(64).fill([0, 0, 0]))] }), 'application/json'));
  });

  test('buildApp imageLimits set the server-wide defaults; bad ones are refused', async () => {
    const strict = await restApp(manager, { imageLimits: { maxPixels: 1000 } });
    try {
      fails(await post('/v1/models/cnn:predict', SCENE_PNG, 'image/png', strict), 400, /^image: Image is 97x61 = 5917 pixels, over the limit of 1000$/);
    } finally {
      await strict.close();
    }
    await assert.rejects(restApp(manager, { imageLimits: { maxPixels: 0 } }), { name: 'TfServeError', message: /^Expected positive integer for imageLimits\.maxPixels but received 0$/ });
    await assert.rejects(restApp(manager, { imageLimits: { maxBytes: 1 } as never }), { message: /^Unknown key imageLimits\.maxBytes/ });
  });

  test('after all of that the server still answers images and JSON', async () => {
    assertClose(ok(await post('/v1/models/cnn:predict', SCENE_PNG, 'image/png')).predictions![0]!, await expectedProbabilities(SCENE_PNG), 1e-6, 'after');
    const zeros = JSON.stringify({ instances: [new Array(64).fill(new Array(64).fill([0, 0, 0]))] });
    assert.equal(ok(await post('/v1/models/plain:predict', zeros, 'application/json')).predictions!.length, 1);
  });
});

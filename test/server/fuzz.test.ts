// Fixed-seed fuzzing in every run: generated REST bodies and URLs through app.inject (each body
// answered by the app that decodes on the event loop and by the one that decodes on threads, which
// must agree byte for byte), and generated inputs through the library. Every answer must be one the
// server means to give (a TF Serving status with an {"error"} body), never a crash, a hang or a 500,
// and the server must serve a good request after each batch. scripts/soak.mjs runs the same
// generators longer, with other seeds.
import assert from 'node:assert/strict';
import { suite, test } from 'node:test';
import { gzipSync } from 'node:zlib';

import type { FastifyInstance } from 'fastify';

import { TfServeError } from '../../src/model/errors.js';
import { loadSavedModel } from '../../src/model/saved-model.js';
import { allocTensor } from '../../src/model/tensor.js';
import { answer, type Answer, MODELS, useAppPair } from './offload-harness.js';
import { fuzzBody, fuzzInput, fuzzUrl, prng } from './fuzz-generators.js';

const SEED = 20261202;
const BODIES = 1500;
const URLS = 1000;
const INPUTS = 1000;
/** What the server may answer to anything: OK, TF Serving's client-side codes, 429 for the budget, 501. */
const STATUSES = new Set([200, 400, 404, 429, 501]);

/** KServe v2 (/v2) adds 405 for a method a path does not take and 503 for a model not ready. */
const V2_STATUSES = new Set([...STATUSES, 405, 503]);

function checkAnswer(reply: Answer, what: string, method = 'POST', url = ''): void {
  const v2 = /^\/v2\//i.test(url);
  assert.ok((v2 ? V2_STATUSES : STATUSES).has(reply.status), `${what} -> ${reply.status} ${reply.body.slice(0, 300)}`);
  if (method === 'OPTIONS' && reply.status !== 404) {
    // A CORS preflight bypasses the handler, as in TF Serving: an empty answer without a type.
    assert.equal(reply.body, '', what);
    return;
  }
  if (reply.status === 404 && reply.contentType === 'text/html') return; // not under /v1: libevent's page
  if (v2 && reply.body === '') return; // KServe v2 health answers: a status, no body
  assert.equal(reply.contentType, 'application/json', what);
  if (reply.status === 200 || reply.body === '') return; // URL parse errors answer an empty body, as TF Serving
  const body = JSON.parse(reply.body) as { error?: unknown };
  assert.equal(typeof body.error, 'string', `${what} -> ${reply.body.slice(0, 300)}`);
}

async function stillServes(app: FastifyInstance): Promise<void> {
  const reply = await answer(app, { method: 'POST', url: '/v1/models/half:predict', payload: '{"instances": [1.0, 2.0]}' });
  assert.equal(reply.body, '{\n    "predictions": [2.5, 3.0\n    ]\n}');
}

suite('fuzz (fixed seed)', () => {
  const apps = useAppPair({ memoryBudget: 64 * 1024 * 1024 });

  test(`${BODIES} generated bodies: the same valid answer from the event loop and from a decode thread`, async () => {
    const random = prng(SEED);
    const routes = ['/v1/models/half:predict', '/v1/models/dtypes:predict', '/v1/models/multi:predict', '/v1/models/tf1:classify', '/v1/models/tf1:regress'];
    const statuses = new Map<number, number>();
    for (let i = 0; i < BODIES; i++) {
      const url = routes[Math.floor(random() * routes.length)]!;
      let payload: Buffer = fuzzBody(random, url);
      const headers: Record<string, string> = {};
      if (random() < 0.05) {
        headers['content-encoding'] = 'gzip';
        if (random() < 0.8) payload = gzipSync(payload);
      }
      const what = `body #${i} to ${url}: ${payload.toString('latin1').slice(0, 200)}`;
      const request = { method: 'POST' as const, url, payload, headers };
      const loop = await answer(apps.loop, request);
      checkAnswer(loop, what);
      assert.deepEqual(await answer(apps.offloaded, request), loop, what);
      statuses.set(loop.status, (statuses.get(loop.status) ?? 0) + 1);
      if (i % 250 === 249) await stillServes(apps.offloaded);
    }
    if (process.env['FUZZ_STATS']) console.log('bodies', JSON.stringify([...statuses]));
    // The generator must reach both good answers and errors, or it tests little.
    assert.ok((statuses.get(200) ?? 0) > BODIES / 20, `statuses ${JSON.stringify([...statuses])}`);
    assert.ok((statuses.get(400) ?? 0) > BODIES / 5, `statuses ${JSON.stringify([...statuses])}`);
    await stillServes(apps.loop);
  });

  test(`${URLS} generated URLs and methods get TF Serving's answers`, async () => {
    const random = prng(SEED + 1);
    for (let i = 0; i < URLS; i++) {
      const { method, url } = fuzzUrl(random);
      const payload = method === 'GET' || method === 'HEAD' ? undefined : '{"instances": [1.0]}';
      checkAnswer(await answer(apps.loop, { method, url, payload }), `${method} ${url}`, method, url);
    }
    await stillServes(apps.loop);
  });

  test(`${INPUTS} generated library inputs resolve or reject with a TfServeError`, async (t) => {
    const models = { half: await loadSavedModel(MODELS.half), dtypes: await loadSavedModel(MODELS.dtypes), multi: await loadSavedModel(MODELS.multi) };
    t.after(async () => {
      for (const model of Object.values(models)) await model.dispose();
    });
    const random = prng(SEED + 2);
    const codes = new Map<string, number>();
    for (let i = 0; i < INPUTS; i++) {
      const { model, signature, inputs, options } = fuzzInput(random, allocTensor);
      const what = `input #${i} to ${model}/${signature}`;
      let outcome: string;
      // Bad arguments reject; predict() never throws.
      let call: Promise<unknown> | undefined;
      assert.doesNotThrow(() => (call = models[model].predict(inputs as never, { ...options, signature })), what);
      try {
        await call;
        outcome = 'OK';
      } catch (error) {
        assert.ok(error instanceof TfServeError, `${what}: ${String(error)}`);
        assert.match(error.code, /^[A-Z_]+$/, what);
        assert.notEqual(error.code, 'INTERNAL', `${what}: ${error.message}`);
        outcome = error.code;
      }
      codes.set(outcome, (codes.get(outcome) ?? 0) + 1);
    }
    if (process.env['FUZZ_STATS']) console.log('inputs', JSON.stringify([...codes]));
    assert.ok((codes.get('OK') ?? 0) > INPUTS / 10, JSON.stringify([...codes]));
    assert.ok((codes.get('INVALID_ARGUMENT') ?? 0) > INPUTS / 10, JSON.stringify([...codes]));
    const still = await models.half.predict({ x: { dtype: 'float32', shape: [2], data: [1, 2] } });
    assert.deepEqual([...(still['y']!.data as Float32Array)], [2.5, 3]);
  });
});

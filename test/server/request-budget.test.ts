// request-budget.ts: a request that would need more memory than the budget is refused (429) before
// the memory is spent, on the event loop and on decode threads alike; gzip bodies inflate within it.
import assert from 'node:assert/strict';
import { suite, test } from 'node:test';
import { deflateSync, gzipSync } from 'node:zlib';

import {
  BYTES_PER_JSON_VALUE,
  checkDecodeBudget,
  checkInferBudget,
  inflate,
  inflateSync,
  inflateV2,
  inflateV2Sync,
  jsonValueBound,
  TF_SERVING_MAX_GUNZIPPED_BYTES,
} from '../../src/server/request-budget.js';
import { answer, useAppPair } from './offload-harness.js';

const BUDGET = 4 * 1024 * 1024;
const FLAG = '--rest_api_request_memory_budget_bytes';

suite('request budget', () => {
  test('jsonValueBound: one value per separator, plus the first; never fewer than there are', () => {
    assert.equal(jsonValueBound(Buffer.from('1')), 1);
    assert.equal(jsonValueBound(Buffer.from('[1, 2, 3]')), 4);
    assert.equal(jsonValueBound(Buffer.from('{"instances": [[1, 2], [3, 4]]}')), 8);
    assert.equal(jsonValueBound(Buffer.alloc(0)), 1);
  });

  test('checkDecodeBudget passes what fits and names the estimate, the budget and the flag when it does not', () => {
    checkDecodeBudget(Buffer.from('{"instances": [1, 2, 3]}'), 1000);
    // A body far below the budget is not even counted.
    checkDecodeBudget(Buffer.alloc(10_000, 0x2c), 1_000_000);
    const body = Buffer.from(`[${'1,'.repeat(999)}1]`);
    const values = 1000 + 1;
    const estimate = body.length + values * BYTES_PER_JSON_VALUE;
    checkDecodeBudget(body, estimate);
    assert.throws(() => checkDecodeBudget(body, estimate - 1), {
      name: 'TfServeError',
      code: 'RESOURCE_EXHAUSTED',
      message:
        `Request would need about ${estimate} bytes to decode (${body.length} bytes of JSON, up to ${values} values), ` +
        `more than the per-request memory budget of ${estimate - 1} bytes (${FLAG})`,
    });
  });

  test('inflate stops at the budget; a bad or (as in TF Serving) a >100 MiB gzip body reads as empty', async () => {
    const small = gzipSync('{"instances": [1]}');
    assert.equal((await inflate(small, BUDGET)).toString(), '{"instances": [1]}');
    assert.equal(inflateSync(small, BUDGET).toString(), '{"instances": [1]}');
    const bomb = gzipSync(Buffer.alloc(BUDGET + 1, 0x20));
    const over = { code: 'RESOURCE_EXHAUSTED', message: `Request body inflates to more than the per-request memory budget of ${BUDGET} bytes (${FLAG})` };
    await assert.rejects(inflate(bomb, BUDGET), over);
    assert.throws(() => inflateSync(bomb, BUDGET), over);
    assert.equal((await inflate(Buffer.from('not gzip'), BUDGET)).length, 0);
    const huge = gzipSync(Buffer.alloc(TF_SERVING_MAX_GUNZIPPED_BYTES + 1, 0x20));
    assert.equal((await inflate(huge, 2 * TF_SERVING_MAX_GUNZIPPED_BYTES)).length, 0);
  });
});

suite('request budget for KServe v2 bodies', () => {
  const over = { code: 'RESOURCE_EXHAUSTED', message: `Request body inflates to more than the per-request memory budget of ${BUDGET} bytes (${FLAG})` };

  test('inflateV2 undoes gzip and deflate within the budget, on zlib\'s threads or the caller\'s', async () => {
    const text = '{"inputs": []}';
    for (const [coding, compress] of [['gzip', gzipSync], ['deflate', deflateSync]] as const) {
      assert.equal((await inflateV2(compress(text), coding, BUDGET, BUDGET)).toString(), text);
      assert.equal(inflateV2Sync(compress(text), coding, BUDGET, BUDGET).toString(), text);
      const bomb = compress(Buffer.alloc(BUDGET + 1, 0x20));
      await assert.rejects(inflateV2(bomb, coding, BUDGET, 2 * BUDGET), over);
      assert.throws(() => inflateV2Sync(bomb, coding, BUDGET, 2 * BUDGET), over);
    }
  });

  test('EXPECTED FAILURE - inflateV2: a body that does not inflate, or inflates past the body limit, is INVALID_ARGUMENT', async () => {
    const bad = { code: 'INVALID_ARGUMENT', message: 'Unable to deflate-decompress the request body: incorrect header check' };
    await assert.rejects(inflateV2(Buffer.from('not deflate'), 'deflate', BUDGET, BUDGET), bad);
    assert.throws(() => inflateV2Sync(Buffer.from('not deflate'), 'deflate', BUDGET, BUDGET), bad);
    // The body limit below the budget: the limit is what stopped it, as before the budget.
    const limited = { code: 'INVALID_ARGUMENT', message: 'Unable to gzip-decompress the request body: Cannot create a Buffer larger than 1000 bytes' };
    await assert.rejects(inflateV2(gzipSync(Buffer.alloc(1001)), 'gzip', BUDGET, 1000), limited);
    assert.throws(() => inflateV2Sync(gzipSync(Buffer.alloc(1001)), 'gzip', BUDGET, 1000), limited);
  });

  test('checkInferBudget counts the JSON before Inference-Header-Content-Length, not the binary tail', () => {
    const json = Buffer.from(`{"inputs": [${'1,'.repeat(999)}1]}`);
    const estimate = json.length + jsonValueBound(json) * BYTES_PER_JSON_VALUE;
    const body = Buffer.concat([json, Buffer.alloc(100_000, 0x2c)]);
    checkInferBudget(body, String(json.length), estimate);
    assert.throws(() => checkInferBudget(body, String(json.length), estimate - 1), {
      code: 'RESOURCE_EXHAUSTED',
      message: new RegExp(`^Request would need about ${estimate} bytes to decode \\(${json.length} bytes of JSON, up to 1002 values\\)`),
    });
    // Without the header the whole body is the JSON, separators in the tail and all.
    assert.throws(() => checkInferBudget(body, undefined, estimate), { code: 'RESOURCE_EXHAUSTED', message: /^Request would need about \d+ bytes to decode \(102013 bytes of JSON, up to 101002 values\)/ });
  });

  test('EXPECTED FAILURE - checkInferBudget: a bad header length is refused first, with the codec\'s text', () => {
    assert.throws(() => checkInferBudget(Buffer.from('{}'), 'ten', 1), { code: 'INVALID_ARGUMENT', message: 'Unable to parse Inference-Header-Content-Length, got: ten' });
    assert.throws(() => checkInferBudget(Buffer.from('{}'), '3', 1), { code: 'INVALID_ARGUMENT', message: 'inference header size should be in range (0, 2), got: 3' });
  });
});

suite('request budget in the REST app', () => {
  const apps = useAppPair({ memoryBudget: BUDGET });

  test('EXPECTED FAILURE - a small gzip body that inflates past the budget is 429, on both paths', async () => {
    const bomb = gzipSync(`{"instances": [${'1,'.repeat(BUDGET / 2)}1]}`);
    assert.ok(bomb.length < 20_000, `the bomb is ${bomb.length} bytes`);
    const request = { method: 'POST' as const, url: '/v1/models/half:predict', payload: bomb, headers: { 'content-encoding': 'gzip' } };
    for (const app of [apps.loop, apps.offloaded]) {
      const reply = await answer(app, request);
      assert.equal(reply.status, 429);
      assert.equal(JSON.parse(reply.body).error, `Request body inflates to more than the per-request memory budget of ${BUDGET} bytes (${FLAG})`);
    }
  });

  test('EXPECTED FAILURE - a body of many small numbers past the budget is 429 before it is parsed, on both paths', async () => {
    const body = Buffer.from(`{"instances": [${'1,'.repeat(200_000)}1]}`);
    const estimate = body.length + jsonValueBound(body) * BYTES_PER_JSON_VALUE;
    assert.ok(estimate > BUDGET && body.length < BUDGET);
    for (const app of [apps.loop, apps.offloaded]) {
      const reply = await answer(app, { method: 'POST', url: '/v1/models/half:classify', payload: body });
      assert.equal(reply.status, 429);
      assert.match(JSON.parse(reply.body).error, new RegExp(`^Request would need about ${estimate} bytes to decode \\(${body.length} bytes of JSON, up to 200003 values\\), more than the per-request memory budget of ${BUDGET} bytes`));
    }
    // The same numbers as longer text fit: the estimate follows the values, not the bytes.
    const fits = `{"instances": [${'1.2345678,'.repeat(100_000)}1]}`;
    assert.equal((await answer(apps.offloaded, { method: 'POST', url: '/v1/models/half:predict', payload: fits })).status, 200);
  });
});

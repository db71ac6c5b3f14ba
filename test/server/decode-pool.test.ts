// decode-pool.ts and routes/offloaded.ts: a body decoded on a decode thread gets the very answer it
// gets on the event loop (statuses, TF Serving's texts in their order, values), large inputs reach
// TensorFlow without a copy and large answers come back whole, and the event loop stays free.
import assert from 'node:assert/strict';
import { suite, test } from 'node:test';
import { gzipSync } from 'node:zlib';

import { binding } from '../../src/model/native.js';
import { DecodePool, SLICE_BYTES } from '../../src/server/decode-pool.js';
import { answer, useAppPair } from './offload-harness.js';

const CASES: [string, string, string | Buffer][] = [
  // Good requests, every format and route.
  ['row floats', '/v1/models/half:predict', '{"instances": [1.0, 2.0, 5.0]}'],
  ['columnar', '/v1/models/half:predict', '{"inputs": [1, 2, 3]}'],
  ['every dtype', '/v1/models/dtypes:predict', '{"signature_name": "mixed", "instances": [{"ids": 9007199254740993, "mask": true, "pairs": [1.5, NaN], "text": {"b64": "aGk="}}]}'],
  ['int64 exact', '/v1/models/dtypes:predict', '{"signature_name": "int64", "inputs": [9223372036854775807, -9223372036854775808]}'],
  ['two inputs', '/v1/models/multi:predict', '{"instances": [{"category": [1], "features": [1, 2, 3, 4]}, {"category": [0], "features": [0, 0, 0, 1]}]}'],
  ['classify', '/v1/models/tf1:classify', '{"signature_name": "classify", "examples": [{"x": 2.0}, {"x": [1.0]}]}'],
  ['regress with context', '/v1/models/tf1:regress', '{"signature_name": "regress", "context": {"x": 3.0}, "examples": [{}]}'],
  ['gzip body', '/v1/models/half:predict', gzipSync('{"instances": [4.0]}')],
  // Errors, in TF Serving's order: JSON first, then the model, the signature, the values.
  ['empty body', '/v1/models/nope:predict', ''],
  ['bad JSON, unknown model', '/v1/models/nope:predict', '{"instances": [1, 2'],
  ['unknown model', '/v1/models/nope:predict', '{"instances": [1.0]}'],
  ['unknown version', '/v1/models/half/versions/9223372036854775807:predict', '{"instances": [1.0]}'],
  ['unknown signature', '/v1/models/half:predict', '{"signature_name": "nope", "instances": [1.0]}'],
  ['wrong type', '/v1/models/half:predict', '{"instances": ["x"]}'],
  ['ragged', '/v1/models/half:predict', '{"instances": [[1.0], [2.0, 3.0]]}'],
  ['missing input', '/v1/models/multi:predict', '{"inputs": {"features": [[1, 2, 3, 4]]}}'],
  ['int out of range', '/v1/models/dtypes:predict', '{"signature_name": "int32", "inputs": [2147483648]}'],
  ['unsupported dtype', '/v1/models/dtypes:predict', '{"signature_name": "float16", "inputs": [1.0]}'],
  ['classify without examples', '/v1/models/tf1:classify', '{"signature_name": "classify"}'],
  ['classify, unknown model', '/v1/models/nope:classify', '{"examples": [{"x": 1}]}'],
  ['bad Example feature', '/v1/models/tf1:regress', '{"signature_name": "regress", "examples": [{"x": [1, "a"]}]}'],
  ['not gzip', '/v1/models/half:predict', '{"instances": [1.0]}'],
];

suite('decode threads', () => {
  const apps = useAppPair();

  for (const [name, url, payload] of CASES) {
    test(`${name}: the same answer from a decode thread as from the event loop`, async () => {
      const gzip = Buffer.isBuffer(payload) || name === 'not gzip';
      const request = { method: 'POST' as const, url, payload, headers: gzip ? { 'content-encoding': 'gzip' } : {} };
      const [loop, offloaded] = [await answer(apps.loop, request), await answer(apps.offloaded, request)];
      assert.deepEqual(offloaded, loop);
      assert.equal(loop.contentType, 'application/json');
    });
  }

  test('a large input reaches TensorFlow without a copy, a large answer comes back whole', async () => {
    const count = (2 * SLICE_BYTES) / 4 + 3;
    const body = `{"instances": [${'1.5,'.repeat(count - 1)}1.5]}`;
    const copies = binding()._inputCopies();
    const reply = await answer(apps.offloaded, { method: 'POST', url: '/v1/models/half:predict', payload: body });
    assert.equal(reply.status, 200);
    assert.equal(binding()._inputCopies(), copies, 'the decoded input must be TensorFlow-ready memory');
    const loop = await answer(apps.loop, { method: 'POST', url: '/v1/models/half:predict', payload: body });
    assert.equal(reply.body, loop.body);
    assert.ok(reply.body.startsWith('{\n    "predictions": [2.75, 2.75'));
    assert.equal(reply.body.split(',').length, count);
  });

  test('the event loop answers a small request while a large body is decoded on a thread', async () => {
    const big = `{"instances": [${'0.25,'.repeat(3_000_000)}1]}`;
    const order: string[] = [];
    const large = answer(apps.offloaded, { method: 'POST', url: '/v1/models/half:predict', payload: big }).then((r) => {
      order.push('large');
      return r;
    });
    // Once the large body is with its thread, a small one (on the event loop) overtakes it.
    await new Promise((resolve) => setTimeout(resolve, 20));
    const small = await answer(apps.loop, { method: 'GET', url: '/v1/models/half' });
    order.push('small');
    assert.equal(small.status, 200);
    assert.equal((await large).status, 200);
    assert.deepEqual(order, ['small', 'large']);
  });
});

suite('DecodePool', () => {
  test('threads start on demand and end when idle; a closed pool refuses work', async () => {
    const pool = new DecodePool({ threads: 2, idleMs: 50 });
    assert.equal(pool.size, 0);
    const parsed = await pool.parsePredict(Buffer.from('{"instances": [1]}'), false, 1 << 20);
    assert.equal(parsed.format, 'row');
    parsed.cancel();
    assert.equal(pool.size, 1);
    await new Promise((resolve) => setTimeout(resolve, 500));
    assert.equal(pool.size, 0);
    await pool.close();
    await assert.rejects(pool.parsePredict(Buffer.from('{}'), false, 1 << 20), { code: 'UNAVAILABLE', message: 'the server is stopping' });
  });

  test('EXPECTED FAILURE - a thread\'s errors come back as TfServeErrors; the thread serves on', async () => {
    const pool = new DecodePool({ threads: 1 });
    try {
      await assert.rejects(pool.parsePredict(Buffer.from('[1'), false, 1 << 20), {
        name: 'TfServeError',
        code: 'INVALID_ARGUMENT',
        message: "JSON Parse error: Missing a comma or ']' after an array element. at offset: 2",
      });
      await assert.rejects(pool.examples(Buffer.from('{"examples": 5}'), false, 1 << 20), { code: 'INVALID_ARGUMENT' });
      const parsed = await pool.parsePredict(Buffer.from('{"inputs": [1, 2]}'), false, 1 << 20);
      const inputs = await parsed.decode({ methodName: 'tensorflow/serving/predict', inputs: { x: { name: 'x:0', dtype: 'float32', shape: [-1], tfType: 1 } }, outputs: {} });
      assert.deepEqual([...(inputs['x']!.data as Float32Array)], [1, 2]);
      assert.equal(pool.size, 1);
    } finally {
      await pool.close();
    }
  });
});

// decode-pool.ts and routes/offloaded.ts: a body decoded on a decode thread gets the very answer it
// gets on the event loop (statuses, TF Serving's texts in their order, values), large inputs reach
// TensorFlow without a copy and large answers come back whole, and the event loop stays free. The
// same for KServe v2 infer bodies (routes/v2.ts), JSON and binary.
import assert from 'node:assert/strict';
import { suite, test } from 'node:test';
import { Worker } from 'node:worker_threads';
import { deflateSync, gzipSync } from 'node:zlib';

import type { InjectOptions } from 'fastify';

import { binding } from '../../src/model/native.js';
import { DecodePool, SLICE_BYTES } from '../../src/server/decode-pool.js';
import { answer, type Answer, type AppPair, useAppPair } from './offload-harness.js';

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
    // Its error is its last element, so no TensorFlow run follows the decode: on the event loop this
    // body would be parsed, decoded and answered before any other request was read.
    const big = `{"instances": [${'0.25,'.repeat(3_000_000)}"x"]}`;
    const { order, jobs, small, large } = await smallDuringLarge(apps, { method: 'POST', url: '/v1/models/half:predict', payload: big }, { method: 'GET', url: '/v1/models/half' });
    assert.equal(small.status, 200);
    assert.equal(large.status, 400);
    assert.equal(jobs[0], 'predict');
    assert.deepEqual(order, ['posted', 'small', 'large']);
  });
});

/**
 * Sends `large` to the offloading app and, once its first job has reached a decode thread, `small` to
 * the other (3 M numbers on a thread take far longer than a metadata GET here). `order` says what
 * happened when: 'posted' (the job reached its thread), 'small' and 'large' (answered).
 */
async function smallDuringLarge(apps: AppPair, large: InjectOptions, small: InjectOptions): Promise<{ order: string[]; jobs: string[]; small: Answer; large: Answer }> {
  const order: string[] = [];
  let answers!: { small: Answer; large: Answer };
  const { jobs } = await jobsDuring(async (posted) => {
    let done = false;
    const pending = answer(apps.offloaded, large).then((r) => {
      done = true;
      order.push('large');
      return r;
    });
    while (!done && !order.includes('posted')) {
      await new Promise((resolve) => setImmediate(resolve));
      if (posted.length > 0) order.push('posted');
    }
    const first = await answer(apps.loop, small);
    order.push('small');
    answers = { small: first, large: await pending };
  });
  return { order, jobs, ...answers };
}

const V2_X = { name: 'x', shape: [3], datatype: 'FP32', data: [1, 2, 5] };

/** A v2 body with the binary tensor data extension: the JSON, then `tail`. */
function v2Binary(json: unknown, tail: Buffer): { payload: Buffer; headers: Record<string, string> } {
  const header = Buffer.from(JSON.stringify(json));
  return { payload: Buffer.concat([header, tail]), headers: { 'inference-header-content-length': String(header.length) } };
}

/**
 * The types of the jobs posted to decode threads while `run` runs: a pass-through spy on
 * Worker.postMessage, so a test can tell a body went to a thread, not merely that the answer matched.
 */
async function jobsDuring<T>(run: (jobs: readonly string[]) => Promise<T>): Promise<{ result: T; jobs: string[] }> {
  const jobs: string[] = [];
  const post = Object.getOwnPropertyDescriptor(Worker.prototype, 'postMessage')!;
  Worker.prototype.postMessage = function (this: Worker, message: { type: string }, ...rest: unknown[]) {
    jobs.push(message.type);
    return (post.value as (...args: unknown[]) => void).call(this, message, ...rest);
  };
  try {
    return { result: await run(jobs), jobs };
  } finally {
    Object.defineProperty(Worker.prototype, 'postMessage', post);
  }
}

const BYTES_TAIL = Buffer.from([2, 0, 0, 0, 0x61, 0x62, 1, 0, 0, 0, 0xff]);

const V2_CASES: [string, string, { payload: string | Buffer; headers?: Record<string, string> }][] = [
  ['JSON', '/v2/models/half/infer', { payload: JSON.stringify({ id: 'r', inputs: [V2_X] }) }],
  ['binary in and out', '/v2/models/half/infer', v2Binary({ inputs: [{ name: 'x', shape: [2], datatype: 'FP32', parameters: { binary_data_size: 8 } }], parameters: { binary_data_output: true } }, Buffer.from(Float32Array.of(1, 2).buffer))],
  ['BYTES, views of the body', '/v2/models/dtypes/infer', v2Binary({ parameters: { signature_name: 'string' }, inputs: [{ name: 'x', shape: [2], datatype: 'BYTES', parameters: { binary_data_size: BYTES_TAIL.length } }] }, BYTES_TAIL)],
  ['int64 exact', '/v2/models/dtypes/infer', { payload: '{"parameters": {"signature_name": "int64"}, "inputs": [{"name": "x", "shape": [2], "datatype": "INT64", "data": [9223372036854775807, -9223372036854775808]}]}' }],
  ['gzip', '/v2/models/half/infer', { payload: gzipSync(JSON.stringify({ inputs: [V2_X] })), headers: { 'content-encoding': 'gzip' } }],
  ['deflate', '/v2/models/half/infer', { payload: deflateSync(JSON.stringify({ inputs: [V2_X] })), headers: { 'content-encoding': 'deflate' } }],
  // Errors, in the event loop's order: encoding, header length, JSON, the inputs, then the model.
  ['bad JSON, unknown model', '/v2/models/nope/infer', { payload: '{"inputs": [' }],
  ['unknown model', '/v2/models/nope/infer', { payload: JSON.stringify({ inputs: [V2_X] }) }],
  ['wrong datatype', '/v2/models/half/infer', { payload: JSON.stringify({ inputs: [{ ...V2_X, datatype: 'INT32' }] }) }],
  ['bad element', '/v2/models/half/infer', { payload: JSON.stringify({ inputs: [{ ...V2_X, data: [1, 'a', 3] }] }) }],
  ['bad header length', '/v2/models/nope/infer', { payload: '{}', headers: { 'inference-header-content-length': 'ten' } }],
  ['short binary data', '/v2/models/half/infer', v2Binary({ inputs: [{ name: 'x', shape: [2], datatype: 'FP32', parameters: { binary_data_size: 8 } }] }, Buffer.alloc(4))],
  ['bad BYTES', '/v2/models/dtypes/infer', v2Binary({ parameters: { signature_name: 'string' }, inputs: [{ name: 'x', shape: [2], datatype: 'BYTES', parameters: { binary_data_size: 3 } }] }, Buffer.alloc(3))],
  ['shared memory', '/v2/models/half/infer', { payload: JSON.stringify({ inputs: [{ ...V2_X, data: undefined, parameters: { shared_memory_region: 'r' } }] }) }],
  ['not gzip', '/v2/models/half/infer', { payload: 'not gzip', headers: { 'content-encoding': 'gzip' } }],
  ['not deflate, unknown model', '/v2/models/nope/infer', { payload: 'not deflate', headers: { 'content-encoding': 'deflate' } }],
  ['unsupported encoding', '/v2/models/half/infer', { payload: '{}', headers: { 'content-encoding': 'br' } }],
];

suite('decode threads for KServe v2 infer bodies', () => {
  const apps = useAppPair();
  const v2 = (payload: string | Buffer, headers: Record<string, string> = {}) => ({ method: 'POST' as const, url: '/v2/models/half/infer', payload, headers });
  const count = (2 * SLICE_BYTES) / 4 + 3;

  for (const [name, url, { payload, headers = {} }] of V2_CASES) {
    test(`${name}: the same answer from a decode thread as from the event loop`, async () => {
      const request = { method: 'POST' as const, url, payload, headers };
      const loop = await answer(apps.loop, request);
      const { result: offloaded, jobs } = await jobsDuring(() => answer(apps.offloaded, request));
      assert.deepEqual(offloaded, loop);
      // An encoding the server does not take is refused before any body is read.
      assert.deepEqual(jobs, name === 'unsupported encoding' ? [] : ['infer']);
    });
  }

  test('a large JSON body: the same answer, its input in TensorFlow-ready memory, its large answer written on the thread', async () => {
    const body = `{"inputs": [{"name": "x", "shape": [${count}], "datatype": "FP32", "data": [${'1.5,'.repeat(count - 1)}1.5]}]}`;
    const copies = binding()._inputCopies();
    const { result: offloaded, jobs } = await jobsDuring(() => answer(apps.offloaded, v2(body)));
    assert.equal(offloaded.status, 200);
    assert.deepEqual([jobs[0], jobs.at(-1)], ['infer', 'encode-infer']);
    assert.ok(jobs.slice(1, -1).every((job) => job === 'part'));
    assert.equal(binding()._inputCopies(), copies, 'the decoded input must be TensorFlow-ready memory');
    const loop = await answer(apps.loop, v2(body));
    assert.equal(offloaded.body, loop.body);
    assert.ok(offloaded.body.includes('"shape":[' + count + '],"data":[2.75,2.75'));
  });

  test('a large binary body, gzip too: the same answer, its input in TensorFlow-ready memory', async () => {
    const values = Float32Array.from({ length: count }, (_, i) => i % 1000);
    const { payload, headers } = v2Binary({ inputs: [{ name: 'x', shape: [count], datatype: 'FP32', parameters: { binary_data_size: values.byteLength } }], parameters: { binary_data_output: true } }, Buffer.from(values.buffer));
    for (const [body, more] of [[payload, {}], [gzipSync(payload), { 'content-encoding': 'gzip' }]] as const) {
      const copies = binding()._inputCopies();
      const { result: offloaded, jobs } = await jobsDuring(() => apps.offloaded.inject(v2(body, { ...headers, ...more })));
      assert.equal(offloaded.statusCode, 200, offloaded.body);
      assert.deepEqual(jobs, ['infer']);
      assert.equal(binding()._inputCopies(), copies, 'the decoded input must be TensorFlow-ready memory');
      const loop = await apps.loop.inject(v2(body, { ...headers, ...more }));
      assert.ok(offloaded.rawPayload.equals(loop.rawPayload));
      const length = Number(offloaded.headers['inference-header-content-length']);
      const y = offloaded.rawPayload.subarray(length);
      assert.equal(new Float32Array(y.buffer.slice(y.byteOffset, y.byteOffset + y.byteLength))[count - 1], (values[count - 1]! * 0.5) + 2);
    }
  });

  test('EXPECTED FAILURE - an error at the end of a large body: the same status and text as on the event loop', async () => {
    const body = `{"inputs": [{"name": "x", "shape": [${count}], "datatype": "FP32", "data": [${'1.5,'.repeat(count - 1)}"x"]}]}`;
    const loop = await answer(apps.loop, v2(body));
    const { result: offloaded, jobs } = await jobsDuring(() => answer(apps.offloaded, v2(body)));
    assert.deepEqual(offloaded, loop);
    assert.deepEqual(jobs, ['infer']);
    assert.equal(loop.status, 400);
    assert.equal(JSON.parse(loop.body).error, `Unable to parse 'data' of input 'x' for model 'half': expected a number (FP32) at element ${count - 1}, got "x"`);
  });

  test('the event loop answers a small request while a large v2 body is decoded on a thread', async () => {
    // Its error is its last element, so nothing follows the decode: on the event loop this body would
    // be answered before any other request was read.
    const big = `{"inputs": [{"name": "x", "shape": [3000001], "datatype": "FP32", "data": [${'0.25,'.repeat(3_000_000)}"x"]}]}`;
    const { order, jobs, small, large } = await smallDuringLarge(apps, v2(big), { method: 'GET', url: '/v2/models/half' });
    assert.equal(small.status, 200);
    assert.equal(large.status, 400);
    assert.deepEqual(jobs, ['infer']);
    assert.deepEqual(order, ['posted', 'small', 'large']);
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

  test('decodeInfer: the request as the codec decodes it, values and parameters intact', async () => {
    const pool = new DecodePool({ threads: 1 });
    try {
      const body = Buffer.from('{"id": "a", "parameters": {"n": 9223372036854775807}, "inputs": [{"name": "x", "shape": [2], "datatype": "INT64", "data": [1, -2]}], "outputs": [{"name": "y"}]}');
      const request = await pool.decodeInfer({ body, coding: null, header: undefined, model: 'm', budget: 1 << 20, limit: 1 << 20 });
      assert.equal(request.id, 'a');
      assert.equal(request.parameters.get('n'), 9223372036854775807n);
      assert.deepEqual([...(request.inputs[0]!.tensor.data as BigInt64Array)], [1n, -2n]);
      assert.deepEqual(request.outputs.map((output) => output.name), ['y']);
    } finally {
      await pool.close();
    }
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
      await assert.rejects(pool.decodeInfer({ body: Buffer.from('{}'), coding: null, header: undefined, model: 'm', budget: 1 << 20, limit: 1 << 20 }), {
        code: 'INVALID_ARGUMENT',
        message: "Unable to parse 'inputs': the request has none",
      });
      const parsed = await pool.parsePredict(Buffer.from('{"inputs": [1, 2]}'), false, 1 << 20);
      const inputs = await parsed.decode({ methodName: 'tensorflow/serving/predict', inputs: { x: { name: 'x:0', dtype: 'float32', shape: [-1], tfType: 1 } }, outputs: {} });
      assert.deepEqual([...(inputs['x']!.data as Float32Array)], [1, 2]);
      assert.equal(pool.size, 1);
    } finally {
      await pool.close();
    }
  });
});

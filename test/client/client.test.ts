// TFServingClient (src/client/rest-client.ts) against a real tfserve listening on a port: the bundled half_plus_two,
// test/fixtures/models/tf1_methods for classify/regress, and the cnn fixture with a tfserve.json for
// predictImage. Then TF Serving's own answer texts through a stand-in fetch (its recorded metadata,
// NaN tokens, error bodies), and the client's argument, timeout and connection errors.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { after, before, suite, test } from 'node:test';

import type { FastifyInstance } from 'fastify';

import { TFServingClient, TfServingHttpError, writeJson } from '../../src/client/rest-client.js';
import { preprocessImage } from '../../src/image/preprocess.js';
import { loadSavedModel } from '../../src/model/saved-model.js';
import { buildApp } from '../../src/server/app.js';
import { ModelManager } from '../../src/serving/manager.js';
import { loadServable, modelPath, REPO_ROOT, restApp, SHARED_FIXTURES, sharedFixturesSkip } from '../helpers.js';
import { SCENE_JPEG, SCENE_JPEG_PATH, SCENE_PNG } from '../image/images.js';

const LABELS = ['airplane', 'automobile', 'bird', 'cat', 'deer', 'dog', 'frog', 'horse', 'ship', 'truck'];

let root: string;
let manager: ModelManager;
let app: FastifyInstance;
let client: TFServingClient;
let baseUrl: string;

before(async () => {
  root = fs.mkdtempSync(path.join(os.tmpdir(), 'tfserve-client-'));
  fs.mkdirSync(path.join(root, 'cnn'));
  fs.symlinkSync(modelPath('cnn'), path.join(root, 'cnn', '1'));
  fs.writeFileSync(path.join(root, 'cnn', 'tfserve.json'), JSON.stringify({ image: { labels: LABELS, topK: 2 } }));

  manager = new ModelManager({ load: loadServable, maxLoadRetries: 0 });
  manager.setAspiredVersions('half_plus_two', [{ version: 1, path: path.join(REPO_ROOT, 'models', 'half_plus_two', '1') }]);
  manager.setAspiredVersions('tf1_methods', [{ version: 1, path: modelPath('tf1_methods') }]);
  manager.setAspiredVersions('cnn', [{ version: 1, path: path.join(root, 'cnn', '1') }]);
  await manager.settled();
  manager.setLabels('half_plus_two', new Map([['stable', 1]]));
  app = await restApp(manager);
  await app.listen({ port: 0, host: '127.0.0.1' });
  baseUrl = `http://127.0.0.1:${(app.server.address() as AddressInfo).port}`;
  client = new TFServingClient(`${baseUrl}/`);
});

after(async () => {
  await app?.close();
  await manager?.close();
  if (root) fs.rmSync(root, { recursive: true, force: true });
});

suite('against tfserve', () => {
  test('predict, row format: instances -> predictions', async () => {
    assert.deepEqual(await client.predict('half_plus_two', { instances: [1, 2, 5] }), { predictions: [2.5, 3, 4.5] });
  });

  test('predict, columnar format: inputs -> outputs; by version and by label', async () => {
    assert.deepEqual(await client.predict('half_plus_two', { inputs: [1, 2] }, { version: 1 }), { outputs: [2.5, 3] });
    assert.deepEqual(await client.predict('half_plus_two', { inputs: { x: [4] } }, { label: 'stable' }), { outputs: [4] });
  });

  test('signatureName is sent as signature_name', async () => {
    assert.deepEqual(await client.predict('tf1_methods', { signatureName: 'predict', instances: [-4] }), { predictions: [0] });
  });

  test('typed arrays, tensors and NaN/Infinity go out as TF Serving JSON, and NaN/Infinity come back', async () => {
    const answer = await client.predict('half_plus_two', { instances: new Float32Array([0.1, NaN, Infinity, -Infinity]) as unknown as unknown[] });
    const predictions = answer.predictions as number[];
    // Floats come back in TF Serving's shortest float text: 2.05, the float32 nearest 0.1 * 0.5 + 2.
    assert.equal(Math.fround(predictions[0]!), Math.fround(Math.fround(0.1) * 0.5 + 2));
    assert.ok(Number.isNaN(predictions[1]));
    assert.deepEqual(predictions.slice(2), [Infinity, -Infinity]);
    const tensor = { dtype: 'float32', shape: [3], data: new Float32Array([2, 4, 6]) };
    assert.deepEqual(await client.predict('half_plus_two', { inputs: { x: tensor } }), { outputs: [3, 4, 5] });
  });

  test('classify and regress through tf.Examples (tf1_methods)', async () => {
    const classify = await client.classify('tf1_methods', { signatureName: 'classify', examples: [{ x: 1.5 }, { x: -2.5 }] });
    assert.equal(classify.results.length, 2);
    assert.deepEqual(classify.results.map((pairs) => pairs.map(([label]) => label)), [['negative', 'positive'], ['negative', 'positive']]);
    const [negative, positive] = classify.results[0]!.map(([, score]) => score);
    assert.ok(Math.abs(negative! + positive! - 1) < 1e-6 && positive! > negative!);
    // A float feature with an integral value: a Float32Array is written as [1.0], a float_list.
    const regress = await client.regress('tf1_methods', { signatureName: 'regress', examples: [{ x: new Float32Array([1]) }, { x: 2.5 }] });
    assert.deepEqual(regress, { results: [2.5, 3.25] });
    assert.deepEqual(await client.regress('tf1_methods', { signatureName: 'regress', context: { x: new Float32Array([4]) }, examples: [{}] }), { results: [4] });
    // A plain integral number is an int64 feature, which this float model refuses, as TF Serving does.
    await assert.rejects(client.regress('tf1_methods', { signatureName: 'regress', examples: [{ x: 1 }] }), { status: 400, error: /Data types don't match/ });
  });

  test('status and metadata', async () => {
    assert.deepEqual(await client.status('half_plus_two'), {
      model_version_status: [{ version: '1', state: 'AVAILABLE', status: { error_code: 'OK', error_message: '' } }],
    });
    assert.equal((await client.status('half_plus_two', { version: 1 })).model_version_status.length, 1);
    const metadata = await client.metadata('half_plus_two');
    assert.deepEqual(metadata.model_spec, { name: 'half_plus_two', signature_name: '', version: '1' });
    assert.ok('serving_default' in metadata.metadata.signature_def.signature_def);
  });

  test('predictImage: one image as its body, several as multipart; paths are read', async () => {
    const single = await client.predictImage('cnn', SCENE_PNG);
    const probabilities = (single.predictions as number[][])[0]!;
    assert.equal(probabilities.length, 10);
    assert.equal(single.labels![0]!.length, 2);
    assert.equal(single.labels![0]![0]!.score, Math.max(...probabilities));
    const expected = await loadSavedModel(modelPath('cnn')).then(async (model) => {
      try {
        return Array.from((await model.predict({ images: await preprocessImage(SCENE_PNG, { width: 64, height: 64 }) })).output_0!.data as Float32Array);
      } finally {
        await model.dispose();
      }
    });
    probabilities.forEach((p, i) => assert.ok(Math.abs(p - expected[i]!) < 1e-6));

    const batch = await client.predictImage('cnn', [SCENE_PNG, SCENE_JPEG_PATH], { version: 1 });
    assert.equal((batch.predictions as number[][]).length, 2);
    assert.equal(batch.labels!.length, 2);
    const fromPath = await client.predictImage('cnn', SCENE_JPEG_PATH, undefined, { contentType: 'image/jpeg' });
    (fromPath.predictions as number[][])[0]!.forEach((p, i) => assert.ok(Math.abs(p - (batch.predictions as number[][])[1]![i]!) < 1e-5));
  });

  test('EXPECTED FAILURE - non-2xx answers reject with TfServingHttpError: status and the server\'s error text', async () => {
    await assert.rejects(client.predict('nope', { instances: [1] }), {
      name: 'TfServingHttpError',
      status: 404,
      error: 'Servable not found for request: Latest(nope)',
      message: 'HTTP 404: Servable not found for request: Latest(nope)',
    });
    await assert.rejects(client.predict('half_plus_two', { instances: ['a'] }), (err: unknown) => {
      assert.ok(err instanceof TfServingHttpError);
      assert.equal(err.status, 400);
      assert.match(err.error, /^Expected tensor of type float|type/i);
      assert.match(err.body, /^\{\n {4}"error": /);
      return true;
    });
    await assert.rejects(client.status('half_plus_two', { version: 9 }), { status: 404, error: 'Could not find version 9 of model half_plus_two' });
    await assert.rejects(client.predictImage('half_plus_two', SCENE_JPEG), { status: 400, error: /^Model half_plus_two takes JSON only/ });
    await assert.rejects(client.predictImage('cnn', Buffer.from('GIF89a....'), undefined, { contentType: 'image/gif' }), { status: 400, error: /^Unsupported Content-Type image\/gif/ });
  });

  test('the fetch option is used for every request', async () => {
    const urls: string[] = [];
    const counting = new TFServingClient(baseUrl, {
      fetch: (input, init) => {
        urls.push(String(input));
        return fetch(input, init);
      },
    });
    await counting.status('half_plus_two', { label: 'stable' });
    await counting.predict('half_plus_two', { instances: [0] }, { version: 1 });
    assert.deepEqual(urls, [`${baseUrl}/v1/models/half_plus_two/labels/stable`, `${baseUrl}/v1/models/half_plus_two/versions/1:predict`]);
  });
});

/** A fetch that answers every request with `body` and `status`, recording what was sent. */
function standIn(status: number, body: string, sent: { url?: string; body?: string; type?: string } = {}): typeof fetch {
  return async (input, init) => {
    sent.url = String(input);
    sent.body = typeof init?.body === 'string' ? init.body : undefined;
    sent.type = (init?.headers as Record<string, string>)['content-type'];
    return new Response(body, { status, headers: { 'content-type': 'application/json' } });
  };
}

suite("TF Serving's answers (stand-in fetch)", () => {
  test('its recorded half_plus_two metadata parses', { skip: sharedFixturesSkip }, async () => {
    const recorded = fs.readFileSync(path.join(SHARED_FIXTURES, 'half_plus_two_model_metadata.json'), 'utf8');
    const sent: { url?: string } = {};
    const metadata = await new TFServingClient('http://tfserving:8501', { fetch: standIn(200, recorded, sent) }).metadata('default', { version: 123 });
    assert.equal(sent.url, 'http://tfserving:8501/v1/models/default/versions/123/metadata');
    assert.deepEqual(metadata.model_spec, { name: 'default', signature_name: '', version: '123' });
    assert.deepEqual(metadata, JSON.parse(recorded));
  });

  test('its pretty-printed predictions with bare NaN and Infinity tokens', async () => {
    const body = '{\n    "predictions": [[1.0, NaN], [Infinity, -Infinity]\n    ]\n}';
    const answer = await new TFServingClient('http://tfserving:8501', { fetch: standIn(200, body) }).predict('m', { instances: [[1, 2]] });
    const rows = answer.predictions as number[][];
    assert.equal(rows[0]![0], 1);
    assert.ok(Number.isNaN(rows[0]![1]));
    assert.deepEqual(rows[1], [Infinity, -Infinity]);
  });

  test('its error bodies, and bodies that are not JSON (an empty 400, an HTML 404)', async () => {
    const tfs = (status: number, body: string) => new TFServingClient('http://tfserving:8501', { fetch: standIn(status, body) });
    await assert.rejects(tfs(400, '{ "error": "Missing \'inputs\' or \'instances\' key" }').predict('m', { instances: [1] }), {
      status: 400,
      error: "Missing 'inputs' or 'instances' key",
    });
    await assert.rejects(tfs(400, '').status('m'), { name: 'TfServingHttpError', status: 400, error: 'Bad Request', body: '' });
    await assert.rejects(tfs(404, '<html>Not Found</html>').status('m'), { status: 404, error: '<html>Not Found</html>' });
    await assert.rejects(tfs(200, 'not json').status('m'), { name: 'TfServeError', code: 'DATA_LOSS', message: /body that is not JSON: JSON Parse error/ });
  });

  test('requests: signature_name, row or columnar keys, percent-encoded names and labels', async () => {
    const sent: { url?: string; body?: string; type?: string } = {};
    const tfs = new TFServingClient('http://tfserving:8501', { fetch: standIn(200, '{"outputs": 1}', sent) });
    await tfs.predict('my model', { signatureName: 'sig', inputs: { a: [1.5], b: 'text', c: Buffer.from('hi'), d: 10n ** 20n } }, { label: 'canary/1' });
    assert.equal(sent.url, 'http://tfserving:8501/v1/models/my%20model/labels/canary%2F1:predict');
    assert.equal(sent.type, 'application/json');
    assert.equal(sent.body, '{"signature_name":"sig","inputs":{"a":[1.5],"b":"text","c":{"b64":"aGk="},"d":100000000000000000000}}');
  });
});

suite('request JSON (writeJson)', () => {
  test('tensors become nested lists of their shape; float arrays keep a decimal point', () => {
    assert.equal(writeJson({ dtype: 'float32', shape: [2, 1, 2], data: new Float32Array([1, 0.1, -2.5, 3]) }), '[[[1.0,0.1]],[[-2.5,3.0]]]');
    assert.equal(writeJson({ dtype: 'int32', shape: [], data: new Int32Array([7]) }), '7');
    assert.equal(writeJson({ dtype: 'int64', shape: [2], data: new BigInt64Array([1n, -(2n ** 63n)]) }), '[1,-9223372036854775808]');
    assert.equal(writeJson(new Float64Array([1, 0.1, NaN])), '[1.0,0.1,NaN]');
    assert.equal(writeJson(new Uint8Array([1, 255])), '[1,255]');
    assert.equal(writeJson({ a: undefined, b: null, c: [true, -Infinity] }), '{"b":null,"c":[true,-Infinity]}');
  });

  test('the emotion pattern: a preprocessImage tensor as instances', async () => {
    const tensor = await preprocessImage(SCENE_JPEG, { width: 2, height: 2, channels: 1, dtype: 'uint8' });
    assert.match(writeJson({ instances: tensor }), /^\{"instances":\[\[\[\[\d+\],\[\d+\]\],\[\[\d+\],\[\d+\]\]\]\]\}$/);
  });

  test('BAD CALL - a tensor whose data does not fill its shape', () => {
    assert.throws(() => writeJson({ dtype: 'float32', shape: [3], data: new Float32Array(2) }), {
      name: 'TfServeError',
      code: 'INVALID_ARGUMENT',
      message: 'Tensor shape [3] needs 3 values but data has 2',
    });
  });
});

suite('BAD CALL and EXPECTED FAILURE - client-side errors', () => {
  const invalid = (message: RegExp) => ({ name: 'TfServeError', code: 'INVALID_ARGUMENT', message });

  test('constructor arguments', () => {
    assert.throws(() => new TFServingClient('localhost:8501'), invalid(/^Expected http\(s\):\/\/ or grpc\(s\):\/\/ URL for baseUrl but received "localhost:8501"$/));
    assert.throws(() => new TFServingClient('http://x', { timeoutMs: -1 }), invalid(/options\.timeoutMs/));
    assert.throws(() => new TFServingClient('http://x', { fetch: 42 as unknown as typeof fetch }), invalid(/options\.fetch/));
  });

  test('request arguments reject, never throw', async () => {
    const pending = client.predict('half_plus_two', { instances: [1], inputs: [1] });
    assert.ok(pending instanceof Promise);
    await assert.rejects(pending, invalid(/^Expected exactly one of body\.instances and body\.inputs$/));
    await assert.rejects(client.predict('half_plus_two', {}), invalid(/^Expected exactly one of body\.instances and body\.inputs$/));
    await assert.rejects(client.predict('', { instances: [1] }), invalid(/^Expected non-empty string for model/));
    await assert.rejects(client.predict('m', { instances: [1] }, { version: -1 }), invalid(/^Expected non-negative integer for target\.version but received -1$/));
    await assert.rejects(client.status('m', { version: 1, label: 'a' }), invalid(/^Expected only one of target\.version and target\.label$/));
    await assert.rejects(client.classify('m', { examples: 'x' as unknown as [] }), invalid(/^Expected array of objects for body\.examples$/));
    await assert.rejects(client.predictImage('cnn', []), invalid(/^Expected at least one image$/));
    await assert.rejects(client.predictImage('cnn', Buffer.from('plain text')), invalid(/^Cannot tell the type of image from its first bytes/));
    await assert.rejects(client.predictImage('cnn', '/nonexistent.png'), { name: 'TfServeError', code: 'NOT_FOUND', message: /^Cannot read image from \/nonexistent\.png/ });
  });

  test('a server that does not answer in time: DEADLINE_EXCEEDED', async () => {
    const silent: typeof fetch = (_input, init) =>
      new Promise((_resolve, reject) => init!.signal!.addEventListener('abort', () => reject(init!.signal!.reason)));
    const impatient = new TFServingClient('http://tfserving:8501', { timeoutMs: 20, fetch: silent });
    await assert.rejects(impatient.status('m'), { name: 'TfServeError', code: 'DEADLINE_EXCEEDED', message: 'GET http://tfserving:8501/v1/models/m took longer than 20 ms' });
  });

  test('no server listening: UNAVAILABLE', async () => {
    const closed = await restApp(manager);
    await closed.listen({ port: 0, host: '127.0.0.1' });
    const { port } = closed.server.address() as AddressInfo;
    await closed.close();
    await assert.rejects(new TFServingClient(`http://127.0.0.1:${port}`).status('m'), { name: 'TfServeError', code: 'UNAVAILABLE', message: /^GET http:\/\/127\.0\.0\.1:\d+\/v1\/models\/m failed: fetch failed \(.*ECONNREFUSED/ });
  });
});

// The REST server end to end through app.inject, against TF Serving's own test models
// (../shared/fixtures/tfserving) and the answers TF Serving's tests expect (TFSERVING_SPEC.md §1, §8).
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { after, before, suite, test } from 'node:test';
import { gzipSync } from 'node:zlib';

import type { FastifyInstance, InjectOptions } from 'fastify';

import { Example } from '../../src/proto/messages.js';
import { loadSavedModel } from '../../src/saved-model.js';
import { buildApp } from '../../src/server/app.js';
import {
  encodeClassificationResults,
  encodeRegressionResults,
  parseClassifyRegressBody,
} from '../../src/server/routes/classify-regress.js';
import { ModelManager } from '../../src/serving/manager.js';
import type { Tensor } from '../../src/tensor.js';
import { SHARED_FIXTURES, sharedFixturesSkip } from '../helpers.js';

const skip = sharedFixturesSkip;
const fixture = (...parts: string[]) => path.join(SHARED_FIXTURES, ...parts);
const TWO_VERSIONS = 'saved_model_half_plus_two_2_versions';

type Method = NonNullable<InjectOptions['method']>;

interface Reply {
  status: number;
  body: string;
  headers: Record<string, unknown>;
}

let app: FastifyInstance;
let manager: ModelManager;

async function call(method: Method, url: string, payload?: string | Buffer, headers: Record<string, string> = {}): Promise<Reply> {
  const response = await app.inject({ method, url, payload, headers });
  return { status: response.statusCode, body: response.body, headers: response.headers };
}

const post = (url: string, body: unknown) => call('POST', url, typeof body === 'string' ? body : JSON.stringify(body));
const get = (url: string) => call('GET', url);

/** A 200 answer as parsed JSON (bodies with NaN/Infinity tokens are checked as text instead). */
function ok(reply: Reply): unknown {
  assert.equal(reply.status, 200, `expected 200, got ${reply.status}: ${reply.body}`);
  assert.equal(reply.headers['content-type'], 'application/json');
  return JSON.parse(reply.body);
}

function readJson(name: string): unknown {
  return JSON.parse(fs.readFileSync(fixture(name), 'utf8'));
}

async function goodPredict(): Promise<void> {
  assert.deepEqual(ok(await post('/v1/models/default:predict', { instances: [2.0, 3.0, 4.0] })), { predictions: [3.0, 3.5, 4.0] });
}

suite('classify/regress request encoding (no model needed)', () => {
  const decode = (bytes: Uint8Array) => Example.toObject(Example.decode(bytes), { longs: String, bytes: String });

  test('each JSON example becomes a tf.Example: bytes, float, int64 (bools as 0/1), empty lists', () => {
    const { signatureName, examples } = parseClassifyRegressBody(
      '{"signature_name": "s", "examples": [{"x": 2.0, "s": ["a", {"b64": "aGk="}], "b": [true, false], "e": [],' +
        ' "n": [1, -2, 127, 128, 4294967296, 9007199254740993, -9223372036854775808, 9223372036854775807, -4294967297]},' +
        ' {}, {"k\\u0000cut": "v"}]}',
    );
    assert.equal(signatureName, 's');
    assert.equal(examples.length, 3);
    assert.deepEqual(decode(examples[0]!), {
      features: {
        feature: {
          x: { floatList: { value: [2] } },
          s: { bytesList: { value: [Buffer.from('a').toString('base64'), 'aGk='] } },
          b: { int64List: { value: ['1', '0'] } },
          e: {},
          n: {
            int64List: {
              value: ['1', '-2', '127', '128', '4294967296', '9007199254740993', '-9223372036854775808', '9223372036854775807', '-4294967297'],
            },
          },
        },
      },
    });
    assert.equal(examples[1]!.length, 0, 'an empty object is an empty Example');
    // TF Serving takes feature names as C strings: they end at a NUL.
    assert.deepEqual(decode(examples[2]!), { features: { feature: { k: { bytesList: { value: ['dg=='] } } } } });
  });

  test('our bytes equal protobufjs\'s encoding of the same Example', () => {
    const [bytes] = parseClassifyRegressBody('{"examples": [{"n": [1, -2, 2147483648, -9223372036854775808], "f": [1.5, -0.0]}]}').examples;
    const expected = Example.encode(
      Example.fromObject({
        features: { feature: { n: { int64List: { value: ['1', '-2', '2147483648', '-9223372036854775808'] } }, f: { floatList: { value: [1.5, -0] } } } },
      }),
    ).finish();
    assert.deepEqual(Buffer.from(bytes!), Buffer.from(expected));
  });

  test('with a context, every fed string is the serialized context followed by the example', () => {
    const plain = parseClassifyRegressBody('{"examples": [{"q": "pizza"}, {"x": 1.0}, {}]}').examples;
    const { examples } = parseClassifyRegressBody('{"context": {"q": "pizza"}, "examples": [{"x": 1.0}, {}]}');
    assert.deepEqual(Buffer.from(examples[0]!), Buffer.concat([plain[0]!, plain[1]!]));
    assert.deepEqual(Buffer.from(examples[1]!), Buffer.from(plain[0]!));
  });
});

suite('classify/regress results (no model needed)', () => {
  const floats = (shape: number[], values: number[]): Tensor => ({ dtype: 'float32', shape, data: Float32Array.from(values) });
  const doubles = (shape: number[], values: number[]): Tensor => ({ dtype: 'float64', shape, data: Float64Array.from(values) });
  const strings = (shape: number[], values: string[]): Tensor => ({ dtype: 'string', shape, data: values.map((v) => Buffer.from(v)) });
  const text = (body: Buffer) => body.toString('utf8');

  test('classes and scores per example, labels "" without classes and 0.0 without scores (§8 C.12)', () => {
    const classes = strings([2, 3], ['car', 'bike', 'bus', 'car', 'bike', 'bus']);
    const scores = floats([2, 3], [0.2, 0.7, 0.1, 0.7, 0.2, 0.1]);
    assert.equal(
      text(encodeClassificationResults(2, { classes, scores })),
      '{\n    "results": [[["car", 0.2], ["bike", 0.7], ["bus", 0.1]], [["car", 0.7], ["bike", 0.2], ["bus", 0.1]]\n    ]\n}',
    );
    assert.deepEqual(JSON.parse(text(encodeClassificationResults(1, { classes: strings([1, 2], ['a', '"q"']) }))), {
      results: [[['a', 0.0], ['"q"', 0.0]]],
    });
    assert.deepEqual(JSON.parse(text(encodeClassificationResults(1, { scores: floats([1, 1], [3]) }))), { results: [[['', 3.0]]] });
  });

  test('regression values, NaN and infinities as bare tokens', () => {
    assert.equal(text(encodeRegressionResults(3, { outputs: floats([3], [0.2, 0.9, 1.0]) })), '{\n    "results": [0.2, 0.9, 1.0]\n}');
    assert.equal(text(encodeRegressionResults(3, { outputs: floats([3, 1], [Infinity, -Infinity, NaN]) })), '{\n    "results": [Infinity, -Infinity, NaN]\n}');
  });

  const CLASSIFY_ERRORS: [string, Record<string, Tensor>, string][] = [
    ['scores of rank 1', { scores: floats([2], [1, 2]) }, 'Expected Tensor shape: [batch_size num_classes] but got [2]'],
    ['classes of rank 3', { classes: strings([2, 1, 1], ['a', 'b']) }, 'Expected Tensor shape: [batch_size num_classes] but got [2,1,1]'],
    ['double scores', { scores: doubles([2, 1], [1, 2]) }, 'Expected scores Tensor of DT_FLOAT. Got: DT_DOUBLE'],
    ['float classes', { classes: floats([2, 1], [1, 2]) }, 'Expected classes Tensor of DT_STRING. Got: DT_FLOAT'],
    ['scores batch', { scores: floats([1, 2], [1, 2]) }, 'Expected scores output batch size of 2. Got: 1'],
    ['classes batch', { classes: strings([3, 1], ['a', 'b', 'c']) }, 'Expected classes output batch size of 2. Got: 3'],
    ['classes and scores disagree', { classes: strings([2, 1], ['a', 'b']), scores: floats([2, 2], [1, 2, 3, 4]) },
      'Tensors class and score should match in dim_size(1). Got 1 vs. 2'],
  ];
  for (const [name, outputs, message] of CLASSIFY_ERRORS) {
    test(`EXPECTED FAILURE - classify output check: ${name}`, () => {
      assert.throws(() => encodeClassificationResults(2, outputs), { name: 'TfServeError', code: 'INVALID_ARGUMENT', message });
    });
  }

  const REGRESS_ERRORS: [string, Tensor, string][] = [
    ['[batch, 2]', floats([2, 2], [1, 2, 3, 4]), 'Expected output Tensor shape to be either [batch_size] or [batch_size, 1] but got [2,2]'],
    ['scalar', floats([], [1]), 'Expected output Tensor shape to be either [batch_size] or [batch_size, 1] but got []'],
    ['batch', floats([3], [1, 2, 3]), 'Input batch size did not match output batch size: 2 vs. 3'],
    ['double', doubles([2], [1, 2]), 'Expected output Tensor of DT_FLOAT.  Got: DT_DOUBLE'],
  ];
  for (const [name, tensor, message] of REGRESS_ERRORS) {
    test(`EXPECTED FAILURE - regress output check: ${name}`, () => {
      assert.throws(() => encodeRegressionResults(2, { outputs: tensor }), { name: 'TfServeError', code: 'INVALID_ARGUMENT', message });
    });
  }
});

suite('REST server with TF Serving fixtures', { skip }, () => {
  before(async () => {
    manager = new ModelManager({ load: (dir) => loadSavedModel(dir), maxLoadRetries: 0 });
    const one = (model: string, dir: string, version = 123) => [{ version, path: fixture(model, dir) }];
    manager.setAspiredVersions('default', one('saved_model_half_plus_two_cpu', '00000123'));
    manager.setAspiredVersions(TWO_VERSIONS, [
      { version: 123, path: fixture(TWO_VERSIONS, '00000123') },
      { version: 124, path: fixture(TWO_VERSIONS, '00000124') },
    ]);
    manager.setLabels(TWO_VERSIONS, new Map([['Version_Label', 123], ['stable', 123], ['canary', 124]]));
    manager.setAspiredVersions('tf2', one('saved_model_half_plus_two_tf2_cpu', '00000123'));
    manager.setAspiredVersions('matrix', one('matrix_half_plus_two', '1', 1));
    manager.setAspiredVersions('half_plus_three', one('saved_model_half_plus_three', '00000123'));
    manager.setAspiredVersions('bad', one('bad_half_plus_two', '00000123'));
    await manager.settled();
    app = await buildApp({ manager, restTimeoutMs: 5000 });
  });

  after(async () => {
    await app?.close();
    await manager?.close();
  });

  suite('model status', () => {
    test('GET /v1/models/default prints GetModelStatusResponse exactly', async () => {
      const reply = await get('/v1/models/default');
      assert.equal(reply.status, 200);
      assert.equal(reply.headers['content-type'], 'application/json');
      assert.equal(
        reply.body,
        '{\n "model_version_status": [\n  {\n   "version": "123",\n   "state": "AVAILABLE",\n   "status": {\n' +
          '    "error_code": "OK",\n    "error_message": ""\n   }\n  }\n ]\n}\n',
      );
    });

    test('two versions: highest first; /versions/<v> picks one; a label is accepted and ignored', async () => {
      const entry = (version: string) => ({ version, state: 'AVAILABLE', status: { error_code: 'OK', error_message: '' } });
      const both = { model_version_status: [entry('124'), entry('123')] };
      assert.deepEqual(ok(await get(`/v1/models/${TWO_VERSIONS}`)), both);
      assert.deepEqual(ok(await get(`/v1/models/${TWO_VERSIONS}/versions/123`)), { model_version_status: [entry('123')] });
      assert.deepEqual(ok(await get(`/v1/models/${TWO_VERSIONS}/labels/Version_Label`)), both);
      assert.deepEqual(ok(await get(`/v1/models/${TWO_VERSIONS}/labels/Version_Nonexistent`)), both);
    });

    test('EXPECTED FAILURE - a model that failed to load reports END with its error', async () => {
      const status = ok(await get('/v1/models/bad')) as {
        model_version_status: { version: string; state: string; status: { error_code: string; error_message: string } }[];
      };
      assert.equal(status.model_version_status.length, 1);
      const [entry] = status.model_version_status;
      assert.equal(entry!.version, '123');
      assert.equal(entry!.state, 'END');
      assert.notEqual(entry!.status.error_code, 'OK');
      assert.ok(entry!.status.error_message.length > 0);
    });
  });

  suite('model metadata', () => {
    test('default (saved_model_half_plus_two_cpu) equals half_plus_two_model_metadata.json', async () => {
      assert.deepEqual(ok(await get('/v1/models/default/metadata')), readJson('half_plus_two_model_metadata.json'));
    });

    test(`${TWO_VERSIONS} v123 equals its metadata fixture, by version and by label`, async () => {
      const expected = readJson(`${TWO_VERSIONS}_metadata.json`);
      assert.deepEqual(ok(await get(`/v1/models/${TWO_VERSIONS}/versions/123/metadata`)), expected);
      assert.deepEqual(ok(await get(`/v1/models/${TWO_VERSIONS}/labels/Version_Label/metadata`)), expected);
      const latest = ok(await get(`/v1/models/${TWO_VERSIONS}/metadata`)) as { model_spec: unknown };
      assert.deepEqual(latest.model_spec, { name: TWO_VERSIONS, signature_name: '', version: '124' });
    });

    test('TF2 export: init op and signatures as TF Serving prints them; serving_default has a default for x', async () => {
      const actual = ok(await get('/v1/models/tf2/metadata')) as Record<string, any>;
      const defs = actual['metadata']['signature_def']['signature_def'];
      assert.deepEqual(defs['serving_default']['defaults']['x'], {
        dtype: 'DT_FLOAT',
        tensor_shape: { dim: [{ size: '1', name: '' }], unknown_rank: false },
        float_val: [0],
      });
      // The fixture comes from an export without defaults; compare everything else.
      const expected = readJson('saved_model_half_plus_two_tf2_2_versions_metadata.json') as Record<string, any>;
      for (const sigs of [defs, expected['metadata']['signature_def']['signature_def']]) {
        for (const sig of Object.values(sigs) as Record<string, unknown>[]) delete sig['defaults'];
      }
      assert.deepEqual(actual['metadata'], expected['metadata']);
      assert.deepEqual(actual['model_spec'], { name: 'tf2', signature_name: '', version: '123' });
    });
  });

  suite('predict', () => {
    test('row and columnar on default (§8 A.4), with TF Serving\'s layout', async () => {
      const row = await post('/v1/models/default:predict', { instances: [2.0, 3.0, 4.0] });
      assert.equal(row.body, '{\n    "predictions": [3.0, 3.5, 4.0\n    ]\n}');
      const columnar = await post('/v1/models/default:predict', { inputs: [2.0, 3.0, 4.0] });
      assert.equal(columnar.body, '{\n    "outputs": [\n        3.0,\n        3.5,\n        4.0\n    ]\n}');
      assert.equal(columnar.headers['content-type'], 'application/json');
    });

    test(`${TWO_VERSIONS}: latest, /versions/123, /labels/Version_Label, signature_name, columnar (§8 B.3)`, async () => {
      const base = `/v1/models/${TWO_VERSIONS}`;
      assert.deepEqual(ok(await post(`${base}:predict`, { instances: [[1.0, 2.0], [3.0, 4.0]] })), { predictions: [[2.5, 3.0], [3.5, 4.0]] });
      assert.deepEqual(ok(await post(`${base}/versions/123:predict`, { instances: [1.0, 2.0] })), { predictions: [2.5, 3.0] });
      assert.deepEqual(ok(await post(`${base}/labels/Version_Label:predict`, { instances: [1.0, 2.0] })), { predictions: [2.5, 3.0] });
      assert.deepEqual(ok(await post(`${base}/labels/canary:predict`, { instances: [1.0, 2.0] })), { predictions: [2.5, 3.0] });
      assert.deepEqual(ok(await post(`${base}:predict`, { signature_name: 'serving_default', instances: [3.0, 4.0] })), { predictions: [3.5, 4.0] });
      assert.deepEqual(ok(await post(`${base}:predict`, { inputs: [3.0, 4.0] })), { outputs: [3.5, 4.0] });
    });

    test('other signatures and models: regress_x2_to_y3, TF2, matrix_half_plus_two, half_plus_three', async () => {
      assert.deepEqual(ok(await post('/v1/models/default:predict', { signature_name: 'regress_x2_to_y3', inputs: [[2.0]] })), { outputs: [[4.0]] });
      assert.deepEqual(ok(await post(`/v1/models/${TWO_VERSIONS}:predict`, { signature_name: 'classify_x2_to_y3', inputs: { inputs: [[2.0]] } })), { outputs: [[4.0]] });
      assert.deepEqual(ok(await post('/v1/models/tf2:predict', { instances: [2.0] })), { predictions: [3.0] });
      assert.deepEqual(ok(await post('/v1/models/tf2:predict', { signature_name: 'regress_x2_to_y3', inputs: [2.0] })), { outputs: [4.0] });
      assert.deepEqual(ok(await post('/v1/models/matrix:predict', { instances: [[[1, 2, 3], [4, 5, 6], [7, 8, 9]]] })), {
        predictions: [[[2.5, 3.0, 3.5], [4.0, 4.5, 5.0], [5.5, 6.0, 6.5]]],
      });
      assert.deepEqual(ok(await post('/v1/models/half_plus_three:predict', { instances: [[2.0]] })), { predictions: [[4.0]] });
    });

    test('NaN/Infinity in and out as bare tokens; float32 results printed as TF Serving prints them', async () => {
      const special = await post('/v1/models/default:predict', '{"instances": [NaN, Infinity, -Inf, 1435774380, 1e39, 0.00001]}');
      assert.equal(special.status, 200);
      assert.equal(special.body, '{\n    "predictions": [NaN, Infinity, -Infinity, 717887168.0, Infinity, 2.00000501\n    ]\n}');
    });

    test('trailing content after the JSON value is ignored; gzip bodies are accepted', async () => {
      assert.deepEqual(ok(await post('/v1/models/default:predict', '{"instances": [2.0]} trailing garbage')), { predictions: [3.0] });
      const gz = await call('POST', '/v1/models/default:predict', gzipSync('{"instances": [4.0]}'), { 'content-encoding': 'gzip' });
      assert.deepEqual(ok(gz), { predictions: [4.0] });
    });

    test('concurrent requests on several models all answer', async () => {
      const replies = await Promise.all(
        Array.from({ length: 32 }, (_, i) =>
          post(i % 2 ? '/v1/models/default:predict' : `/v1/models/${TWO_VERSIONS}:predict`, { instances: [i * 2.0] }),
        ),
      );
      replies.forEach((reply, i) => assert.deepEqual(ok(reply), { predictions: [i + 2.0] }));
    });
  });

  suite('classify and regress', () => {
    test('default: classify_x_to_y and regress_x_to_y (§8 A.4), with TF Serving\'s layout', async () => {
      const classify = await post('/v1/models/default:classify', '{"signature_name": "classify_x_to_y", "examples": [{"x": 2.0}]}');
      assert.equal(classify.body, '{\n    "results": [[["", 3.0]]\n    ]\n}');
      assert.equal(classify.headers['content-type'], 'application/json');
      const regress = await post('/v1/models/default:regress', '{"signature_name": "regress_x_to_y", "examples": [{"x": 2.0}]}');
      assert.equal(regress.body, '{\n    "results": [3.0]\n}');
    });

    test(`${TWO_VERSIONS}: regress x=80 -> 42 and classify x=20 -> 12, by latest, version and label (§8 B.4)`, async () => {
      const base = `/v1/models/${TWO_VERSIONS}`;
      for (const prefix of [base, `${base}/versions/123`, `${base}/labels/Version_Label`]) {
        assert.deepEqual(ok(await post(`${prefix}:regress`, '{"signature_name": "regress_x_to_y", "examples": [{"x": 80.0}]}')), { results: [42.0] });
      }
      assert.deepEqual(ok(await post(`${base}:classify`, '{"signature_name": "classify_x_to_y", "examples": [{"x": 20.0}]}')), { results: [[['', 12.0]]] });
      assert.deepEqual(ok(await post(`${base}/labels/Version_Label:classify`, '{"signature_name": "classify_x_to_y", "examples": [{"x": 10.0}]}')), {
        results: [[['', 7.0]]],
      });
    });

    test('TF2 export: classify and regress signatures whose method is predict (§8 A.3)', async () => {
      assert.deepEqual(ok(await post('/v1/models/tf2:classify', '{"signature_name": "classify_x_to_y", "examples": [{"x": 2.0}]}')), { results: [[['', 3.0]]] });
      assert.deepEqual(ok(await post('/v1/models/tf2:regress', '{"signature_name": "regress_x_to_y", "examples": [{"x": 2.0}]}')), { results: [3.0] });
      assert.deepEqual(ok(await post('/v1/models/tf2:regress', '{"signature_name": "regress_x_to_y2", "examples": [{"x": 2.0}]}')), { results: [4.0] });
    });

    test('several examples; unused features of every kind; a scalar is a one-element list', async () => {
      const body =
        '{"signature_name": "regress_x_to_y", "examples": [' +
        '{"x": 1.0, "locale": "en-US", "age": 21.5, "tags": ["a", {"b64": "aGk="}], "n": 3, "flag": true, "empty": []},' +
        '{"x": [2.0], "ids": [1, -2, 9007199254740993, -9223372036854775808], "flags": [true, false, 1]},' +
        '{"x": 80.0, "weights": [NaN, 1e39, -0.0]}]}';
      assert.deepEqual(ok(await post('/v1/models/default:regress', body)), { results: [2.5, 3.0, 42.0] });
    });

    test('context: its features reach every example, and an example\'s own feature wins a clash', async () => {
      const reply = await post(
        '/v1/models/default:regress',
        '{"signature_name": "regress_x_to_y", "context": {"x": 2.0, "query": "pizza", "location": ["sfo"]},' +
          ' "examples": [{}, {"x": 10.0}, {"other": 1}]}',
      );
      assert.deepEqual(ok(reply), { results: [3.0, 7.0, 3.0] });
    });

    test('non-finite results are bare tokens', async () => {
      const reply = await post('/v1/models/default:classify', '{"signature_name": "classify_x_to_y", "examples": [{"x": NaN}, {"x": -Infinity}]}');
      assert.equal(reply.status, 200);
      assert.equal(reply.body, '{\n    "results": [[["", NaN]], [["", -Infinity]]\n    ]\n}');
    });

    test('EXPECTED FAILURE - an int64 feature where the model parses float fails in TF (⚠ send 2.0, not 2)', async () => {
      // JSON.stringify writes 2.0 as 2, which is exactly this mistake.
      const reply = await post('/v1/models/default:regress', { signature_name: 'regress_x_to_y', examples: [{ x: 2.0 }] });
      assert.equal(reply.status, 400);
      assert.match(JSON.parse(reply.body).error, /Data types don't match\. Data type: int64 but expected type: float/);
      await goodPredict();
    });
  });

  // [name, method, url, body, HTTP status, message (substring, or a pattern)]
  const DEEP = 100_000;
  const MALFORMED: [string, Method, string, string | Buffer, number, string | RegExp][] = [
    // JSON syntax: errors win over unknown models (the body is parsed first).
    ['empty body', 'POST', '/v1/models/default:predict', '', 400, 'JSON Parse error: The document is empty'],
    ['empty body, unknown model', 'POST', '/v1/models/nope:predict', '', 400, 'JSON Parse error: The document is empty'],
    ['empty body, classify', 'POST', '/v1/models/nope:classify', '', 400, 'JSON Parse error: The document is empty'],
    ['not JSON', 'POST', '/v1/models/default:predict', 'instances = [1, 2]', 400, 'JSON Parse error: Invalid value. at offset: 0'],
    ['unterminated array', 'POST', '/v1/models/default:predict', '{"instances": [1, 2', 400, "JSON Parse error: Missing a comma or ']' after an array element. at offset: 19"],
    ['missing colon', 'POST', '/v1/models/default:predict', '{"instances" [1]}', 400, 'JSON Parse error: Missing a colon after a name of object member. at offset: 13'],
    ['bad escape', 'POST', '/v1/models/default:predict', '{"instances": ["\\x"]}', 400, 'JSON Parse error: Invalid escape character in string. at offset: 16'],
    ['number too big for a double', 'POST', '/v1/models/default:predict', '{"instances": [1e400]}', 400, 'JSON Parse error: Number too big to be stored in double. at offset: 15'],
    [`${DEEP}-deep unterminated nesting`, 'POST', '/v1/models/default:predict', `{"instances": ${'['.repeat(DEEP)}`, 400, /^JSON Parse error: Invalid value\. at offset: \d+$/],
    ['gzip header on a plain body', 'POST', '/v1/models/default:predict', '{"instances": [1.0]}', 400, 'JSON Parse error: The document is empty'],
    ['top level array', 'POST', '/v1/models/default:predict', '[1.0, 2.0]', 400, /^JSON Value: .* Is not object$/],
    ['signature_name a number', 'POST', `/v1/models/${TWO_VERSIONS}:predict`, '{"signature_name": 100, "instances": [1]}', 400, "not formatted correctly. 'signature_name' key must be a string value."],
    [`signature_name ${DEEP} lists deep`, 'POST', '/v1/models/default:predict', `{"signature_name": ${'['.repeat(DEEP)}${']'.repeat(DEEP)}, "instances": [1.0]}`, 400, "'signature_name' key must be a string value."],
    // Predict body shape.
    ['both instances and inputs', 'POST', '/v1/models/default:predict', '{"instances": [1.0], "inputs": [1.0]}', 400, "Not formatted correctly expecting only one of 'inputs' or 'instances' keys to exist "],
    ['neither instances nor inputs', 'POST', '/v1/models/default:predict', '{"signature_name": "serving_default"}', 400, "Missing 'inputs' or 'instances' key"],
    ['instances not a list', 'POST', '/v1/models/default:predict', '{"instances": 5.0}', 400, "Expecting 'instances' to be an list/array"],
    ['instances empty', 'POST', '/v1/models/default:predict', '{"instances": []}', 400, "No values in 'instances' array"],
    ['strings for a float input', 'POST', `/v1/models/${TWO_VERSIONS}:predict`, '{"instances": ["x", "y"]}', 400,
      `Failed to process element: 0 of 'instances' list. Error: INVALID_ARGUMENT: JSON Value: "x" Type: String is not of expected type: float`],
    ['bool for a float input', 'POST', '/v1/models/default:predict', '{"inputs": [true]}', 400, 'JSON Value: true Type: True is not of expected type: float'],
    ['null for a float input', 'POST', '/v1/models/default:predict', '{"instances": [1.0, null]}', 400, /element: 1 of 'instances' list\. Error: INVALID_ARGUMENT: JSON Value: null Type: Null is not of expected type: float$/],
    ['object for a float input', 'POST', '/v1/models/default:predict', '{"inputs": [{"b64": "aGk="}]}', 400, 'Type: Object is not of expected type: float'],
    ['ragged rows', 'POST', '/v1/models/default:predict', '{"instances": [[1.0], [2.0, 3.0]]}', 400, 'Expecting tensor size: 1 but got: 2'],
    ['mis-nested rows', 'POST', '/v1/models/default:predict', '{"instances": [[1.0], [[2.0]]]}', 400, 'Expecting shape [1] but got: [1,1]'],
    ['scalar then list rows', 'POST', '/v1/models/default:predict', '{"instances": [1.0, [1.0]]}', 400, 'Expecting shape [] but got: [1]'],
    ['ragged columnar list', 'POST', '/v1/models/default:predict', '{"inputs": [[1.0, 2.0], [3.0]]}', 400, 'Encountered list at unexpected size: 1 at level: 1 expected size: 2'],
    ['value too shallow in columnar', 'POST', '/v1/models/default:predict', '{"inputs": [[1.0], 2.0]}', 400, 'found at incorrect level: 2 in the JSON DOM. Expected at level: 2'],
    ['list too deep in columnar', 'POST', '/v1/models/default:predict', '{"inputs": [1.0, [2.0]]}', 400, 'Encountered list at unexpected level: 1 expected < 1'],
    [`a value ${DEEP} lists deep`, 'POST', '/v1/models/default:predict', `{"instances": [${'['.repeat(DEEP)}1.0${']'.repeat(DEEP)}]}`, 400, 'tensor parsing error: x'],
    ['object naming an unknown input', 'POST', '/v1/models/default:predict', '{"instances": [{"z": 1.0}]}', 400, 'JSON object: does not have named input: z'],
    ['columnar object without the input', 'POST', '/v1/models/default:predict', '{"inputs": {"z": [1.0]}}', 400, "Missing named input: x in 'inputs' object."],
    ['list then object rows', 'POST', '/v1/models/default:predict', '{"instances": [1.0, {"x": 1.0}]}', 400, 'Expecting value/list but got object at item 1 of input list'],
    ['bad base64 for a string input', 'POST', '/v1/models/default:predict', '{"signature_name": "classify_x_to_y", "instances": [{"b64": "a$b="}]}', 400, 'Unable to base64 decode'],
    ['b64 object with a non-string', 'POST', '/v1/models/default:predict', '{"signature_name": "classify_x_to_y", "inputs": [{"b64": 5}]}', 400, 'not formatted correctly for base64 data'],
    // Servable and signature resolution.
    ['unknown model', 'POST', '/v1/models/nope:predict', '{"instances": [1.0]}', 404, 'Servable not found for request: Latest(nope)'],
    ['unknown version', 'POST', '/v1/models/default/versions/50:predict', '{"instances": [1.0]}', 404, 'Servable not found for request: Specific(default, 50)'],
    ['model that failed to load', 'POST', '/v1/models/bad:predict', '{"instances": [1.0]}', 404, 'Servable not found for request: Latest(bad)'],
    ['unknown label', 'POST', `/v1/models/${TWO_VERSIONS}/labels/Version_Nonexistent:predict`, '{"instances": [1.0]}', 400, 'Unrecognized servable version label: Version_Nonexistent'],
    ['unknown signature', 'POST', '/v1/models/default:predict', '{"signature_name": "nope", "instances": [1.0]}', 400, 'Serving signature name: "nope" not found in signature def'],
    ['predict on the TF2 init op', 'POST', '/v1/models/tf2:predict', '{"signature_name": "__saved_model_init_op", "instances": [1.0]}', 400, 'Failed to get input map for signature: __saved_model_init_op'],
    // URLs and methods.
    ['verb in upper case', 'POST', '/v1/models/default:PREDICT', '{"instances": [1.0]}', 400, 'Malformed request: POST /v1/models/default:PREDICT'],
    ['unknown verb', 'POST', '/v1/models/default:infer', '{"instances": [1.0]}', 400, 'Malformed request: POST /v1/models/default:infer'],
    ['GET of a verb', 'GET', '/v1/models/default:predict', '', 400, 'Malformed request: GET /v1/models/default:predict'],
    ['PUT', 'PUT', '/v1/models/default:predict', '{"instances": [1.0]}', 400, 'Malformed request: PUT /v1/models/default:predict'],
    ['DELETE', 'DELETE', '/v1/models/default', '', 400, 'Malformed request: DELETE /v1/models/default'],
    ['PATCH', 'PATCH', '/v1/models/default', '{}', 400, 'Malformed request: PATCH /v1/models/default'],
    ['POST of metadata', 'POST', '/v1/models/default/metadata', '{}', 400, 'Malformed request: POST /v1/models/default/metadata'],
    ['version and label', 'POST', '/v1/models/default/versions/50/labels/x:regress', '{}', 400, 'Malformed request: POST /v1/models/default/versions/50/labels/x:regress'],
    ['non-numeric version', 'POST', '/v1/models/default/versions/HELLO:regress', '{}', 400, 'Malformed request: POST /v1/models/default/versions/HELLO:regress'],
    ['unregistered HTTP method', 'PROPFIND', '/v1/models/default', '', 400, 'Malformed request: PROPFIND /v1/models/default'],
    ['version without a model name', 'GET', '/v1/models/versions/123', '', 400, 'Missing model name in request.'],
    ['percent-encoded model name', 'POST', '/v1/models/a%2Fb:predict', '{"instances": [1.0]}', 404, 'Servable not found for request: Latest(a/b)'],
    ['bad percent escape kept as it is', 'POST', '/v1/models/nope%zz:predict', '{"instances": [1.0]}', 404, 'Servable not found for request: Latest(nope%zz)'],
    ['no model name', 'GET', '/v1/models', '', 400, 'Missing model name in request.'],
    ['unknown /v1 path', 'GET', '/v1/foo', '', 400, 'Malformed request: GET /v1/foo'],
    ['bare /v1/', 'GET', '/v1/', '', 400, 'Malformed request: GET /v1/'],
    ['a 5000-character model name', 'GET', `/v1/models/${'m'.repeat(5000)}`, '', 404, `Could not find any versions of model ${'m'.repeat(5000)}`],
    ['a query string is part of the name, as in TF Serving', 'GET', '/v1/models/default?a=%zz', '', 404, 'Could not find any versions of model default?a=%zz'],
    ['status of an unknown model', 'GET', '/v1/models/nope', '', 404, 'Could not find any versions of model nope'],
    ['status of an unknown version', 'GET', '/v1/models/default/versions/50', '', 404, 'Could not find version 50 of model default'],
    ['metadata of an unknown model', 'GET', '/v1/models/nope/metadata', '', 404, 'Servable not found for request: Latest(nope)'],
    ['metadata of an unknown version', 'GET', '/v1/models/default/versions/50/metadata', '', 404, 'Servable not found for request: Specific(default, 50)'],
    ['metadata of an unknown label', 'GET', `/v1/models/${TWO_VERSIONS}/labels/nope/metadata`, '', 400, 'Unrecognized servable version label: nope'],
    // Classify / regress bodies.
    ['classify without examples', 'POST', '/v1/models/default:classify', '{"signature_name": "classify_x_to_y"}', 400, "When method is classify, key 'examples' is expected and was not found"],
    ['regress without examples (TF Serving still says classify)', 'POST', '/v1/models/default:regress', '{}', 400, /^JSON Value: \{\} When method is classify, key 'examples' is expected and was not found$/],
    ['examples an object', 'POST', '/v1/models/default:regress', '{"examples": {"x": 1.0}}', 400, "Expecting 'examples' value to be an list/array"],
    ['examples empty', 'POST', '/v1/models/default:regress', '{"examples": []}', 400, "'examples' value is an empty array"],
    ['example a list', 'POST', '/v1/models/default:regress', '{"examples": [[{"x": 1.0}]]}', 400, 'Example must be JSON object but got JSON Array'],
    ['example a number', 'POST', '/v1/models/default:regress', '{"examples": [1.0]}', 400, 'Example must be JSON object but got JSON Number'],
    ['context a list (checked before examples)', 'POST', '/v1/models/default:regress', '{"context": [{"x": 1.0}]}', 400, 'Example must be JSON object but got JSON Array'],
    ['context a string', 'POST', '/v1/models/default:classify', '{"context": "x", "examples": [{}]}', 400, 'Example must be JSON object but got JSON String'],
    ['feature with null', 'POST', '/v1/models/default:regress', '{"examples": [{"names": [10, null]}]}', 400, 'Feature: names has element with unexpected JSON type: Null'],
    ['feature with a nested list', 'POST', '/v1/models/default:regress', '{"examples": [{"names": [[1.0]]}]}', 400, 'Feature: names has element with unexpected JSON type: Array'],
    ['feature with an object', 'POST', '/v1/models/default:regress', '{"examples": [{"names": {"a": 1}}]}', 400, 'Feature: names has element with unexpected JSON type: Object'],
    ['feature mixing int64 and float', 'POST', '/v1/models/default:regress', '{"examples": [{"names": [10, 10.0]}]}', 400, 'Unexpected element type in feature: names expecting type: int64'],
    ['feature mixing bytes and bool', 'POST', '/v1/models/default:regress', '{"examples": [{"names": ["a", true]}]}', 400, 'Unexpected element type in feature: names expecting type: bytes'],
    ['feature beyond int64', 'POST', '/v1/models/default:regress', '{"examples": [{"age": [20, 18446744073709551603]}]}', 400, 'Feature: age has uint64_t element. Only int64_t is supported.'],
    ['feature with bad base64', 'POST', '/v1/models/default:classify', '{"examples": [{"x": {"b64": "!!!"}}]}', 400, 'Unable to base64 decode'],
    ['classify signature_name a list', 'POST', '/v1/models/default:classify', '{"signature_name": ["hello"], "examples": [{}]}', 400, "'signature_name' key must be a string value."],
    ['classify on an unknown model', 'POST', '/v1/models/nope:classify', '{"examples": [{"x": 1.0}]}', 404, 'Servable not found for request: Latest(nope)'],
    ['classify on an unknown label', 'POST', '/v1/models/default/labels/nope:classify', '{"examples": [{"x": 1.0}]}', 400, 'Unrecognized servable version label: nope'],
    ['classify with an unknown signature', 'POST', '/v1/models/default:classify', '{"signature_name": "nope", "examples": [{"x": 1.0}]}', 400, 'No signature was found with the name: nope'],
    ['classify with the default signature (its input is not "inputs")', 'POST', '/v1/models/default:classify', '{"examples": [{"x": 1.0}]}', 400,
      /^No classification inputs found in SignatureDef: inputs \{\n {2}key: "x"\n {2}value \{\n {4}name: "x:0"\n {4}dtype: DT_FLOAT\n/],
    ['classify with a regress signature', 'POST', '/v1/models/default:classify', '{"signature_name": "regress_x_to_y", "examples": [{"x": 1.0}]}', 400,
      /^Expected classification signature outputs to contain at least one of "classes" or "scores"\. Signature was: inputs \{/],
    ['regress with a classify signature', 'POST', '/v1/models/default:regress', '{"signature_name": "classify_x_to_y", "examples": [{"x": 1.0}]}', 400,
      /^No regression outputs found in SignatureDef: .*method_name: "tensorflow\/serving\/classify"\n$/s],
    ['regress on a float input', 'POST', '/v1/models/default:regress', '{"signature_name": "regress_x2_to_y3", "examples": [{"x": 1.0}]}', 400, 'Expects arg[0] to be float but string is provided'],
    ['regress on the TF2 init op', 'POST', '/v1/models/tf2:regress', '{"signature_name": "__saved_model_init_op", "examples": [{}]}', 400, 'Expected one input Tensor.'],
    ['TF rejects an example without the required feature', 'POST', '/v1/models/default:regress', '{"signature_name": "regress_x_to_y", "examples": [{"y": 1.0}]}', 400,
      'Feature: x (data type: float) is required but could not be found.'],
  ];

  suite('malformed requests: 4xx with TF Serving\'s error text, and the server keeps serving', () => {
    assert.ok(MALFORMED.length >= 40);
    for (const [name, method, url, body, status, message] of MALFORMED) {
      test(`BAD REQUEST - ${name}`, async () => {
        const headers: Record<string, string> = name.startsWith('gzip') ? { 'content-encoding': 'gzip' } : {};
        const reply = await call(method, url, body, headers);
        assert.equal(reply.status, status, `${method} ${url}: ${reply.body.slice(0, 300)}`);
        assert.equal(reply.headers['content-type'], 'application/json');
        const parsed = JSON.parse(reply.body) as Record<string, unknown>;
        assert.deepEqual(Object.keys(parsed), ['error']);
        const error = parsed['error'] as string;
        if (typeof message === 'string') assert.ok(error.includes(message), `expected "${message}" in "${error.slice(0, 400)}"`);
        else assert.match(error, message);
        await goodPredict();
      });
    }
  });

  test('BAD REQUEST - a version beyond int64 fails before TF Serving writes a body: 400, empty', async () => {
    for (const [method, url] of [
      ['POST', '/v1/models/default/versions/18446744073709551615:regress'],
      ['POST', '/v1/models/default/versions/9223372036854775808:PREDICT'],
      ['GET', '/v1/models/versions/18446744073709551615/metadata'],
    ] as const) {
      const reply = await call(method, url, method === 'POST' ? '{}' : undefined);
      assert.equal(reply.status, 400, url);
      assert.equal(reply.headers['content-type'], 'application/json');
      assert.equal(reply.body, '', url);
    }
    await goodPredict();
  });

  test('URLs: case-insensitive pattern, percent-decoded names, /METADATA read as a status request', async () => {
    const status = ok(await get('/v1/models/default'));
    assert.deepEqual(ok(await get('/V1/MODELS/def%61ult/VERSIONS/123')), status);
    assert.deepEqual(ok(await get('/v1/models/default/METADATA')), status);
    assert.deepEqual(ok(await post('/V1/Models/default:predict', { instances: [2.0] })), { predictions: [3.0] });
  });

  test('BAD REQUEST - paths outside /v1 get an HTML 404; OPTIONS answers an empty preflight', async () => {
    const notFound = await get('/v2/models/default');
    assert.equal(notFound.status, 404);
    assert.match(String(notFound.headers['content-type']), /^text\/html/);
    const preflight = await call('OPTIONS', '/v1/models/default:predict', undefined, { origin: 'http://example.com' });
    assert.equal(preflight.status, 200);
    assert.equal(preflight.body, '');
    const noOrigin = await call('OPTIONS', '/v1/models/default:predict');
    assert.equal(noOrigin.status, 400);
    assert.equal(noOrigin.body, '');
    await goodPredict();
  });
});

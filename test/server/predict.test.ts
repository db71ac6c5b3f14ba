// POST ...:predict with JSON (src/server/routes/predict.ts) against TF Serving's own test models (§1.6–1.7, §8),
// then against the repo's own models and the outputs TensorFlow computed for them.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { gzipSync } from 'node:zlib';
import { suite, test } from 'node:test';

import { MODELS_DIR, readGolden } from '../helpers.js';
import {
  type Loose,
  NOT_JSON,
  OWN_MODELS,
  TWO_VERSIONS,
  apps,
  assertColumnar,
  assertJsonTensor,
  assertRow,
  call,
  columnarBody,
  fails,
  get,
  ok,
  okLoose,
  post,
  predictUrl,
  rowBody,
  rowable,
  send,
  skip,
  tensorText,
  useFixtureServer,
  useOwnServers,
  utf8,
} from './rest-harness.js';


suite('REST predict with TF Serving fixtures', { skip }, () => {
  useFixtureServer();

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

});

suite('REST predict with own models', () => {
  useOwnServers();

  test('every model loads and reports AVAILABLE', async () => {
    for (const name of OWN_MODELS) {
      const response = await apps.own!.inject({ method: 'GET', url: `/v1/models/${name}` });
      assert.deepEqual(JSON.parse(response.body), {
        model_version_status: [{ version: '1', state: 'AVAILABLE', status: { error_code: 'OK', error_message: '' } }],
      }, name);
    }
  });

  for (const name of OWN_MODELS) {
    test(`${name}: every golden case through :predict, columnar and (where TF Serving allows) row format`, async () => {
      const golden = readGolden(name);
      let rows = 0;
      for (const [index, testCase] of golden.cases.entries()) {
        const tensors = [...Object.values(testCase.inputs), ...Object.values(testCase.outputs)];
        if (tensors.some((t) => NOT_JSON.includes(t.dtype))) continue;
        const what = `${name} case ${index} (${testCase.signature})`;
        assertColumnar((await okLoose(predictUrl(name), columnarBody(testCase))).body, testCase, `${what} columnar`);
        if (rowable(testCase)) {
          assertRow((await okLoose(predictUrl(name), rowBody(testCase))).body, testCase, `${what} row`);
          rows += 1;
        }
      }
      assert.ok(name === 'dtypes' || rows > 0, 'some cases run in row format');
    });
  }

  test('JSON numbers are decoded into aligned native memory: no input is copied on its way to TensorFlow', async () => {
    const { binding } = await import('../../src/model/native.js');
    const big = Array.from({ length: 3000 }, (_, i) => i % 97);
    const bodies: [string, string][] = [
      ...['float32', 'float64', 'int32', 'int64', 'uint8', 'bool'].map((dtype): [string, string] => [
        dtype,
        JSON.stringify({ signature_name: dtype, inputs: dtype === 'bool' ? big.map((v) => v % 2 === 0) : big }),
      ]),
      ['float32 small, columnar', '{"signature_name": "float32", "inputs": [1.5, 2.5]}'],
      ['mixed, columnar objects', JSON.stringify({ signature_name: 'mixed', inputs: { ids: [1, 2], mask: [true, false], pairs: [[0.5, 1], [2, 3]], text: ['a', 'b'] } })],
    ];
    for (const [what, body] of bodies) {
      const before = binding()._inputCopies();
      await okLoose(predictUrl('dtypes'), body);
      assert.equal(binding()._inputCopies(), before, `${what}: no copy between the decoder and TensorFlow`);
    }
  });

  suite('keras_multi: two named inputs, two named outputs', () => {
    const [first] = readGolden('keras_multi').cases;

    test('row format: an object per instance in, an object per prediction out', async () => {
      const { body } = await okLoose(predictUrl('keras_multi'), rowBody(first!));
      const predictions = (body as { predictions: Record<string, Loose>[] }).predictions;
      assert.equal(predictions.length, 3);
      for (const prediction of predictions) {
        assert.deepEqual(Object.keys(prediction).sort(), ['logits', 'score']);
        assert.equal((prediction['logits'] as number[]).length, 3);
        assert.equal((prediction['score'] as number[]).length, 1);
      }
      assertRow(body, first!, 'keras_multi row');
    });

    test('columnar format: an object of inputs in (extra keys ignored), an object of outputs out', async () => {
      const body = columnarBody(first!).replace('"inputs": {', '"inputs": {"unused": "ignored", ');
      const reply = await okLoose(predictUrl('keras_multi'), body);
      const outputs = (reply.body as { outputs: Record<string, Loose> }).outputs;
      assert.deepEqual(Object.keys(outputs).sort(), ['logits', 'score']);
      assertColumnar(reply.body, first!, 'keras_multi columnar');
    });

    test('BAD REQUEST - TF Serving\'s errors for multi-input bodies', async () => {
      const url = predictUrl('keras_multi');
      await fails(url, '{"instances": [[1.0, 2.0, 3.0, 4.0]]}', 400,
        'instances is a plain list, but expecting list of objects as multiple input tensors required as per tensorinfo_map');
      await fails(url, '{"instances": [{"features": [1.0, 2.0, 3.0, 4.0]}]}', 400,
        `Failed to process element: 0 of 'instances' list. JSON object: {"features":[1.0,2.0,3.0,4.0]} keys must be equal to: category,features`);
      await fails(url, '{"inputs": [[1.0, 2.0, 3.0, 4.0]]}', 400,
        'inputs is a plain value/list, but expecting an object as multiple input tensors required as per tensorinfo_map');
      await fails(url, '{"inputs": {"features": [[1.0, 2.0, 3.0, 4.0]]}}', 400, "Missing named input: category in 'inputs' object.");
      await fails(url, '{"instances": [{"features": [0.0, 0.0, 0.0, 0.0], "category": [1.0]}]}', 400, 'is not of expected type: int32');
      await okLoose(url, rowBody(first!));
    });
  });

  suite('dtypes: one signature per dtype', () => {
    const golden = readGolden('dtypes');
    const caseOf = (signature: string) => golden.cases.find((c) => c.signature === signature)!;

    for (const testCase of golden.cases.filter((c) => c.signature !== 'mixed' && !NOT_JSON.includes(c.signature))) {
      test(`${testCase.signature}: values in and out exactly as TensorFlow computed them`, async () => {
        const reply = await okLoose(predictUrl('dtypes'), columnarBody(testCase));
        assertColumnar(reply.body, testCase, testCase.signature);
        // Each signature also counts its elements: an int64 scalar, printed bare.
        assert.equal((reply.body as { outputs: { n: Loose } }).outputs.n, testCase.inputs['x']!.shape[0]);
      });
    }

    test('int64 and uint64 beyond 2^53 are exact in and out (printed digit for digit)', async () => {
      const int64 = await okLoose(predictUrl('dtypes'), '{"signature_name": "int64", "inputs": [-9223372036854775808, 9007199254740993, 9223372036854775807]}');
      assert.match(int64.raw.toString(), /\[\s*9223372036854775807,\s*9007199254740993,\s*-9223372036854775808\s*\]/);
      assert.deepEqual((int64.body as { outputs: { y: Loose } }).outputs.y, [9223372036854775807n, 9007199254740993n, -9223372036854775808n]);
      const uint64 = await okLoose(predictUrl('dtypes'), '{"signature_name": "uint64", "inputs": {"x": [18446744073709551615, 9007199254740993, 0]}}');
      assert.match(uint64.raw.toString(), /\[\s*0,\s*9007199254740993,\s*18446744073709551615\s*\]/);
      assert.deepEqual((uint64.body as { outputs: { y: Loose } }).outputs.y, [0, 9007199254740993n, 18446744073709551615n]);
    });

    test('NaN and ±Infinity tokens in and out for float32 and float64', async () => {
      const float32 = await okLoose(predictUrl('dtypes'), '{"signature_name": "float32", "inputs": [NaN, -Infinity, Inf, 1.5, -0.0]}');
      assert.match(float32.raw.toString(), /\[\s*-0\.0,\s*1\.5,\s*Infinity,\s*-Infinity,\s*NaN\s*\]/);
      const float64 = await okLoose(predictUrl('dtypes'), '{"signature_name": "float64", "inputs": [-Inf, NaN, 0.1]}');
      assert.match(float64.raw.toString(), /\[\s*0\.1,\s*NaN,\s*-Infinity\s*\]/);
      assertColumnar(float32.body, {
        signature: 'float32',
        inputs: {},
        outputs: { n: { dtype: 'int64', shape: [], data: ['5'] }, y: { dtype: 'float32', shape: [5], data: [-0, 1.5, 'Infinity', '-Infinity', 'NaN'] } },
      }, 'float32 specials');
    });

    test('bool is true/false in and out', async () => {
      const { body } = await okLoose(predictUrl('dtypes'), '{"signature_name": "bool", "inputs": {"x": [true, false, false]}}');
      assert.deepEqual(body, { outputs: { n: 3, y: [false, false, true] } });
    });

    test('narrow integer types (int8, int16, uint8, uint32) at their limits', async () => {
      for (const dtype of ['int8', 'int16', 'uint8', 'uint32']) {
        const testCase = caseOf(dtype);
        const { body } = await okLoose(predictUrl('dtypes'), `{"signature_name": "${dtype}", "inputs": ${tensorText(testCase.inputs['x']!, 'b64')}}`);
        assertColumnar(body, testCase, dtype);
      }
    });

    test('BAD REQUEST - values that do not fit the dtype get TF Serving\'s type errors', async () => {
      const url = predictUrl('dtypes');
      await fails(url, '{"signature_name": "int64", "inputs": [9223372036854775808]}', 400,
        'JSON Value: 9223372036854775808 Type: Number is not of expected type: int64');
      await fails(url, '{"signature_name": "uint64", "inputs": [-1]}', 400, 'JSON Value: -1 Type: Number is not of expected type: uint64');
      await fails(url, '{"signature_name": "int32", "inputs": [1.0]}', 400, 'JSON Value: 1.0 Type: Number is not of expected type: int32');
      await fails(url, '{"signature_name": "bool", "inputs": [1]}', 400, 'JSON Value: 1 Type: Number is not of expected type: bool');
      await fails(url, '{"signature_name": "string", "inputs": [1]}', 400, 'JSON Value: 1 Type: Number is not of expected type: string');
    });

    test('EXPECTED FAILURE - float16, bfloat16, uint16 have no JSON conversion: 501 columnar, 400 wrapping it in row format', async () => {
      const url = predictUrl('dtypes');
      for (const [dtype, typeName] of [['float16', 'half'], ['bfloat16', 'bfloat16'], ['uint16', 'uint16']] as const) {
        await fails(url, `{"signature_name": "${dtype}", "inputs": [1.0, 2.0]}`, 501, new RegExp(`^Conversion of JSON Value: 1\\.0 to type: ${typeName}$`));
        await fails(url, `{"signature_name": "${dtype}", "instances": [3]}`, 400,
          `Failed to process element: 0 of 'instances' list. Error: UNIMPLEMENTED: Conversion of JSON Value: 3 to type: ${typeName}`);
      }
      await okLoose(url, columnarBody(caseOf('float32')));
    });

    test('EXPECTED FAILURE - a scalar output cannot be answered in row format (TF Serving\'s rule)', async () => {
      await fails(predictUrl('dtypes'), rowBody(caseOf('int32')), 400, /^Tensor name: n has no shape information $/);
    });

    test('strings: UTF-8 text and {"b64"} in; raw bytes out, invalid UTF-8 passed through', async () => {
      const reply = await okLoose(predictUrl('dtypes'), '{"signature_name": "string", "inputs": ["hello", "caf\\u00e9", {"b64": "AP8B"}, ""]}');
      const y = (reply.body as { outputs: { y: string[] } }).outputs.y.map((s) => Buffer.from(s, 'latin1'));
      assert.deepEqual(y, [Buffer.alloc(0), Buffer.from([0, 0xff, 1]), Buffer.from('café'), Buffer.from('hello')]);
      // U+00E9 goes out as its two UTF-8 bytes, 0xFF as itself, control characters escaped.
      assert.ok(reply.raw.includes(Buffer.from('"caf\u00e9"', 'utf8')));
      assert.ok(reply.raw.includes(Buffer.from([0x22, 0x5c, 0x75, 0x30, 0x30, 0x30, 0x30, 0xff, 0x5c]))); // "\u0000<ff>\
      assertColumnar(reply.body, caseOf('string'), 'string');
    });

    test('mixed: four dtypes in, in both formats and both string forms; `text_bytes` comes back as {"b64"}', async () => {
      const mixed = caseOf('mixed');
      for (const strings of ['text', 'b64'] as const) {
        const row = await okLoose(predictUrl('dtypes'), rowBody(mixed, strings));
        assertRow(row.body, mixed, `mixed row (${strings})`);
        const first = (row.body as { predictions: Record<string, Loose>[] }).predictions[0]!;
        assert.deepEqual(first['text_bytes'], { b64: 'YWIh' });
        assert.equal(first['text_upper'], 'AB');
        assert.equal(first['ids_plus_one'], 9007199254740994n);
        const columnar = await okLoose(predictUrl('dtypes'), columnarBody(mixed, strings));
        assertColumnar(columnar.body, mixed, `mixed columnar (${strings})`);
        assert.deepEqual((columnar.body as { outputs: Record<string, Loose> }).outputs['text_bytes'], [{ b64: 'YWIh' }, { b64: 'w6l0w6kh' }]);
      }
    });
  });

  suite('image_bytes: encoded images as {"b64"}', () => {
    const [testCase] = readGolden('image_bytes').cases;

    test('PNG and JPEG bytes decode in the graph to TensorFlow\'s golden pixels', async () => {
      const { body } = await okLoose(predictUrl('image_bytes'), rowBody(testCase!));
      assertRow(body, testCase!, 'image_bytes row');
      const png = fs.readFileSync(path.join(MODELS_DIR, 'image_bytes.png')).toString('base64');
      const single = await okLoose(predictUrl('image_bytes'), JSON.stringify({ inputs: { image_bytes: [{ b64: png }] } }));
      const outputs = (single.body as { outputs: { mean_rgb: Loose } }).outputs;
      const meanRgb = testCase!.outputs['mean_rgb']!;
      assertJsonTensor(outputs.mean_rgb, { dtype: 'float32', shape: [1, 3], data: meanRgb.data.slice(0, 3) }, 'image_bytes.png mean_rgb');
    });

    test('EXPECTED FAILURE - bytes that are no image: TF\'s error as a 400, then the model still serves', async () => {
      await fails(predictUrl('image_bytes'), '{"instances": [{"b64": "aGVsbG8="}]}', 400, /^Unknown image file format\./);
      await fails(predictUrl('image_bytes'), '{"instances": [{"b64": "not base64!"}]}', 400, 'Unable to base64 decode');
      await okLoose(predictUrl('image_bytes'), rowBody(testCase!));
    });
  });

  suite('tf2_module: dynamic and unknown-rank signatures, runtime errors, the session-run timeout', () => {
    const golden = readGolden('tf2_module');
    const casesOf = (signature: string) => golden.cases.filter((c) => c.signature === signature);

    test('unknown_rank: a scalar and a rank-3 tensor, each answered with its own rank', async () => {
      const [scalar, rank3] = casesOf('unknown_rank');
      const bare = await okLoose(predictUrl('tf2_module'), '{"signature_name": "unknown_rank", "inputs": 2.0}');
      assert.deepEqual(bare.body, { outputs: { rank: 0, y: 6 } });
      assertColumnar(bare.body, scalar!, 'unknown_rank scalar');
      const cube = await okLoose(predictUrl('tf2_module'), columnarBody(rank3!));
      assert.deepEqual(cube.body, { outputs: { rank: 3, y: [[[3], [6]], [[9], [12]]] } });
      // Row format needs a batch dimension on every output; rank is a scalar.
      await fails(predictUrl('tf2_module'), rowBody(rank3!), 400, 'Tensor name: rank has no shape information');
    });

    test('dynamic: [-1,-1] takes any 2-D shape; row format slices every output along dim 0', async () => {
      const [testCase] = casesOf('dynamic');
      const { body } = await okLoose(predictUrl('tf2_module'), columnarBody(testCase!));
      assert.deepEqual(body, { outputs: { shape: [2, 4], y: [[1, 5], [2, 6], [3, 7], [4, 8]] } });
      for (const rows of [[[1.0]], [[1.0, 2.0, 3.0], [4.0, 5.0, 6.0], [7.0, 8.0, 9.0]]]) {
        const reply = await okLoose(predictUrl('tf2_module'), JSON.stringify({ signature_name: 'dynamic', inputs: rows }));
        const transposed = rows[0]!.map((_, j) => rows.map((row) => row[j]));
        assert.deepEqual(reply.body, { outputs: { shape: [rows.length, rows[0]!.length], y: transposed } });
      }
      // [3,2] in: `shape` is [2] and y [2,3], so both have 2 rows.
      const row = await okLoose(predictUrl('tf2_module'), '{"signature_name": "dynamic", "instances": [[1.0, 2.0], [3.0, 4.0], [5.0, 6.0]]}');
      assert.deepEqual(row.body, { predictions: [{ shape: 3, y: [1, 3, 5] }, { shape: 2, y: [2, 4, 6] }] });
      // [1,3] in: `shape` is [2] but y [3,1].
      await fails(predictUrl('tf2_module'), '{"signature_name": "dynamic", "instances": [[1.0, 2.0, 3.0]]}', 400, /has inconsistent batch size: \d expecting: \d$/);
    });

    test('scale: a [-1] input and a scalar input side by side', async () => {
      const [testCase] = casesOf('scale');
      const { body } = await okLoose(predictUrl('tf2_module'), '{"signature_name": "scale", "inputs": {"x": [1.0, 2.0, 3.5], "factor": -2.0}}');
      assertColumnar(body, testCase!, 'scale');
    });

    test('EXPECTED FAILURE - a TensorFlow assertion at run time is a 400 with TF\'s message; the model keeps serving', async () => {
      await fails(predictUrl('tf2_module'), '{"signature_name": "fail", "inputs": -1.0}', 400, /x must be positive/);
      const [ok5] = casesOf('fail');
      assertColumnar((await okLoose(predictUrl('tf2_module'), columnarBody(ok5!))).body, ok5!, 'fail with x=5');
    });

    test('EXPECTED FAILURE - a run past restTimeoutMs is DEADLINE_EXCEEDED: 504 {"error"}, and the server keeps working', async () => {
      const started = Date.now();
      // x = 6 would run about 3 s; the session-run timeout is 200 ms.
      const reply = await send(predictUrl('tf2_module'), '{"signature_name": "slow", "inputs": 6.0}', apps.impatient);
      const elapsed = Date.now() - started;
      assert.equal(reply.status, 504, reply.raw.toString());
      assert.deepEqual(Object.keys(reply.body as object), ['error']);
      assert.ok(((reply.body as { error: string }).error).length > 0);
      assert.ok(elapsed < 2500, `the run was cut short, not waited for (${elapsed} ms)`);
      // The same app, model and signature still answer.
      assert.deepEqual((await okLoose(predictUrl('tf2_module'), '{"signature_name": "slow", "inputs": 0.0}', apps.impatient)).body, { outputs: 0 });
      const [testCase] = casesOf('serving_default');
      assertRow((await okLoose(predictUrl('tf2_module'), rowBody(testCase!), apps.impatient)).body, testCase!, 'after the timeout');
    });
  });
});

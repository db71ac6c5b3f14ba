// POST ...:classify and ...:regress (src/server/routes/classify-regress.ts) against TF Serving's own test
// models (§1.8, §8) and the repo's tf1_methods model.
import assert from 'node:assert/strict';
import { suite, test } from 'node:test';

import { Example } from '../../src/proto/messages.js';
import { type GoldenCase, assertClose, readGolden } from '../helpers.js';
import {
  type Loose,
  TWO_VERSIONS,
  assertJsonTensor,
  fails,
  goodPredict,
  ok,
  okLoose,
  post,
  send,
  skip,
  useFixtureServer,
  useOwnServers,
} from './rest-harness.js';


suite('REST classify and regress with TF Serving fixtures', { skip }, () => {
  useFixtureServer();

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

    test('half_plus_three: its regress signature records DT_FLOAT for the string placeholder tf_example:0, and TF Serving serves it', async () => {
      const body = '{"signature_name": "tensorflow/serving/regress", "examples": [{"x": 2.0}, {"x": 10.0}]}';
      assert.deepEqual(ok(await post('/v1/models/half_plus_three:regress', body)), { results: [4.0, 8.0] });
      assert.deepEqual(ok(await post('/v1/models/half_plus_three/versions/123:regress', body.replace('10.0', '-6.0'))), { results: [4.0, 0.0] });
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

});

suite('REST classify and regress with own models', () => {
  useOwnServers();

  suite('tf1_methods: classify and regress with tf.Examples', () => {
    const golden = readGolden('tf1_methods');
    const caseOf = (signature: string) => golden.cases.find((c) => c.signature === signature)!;

    /** The golden serialized Examples as TF Serving JSON: {"x": <float>} each, floats written with a point. */
    function examplesJson(testCase: GoldenCase): string {
      const examples = testCase.inputs['inputs']!.data.map((b64) => {
        const example = Example.toObject(Example.decode(Buffer.from(b64 as string, 'base64'))) as {
          features: { feature: Record<string, { floatList: { value: number[] } }> };
        };
        const features = Object.entries(example.features.feature).map(
          ([key, feature]) => `${JSON.stringify(key)}: [${feature.floatList.value.map((v) => v.toFixed(1)).join(', ')}]`,
        );
        return `{${features.join(', ')}}`;
      });
      return `[${examples.join(', ')}]`;
    }

    test('the golden Examples are x = 1.0, -2.0, 0.0', () => {
      assert.equal(examplesJson(caseOf('classify')), '[{"x": [1.0]}, {"x": [-2.0]}, {"x": [0.0]}]');
    });

    test(':classify gives [label, score] pairs per example, as TensorFlow computed them', async () => {
      const testCase = caseOf('classify');
      const { body } = await okLoose('/v1/models/tf1_methods:classify', `{"signature_name": "classify", "examples": ${examplesJson(testCase)}}`);
      const results = (body as { results: [string, number][][] }).results;
      const classes = testCase.outputs['classes']!;
      const scores = testCase.outputs['scores']!;
      assert.equal(results.length, 3);
      results.forEach((pairs, i) => {
        assert.equal(pairs.length, 2);
        pairs.forEach(([label, score], c) => {
          assert.equal(Buffer.from(label, 'latin1').toString('base64'), classes.data[i * 2 + c], `label ${i},${c}`);
          assertClose(score, scores.data[i * 2 + c] as number, `score ${i},${c}`);
        });
      });
      assert.deepEqual(results.map((pairs) => pairs.map(([label]) => label)), Array(3).fill(['negative', 'positive']));
    });

    test(':regress gives one value per example, as TensorFlow computed them; a context feeds every example', async () => {
      const testCase = caseOf('regress');
      const { body } = await okLoose('/v1/models/tf1_methods:regress', `{"signature_name": "regress", "examples": ${examplesJson(testCase)}}`);
      const expected = testCase.outputs['outputs']!;
      assertJsonTensor((body as { results: Loose }).results, { ...expected, shape: [expected.shape[0]!] }, 'regress results');
      const withContext = await okLoose('/v1/models/tf1_methods:regress', '{"signature_name": "regress", "context": {"x": 1.0}, "examples": [{}, {"x": -2.0}]}');
      assertJsonTensor((withContext.body as { results: Loose }).results, { dtype: 'float32', shape: [2], data: [expected.data[0], expected.data[1]] }, 'with context');
    });

    test('EXPECTED FAILURE - classify/regress on a predict signature, and an int64 x, fail as in TF Serving', async () => {
      await fails('/v1/models/tf1_methods:regress', '{"signature_name": "predict", "examples": [{"x": 1.0}]}', 400, /^No regression inputs found in SignatureDef: /);
      await fails('/v1/models/tf1_methods:classify', '{"signature_name": "regress", "examples": [{"x": 1.0}]}', 400,
        /^Expected classification signature outputs to contain at least one of "classes" or "scores"\./);
      await fails('/v1/models/tf1_methods:regress', '{"signature_name": "regress", "examples": [{"x": 1}]}', 400, /Data types don't match/);
    });
  });

});

// TF Serving's classify/regress JSON (src/json/examples-codec.ts): examples in, results out, and the
// tf.Examples they serialize to (src/proto/example.ts). No model is needed.
import assert from 'node:assert/strict';
import { suite, test } from 'node:test';

import { encodeClassificationResults, encodeRegressionResults, parseExamplesBody } from '../../src/json/examples-codec.js';
import { serializeExamples } from '../../src/proto/example.js';
import { Example } from '../../src/proto/messages.js';

/** The body parsed and its Examples serialized, as the serving layer feeds them. */
function encoded(body: string): { signatureName: string | undefined; examples: Uint8Array[] } {
  const parsed = parseExamplesBody(body);
  return { signatureName: parsed.signatureName, examples: serializeExamples(parsed) };
}

suite('classify/regress request encoding (no model needed)', () => {
  const decode = (bytes: Uint8Array) => Example.toObject(Example.decode(bytes), { longs: String, bytes: String });

  test('each JSON example becomes a tf.Example: bytes, float, int64 (bools as 0/1), empty lists', () => {
    const { signatureName, examples } = encoded(
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
    const [bytes] = encoded('{"examples": [{"n": [1, -2, 2147483648, -9223372036854775808], "f": [1.5, -0.0]}]}').examples;
    const expected = Example.encode(
      Example.fromObject({
        features: { feature: { n: { int64List: { value: ['1', '-2', '2147483648', '-9223372036854775808'] } }, f: { floatList: { value: [1.5, -0] } } } },
      }),
    ).finish();
    assert.deepEqual(Buffer.from(bytes!), Buffer.from(expected));
  });

  test('with a context, every fed string is the serialized context followed by the example', () => {
    const plain = encoded('{"examples": [{"q": "pizza"}, {"x": 1.0}, {}]}').examples;
    const { examples } = encoded('{"context": {"q": "pizza"}, "examples": [{"x": 1.0}, {}]}');
    assert.deepEqual(Buffer.from(examples[0]!), Buffer.concat([plain[0]!, plain[1]!]));
    assert.deepEqual(Buffer.from(examples[1]!), Buffer.from(plain[0]!));
  });
});

suite('classify/regress results as JSON', () => {
  const utf8 = (text: string) => Buffer.from(text);
  const text = (body: Buffer) => body.toString('utf8');

  test('classes and scores per example in TF Serving\'s layout (§8 C.12)', () => {
    const row = (labels: string[], scores: number[]) => ({ classes: labels.map((label, i) => ({ label: utf8(label), score: scores[i]! })) });
    assert.equal(
      text(encodeClassificationResults({ classifications: [row(['car', 'bike', 'bus'], [0.2, 0.7, 0.1]), row(['car', 'bike', 'bus'], [0.7, 0.2, 0.1])] })),
      '{\n    "results": [[["car", 0.2], ["bike", 0.7], ["bus", 0.1]], [["car", 0.7], ["bike", 0.2], ["bus", 0.1]]\n    ]\n}',
    );
    assert.deepEqual(JSON.parse(text(encodeClassificationResults({ classifications: [row(['a', '"q"'], [0, 0])] }))), { results: [[['a', 0.0], ['"q"', 0.0]]] });
  });

  test('regression values, NaN and infinities as bare tokens', () => {
    const values = (...v: number[]) => ({ regressions: v.map((value) => ({ value })) });
    assert.equal(text(encodeRegressionResults(values(0.2, 0.9, 1.0))), '{\n    "results": [0.2, 0.9, 1.0]\n}');
    assert.equal(text(encodeRegressionResults(values(Infinity, -Infinity, NaN))), '{\n    "results": [Infinity, -Infinity, NaN]\n}');
  });
});

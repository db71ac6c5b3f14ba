// The REST transport itself (src/server/app.ts, rest-url.ts, plugins/errors.ts): URLs, methods, bodies,
// malformed requests with TF Serving's texts, and a server that keeps serving after each.
import assert from 'node:assert/strict';
import path from 'node:path';
import { suite, test } from 'node:test';

import { Example } from '../../src/proto/messages.js';
import { call, goodPredict, get, type Method, ok, post, skip, TWO_VERSIONS, useFixtureServer } from './rest-harness.js';


suite('REST transport with TF Serving fixtures', { skip }, () => {
  useFixtureServer();

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
    // The graph decides (x2:0 is a float placeholder); TF's own words, as TF Serving reports them.
    ['regress on a float input', 'POST', '/v1/models/default:regress', '{"signature_name": "regress_x2_to_y3", "examples": [{"x": 1.0}]}', 400, /^Expects arg\[0\] to be float but string is provided$/],
    ['classify on a float input', 'POST', `/v1/models/${TWO_VERSIONS}:classify`, '{"signature_name": "classify_x2_to_y3", "examples": [{"x": 1.0}]}', 400, /^Expects arg\[0\] to be float but string is provided$/],
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

  test('BAD REQUEST - paths outside /v1 (and KServe v2\'s /v2) get an HTML 404; OPTIONS answers an empty preflight', async () => {
    const notFound = await get('/v3/models/default');
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

// rest-url.ts: versions are int64, echoed exactly (never through a double), from the URL to the answer.
import assert from 'node:assert/strict';
import { suite, test } from 'node:test';

import { parseRestUrl } from '../../src/server/rest-url.js';
import { call, skip, useFixtureServer } from './rest-harness.js';

const INT64_MAX = '9223372036854775807';

suite('parseRestUrl versions', () => {
  test('a version is a number when it is a safe integer and an exact bigint beyond', () => {
    assert.equal(parseRestUrl('POST', '/v1/models/m/versions/00000123:predict').version, 123);
    assert.equal(parseRestUrl('GET', '/v1/models/m/versions/9007199254740991').version, Number.MAX_SAFE_INTEGER);
    assert.equal(parseRestUrl('GET', '/v1/models/m/versions/9007199254740993/metadata').version, 9007199254740993n);
    assert.equal(parseRestUrl('POST', `/v1/models/m/versions/${INT64_MAX}:regress`).version, BigInt(INT64_MAX));
  });

  test('EXPECTED FAILURE - a version beyond int64 is TF Serving\'s conversion error', () => {
    assert.throws(() => parseRestUrl('GET', '/v1/models/m/versions/9223372036854775808'), {
      code: 'INVALID_ARGUMENT',
      message: 'Failed to convert version: 9223372036854775808 to numeric.',
    });
  });
});

suite('int64 versions end to end', { skip }, () => {
  useFixtureServer();

  for (const version of [INT64_MAX, '9007199254740993']) {
    test(`EXPECTED FAILURE - version ${version} is echoed exactly in predict, status and metadata errors`, async () => {
      const predict = await call('POST', `/v1/models/default/versions/${version}:predict`, '{"instances": [1.0]}');
      assert.equal(predict.status, 404);
      assert.equal(JSON.parse(predict.body).error, `Servable not found for request: Specific(default, ${version})`);

      const status = await call('GET', `/v1/models/default/versions/${version}`);
      assert.equal(status.status, 404);
      assert.equal(JSON.parse(status.body).error, `Could not find version ${version} of model default`);

      const metadata = await call('GET', `/v1/models/default/versions/${version}/metadata`);
      assert.equal(metadata.status, 404);
      assert.equal(JSON.parse(metadata.body).error, `Servable not found for request: Specific(default, ${version})`);
    });
  }
});

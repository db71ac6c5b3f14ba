// GET /v1/models/<name>[/versions|/labels][/metadata] (src/server/routes/model-info.ts) against TF Serving's
// own test models and the answers its tests expect (TFSERVING_SPEC.md §1.4–1.5).
import assert from 'node:assert/strict';
import { suite, test } from 'node:test';

import { TWO_VERSIONS, fixture, get, ok, readJson, skip, useFixtureServer } from './rest-harness.js';


suite('REST status and metadata with TF Serving fixtures', { skip }, () => {
  useFixtureServer();

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

});

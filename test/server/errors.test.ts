// plugins/errors.ts: the 429 for an oversize body names its limit; query strings stay out of info logs.
import assert from 'node:assert/strict';
import { PassThrough } from 'node:stream';
import { suite, test } from 'node:test';

import pino from 'pino';

import { ModelManager } from '../../src/serving/manager.js';
import { loadServable, restApp } from '../helpers.js';

suite('REST error handler', () => {
  test('EXPECTED FAILURE - a body over the limit is 429 naming the limit in bytes', async (t) => {
    const app = await restApp(new ModelManager({ load: loadServable }), { bodyLimit: 1000 });
    t.after(() => app.close());
    const reply = await app.inject({ method: 'POST', url: '/v1/models/m:predict', payload: `{"instances": [${'1,'.repeat(600)}1]}` });
    assert.equal(reply.statusCode, 429);
    assert.equal(JSON.parse(reply.body).error, 'Request body is larger than the limit of 1000 bytes (--rest_api_body_limit_bytes)');
  });

  test('a query string is answered as TF Serving quotes it but never written to the info log', async (t) => {
    const stream = new PassThrough();
    let logged = '';
    stream.on('data', (chunk: Buffer) => (logged += chunk.toString()));
    const app = await restApp(new ModelManager({ load: loadServable }), { logger: pino({ level: 'info' }, stream) });
    t.after(() => app.close());
    for (const [method, url] of [
      ['GET', '/v1/nope?access_token=s3cret&x=1'],
      ['POST', '/v1/models/m:predict?api_key=s3cret'],
      ['PUT', '/v1/models/m?token=s3cret'],
    ] as const) {
      const reply = await app.inject({ method, url, payload: method === 'GET' ? undefined : '{}' });
      assert.equal(reply.statusCode, 400, url);
      assert.equal(JSON.parse(reply.body).error, `Malformed request: ${method} ${url}`);
    }
    const lines = logged.trim().split('\n').map((line) => JSON.parse(line) as { level: number; msg: string });
    assert.deepEqual(
      lines.map((line) => line.msg),
      ['Malformed request: GET /v1/nope', 'Malformed request: POST /v1/models/m:predict', 'Malformed request: PUT /v1/models/m'],
    );
    assert.ok(lines.every((line) => line.level === 30));
    assert.doesNotMatch(logged, /s3cret/);
  });
});

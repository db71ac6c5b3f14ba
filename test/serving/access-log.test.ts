import assert from 'node:assert/strict';
import { suite, test } from 'node:test';

import { TfServeError } from '../../src/model/errors.js';
import { accessLine, accessLogObserver, accessRecord } from '../../src/serving/access-log.js';
import { ObservedCall } from '../../src/serving/call-observer.js';

function call(fill: Partial<ObservedCall> & { entrypoint: string; api: string; model: string; requestId?: string }): ObservedCall {
  const observed = new ObservedCall({ entrypoint: fill.entrypoint, api: fill.api, model: fill.model, requestId: fill.requestId }, {});
  observed.version = fill.version;
  observed.httpStatus = fill.httpStatus;
  observed.bytesIn = fill.bytesIn;
  observed.bytesOut = fill.bytesOut;
  return observed;
}

suite('access log', () => {
  test('a REST request: every field, and a one-line message with the same facts', () => {
    const record = accessRecord(call({ entrypoint: 'REST', api: 'predict', model: 'celsius', version: 2, httpStatus: 200, bytesIn: 31, bytesOut: 43, requestId: 'req-7' }), null, 1234.4);
    assert.deepEqual(record, {
      entrypoint: 'REST',
      api: 'predict',
      model: 'celsius',
      version: 2,
      status: 'OK',
      http_status: 200,
      latency_ms: 1.234,
      bytes_in: 31,
      bytes_out: 43,
      request_id: 'req-7',
    });
    assert.equal(accessLine(record), 'REST predict celsius v2 OK 200 1.234ms in=31B out=43B id=req-7');
  });

  test('what a request did not have is left out of the fields and is "-" in the message', () => {
    const record = accessRecord(call({ entrypoint: 'GRPC', api: 'Predict', model: '' }), new TfServeError('INVALID_ARGUMENT', 'ModelSpec has no name specified.'), 80);
    assert.deepEqual(record, { entrypoint: 'GRPC', api: 'Predict', model: '', status: 'INVALID_ARGUMENT', latency_ms: 0.08 });
    assert.equal(accessLine(record), 'GRPC Predict - INVALID_ARGUMENT 0.08ms in=- out=- id=-');
    assert.equal(accessLine(accessRecord(call({ entrypoint: 'REST', api: '', model: 'm', httpStatus: 404 }), new TfServeError('NOT_FOUND', 'x'), 1)), 'REST - m NOT_FOUND 404 0.001ms in=- out=- id=-');
  });

  test('the observer logs one info line per ended call, the record under `access`', () => {
    const lines: Array<[object, string]> = [];
    const observer = accessLogObserver({ info: (fields, message) => lines.push([fields, message]) });
    const observed = new ObservedCall({ entrypoint: 'GRPC', api: 'Classify', model: 'm', requestId: 'g1' }, observer);
    assert.equal(lines.length, 0, 'nothing at the start');
    observed.version = 3;
    observed.end(null);
    observed.end(null);
    assert.equal(lines.length, 1);
    const [fields, message] = lines[0]!;
    assert.match(message, /^GRPC Classify m v3 OK \d+(\.\d+)?ms in=- out=- id=g1$/);
    assert.deepEqual(Object.keys((fields as { access: object }).access), ['entrypoint', 'api', 'model', 'version', 'status', 'latency_ms', 'request_id']);
  });
});

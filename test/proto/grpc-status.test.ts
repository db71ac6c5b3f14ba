import assert from 'node:assert/strict';
import { suite, test } from 'node:test';

import * as grpc from '@grpc/grpc-js';

import { TfServeError } from '../../src/model/errors.js';
import { errorFromGrpcStatus, grpcStatusOf, STATUS_CODE_NUMBERS, statusCodeFromNumber, truncateStatusMessage } from '../../src/proto/grpc-status.js';
import { protoRoot } from '../../src/proto/serving-protos.js';

suite('grpc-status', () => {
  test('TensorFlow codes have gRPC\'s numbers and error_codes.proto\'s, both ways', () => {
    const tfCodes = protoRoot().lookupEnum('tensorflow.error.Code').values;
    for (const [name, number] of Object.entries(STATUS_CODE_NUMBERS)) {
      assert.equal(grpc.status[name as keyof typeof grpc.status], number, name);
      assert.equal(tfCodes[name], number, name);
      assert.equal(statusCodeFromNumber(number), name);
    }
    assert.equal(statusCodeFromNumber(20), 'UNKNOWN');
    assert.equal(statusCodeFromNumber(-1), 'UNKNOWN');
  });

  test('a handler\'s error becomes its code and message; foreign errors INTERNAL', () => {
    assert.deepEqual(grpcStatusOf(new TfServeError('NOT_FOUND', 'Servable not found for request: Latest(x)')), {
      code: 5,
      details: 'Servable not found for request: Latest(x)',
    });
    assert.deepEqual(grpcStatusOf(new TypeError('boom')), { code: 13, details: 'boom' });
    assert.deepEqual(grpcStatusOf('text'), { code: 13, details: 'text' });
    const back = errorFromGrpcStatus({ code: 9, details: 'Serving signature key "s" not found.' });
    assert.equal(back.code, 'FAILED_PRECONDITION');
    assert.equal(back.message, 'Serving signature key "s" not found.');
  });

  test('messages are cut to 1024 bytes and marked, as TF Serving\'s ToGRPCStatus does', () => {
    assert.equal(truncateStatusMessage('a'.repeat(1024)), 'a'.repeat(1024));
    assert.equal(truncateStatusMessage('a'.repeat(1025)), `${'a'.repeat(1024)}...TRUNCATED`);
    // Never in the middle of a UTF-8 character: 1023 ASCII bytes, then a 2-byte é.
    assert.equal(truncateStatusMessage(`${'a'.repeat(1023)}éé`), `${'a'.repeat(1023)}...TRUNCATED`);
    assert.equal(grpcStatusOf(new TfServeError('INVALID_ARGUMENT', 'x'.repeat(5000))).details.length, 1024 + '...TRUNCATED'.length);
  });
});

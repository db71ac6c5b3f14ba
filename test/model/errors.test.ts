import assert from 'node:assert/strict';
import { suite, test } from 'node:test';

import { fromNative, invalidArgument, TfServeError } from '../../src/model/errors.js';

suite('errors', () => {
  test('TfServeError carries a canonical code', () => {
    const error = invalidArgument('bad');
    assert.ok(error instanceof TfServeError);
    assert.ok(error instanceof Error);
    assert.equal(error.name, 'TfServeError');
    assert.equal(error.code, 'INVALID_ARGUMENT');
  });

  test('native errors keep their code and message and take the caller stack', () => {
    function callerFrame(): Error {
      return new Error();
    }
    const native = Object.assign(new Error('Expects arg[0] to be float'), { code: 'INVALID_ARGUMENT', tfCode: 3 });
    const error = fromNative(native, callerFrame());
    assert.equal(error.code, 'INVALID_ARGUMENT');
    assert.equal(error.message, 'Expects arg[0] to be float');
    assert.match(error.stack ?? '', /callerFrame/);
    assert.equal(error.cause, native);
  });

  test('unknown native codes become INTERNAL', () => {
    assert.equal(fromNative({ code: 'WEIRD', message: 'x' }, new Error()).code, 'INTERNAL');
    assert.equal(fromNative('plain string', new Error()).message, 'plain string');
  });
});

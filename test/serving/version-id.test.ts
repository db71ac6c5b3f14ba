import assert from 'node:assert/strict';
import { suite, test } from 'node:test';

import { versionId } from '../../src/serving/version-id.js';

suite('versionId', () => {
  test('safe integers are numbers, the rest of int64 bigints, whatever the input type', () => {
    assert.equal(versionId('123'), 123);
    assert.equal(versionId(123n), 123);
    assert.equal(versionId(-7), -7);
    assert.equal(versionId('9007199254740991'), Number.MAX_SAFE_INTEGER);
    assert.equal(versionId('-9007199254740991'), Number.MIN_SAFE_INTEGER);
    assert.equal(versionId('9007199254740992'), 9007199254740992n);
    assert.equal(versionId('9223372036854775807'), 9223372036854775807n);
    assert.equal(versionId(-9223372036854775808n), -9223372036854775808n);
  });

  test('two ids of one version compare equal with ===, also as Map keys', () => {
    assert.ok(versionId('9223372036854775807') === versionId(9223372036854775807n));
    assert.ok(versionId('00000123') === versionId(123));
    const map = new Map([[versionId('9223372036854775807'), 'x']]);
    assert.equal(map.get(versionId('9223372036854775807')), 'x');
    assert.notEqual(String(versionId('9223372036854775807')), String(Number('9223372036854775807')));
  });

  test('BAD CALL - what is not an integer throws', () => {
    assert.throws(() => versionId('1.5'), SyntaxError);
    assert.throws(() => versionId(1.5), RangeError);
  });
});

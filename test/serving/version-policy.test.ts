import assert from 'node:assert/strict';
import { suite, test } from 'node:test';

import { aspiredVersions, checkVersionPolicy, DEFAULT_VERSION_POLICY } from '../../src/serving/version-policy.js';

const SERVABLE = { name: 'm', basePath: '/models/m' };
const NO_VERSIONS = "No versions of servable m found under base path /models/m. Did you forget to name your leaf directory as a number (eg. '/1/')?";

function missing(version: number): string {
  return `Version ${version} of servable m, which was requested to be served as a 'specific' version in the servable's version policy, was not found in the file system`;
}

suite('version-policy', () => {
  test('the default policy is latest 1', () => {
    assert.deepEqual(DEFAULT_VERSION_POLICY, { kind: 'latest', numVersions: 1 });
    assert.ok(Object.isFrozen(DEFAULT_VERSION_POLICY));
  });

  test('latest {n} aspires the n highest versions, ascending', () => {
    assert.deepEqual(aspiredVersions({ kind: 'latest', numVersions: 1 }, [3, 1, 2], SERVABLE), { versions: [3], warnings: [] });
    assert.deepEqual(aspiredVersions({ kind: 'latest', numVersions: 2 }, [3, 1, 2], SERVABLE), { versions: [2, 3], warnings: [] });
    assert.deepEqual(aspiredVersions({ kind: 'latest', numVersions: 10 }, [3, 1, 2], SERVABLE), { versions: [1, 2, 3], warnings: [] });
    assert.deepEqual(aspiredVersions({ kind: 'latest', numVersions: 1 }, [-1, -5], SERVABLE), { versions: [-1], warnings: [] });
  });

  test('latest with n < 1 serves one version', () => {
    assert.deepEqual(aspiredVersions({ kind: 'latest', numVersions: 0 }, [1, 2], SERVABLE).versions, [2]);
    assert.deepEqual(aspiredVersions({ kind: 'latest', numVersions: -3 }, [1, 2], SERVABLE).versions, [2]);
  });

  test('all aspires every version', () => {
    assert.deepEqual(aspiredVersions({ kind: 'all' }, new Set([124, 123, 7]), SERVABLE), { versions: [7, 123, 124], warnings: [] });
  });

  test('specific aspires the listed versions present and warns for each missing one', () => {
    assert.deepEqual(aspiredVersions({ kind: 'specific', versions: [124, 123] }, [123, 124, 125], SERVABLE), {
      versions: [123, 124],
      warnings: [],
    });
    assert.deepEqual(aspiredVersions({ kind: 'specific', versions: [123, 200, 123] }, [123, 124], SERVABLE), {
      versions: [123],
      warnings: [missing(200)],
    });
  });

  test('specific with none present warns per version and that nothing was found', () => {
    assert.deepEqual(aspiredVersions({ kind: 'specific', versions: [5, 6] }, [1], SERVABLE), {
      versions: [],
      warnings: [missing(5), missing(6), NO_VERSIONS],
    });
  });

  test('an empty specific list warns and aspires nothing', () => {
    assert.deepEqual(aspiredVersions({ kind: 'specific', versions: [] }, [1, 2], SERVABLE), {
      versions: [],
      warnings: ['No specific versions requested for servable m.'],
    });
  });

  test('no version on disk gives an empty aspired set and the "No versions" warning', () => {
    for (const policy of [DEFAULT_VERSION_POLICY, { kind: 'all' } as const]) {
      assert.deepEqual(aspiredVersions(policy, [], SERVABLE), { versions: [], warnings: [NO_VERSIONS] });
    }
  });

  test('BAD CALL - malformed policies and servables name the field', () => {
    assert.throws(() => checkVersionPolicy(null), { name: 'TfServeError', code: 'INVALID_ARGUMENT', message: /Expected object for versionPolicy/ });
    assert.throws(() => checkVersionPolicy({ kind: 'newest' }), { message: /Expected one of latest, all, specific for versionPolicy\.kind but received newest/ });
    assert.throws(() => checkVersionPolicy({ kind: 'latest', numVersions: '2' }), { message: /versionPolicy\.numVersions/ });
    assert.throws(() => checkVersionPolicy({ kind: 'specific', versions: [1, 1.5] }), { message: /versionPolicy\.versions\[1\]/ });
    assert.throws(() => checkVersionPolicy({ kind: 'specific' }), { message: /Expected array for versionPolicy\.versions/ });
    assert.throws(() => aspiredVersions({ kind: 'all' }, [1], null as never), { message: /for servable/ });
  });
});

/**
 * package.json as an adopter meets it: `engines` promises no Node version that a production
 * dependency (installed, the whole tree) refuses, the licence is the one LICENSE holds, and the
 * CHANGELOG is in Keep a Changelog's form.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { test } from 'node:test';

import semver from 'semver';

import { REPO_ROOT } from '../helpers.js';

interface PackageJson {
  name: string;
  version: string;
  license?: string;
  type?: string;
  engines?: { node?: string };
  dependencies?: Record<string, string>;
  optionalDependencies?: Record<string, string>;
}

const PACKAGE = JSON.parse(fs.readFileSync(path.join(REPO_ROOT, 'package.json'), 'utf8')) as PackageJson;
const ENGINES = PACKAGE.engines?.node ?? '';

/**
 * ES-module-only packages that CommonJS dependencies require(): their engines say Node 22, but Node
 * runs require(esm) without a flag from 20.19 and 22.12, which is what they need from it.
 */
const REQUIRE_ESM_RANGE = '^20.19.0 || >=22.12.0';
const REQUIRED_AS_ESM: Record<string, string> = {
  cookie: 'light-my-request (fastify.inject) requires it',
};

/** Node's resolution: the nearest node_modules/<name> at or above `from`. */
function findPackage(name: string, from: string): string | null {
  for (let dir = from; ; dir = path.dirname(dir)) {
    const candidate = path.join(dir, 'node_modules', name, 'package.json');
    if (fs.existsSync(candidate)) return path.dirname(candidate);
    if (dir === path.dirname(dir)) return null;
  }
}

/** Every installed production dependency, transitively (optional ones that are not installed skipped). */
function productionTree(): Map<string, PackageJson> {
  const found = new Map<string, PackageJson>();
  const visit = (dir: string, pkg: PackageJson): void => {
    const wanted = Object.keys({ ...pkg.dependencies, ...pkg.optionalDependencies });
    for (const name of wanted) {
      const depDir = findPackage(name, dir);
      if (depDir === null) {
        assert.ok(name in (pkg.optionalDependencies ?? {}), `${pkg.name} needs ${name}, which is not installed`);
        continue;
      }
      if (found.has(depDir)) continue;
      const dep = JSON.parse(fs.readFileSync(path.join(depDir, 'package.json'), 'utf8')) as PackageJson;
      found.set(depDir, dep);
      visit(depDir, dep);
    }
  };
  visit(REPO_ROOT, PACKAGE);
  return found;
}

test('engines.node is a valid range that the Node running these tests satisfies', () => {
  assert.ok(semver.validRange(ENGINES), `engines.node ${JSON.stringify(ENGINES)}`);
  assert.ok(semver.satisfies(process.version, ENGINES), `${process.version} is outside ${ENGINES}`);
});

test('every production dependency accepts every Node version engines.node admits', () => {
  const tree = productionTree();
  assert.ok(tree.size > 20, `only ${tree.size} packages found`);
  const refused: string[] = [];
  for (const dep of tree.values()) {
    const theirs = dep.engines?.node;
    if (!theirs || !semver.validRange(theirs)) continue;
    if (dep.name in REQUIRED_AS_ESM) {
      assert.equal(dep.type, 'module', `${dep.name} is listed as ES-module-only`);
      assert.ok(semver.subset(ENGINES, REQUIRE_ESM_RANGE), `${ENGINES} admits Node versions without require(esm), which ${dep.name} needs`);
      continue;
    }
    if (!semver.subset(ENGINES, theirs, { includePrerelease: false })) refused.push(`${dep.name}@${dep.version} wants node ${theirs}`);
  }
  assert.deepEqual(refused, [], `engines.node is ${ENGINES}`);
});

test('the ES-module-only dependencies do load through require() on this Node', () => {
  // As light-my-request does: a plain require() from a CommonJS module.
  const requireFromFastify = createRequire(path.join(findPackage('light-my-request', REPO_ROOT)!, 'package.json'));
  for (const name of Object.keys(REQUIRED_AS_ESM)) {
    const loaded = requireFromFastify(name) as object;
    assert.ok(Object.keys(loaded).length > 0, name);
  }
});

test('LICENSE is the full Apache License 2.0 that package.json names', () => {
  assert.equal(PACKAGE.license, 'Apache-2.0');
  const text = fs.readFileSync(path.join(REPO_ROOT, 'LICENSE'), 'utf8');
  assert.match(text, /^\s*Apache License\s+Version 2\.0, January 2004/);
  assert.match(text, /TERMS AND CONDITIONS FOR USE, REPRODUCTION, AND DISTRIBUTION/);
  assert.match(text, /9\. Accepting Warranty or Additional Liability\./);
  assert.match(text, /END OF TERMS AND CONDITIONS/);
});

test('CHANGELOG.md follows Keep a Changelog', () => {
  const text = fs.readFileSync(path.join(REPO_ROOT, 'CHANGELOG.md'), 'utf8');
  assert.match(text, /^# Changelog\n/);
  assert.match(text, /keepachangelog\.com/);
  const releases = [...text.matchAll(/^## (.+)$/gm)].map((m) => m[1]!);
  assert.equal(releases[0], '[Unreleased]');
  for (const release of releases.slice(1)) {
    const match = /^\[(\d+\.\d+\.\d+)\] - \d{4}-\d{2}-\d{2}$/.exec(release);
    assert.ok(match && semver.valid(match[1]), `a release heading is [x.y.z] - YYYY-MM-DD, not ${release}`);
  }
  const sections = [...text.matchAll(/^### (.+)$/gm)].map((m) => m[1]);
  for (const section of sections) assert.ok(['Added', 'Changed', 'Deprecated', 'Removed', 'Fixed', 'Security'].includes(section!), section);
});

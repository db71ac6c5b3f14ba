import assert from 'node:assert/strict';
import { once } from 'node:events';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { suite, test, type TestContext } from 'node:test';

import {
  type AspiredVersionsEvent,
  joinPath,
  listVersions,
  type ServableToMonitor,
  simpleAtoi64,
  type SourceLog,
  VersionSource,
} from '../../src/serving/source.js';
import { SHARED_FIXTURES, sharedFixturesSkip } from '../helpers.js';

const WAIT_MS = 5000;

function tempDir(t: TestContext, children: readonly string[] = [], files: readonly string[] = []): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tfserve-source-'));
  t.after(() => fs.rmSync(dir, { recursive: true, force: true }));
  for (const child of children) fs.mkdirSync(path.join(dir, child));
  for (const file of files) fs.writeFileSync(path.join(dir, file), '');
  return dir;
}

interface RecordingLog extends SourceLog {
  warnings: string[];
  errors: string[];
}

function recordingLog(): RecordingLog {
  const log: RecordingLog = {
    warnings: [],
    errors: [],
    info() {},
    warn(message) {
      log.warnings.push(message);
    },
    error(message) {
      log.errors.push(message);
    },
  };
  return log;
}

function latest(name: string, basePath: string, numVersions = 1): ServableToMonitor {
  return { name, basePath, versionPolicy: { kind: 'latest', numVersions } };
}

function record(source: VersionSource): AspiredVersionsEvent[] {
  const events: AspiredVersionsEvent[] = [];
  source.on('aspiredVersions', (event) => events.push(event));
  return events;
}

/** Resolves with the first event for `model` that satisfies `predicate`; rejects after WAIT_MS. */
async function nextEvent(source: VersionSource, model: string, predicate: (event: AspiredVersionsEvent) => boolean = () => true): Promise<AspiredVersionsEvent> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      source.off('aspiredVersions', listener);
      reject(new Error(`no matching aspiredVersions event for ${model} within ${WAIT_MS} ms`));
    }, WAIT_MS);
    const listener = (event: AspiredVersionsEvent): void => {
      if (event.model !== model || !predicate(event)) return;
      clearTimeout(timer);
      source.off('aspiredVersions', listener);
      resolve(event);
    };
    source.on('aspiredVersions', listener);
  });
}

function versionsOf(event: AspiredVersionsEvent): number[] {
  return event.versions.map((v) => v.version);
}

suite('source', () => {
  test('simpleAtoi64: version directory names as absl::SimpleAtoi reads them', () => {
    const cases: Array<[string, bigint | null]> = [
      ['1', 1n],
      ['00000123', 123n],
      [' 12 ', 12n],
      ['\t7\n', 7n],
      ['+5', 5n],
      ['-1', -1n],
      ['-0', 0n],
      ['9223372036854775807', 9223372036854775807n],
      ['-9223372036854775808', -9223372036854775808n],
      ['9223372036854775808', null],
      ['1.tmp', null],
      ['v1', null],
      ['0x10', null],
      ['1e3', null],
      ['1 2', null],
      ['+-1', null],
      ['+', null],
      ['', null],
      ['   ', null],
      ['١', null],
    ];
    for (const [name, expected] of cases) assert.equal(simpleAtoi64(name), expected, JSON.stringify(name));
  });

  test('joinPath follows io::JoinPath', () => {
    assert.equal(joinPath('/models/m', '1'), '/models/m/1');
    assert.equal(joinPath('/models/m/', '1'), '/models/m/1');
    assert.equal(joinPath('file:///m', '1'), 'file:///m/1');
  });

  test('listVersions reads the TF Serving fixture versions', { skip: sharedFixturesSkip }, async () => {
    const base = path.join(SHARED_FIXTURES, 'saved_model_half_plus_two_2_versions');
    const listing = await listVersions(base, 'half_plus_two');
    assert.deepEqual([...listing.versions], [
      [123, path.join(base, '00000123')],
      [124, path.join(base, '00000124')],
    ]);
    assert.deepEqual(listing.warnings, []);
  });

  test('listVersions: numeric names only, files count, odd but valid names parse', async (t) => {
    const dir = tempDir(t, ['1', ' 12 ', '+5', '-1', '1.tmp', 'v1', '0x10', 'tmp', '00000123'], ['7', 'README']);
    const listing = await listVersions(dir, 'm');
    assert.deepEqual(
      [...listing.versions].sort((a, b) => a[0] - b[0]),
      [
        [-1, `${dir}/-1`],
        [1, `${dir}/1`],
        [5, `${dir}/+5`],
        [7, `${dir}/7`],
        [12, `${dir}/ 12 `],
        [123, `${dir}/00000123`],
      ],
    );
    assert.equal(listing.names.length, 11);
    assert.deepEqual(listing.warnings, []);
  });

  test('listVersions: duplicate numbers, the bytewise-later name wins with TF\'s warning', async (t) => {
    const dir = tempDir(t, ['1', '001', '01', '2']);
    const listing = await listVersions(dir, 'm');
    assert.deepEqual([...listing.versions], [[1, `${dir}/1`], [2, `${dir}/2`]]);
    assert.deepEqual(listing.warnings, [
      'Duplicate version directories detected. Version 1 will be loaded from 01, 001 will be ignored.',
      'Duplicate version directories detected. Version 1 will be loaded from 1, 01 will be ignored.',
    ]);
  });

  test('listVersions: an empty base path lists nothing', async (t) => {
    const listing = await listVersions(tempDir(t), 'm');
    assert.equal(listing.versions.size, 0);
  });

  test('listVersions: versions beyond JS safe integers are skipped with a warning', async (t) => {
    const dir = tempDir(t, ['9007199254740993', '3']);
    const listing = await listVersions(dir, 'm');
    assert.deepEqual([...listing.versions.keys()], [3]);
    assert.match(listing.warnings[0]!, /Version directory 9007199254740993 under base path .* is outside the range/);
  });

  test('EXPECTED FAILURE - a missing base path is TF\'s "Could not find base path"', async () => {
    const missing = path.join(os.tmpdir(), 'tfserve-no-such-model');
    await assert.rejects(listVersions(missing, 'm'), {
      name: 'TfServeError',
      code: 'INVALID_ARGUMENT',
      message: `Could not find base path ${missing} for servable m with error NOT_FOUND: ${missing} not found`,
    });
    await assert.rejects(listVersions('gs://bucket/m', 'm'), {
      message: "Could not find base path gs://bucket/m for servable m with error UNIMPLEMENTED: File system scheme 'gs' not implemented (file: 'gs://bucket/m')",
    });
  });

  test('EXPECTED FAILURE - a base path that is a file cannot be listed', async (t) => {
    const dir = tempDir(t, [], ['model']);
    const file = path.join(dir, 'model');
    await assert.rejects(listVersions(file, 'm'), { code: 'FAILED_PRECONDITION', message: `${file}; Not a directory` });
  });

  test('file:// base paths are local directories', async (t) => {
    const dir = tempDir(t, ['3']);
    const listing = await listVersions(`file://${dir}`, 'm');
    assert.deepEqual([...listing.versions], [[3, `file://${dir}/3`]]);
  });

  test('a poll emits every model\'s full aspired list, per its policy', async (t) => {
    const a = tempDir(t, ['1', '2', '3']);
    const b = tempDir(t, ['10', '20']);
    const c = tempDir(t, ['5', '6']);
    const source = new VersionSource(
      [latest('a', a, 2), { name: 'b', basePath: b, versionPolicy: { kind: 'all' } }, { name: 'c', basePath: c, versionPolicy: { kind: 'specific', versions: [6] } }],
      { pollWaitSeconds: -1 },
    );
    t.after(() => source.stop());
    const events = record(source);
    assert.equal(await source.poll(), true);
    assert.deepEqual(events, [
      { model: 'a', versions: [{ version: 2, path: `${a}/2` }, { version: 3, path: `${a}/3` }] },
      { model: 'b', versions: [{ version: 10, path: `${b}/10` }, { version: 20, path: `${b}/20` }] },
      { model: 'c', versions: [{ version: 6, path: `${c}/6` }] },
    ]);
  });

  test('no versions: an empty aspired list and TF\'s warning', async (t) => {
    const dir = tempDir(t, ['tmp', 'v1']);
    const log = recordingLog();
    const source = new VersionSource([latest('m', dir)], { pollWaitSeconds: -1, log });
    t.after(() => source.stop());
    const events = record(source);
    await source.poll();
    assert.deepEqual(events, [{ model: 'm', versions: [] }]);
    assert.deepEqual(log.warnings, [
      `No versions of servable m found under base path ${dir}. Did you forget to name your leaf directory as a number (eg. '/1/')?`,
    ]);
  });

  test('specific: missing versions warn; exact names skip the listing (no duplicate warning)', async (t) => {
    const dir = tempDir(t, ['1', '001', '2']);
    const log = recordingLog();
    const source = new VersionSource([{ name: 'm', basePath: dir, versionPolicy: { kind: 'specific', versions: [2, 1] } }], { pollWaitSeconds: -1, log });
    t.after(() => source.stop());
    const events = record(source);
    await source.poll();
    assert.deepEqual(events, [{ model: 'm', versions: [{ version: 1, path: `${dir}/1` }, { version: 2, path: `${dir}/2` }] }]);
    assert.deepEqual(log.warnings, []);

    source.updateConfigs([{ name: 'm', basePath: dir, versionPolicy: { kind: 'specific', versions: [1, 9] } }]);
    await source.poll();
    assert.deepEqual(events[1], { model: 'm', versions: [{ version: 1, path: `${dir}/1` }] });
    assert.deepEqual(log.warnings, [
      'Duplicate version directories detected. Version 1 will be loaded from 1, 001 will be ignored.',
      "Version 9 of servable m, which was requested to be served as a 'specific' version in the servable's version policy, was not found in the file system",
    ]);

    source.updateConfigs([{ name: 'm', basePath: dir, versionPolicy: { kind: 'specific', versions: [] } }]);
    await source.poll();
    assert.deepEqual(events[2], { model: 'm', versions: [] });
    assert.equal(log.warnings.at(-1), 'No specific versions requested for servable m.');
  });

  test('EXPECTED FAILURE - one missing base path: the whole cycle emits nothing and logs TF\'s error', async (t) => {
    const good = tempDir(t, ['1']);
    const missing = path.join(good, 'absent');
    const log = recordingLog();
    const source = new VersionSource([latest('good', good), latest('gone', missing)], { pollWaitSeconds: -1, log });
    t.after(() => source.stop());
    const events = record(source);
    assert.equal(await source.poll(), false);
    assert.equal(events.length, 0);
    assert.deepEqual(log.errors, [
      `FileSystemStoragePathSource encountered a filesystem access error: Could not find base path ${missing} for servable gone with error NOT_FOUND: ${missing} not found`,
    ]);
    fs.mkdirSync(path.join(missing, '4'), { recursive: true });
    assert.equal(await source.poll(), true);
    assert.deepEqual(events.map((e) => [e.model, versionsOf(e)]), [['good', [1]], ['gone', [4]]]);
  });

  test('periodic polling picks up new and removed versions', async (t) => {
    const dir = tempDir(t, ['1']);
    const source = new VersionSource([latest('m', dir)], { pollWaitSeconds: 0.02 });
    t.after(() => source.stop());
    const first = nextEvent(source, 'm');
    source.start();
    assert.deepEqual(versionsOf(await first), [1]);

    const second = nextEvent(source, 'm', (e) => versionsOf(e)[0] === 2);
    fs.mkdirSync(path.join(dir, '2'));
    assert.deepEqual((await second).versions, [{ version: 2, path: `${dir}/2` }]);

    const third = nextEvent(source, 'm', (e) => e.versions.length === 0);
    fs.rmSync(path.join(dir, '1'), { recursive: true });
    fs.rmSync(path.join(dir, '2'), { recursive: true });
    assert.deepEqual((await third).versions, []);
  });

  test('pollWaitSeconds 0 polls exactly once; < 0 never polls by itself', async (t) => {
    const dir = tempDir(t, ['1']);
    const once0 = new VersionSource([latest('m', dir)], { pollWaitSeconds: 0 });
    const never = new VersionSource([latest('m', dir)], { pollWaitSeconds: -1 });
    t.after(() => Promise.all([once0.stop(), never.stop()]));
    const onceEvents = record(once0);
    const neverEvents = record(never);
    once0.start();
    never.start();
    await once(once0, 'aspiredVersions');
    await new Promise((resolve) => setTimeout(resolve, 50));
    assert.equal(onceEvents.length, 1);
    assert.equal(neverEvents.length, 0);
  });

  test('updateConfigs: removed models are un-aspired at once, new ones at the next poll', async (t) => {
    const a = tempDir(t, ['1']);
    const b = tempDir(t, ['2']);
    const source = new VersionSource([latest('a', a)], { pollWaitSeconds: -1 });
    t.after(() => source.stop());
    const events = record(source);
    source.start();
    await source.poll();
    source.updateConfigs([latest('b', b)]);
    assert.deepEqual(events.slice(1), [{ model: 'a', versions: [] }]);
    await source.poll();
    assert.deepEqual(events.slice(2), [{ model: 'b', versions: [{ version: 2, path: `${b}/2` }] }]);
    assert.deepEqual(source.configs.map((c) => c.name), ['b']);
  });

  test('a config change during a poll: nothing is emitted for a model after it was un-aspired', async (t) => {
    const b = tempDir(t, ['2']);
    const olds = Array.from({ length: 20 }, (_, i) => latest(`a${i}`, tempDir(t, ['1'])));
    const source = new VersionSource(olds, { pollWaitSeconds: -1 });
    t.after(() => source.stop());
    const events = record(source);
    source.start();
    const polling = source.poll();
    // Lands while the cycle is listing the old models (or, on a fast machine, just after it).
    await new Promise((resolve) => setImmediate(resolve));
    source.updateConfigs([latest('b', b)]);
    await polling;
    await source.poll();
    for (const old of olds) {
      const mine = events.filter((e) => e.model === old.name);
      assert.deepEqual(mine.at(-1), { model: old.name, versions: [] }, old.name);
    }
    assert.deepEqual(events.at(-1), { model: 'b', versions: [{ version: 2, path: `${b}/2` }] });
  });

  test('polls never overlap: calls made while one is waiting share it', async (t) => {
    const dir = tempDir(t, ['1']);
    const source = new VersionSource([latest('m', dir)], { pollWaitSeconds: -1 });
    t.after(() => source.stop());
    const events = record(source);
    const first = source.poll();
    const second = source.poll();
    assert.equal(first, second);
    await first;
    const third = source.poll();
    assert.notEqual(third, first);
    await Promise.all([third, source.poll()]);
    assert.equal(events.length, 2);
  });

  test('a throwing listener is logged and the others still get the event', async (t) => {
    const dir = tempDir(t, ['1']);
    const log = recordingLog();
    const source = new VersionSource([latest('m', dir)], { pollWaitSeconds: -1, log });
    t.after(() => source.stop());
    source.on('aspiredVersions', () => {
      throw new Error('boom');
    });
    const events = record(source);
    assert.equal(await source.poll(), true);
    assert.equal(events.length, 1);
    assert.deepEqual(log.errors, ['aspiredVersions listener failed for model m: boom']);
  });

  test('stop() ends polling: no events afterwards', async (t) => {
    const dir = tempDir(t, ['1']);
    const source = new VersionSource([latest('m', dir)], { pollWaitSeconds: 0.01 });
    const events = record(source);
    source.start();
    await nextEvent(source, 'm');
    await source.stop();
    const count = events.length;
    fs.mkdirSync(path.join(dir, '2'));
    await new Promise((resolve) => setTimeout(resolve, 50));
    assert.equal(events.length, count);
    assert.equal(await source.poll(), false);
    t.diagnostic(`${count} poll(s) before stop`);
  });

  test('BAD CALL - malformed configs and options', async () => {
    assert.throws(() => new VersionSource(null as never), { name: 'TfServeError', code: 'INVALID_ARGUMENT', message: /Expected array for configs/ });
    assert.throws(() => new VersionSource([{ name: 'm' }] as never), { message: /configs\[0\]/ });
    assert.throws(() => new VersionSource([{ name: 'm', basePath: '/m', versionPolicy: { kind: 'x' } }] as never), {
      message: /configs\[0\]\.versionPolicy\.kind/,
    });
    assert.throws(() => new VersionSource([], { pollWaitSeconds: Number.NaN }), { message: /pollWaitSeconds/ });
    assert.throws(() => new VersionSource([], { log: {} as never }), { message: /log/ });
    await assert.rejects(listVersions(1 as never, 'm'), { message: /Expected string for basePath/ });
  });
});

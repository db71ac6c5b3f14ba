// The addon re-validates everything: anyone can require the .node file and call it directly.
// Every call here must reject (or throw a TypeError/RangeError), never crash the process.
import assert from 'node:assert/strict';
import { after, before, suite, test } from 'node:test';

import { binding, type NativeSavedModel } from '../../src/model/native.js';
import { modelPath, readGolden } from '../helpers.js';

const FLOAT = 1;
const STRING = 7;
const X = 'serving_default_x:0';

suite('native binding validation', () => {
  let model: NativeSavedModel;
  let fetch: string;
  before(async () => {
    const loaded = await binding().loadSavedModel(modelPath('tf2_module'), ['serve']);
    model = loaded.model;
    fetch = (readGolden('tf2_module').signatures['serving_default']!.outputs['y'] as { name: string }).name;
  });
  after(() => model.close());

  const good = (): [string, number, number[], Float32Array] => [X, FLOAT, [1, 3], new Float32Array(3)];

  const rejections: [string, () => Promise<unknown>, RegExp][] = [
    ['feeds not an array', () => model.run(5 as never, []), /expects two arrays/],
    ['feed not a tuple', () => model.run([[X, FLOAT]] as never, []), /must be \[name, dtype, shape, data\]/],
    ['name not a string', () => model.run([[5, FLOAT, [1, 3], new Float32Array(3)]] as never, []), /must be a tensor name/],
    ['dtype not a number', () => model.run([[X, 'float', [1, 3], new Float32Array(3)]] as never, []), /TF_DataType/],
    ['unknown dtype number', () => model.run([[X, 99, [1, 3], new Float32Array(3)]] as never, []), /expects float32 but got dtype 99/],
    ['dtype differs from the graph', () => model.run([[X, STRING, [1], ['a']]], []), /expects float32 but got string/],
    ['tensor not in graph', () => model.run([['nope:0', FLOAT, [1], new Float32Array(1)]], []), /'nope:0' is not in the graph/],
    ['output index out of range', () => model.run([], ['serving_default_x:7']), /has 1 outputs/],
    ['malformed tensor name', () => model.run([], ['serving_default_x:abc']), /not a tensor name/],
    ['negative dimension', () => model.run([[X, FLOAT, [-1, 3], new Float32Array(3)]], []), /shape\[0\] is invalid/],
    ['fractional dimension', () => model.run([[X, FLOAT, [1.5, 2], new Float32Array(3)]], []), /shape\[0\] is invalid/],
    ['huge dimension', () => model.run([[X, FLOAT, [2 ** 60, 2 ** 60], new Float32Array(3)]], []), /shape\[0\] is invalid|too many elements/],
    ['overflowing element count', () => model.run([[X, FLOAT, [2 ** 40, 2 ** 40], new Float32Array(3)]], []), /too many elements/],
    ['rank too large', () => model.run([[X, FLOAT, new Array(40).fill(1), new Float32Array(1)]], []), /rank 40 exceeds/],
    ['shape not an array', () => model.run([[X, FLOAT, 3 as never, new Float32Array(3)]], []), /shape must be an array/],
    ['byte length mismatch', () => model.run([[X, FLOAT, [1, 3], new Float32Array(2)]], []), /needs 12 bytes but data has 8/],
    ['data not a typed array', () => model.run([[X, FLOAT, [1, 3], [1, 2, 3] as never]], []), /data must be a TypedArray/],
    ['detached buffer', () => {
      const data = new Float32Array(3);
      structuredClone(data.buffer, { transfer: [data.buffer] });
      return model.run([[X, FLOAT, [1, 3], data]], []);
    }, /needs 12 bytes but data has 0/],
    ['fed twice', () => model.run([good(), good()], []), /fed twice/],
    ['fetch not a string', () => model.run([good()], [5 as never]), /fetches\[0\] must be a tensor name/],
    ['run options not bytes', () => model.run([good()], [fetch], 'x' as never), /runOptions must be a Uint8Array/],
    ['run options not a RunOptions', () => model.run([good()], [fetch], new Uint8Array([0xff, 0xff])), /RunOptions|parse|Invalid/i],
  ];
  for (const [what, call, message] of rejections) {
    test(`BAD CALL - ${what} rejects`, async () => {
      await assert.rejects(call(), (err: Error & { code?: string }) => {
        assert.match(err.message, message);
        assert.equal(typeof err.code, 'string');
        return true;
      });
    });
  }

  test('strings: element count and element types are checked', async () => {
    const loaded = await binding().loadSavedModel(modelPath('dtypes'), ['serve']);
    const strings = loaded.model;
    const name = 'string_x:0';
    await assert.rejects(strings.run([[name, STRING, [2], ['a']]], []), /shape has 2 elements but data has 1/);
    await assert.rejects(strings.run([[name, STRING, [1], [5 as never]]], []), /must be a string or Uint8Array/);
    await assert.rejects(strings.run([[name, STRING, [1], 'a' as never]], []), /array of strings/);
    await strings.close();
  });

  test('BAD CALL - a forged or borrowed native object is refused', async () => {
    const { SavedModel } = binding();
    assert.throws(() => new SavedModel(), { name: 'TypeError', message: /use loadSavedModel/ });
    assert.throws(() => new SavedModel({}), TypeError);
    assert.throws(() => SavedModel.prototype.run.call({}, [], []));
    assert.throws(() => SavedModel.prototype.close.call(Object.create(SavedModel.prototype)));
  });

  test('BAD CALL - loadSavedModel and allocAligned check their arguments', async () => {
    await assert.rejects(binding().loadSavedModel(5 as never, []), /expects a string and an array/);
    await assert.rejects(binding().loadSavedModel('/x', [5 as never]), /tags\[0\] must be a string/);
    await assert.rejects(binding().loadSavedModel('/x', [], 'c' as never), /configProto must be a Uint8Array/);
    await assert.rejects(binding().loadSavedModel(modelPath('tf2_module'), ['serve'], new Uint8Array([0xff])), { code: 'INVALID_ARGUMENT' });
    assert.throws(() => binding().allocAligned(-1), RangeError);
    assert.throws(() => binding().allocAligned(1.5), RangeError);
    assert.throws(() => binding().allocAligned('8' as never), RangeError);
    assert.equal(binding().allocAligned(0).byteLength, 0);
  });

  test('BAD CALL - a NUL byte in a feed or fetch name rejects with INVALID_ARGUMENT instead of cutting the name short', async () => {
    const nul = { code: 'INVALID_ARGUMENT', message: /contains a NUL byte/ };
    await assert.rejects(model.run([['serving_default_x\0:0', FLOAT, [1, 3], new Float32Array(3)]], [fetch]), nul);
    await assert.rejects(model.run([['serving_default_x\0junk:0', FLOAT, [1, 3], new Float32Array(3)]], [fetch]), nul);
    const [op, index] = fetch.split(':');
    await assert.rejects(model.run([good()], [`${op}\0:${index}`]), nul);
    await assert.rejects(model.run([good()], [`${op}\0junk:${index}`]), { ...nul, message: /'.*\\0junk:\d+' contains a NUL byte/ });
  });

  test('BAD CALL - a NUL byte in the export dir or a tag rejects with INVALID_ARGUMENT', async () => {
    await assert.rejects(binding().loadSavedModel(`${modelPath('tf2_module')}\0junk`, ['serve']), {
      code: 'INVALID_ARGUMENT',
      message: 'exportDir must not contain a NUL byte',
    });
    await assert.rejects(binding().loadSavedModel(modelPath('tf2_module'), ['serve\0junk']), {
      code: 'INVALID_ARGUMENT',
      message: 'tags[0] must not contain a NUL byte',
    });
  });

  test('BAD CALL - registeredKernels and preloadLibraries check their arguments', () => {
    const native = binding();
    assert.throws(() => native.registeredKernels(5 as never), TypeError);
    assert.throws(() => native.registeredKernels(''), TypeError);
    assert.throws(() => native.registeredKernels('Mat\0Mul'), /NUL/);
    assert.ok(native.registeredKernels('MatMul').length > 0);
    assert.equal(native.registeredKernels('NoSuchOpAnywhere').length, 0);
    assert.throws(() => native.preloadLibraries('x' as never), TypeError);
    assert.throws(() => native.preloadLibraries([5 as never]), /paths\[0\] must be a string/);
    assert.throws(() => native.preloadLibraries(['relative/libx.so']), /absolute path/);
    assert.throws(() => native.preloadLibraries(['/tmp/x\0.so']), /NUL/);
    const [missing] = native.preloadLibraries(['/nonexistent/libtfserve-none.so.1']);
    assert.match(missing!, /libtfserve-none\.so\.1: cannot open shared object file/);
  });

  test('collectMetadata returns the serialized RunMetadata only when asked', async () => {
    const plain = await model.run([good()], [fetch]);
    assert.equal((plain as { runMetadata?: Uint8Array }).runMetadata, undefined);
    const traced = await model.run([good()], [fetch], undefined, true);
    assert.ok(traced.runMetadata instanceof Uint8Array);
  });

  test('a closed session refuses runs', async () => {
    const loaded = await binding().loadSavedModel(modelPath('tf2_module'), ['serve']);
    await loaded.model.close();
    await loaded.model.close();
    await assert.rejects(loaded.model.run([good()], [fetch]), { code: 'FAILED_PRECONDITION' });
  });

  test('the model still works after all of the above', async () => {
    const [[dtype, shape, data]] = await model.run([[X, FLOAT, [1, 3], new Float32Array([1, 2, 3])]], [fetch]);
    assert.equal(dtype, FLOAT);
    assert.deepEqual(shape, [1, 3]);
    assert.deepEqual([...new Float32Array(data as ArrayBuffer)], [3, 5, 7]);
  });
});

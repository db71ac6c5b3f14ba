import assert from 'node:assert/strict';
import path from 'node:path';
import { after, before, suite, test } from 'node:test';
import { Worker } from 'node:worker_threads';

import { binding } from '../../src/model/native.js';
import { Example } from '../../src/proto/messages.js';
import { loadSavedModel, type SavedModel } from '../../src/model/saved-model.js';
import { allocTensor } from '../../src/model/tensor.js';
import { assertTensorMatches, goldenTensor, modelPath, readGolden, REPO_ROOT, SHARED_FIXTURES, sharedFixturesSkip } from '../helpers.js';

const GOLDEN_MODELS = ['tf2_module', 'keras_multi', 'dtypes', 'tf1_methods', 'image_bytes', 'cnn', 'half_plus_two'];

suite('SavedModel goldens', () => {
  for (const name of GOLDEN_MODELS) {
    test(`${name}: every case matches TensorFlow's own output`, async () => {
      const golden = readGolden(name);
      const model = await loadSavedModel(path.join(REPO_ROOT, golden.model));
      try {
        for (const [key, signature] of Object.entries(golden.signatures)) {
          assert.equal(model.signatures[key]?.methodName, signature.methodName, `${name}.${key}`);
        }
        assert.ok(golden.cases.length > 0);
        for (const [index, testCase] of golden.cases.entries()) {
          const inputs = Object.fromEntries(Object.entries(testCase.inputs).map(([k, t]) => [k, goldenTensor(t)]));
          const outputs = await model.predict(inputs, { signature: testCase.signature });
          assert.deepEqual(Object.keys(outputs).sort(), Object.keys(testCase.outputs).sort());
          for (const [key, expected] of Object.entries(testCase.outputs)) {
            assertTensorMatches(outputs[key]!, expected, `${name} case ${index} (${testCase.signature}).${key}`, name === 'cnn' ? 1e-4 : 1e-5);
          }
        }
      } finally {
        await model.dispose();
      }
    });
  }
});

suite('SavedModel behaviour', () => {
  let model: SavedModel;
  before(async () => {
    model = await loadSavedModel(modelPath('tf2_module'));
  });
  after(() => model.dispose());

  const row = (i: number) => ({ x: { dtype: 'float32' as const, shape: [1, 3], data: [i, i + 1, i + 2] } });

  test('signature metadata: keys, tensor names, dtypes, dynamic and unknown shapes', () => {
    const { signatures } = model;
    assert.deepEqual(signatures['serving_default']!.inputs['x']!.shape, [-1, 3]);
    assert.deepEqual(signatures['dynamic']!.inputs['x']!.shape, [-1, -1]);
    assert.equal(signatures['unknown_rank']!.inputs['x']!.shape, null);
    assert.deepEqual(signatures['scale']!.inputs['factor']!.shape, []);
    assert.match(signatures['serving_default']!.inputs['x']!.name, /^serving_default_x:0$/);
    assert.equal(signatures['serving_default']!.methodName, 'tensorflow/serving/predict');
    assert.ok(Object.isFrozen(signatures));
  });

  test('200 concurrent predicts on one model are all correct', async () => {
    const results = await Promise.all(Array.from({ length: 200 }, (_, i) => model.predict(row(i))));
    results.forEach((out, i) => {
      assert.deepEqual([...out['y']!.data as Float32Array], [i * 2 + 1, (i + 1) * 2 + 1, (i + 2) * 2 + 1]);
      assert.deepEqual([...out['sum']!.data as Float32Array], [3 * i + 3]);
    });
  });

  test("interOpExecution 'pool' (TensorFlow's inter-op threads) gives the same answers as the default 'caller'", async () => {
    const pooled = await loadSavedModel(modelPath('tf2_module'), { config: { interOpExecution: 'pool' } });
    try {
      const results = await Promise.all(Array.from({ length: 50 }, (_, i) => pooled.predict(row(i))));
      results.forEach((out, i) => assert.deepEqual([...out['sum']!.data as Float32Array], [3 * i + 3]));
    } finally {
      await pooled.dispose();
    }
  });

  test('the event loop stays free while a slow run is in progress', async () => {
    let ticks = 0;
    const timer = setInterval(() => {
      ticks += 1;
    }, 10);
    const started = process.hrtime.bigint();
    const out = await model.predict({ x: { dtype: 'float32', shape: [], data: [1] } }, { signature: 'slow' });
    const elapsedMs = Number(process.hrtime.bigint() - started) / 1e6;
    clearInterval(timer);
    assert.ok(out['y']);
    // A run on the JS thread would let no tick through; allow for a loaded machine.
    assert.ok(elapsedMs > 100, `slow signature ran ${elapsedMs} ms`);
    assert.ok(ticks >= Math.floor(elapsedMs / 10 / 4), `only ${ticks} timer ticks during a ${elapsedMs.toFixed(0)} ms run`);
  });

  test('outputs can be filtered, and a scalar input works', async () => {
    const out = await model.predict(row(1), { outputs: ['sum'] });
    assert.deepEqual(Object.keys(out), ['sum']);
    const scaled = await model.predict(
      { x: { dtype: 'float32', shape: [2], data: [1, 2] }, factor: { dtype: 'float32', shape: [], data: [3] } },
      { signature: 'scale' },
    );
    assert.deepEqual([...scaled['y']!.data as Float32Array], [3, 6]);
  });

  test('an empty batch runs', async () => {
    const out = await model.predict({ x: { dtype: 'float32', shape: [0, 3], data: new Float32Array(0) } });
    assert.deepEqual(out['y']!.shape, [0, 3]);
    assert.equal(out['y']!.data.length, 0);
  });

  test('zero-copy in and out: an allocTensor input is used in place and an Identity output aliases it', async () => {
    const input = allocTensor('float32', [1024]);
    input.data.fill(7);
    const copiesBefore = binding()._inputCopies();
    const out = await model.predict({ x: input }, { signature: 'identity' });
    assert.equal(binding()._inputCopies(), copiesBefore, 'no input copy');
    assert.equal(binding()._addressOf(out['y']!.data as Float32Array), binding()._addressOf(input.data), 'output is TensorFlow\'s buffer, which is the input');
    assert.equal(out['y']!.data[1023], 7);
  });

  test('JS memory is copied once, on the call, even when 64-byte aligned: nothing else keeps it valid mid-run', async () => {
    let aligned: Float32Array | undefined;
    for (let i = 0; i < 1000 && !aligned; i += 1) {
      const candidate = new Float32Array(64);
      if (binding()._addressOf(candidate) % 64n === 0n) aligned = candidate;
    }
    assert.ok(aligned, 'found a 64-byte aligned V8 buffer');
    aligned.fill(3);
    const copiesBefore = binding()._inputCopies();
    const run = model.predict({ x: { dtype: 'float32', shape: [64], data: aligned } }, { signature: 'identity' });
    assert.equal(binding()._inputCopies(), copiesBefore + 1, 'copied before predict() returned');
    aligned.fill(0);
    const out = await run;
    assert.notEqual(binding()._addressOf(out['y']!.data as Float32Array), binding()._addressOf(aligned), 'output does not point into JS memory');
    assert.deepEqual([...out['y']!.data as Float32Array], new Array(64).fill(3));
  });

  test('an unaligned input costs exactly one copy', async () => {
    const backing = allocTensor('float32', [65]);
    const unaligned = backing.data.subarray(1); // 4 bytes past a 64-byte boundary
    unaligned.fill(2);
    const copiesBefore = binding()._inputCopies();
    const out = await model.predict({ x: { dtype: 'float32', shape: [64], data: unaligned } }, { signature: 'identity' });
    assert.equal(binding()._inputCopies(), copiesBefore + 1);
    assert.deepEqual([...out['y']!.data as Float32Array], new Array(64).fill(2));
  });

  test('outputs are 64-byte aligned TensorFlow buffers', async () => {
    const out = await model.predict({ x: { dtype: 'float32', shape: [100, 3], data: new Float32Array(300) } });
    assert.equal(binding()._addressOf(out['y']!.data as Float32Array) % 64n, 0n);
  });

  test('timeoutMs aborts a slow run with DEADLINE_EXCEEDED', async () => {
    await assert.rejects(model.predict({ x: { dtype: 'float32', shape: [], data: [4] } }, { signature: 'slow', timeoutMs: 20 }), {
      name: 'TfServeError',
      code: 'DEADLINE_EXCEEDED',
    });
  });

  test('a deadline tfserve keeps: the caller hears at once, the run ends on its thread; then TensorFlow enforces them', async () => {
    const own = await loadSavedModel(modelPath('tf2_module'));
    try {
      // x = 2 runs about a second: the first overrun is answered at the deadline, its run goes on.
      const slow = () => own.predict({ x: { dtype: 'float32', shape: [], data: [2] } }, { signature: 'slow', timeoutMs: 50 });
      await assert.rejects(slow(), { name: 'TfServeError', code: 'DEADLINE_EXCEEDED', message: 'Timed out waiting for notification' });
      assert.equal(own.activeRuns, 1, 'the overrun run still holds its thread');
      while (own.activeRuns > 0) await new Promise((resolve) => setTimeout(resolve, 20));
      // Now TensorFlow's pool keeps the deadline and cancels the run: nothing is left running.
      await assert.rejects(slow(), { name: 'TfServeError', code: 'DEADLINE_EXCEEDED', message: 'Timed out waiting for notification' });
      assert.equal(own.activeRuns, 0);
      const out = await own.predict({ x: { dtype: 'float32', shape: [], data: [0] } }, { signature: 'slow', timeoutMs: 5000 });
      assert.equal(out['y']!.data.length, 1);
    } finally {
      await own.dispose();
    }
  });

  test("devices come from the session; placement from the first successful run's step stats", async () => {
    const own = await loadSavedModel(modelPath('tf2_module'));
    try {
      const cpu = own.devices.find((d) => d.type === 'CPU');
      assert.ok(cpu, JSON.stringify(own.devices));
      assert.match(cpu.name, /^\/job:localhost\/replica:0\/task:0\/device:CPU:0$/);
      assert.ok(Object.isFrozen(own.devices));
      assert.equal(own.placement, null);
      const placed = own.placed();
      // A failed run places nothing, and the next run is traced again.
      await assert.rejects(own.predict({ x: { dtype: 'float32', shape: [], data: [-1] } }, { signature: 'fail' }), { code: 'INVALID_ARGUMENT' });
      const [first, second] = await Promise.all([own.predict(row(1)), own.predict(row(2))]);
      assert.deepEqual([...first['y']!.data as Float32Array], [3, 5, 7]);
      assert.deepEqual([...second['y']!.data as Float32Array], [5, 7, 9]);
      const placement = await placed;
      assert.equal(own.placement, placement);
      assert.ok((placement[cpu.name] ?? 0) > 0, JSON.stringify(placement));
      assert.ok(Object.keys(placement).every((device) => own.devices.some((d) => d.name === device)), 'ops run only on the session\'s devices');
      assert.equal(await own.placed(), placement);
    } finally {
      await own.dispose();
    }
  });

  test('the first, traced run keeps a deadline as any run does', async () => {
    const own = await loadSavedModel(modelPath('tf2_module'));
    try {
      await assert.rejects(own.predict({ x: { dtype: 'float32', shape: [], data: [4] } }, { signature: 'slow', timeoutMs: 20 }), { code: 'DEADLINE_EXCEEDED' });
      while (own.activeRuns > 0) await new Promise((resolve) => setTimeout(resolve, 20));
      assert.equal(own.placement, null, 'a run that missed its deadline places nothing');
      await own.predict({ x: { dtype: 'float32', shape: [], data: [0] } }, { signature: 'slow', timeoutMs: 5000 });
      assert.notEqual(own.placement, null);
    } finally {
      await own.dispose();
    }
  });

  test('EXPECTED FAILURE - a TensorFlow runtime error rejects with its code and message, and the model keeps working', async () => {
    await assert.rejects(model.predict({ x: { dtype: 'float32', shape: [], data: [-1] } }, { signature: 'fail' }), (err: Error & { code?: string }) => {
      assert.equal(err.name, 'TfServeError');
      assert.equal(err.code, 'INVALID_ARGUMENT');
      assert.match(err.message, /x must be positive|assert/i);
      assert.match(err.stack ?? '', /saved-model\.test/);
      return true;
    });
    const out = await model.predict({ x: { dtype: 'float32', shape: [], data: [2] } }, { signature: 'fail' });
    assert.equal(out['y']!.data[0], 2);
  });

  test('checkDtypes: false feeds the dtype the caller gives, and the graph decides', async () => {
    const ints = { x: { dtype: 'int32' as const, shape: [1, 3], data: [1, 2, 3] } };
    await assert.rejects(model.predict(ints), { code: 'INVALID_ARGUMENT', message: /Expected dtype float32 for input 'x' but received int32/ });
    // Past the signature check, the binding compares with the graph tensor itself.
    await assert.rejects(model.predict(ints, { checkDtypes: false }), (err: Error & { code?: string }) => {
      assert.equal(err.name, 'TfServeError');
      assert.equal(err.code, 'INVALID_ARGUMENT');
      assert.equal(err.message, "input 'serving_default_x:0' expects float32 but got int32");
      assert.match(err.stack ?? '', /saved-model\.test/);
      return true;
    });
    const out = await model.predict(row(2), { checkDtypes: false });
    assert.deepEqual([...out['y']!.data as Float32Array], [5, 7, 9]);
  });

  test('checkDtypes: false serves a signature that records the wrong dtype (TF Serving\'s half_plus_three)', { skip: sharedFixturesSkip }, async () => {
    const three = await loadSavedModel(path.join(SHARED_FIXTURES, 'saved_model_half_plus_three', '00000123'));
    try {
      const signature = 'tensorflow/serving/regress';
      assert.equal(three.signatures[signature]!.inputs['inputs']!.dtype, 'float32', 'the SignatureDef says DT_FLOAT');
      const examples = [2, 10].map((x) => Example.encode(Example.fromObject({ features: { feature: { x: { floatList: { value: [x] } } } } })).finish());
      const inputs = { inputs: { dtype: 'string' as const, shape: [2], data: examples } };
      await assert.rejects(three.predict(inputs, { signature }), {
        code: 'INVALID_ARGUMENT',
        message: /Expected dtype float32 for input 'inputs' but received string/,
      });
      // tf_example:0 is really a string placeholder of serialized Examples: y = 0.5x + 3.
      const out = await three.predict(inputs, { signature, checkDtypes: false });
      assert.deepEqual([...out['outputs']!.data as Float32Array], [4, 8]);
      await assert.rejects(three.predict({ inputs: { dtype: 'float32', shape: [1], data: [2] } }, { signature, checkDtypes: false }), {
        code: 'INVALID_ARGUMENT',
        message: /^input 'tf_example:0' expects string but got float32$/,
      });
    } finally {
      await three.dispose();
    }
  });

  const badCalls: [string, () => Promise<unknown>, RegExp, string?][] = [
    ['unknown signature', () => model.predict(row(1), { signature: 'nope' }), /Serving signature name: "nope" not found in signature def/],
    ['wrong dtype', () => model.predict({ x: { dtype: 'int32', shape: [1, 3], data: [1, 2, 3] } }), /Expected dtype float32 for input 'x' but received int32/],
    ['wrong shape', () => model.predict({ x: { dtype: 'float32', shape: [3], data: [1, 2, 3] } }), /Expected shape \[-1,3\] for input 'x' but received \[3\]/],
    ['count differs from shape', () => model.predict({ x: { dtype: 'float32', shape: [2, 3], data: [1, 2, 3] } }), /Expected 6 elements/],
    ['missing input', () => model.predict({}), /Missing input 'x'/],
    ['extra input', () => model.predict({ ...row(1), y: { dtype: 'float32', shape: [1], data: [1] } }), /Unknown input 'y'/],
    ['unknown output', () => model.predict(row(1), { outputs: ['nope'] }), /Unknown output 'nope'/],
    ['inputs not an object', () => model.predict(null as never), /Expected object/],
    ['input not a tensor', () => model.predict({ x: 5 as never }), /Expected \{ dtype, shape, data \}/],
    ['bad dtype name', () => model.predict({ x: { dtype: 'float33' as never, shape: [1, 3], data: [1, 2, 3] } }), /x'.dtype/],
    ['bad timeout', () => model.predict(row(1), { timeoutMs: -5 }), /timeoutMs/],
    ['mistyped TypedArray', () => model.predict({ x: { dtype: 'float32', shape: [1, 3], data: new Int32Array(3) } }), /Expected Float32Array/],
  ];
  for (const [what, call, message] of badCalls) {
    test(`BAD CALL - ${what} rejects with INVALID_ARGUMENT and the model keeps working`, async () => {
      await assert.rejects(call(), { name: 'TfServeError', code: 'INVALID_ARGUMENT', message });
      const out = await model.predict(row(0));
      assert.deepEqual([...out['sum']!.data as Float32Array], [3]);
    });
  }
});

suite('SavedModel lifecycle', () => {
  test('dispose lets in-flight runs finish, then later calls reject', async () => {
    const model = await loadSavedModel(modelPath('tf2_module'));
    const inFlight = model.predict({ x: { dtype: 'float32', shape: [], data: [1] } }, { signature: 'slow' });
    await new Promise((resolve) => setTimeout(resolve, 20));
    assert.equal(model.activeRuns, 1);
    const disposal = model.dispose();
    assert.equal(model.dispose(), disposal, 'dispose is idempotent');
    assert.equal(model.disposed, true);
    await assert.rejects(model.predict({ x: { dtype: 'float32', shape: [1, 3], data: [1, 2, 3] } }), {
      code: 'FAILED_PRECONDITION',
      message: /disposed/,
    });
    const out = await inFlight;
    assert.ok(out['y'], 'the in-flight run completed');
    await disposal;
    assert.equal(model.activeRuns, 0);
  });

  test('EXPECTED FAILURE - a missing directory and a legacy bundle fail to load with clear errors', async () => {
    await assert.rejects(loadSavedModel('/nonexistent/model/1'), { code: 'NOT_FOUND', message: /does not exist/ });
    await assert.rejects(loadSavedModel(__dirname), { code: 'NOT_FOUND', message: /Could not find SavedModel/ });
    await assert.rejects(loadSavedModel(modelPath('tf2_module'), { tags: ['gpu'] }), { message: /tags/ });
    await assert.rejects(loadSavedModel(modelPath('tf2_module'), { tags: [1 as never] }), { code: 'INVALID_ARGUMENT' });
    await assert.rejects(loadSavedModel('' as never), { code: 'INVALID_ARGUMENT' });
  });

  test('BAD CALL - a NUL byte in the export dir or a tag rejects with INVALID_ARGUMENT', async () => {
    await assert.rejects(loadSavedModel(`${modelPath('tf2_module')}\0junk`), {
      name: 'TfServeError',
      code: 'INVALID_ARGUMENT',
      message: 'Expected path string without NUL bytes for exportDir',
    });
    await assert.rejects(loadSavedModel(modelPath('tf2_module'), { tags: ['serve\0junk'] }), {
      name: 'TfServeError',
      code: 'INVALID_ARGUMENT',
      message: 'tags[0] must not contain a NUL byte',
    });
  });

  test('deviceCount { GPU: 0 } reaches TensorFlow: the session lists no GPU (and, on a GPU build with a GPU, would)', async () => {
    const cpuOnly = await loadSavedModel(modelPath('tf2_module'), { config: { deviceCount: { GPU: 0 } } });
    try {
      assert.deepEqual(cpuOnly.devices.map((d) => d.type), ['CPU']);
      const out = await cpuOnly.predict({ x: { dtype: 'float32', shape: [1, 3], data: [0, 0, 0] } });
      assert.deepEqual([...out['y']!.data as Float32Array], [1, 1, 1]);
      assert.deepEqual(Object.keys(cpuOnly.placement!).map((d) => d.replace(/.*device:/, '')), ['CPU:0']);
    } finally {
      await cpuOnly.dispose();
    }
    // TensorFlow's own check of device_count: CPU must keep at least one.
    await assert.rejects(loadSavedModel(modelPath('tf2_module'), { config: { deviceCount: { CPU: 0 } } }));
  });

  test('session config is applied', async () => {
    const model = await loadSavedModel(modelPath('tf2_module'), { config: { intraOpThreads: 1, interOpThreads: 1 } });
    const out = await model.predict({ x: { dtype: 'float32', shape: [1, 3], data: [0, 0, 0] } });
    assert.deepEqual([...out['y']!.data as Float32Array], [1, 1, 1]);
    await model.dispose();
    await assert.rejects(loadSavedModel(modelPath('tf2_module'), { config: { intraOpThreads: -1 } }), { code: 'INVALID_ARGUMENT' });
  });

  test('loads and predicts inside a worker thread, which then exits cleanly', async () => {
    const script = `
      const { parentPort, workerData } = require('node:worker_threads');
      const { loadSavedModel } = require(workerData.entry);
      (async () => {
        const model = await loadSavedModel(workerData.dir);
        const out = await model.predict({ x: { dtype: 'float32', shape: [1, 3], data: [1, 2, 3] } });
        parentPort.postMessage([...out.y.data]);
      })();`;
    const worker = new Worker(script, {
      eval: true,
      workerData: { entry: require.resolve('../../src/index.js'), dir: modelPath('tf2_module') },
    });
    let message: unknown;
    worker.on('message', (value) => {
      message = value;
    });
    const exitCode = await new Promise((resolve, reject) => {
      worker.once('exit', resolve);
      worker.once('error', reject);
    });
    assert.deepEqual(message, [3, 5, 7]);
    assert.equal(exitCode, 0, 'the worker exits by itself once its model is unreferenced');
  });
});

// TensorFlow Serving's own test SavedModels (../shared/fixtures/tfserving) through the library.
import assert from 'node:assert/strict';
import path from 'node:path';
import { suite, test } from 'node:test';

import { Example } from '../../src/proto/messages.js';
import { loadSavedModel } from '../../src/model/saved-model.js';
import { SHARED_FIXTURES, sharedFixturesSkip } from '../helpers.js';

const skip = sharedFixturesSkip;
const fixture = (...parts: string[]) => path.join(SHARED_FIXTURES, ...parts);

function example(features: Record<string, number>): Uint8Array {
  const feature = Object.fromEntries(Object.entries(features).map(([k, v]) => [k, { floatList: { value: [v] } }]));
  return Example.encode(Example.create({ features: { feature } })).finish();
}

suite('TF Serving fixtures', { skip }, () => {
  test('saved_model_half_plus_two_cpu: y = 0.5x + 2, and its classify/regress signatures', async () => {
    const model = await loadSavedModel(fixture('saved_model_half_plus_two_cpu', '00000123'));
    const x = [2, 3, 4];
    const out = await model.predict({ x: { dtype: 'float32', shape: [3, 1], data: x } });
    assert.deepEqual([...out['y']!.data as Float32Array], [3, 3.5, 4]);
    // x:0 is an Identity: TF Serving feeds it shape [3] unchecked; so does the library when asked.
    const flat = await model.predict({ x: { dtype: 'float32', shape: [3], data: x } }, { checkShapes: false });
    assert.deepEqual([...flat['y']!.data as Float32Array], [3, 3.5, 4]);
    const examples = { inputs: { dtype: 'string' as const, shape: [2], data: [example({ x: 2 }), example({ x: 10, x2: 4 })] } };
    const regressed = await model.predict(examples, { signature: 'regress_x_to_y' });
    assert.deepEqual([...regressed['outputs']!.data as Float32Array], [3, 7]);
    const y2 = await model.predict(examples, { signature: 'regress_x_to_y2' });
    assert.deepEqual([...y2['outputs']!.data as Float32Array], [4, 8]);
    const classified = await model.predict(examples, { signature: 'classify_x_to_y' });
    assert.deepEqual([...classified['scores']!.data as Float32Array], [3, 7]);
    const y3 = await model.predict({ inputs: { dtype: 'float32', shape: [1, 1], data: [4] } }, { signature: 'regress_x2_to_y3' });
    assert.deepEqual([...y3['outputs']!.data as Float32Array], [5]);
    await model.dispose();
  });

  test('saved_model_half_plus_two_tf2_cpu: TF2 export with an init op', async () => {
    const model = await loadSavedModel(fixture('saved_model_half_plus_two_tf2_cpu', '00000123'));
    assert.ok(!('__saved_model_init_op' in model.signatures));
    const out = await model.predict({ x: { dtype: 'float32', shape: [1], data: [2] } });
    assert.deepEqual([...out['y']!.data as Float32Array], [3]);
    await model.dispose();
  });

  test('saved_model_counter: stateful signatures keep state across runs', async () => {
    const model = await loadSavedModel(fixture('saved_model_counter', '00000123'));
    assert.deepEqual(Object.keys(model.signatures).sort(), ['get_counter', 'incr_counter', 'incr_counter_by', 'reset_counter']);
    const value = async (signature: string, inputs = {}) => (await model.predict(inputs, { signature }))['output']!.data[0];
    assert.equal(await value('reset_counter'), 0);
    const first = await model.predict({}, { signature: 'incr_counter' });
    assert.equal(await value('incr_counter'), 2);
    assert.equal(first['output']!.data[0], 1, 'an earlier result is not changed by later runs');
    assert.equal(await value('incr_counter_by', { delta: { dtype: 'float32', shape: [], data: [10] } }), 12);
    assert.equal(await value('get_counter'), 12);
    assert.equal(await value('reset_counter'), 0);
    await model.dispose();
  });

  test('matrix_half_plus_two, half_plus_three and the GPU-pinned model (soft placement) predict', async () => {
    const matrix = await loadSavedModel(fixture('matrix_half_plus_two', '1'));
    const m = await matrix.predict({ x: { dtype: 'float32', shape: [1, 3, 3], data: [0, 1, 2, 3, 4, 5, 6, 7, 8] } });
    assert.deepEqual([...m['y']!.data as Float32Array], [2, 2.5, 3, 3.5, 4, 4.5, 5, 5.5, 6]);
    const three = await loadSavedModel(fixture('saved_model_half_plus_three', '00000123'));
    const t = await three.predict({ x: { dtype: 'float32', shape: [1, 1], data: [2] } });
    assert.deepEqual([...t['y']!.data as Float32Array], [4]);
    const gpu = await loadSavedModel(fixture('saved_model_half_plus_two_gpu', '00000123'));
    const g = await gpu.predict({ x: { dtype: 'float32', shape: [1, 1], data: [2] } });
    assert.deepEqual([...g['y']!.data as Float32Array], [3]);
    for (const version of ['00000123', '00000124']) {
      const model = await loadSavedModel(fixture('saved_model_half_plus_two_2_versions', version));
      const out = await model.predict({ x: { dtype: 'float32', shape: [1, 1], data: [4] } });
      assert.deepEqual([...out['y']!.data as Float32Array], [4]);
      await model.dispose();
    }
    await Promise.all([matrix.dispose(), three.dispose(), gpu.dispose()]);
  });

  test("the GPU-pinned model's placement: on the session's GPU where it has one, else soft placement puts it on the CPU", async () => {
    const dir = fixture('saved_model_half_plus_two_gpu', '00000123');
    const soft = await loadSavedModel(dir);
    try {
      await soft.predict({ x: { dtype: 'float32', shape: [1, 1], data: [2] } });
      const placed = Object.keys(soft.placement!).map((d) => d.replace(/.*device:/, ''));
      if (soft.devices.some((d) => d.type === 'GPU')) assert.ok(placed.includes('GPU:0'), placed.join());
      else assert.deepEqual(placed, ['CPU:0']);
    } finally {
      await soft.dispose();
    }
  });

  test('EXPECTED FAILURE - without soft placement and without a GPU, the GPU-pinned model does not load: TensorFlow names the device', async (t) => {
    const dir = fixture('saved_model_half_plus_two_gpu', '00000123');
    const probe = await loadSavedModel(dir);
    const hasGpu = probe.devices.some((d) => d.type === 'GPU');
    await probe.dispose();
    if (hasGpu) {
      t.skip('this machine has a GPU, where the pinned ops can run');
      return;
    }
    await assert.rejects(loadSavedModel(dir, { config: { allowSoftPlacement: false } }), {
      name: 'TfServeError',
      code: 'INVALID_ARGUMENT',
      message: /was explicitly assigned to \/device:GPU:0 but available devices are \[ \/job:localhost\/replica:0\/task:0\/device:CPU:0 \]/,
    });
  });

  test('EXPECTED FAILURE - bad_half_plus_two (a legacy SessionBundle) fails to load with a clear error', async () => {
    await assert.rejects(loadSavedModel(fixture('bad_half_plus_two', '00000123')), {
      name: 'TfServeError',
      code: 'NOT_FOUND',
      message: /Could not find SavedModel \.pb or \.pbtxt/,
    });
  });
});

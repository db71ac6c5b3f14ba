// src/serving/open-inference.ts: the Open Inference Protocol's semantics on the serving layer, with
// real models and no transport: readiness, metadata, the signature a v2 model is, and inference with
// the protocol's checks and texts (both REST and gRPC reach them through these methods).
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { after, before, suite, test } from 'node:test';

import type { Tensor } from '../../src/model/tensor.js';
import { type InferInput, type InferParameter, type InferRequest, V2_DATATYPES } from '../../src/proto/kserve-codec.js';
import { Inference } from '../../src/serving/inference.js';
import { ModelManager } from '../../src/serving/manager.js';
import { managerReadiness, OpenInference, type Readiness } from '../../src/serving/open-inference.js';
import type { Servable } from '../../src/serving/servable.js';
import { assertTensorMatches, goldenTensor, loadServable, modelPath, readGolden, REPO_ROOT } from '../helpers.js';

const fails = (code: string, message: string | RegExp) => ({ name: 'TfServeError', code, message });
const HALF = path.join(REPO_ROOT, 'models', 'half_plus_two', '1');

function tensorInput(name: string, tensor: Tensor): InferInput {
  return { name, datatype: V2_DATATYPES[tensor.dtype], shape: tensor.shape, parameters: new Map(), tensor };
}

function request(inputs: InferInput[], more: { id?: string; parameters?: [string, InferParameter][]; outputs?: string[] } = {}): InferRequest {
  return {
    id: more.id ?? '',
    parameters: new Map(more.parameters ?? []),
    inputs,
    outputs: (more.outputs ?? []).map((name) => ({ name, parameters: new Map() })),
  };
}

const floats = (...values: number[]): Tensor => ({ dtype: 'float32', shape: [values.length], data: Float32Array.from(values) });
const x = (...values: number[]) => tensorInput('x', floats(...values));

let manager: ModelManager;
let v2: OpenInference;
/** Opens the gate of the model `slow`, whose first version loads only then. */
let openGate: () => void;

before(async () => {
  const gate = new Promise<void>((resolve) => (openGate = resolve));
  manager = new ModelManager({
    load: async (dir, name): Promise<Servable> => {
      if (name === 'slow') await gate;
      return loadServable(dir);
    },
    maxLoadRetries: 0,
  });
  manager.setAspiredVersions('half_plus_two', [{ version: 1, path: HALF }]);
  manager.setAspiredVersions('multi', [{ version: 1, path: modelPath('keras_multi') }, { version: 2, path: modelPath('keras_multi') }]);
  manager.setAspiredVersions('dtypes', [{ version: 1, path: modelPath('dtypes') }]);
  await manager.settled();
  v2 = new OpenInference({ inference: new Inference({ manager }) });
});

after(() => {
  openGate();
  return manager.close();
});

suite('health and readiness', () => {
  test('live always; ready while every model the manager knows has an AVAILABLE version', async () => {
    assert.equal(v2.serverLive(), true);
    assert.equal(v2.serverReady(), true);
    manager.setAspiredVersions('slow', [{ version: 3, path: HALF }]);
    assert.equal(v2.serverReady(), false, 'a model still loading its first version holds the server back');
    assert.deepEqual(v2.modelReady({ name: 'slow' }), { ready: false, reason: "model 'slow' has no available version; loading version 3" });
    assert.throws(() => v2.modelMetadata({ name: 'slow' }), fails('UNAVAILABLE', "model 'slow' has no available version; loading version 3"));
    openGate();
    await manager.settled();
    assert.equal(v2.serverReady(), true);
    assert.deepEqual(v2.modelReady({ name: 'slow', version: '3' }), { ready: true, reason: '' });
  });

  test('a model (version) is ready when AVAILABLE; an unknown one is not ready, which is no error', () => {
    assert.deepEqual(v2.modelReady({ name: 'half_plus_two' }), { ready: true, reason: '' });
    assert.deepEqual(v2.modelReady({ name: 'half_plus_two', version: '' }), { ready: true, reason: '' });
    assert.deepEqual(v2.modelReady({ name: 'multi', version: '2' }), { ready: true, reason: '' });
    assert.deepEqual(v2.modelReady({ name: 'nope' }), { ready: false, reason: "Request for unknown model: 'nope' is not found" });
    assert.deepEqual(v2.modelReady({ name: 'half_plus_two', version: '7' }), { ready: false, reason: "Request for unknown model: 'half_plus_two' version 7 is not found" });
    assert.deepEqual(v2.modelReady({ name: 'half_plus_two', version: 'v1' }), {
      ready: false,
      reason: "Unable to parse version 'v1' of model 'half_plus_two': expected a decimal integer",
    });
  });

  test('readiness asks the configuration: a configured model without any version holds the server back', () => {
    const readiness: Readiness = { ready: () => false, isConfigured: (name) => name === 'waiting' || manager.hasModel(name) };
    const configured = new OpenInference({ inference: new Inference({ manager }), readiness });
    assert.equal(configured.serverReady(), false);
    assert.deepEqual(configured.modelReady({ name: 'waiting' }), { ready: false, reason: "model 'waiting' has no available version; its base path holds no version yet" });
    // Known to the manager but not configured (removed from the config): unknown.
    const narrow = new OpenInference({ inference: new Inference({ manager }), readiness: { ready: () => true, isConfigured: (name) => name === 'multi' } });
    assert.equal(narrow.modelReady({ name: 'half_plus_two' }).ready, false);
    assert.throws(() => narrow.modelMetadata({ name: 'half_plus_two' }), fails('NOT_FOUND', "Request for unknown model: 'half_plus_two' is not found"));
    assert.equal(managerReadiness(manager).isConfigured('dtypes'), true);
  });
});

suite('metadata', () => {
  test('server: name, the package version, the extensions implemented', () => {
    const { version } = JSON.parse(fs.readFileSync(path.join(REPO_ROOT, 'package.json'), 'utf8')) as { version: string };
    assert.deepEqual(v2.serverMetadata(), { name: 'tfserve', version, extensions: ['binary_tensor_data'] });
  });

  test('model: its serving_default signature with v2 datatypes, -1 for variable dimensions, aliases sorted', () => {
    assert.deepEqual(v2.modelMetadata({ name: 'multi' }), {
      name: 'multi',
      versions: ['1', '2'],
      platform: 'tensorflow_savedmodel',
      inputs: [
        { name: 'category', datatype: 'INT32', shape: [-1, 1] },
        { name: 'features', datatype: 'FP32', shape: [-1, 4] },
      ],
      outputs: [
        { name: 'logits', datatype: 'FP32', shape: [-1, 3] },
        { name: 'score', datatype: 'FP32', shape: [-1, 1] },
      ],
    });
    assert.equal(v2.modelMetadata({ name: 'multi', version: '1' }).name, 'multi');
  });

  test('another signature by name; every dtype of the dtypes model has its datatype', () => {
    for (const [signature, info] of Object.entries(readGolden('dtypes').signatures)) {
      if (signature === 'mixed') continue;
      const metadata = v2.modelMetadata({ name: 'dtypes' }, signature);
      assert.deepEqual(metadata.inputs, [{ name: 'x', datatype: V2_DATATYPES[(info.inputs['x'] as { dtype: 'float32' }).dtype], shape: [-1] }], signature);
      assert.deepEqual(metadata.outputs.map((o) => [o.name, o.shape]), [['n', []], ['y', [-1]]]);
    }
  });

  test('EXPECTED FAILURE - unknown model, version or signature', () => {
    assert.throws(() => v2.modelMetadata({ name: 'nope' }), fails('NOT_FOUND', "Request for unknown model: 'nope' is not found"));
    assert.throws(() => v2.modelMetadata({ name: 'multi', version: '9' }), fails('NOT_FOUND', "Request for unknown model: 'multi' version 9 is not found"));
    assert.throws(
      () => v2.modelMetadata({ name: 'dtypes' }),
      fails('INVALID_ARGUMENT', "model 'dtypes' has no signature 'serving_default'; choose one of bfloat16, bool, float16, float32, float64, int16, int32, int64, int8, mixed, string, uint16, uint32, uint64, uint8 with the parameter 'signature_name'"),
    );
  });
});

suite('infer', () => {
  test('serving_default, the version that served and the id in the response', async () => {
    const response = await v2.infer({ name: 'half_plus_two' }, request([x(1, 2, 5)], { id: 'r1' }));
    assert.equal(response.modelName, 'half_plus_two');
    assert.equal(response.modelVersion, '1');
    assert.equal(response.id, 'r1');
    assert.deepEqual(response.outputs.map((o) => [o.name, o.datatype, o.shape, [...(o.tensor.data as Float32Array)]]), [['y', 'FP32', [3], [2.5, 3, 4.5]]]);
    assert.equal((await v2.infer({ name: 'multi', version: '1' }, request(multiInputs()))).modelVersion, '1');
    assert.equal((await v2.infer({ name: 'multi' }, request(multiInputs()))).modelVersion, '2');
  });

  const multiInputs = (): InferInput[] => {
    const { inputs } = readGolden('keras_multi').cases[0]!;
    return [
      tensorInput('features', { dtype: 'float32', shape: inputs['features']!.shape, data: Float32Array.from(inputs['features']!.data as number[]) }),
      tensorInput('category', { dtype: 'int32', shape: inputs['category']!.shape, data: Int32Array.from(inputs['category']!.data as number[]) }),
    ];
  };

  test('outputs: every one in alias order, or those asked for in the order asked', async () => {
    const all = await v2.infer({ name: 'multi' }, request(multiInputs()));
    assert.deepEqual(all.outputs.map((o) => o.name), ['logits', 'score']);
    const asked = await v2.infer({ name: 'multi' }, request(multiInputs(), { outputs: ['score', 'logits'] }));
    assert.deepEqual(asked.outputs.map((o) => [o.name, o.shape]), [['score', [3, 1]], ['logits', [3, 3]]]);
    const one = await v2.infer({ name: 'multi' }, request(multiInputs(), { outputs: ['score'] }));
    assert.deepEqual(one.outputs.map((o) => o.name), ['score']);
  });

  test('the request parameter signature_name picks the signature; every datatype comes back as it went', async () => {
    for (const golden of readGolden('dtypes').cases) {
      if (golden.signature === 'mixed') continue;
      const input = golden.inputs['x']!;
      const tensor = goldenTensor(input);
      const response = await v2.infer({ name: 'dtypes' }, request([tensorInput('x', tensor)], { parameters: [['signature_name', golden.signature]] }));
      const y = response.outputs.find((o) => o.name === 'y')!;
      assert.equal(y.datatype, V2_DATATYPES[input.dtype], golden.signature);
      assertTensorMatches(y.tensor, golden.outputs['y']!, golden.signature);
    }
  });

  test('EXPECTED FAILURE - what the signature does not take, in the protocol\'s words', async () => {
    const infer = (inputs: InferInput[], more: Parameters<typeof request>[1] = {}, name = 'half_plus_two') => v2.infer({ name }, request(inputs, more));
    await assert.rejects(infer([x(1)], {}, 'nope'), fails('NOT_FOUND', "Request for unknown model: 'nope' is not found"));
    await assert.rejects(v2.infer({ name: 'half_plus_two', version: '4' }, request([x(1)])), fails('NOT_FOUND', "Request for unknown model: 'half_plus_two' version 4 is not found"));
    await assert.rejects(v2.infer({ name: 'half_plus_two', version: '1.0' }, request([x(1)])), fails('INVALID_ARGUMENT', "Unable to parse version '1.0' of model 'half_plus_two': expected a decimal integer"));
    await assert.rejects(infer([x(1)], { parameters: [['signature_name', 'nope']] }), fails('INVALID_ARGUMENT', "model 'half_plus_two' has no signature 'nope'; choose one of serving_default with the parameter 'signature_name'"));
    await assert.rejects(infer([x(1)], { parameters: [['signature_name', 3]] }), fails('INVALID_ARGUMENT', "parameter 'signature_name' must be a string, got number 3"));
    await assert.rejects(infer([tensorInput('z', floats(1))]), fails('INVALID_ARGUMENT', "unexpected inference input 'z' for model 'half_plus_two'"));
    await assert.rejects(infer([x(1), x(2)]), fails('INVALID_ARGUMENT', "input 'x' already exists in request"));
    await assert.rejects(
      infer([tensorInput('x', { dtype: 'float64', shape: [1], data: Float64Array.of(1) })]),
      fails('INVALID_ARGUMENT', "inference input 'x' data-type is 'FP64', but model 'half_plus_two' expects 'FP32'"),
    );
    await assert.rejects(
      infer([tensorInput('x', { dtype: 'float32', shape: [1, 1], data: Float32Array.of(1) })]),
      fails('INVALID_ARGUMENT', "unexpected shape for input 'x' for model 'half_plus_two'. Expected [-1], got [1,1]"),
    );
    await assert.rejects(
      infer([tensorInput('features', { dtype: 'float32', shape: [1, 3], data: new Float32Array(3) })], {}, 'multi'),
      fails('INVALID_ARGUMENT', "unexpected shape for input 'features' for model 'multi'. Expected [-1,4], got [1,3]"),
    );
    await assert.rejects(
      infer([multiInputs()[0]!], {}, 'multi'),
      fails('INVALID_ARGUMENT', "expected 2 inputs but got 1 inputs for model 'multi'. Got input(s) ['features'], but missing required input(s) ['category']. Please provide all required input(s)."),
    );
    await assert.rejects(infer([x(1)], { outputs: ['z'] }), fails('INVALID_ARGUMENT', "unexpected inference output 'z' for model 'half_plus_two'"));
    await assert.rejects(infer([x(1)], { outputs: ['y', 'y'] }), fails('INVALID_ARGUMENT', "output 'y' is requested twice for model 'half_plus_two'"));
    // Every failed request released its version: it still answers.
    assert.equal((await infer([x(0)])).outputs[0]!.tensor.data[0], 2);
  });
});

suite('a version that failed to load', () => {
  test('EXPECTED FAILURE - it is known but UNAVAILABLE, with its load error; the server is not ready', async () => {
    manager.setAspiredVersions('broken', [{ version: 1, path: path.join(REPO_ROOT, 'no-such-model', '1') }]);
    await manager.settled();
    assert.equal(v2.serverReady(), false);
    const reason = /^version 1 of model 'broken' is not available: it is END \(NOT_FOUND: .+\)$/s;
    assert.match(v2.modelReady({ name: 'broken', version: '1' }).reason, reason);
    await assert.rejects(v2.infer({ name: 'broken', version: '1' }, request([x(1)])), fails('UNAVAILABLE', reason));
    await assert.rejects(v2.infer({ name: 'broken' }, request([x(1)])), fails('UNAVAILABLE', "model 'broken' has no available version"));
  });
});

// The serving layer (src/serving/inference.ts) with real models and no transport: TF Serving's RPC
// semantics and texts as gRPC sees them (TFSERVING_SPEC.md §2.3), which REST reaches through the same
// functions.
import assert from 'node:assert/strict';
import path from 'node:path';
import { after, before, suite, test } from 'node:test';

import { TfServeError } from '../../src/model/errors.js';
import type { Tensor } from '../../src/model/tensor.js';
import { type Example } from '../../src/proto/example.js';
import { CLASSIFY_METHOD, Inference, REGRESS_METHOD } from '../../src/serving/inference.js';
import { ModelManager } from '../../src/serving/manager.js';
import type { Servable } from '../../src/serving/servable.js';
import { loadServable, modelPath, readGolden, REPO_ROOT, SHARED_FIXTURES, sharedFixturesSkip } from '../helpers.js';

const x = (value: number): Example => ({ features: { feature: { x: { floatList: { value: [value] } } } } });
const floats = (...values: number[]) => ({ dtype: 'float32' as const, shape: [values.length], data: Float32Array.from(values) });
const values = (tensor: Tensor | undefined) => [...(tensor!.data as Float32Array)];

let manager: ModelManager;
let inference: Inference;
let strict: Inference;

before(async () => {
  manager = new ModelManager({ load: loadServable, maxLoadRetries: 0 });
  manager.setAspiredVersions('half_plus_two', [{ version: 1, path: path.join(REPO_ROOT, 'models', 'half_plus_two', '1') }]);
  manager.setAspiredVersions('tf1', [{ version: 7, path: modelPath('tf1_methods') }]);
  manager.setAspiredVersions('multi', [{ version: 1, path: modelPath('keras_multi') }]);
  manager.setAspiredVersions('tf2', [{ version: 1, path: modelPath('tf2_module') }]);
  await manager.settled();
  manager.setLabels('tf1', new Map([['stable', 7]]));
  inference = new Inference({ manager });
  strict = new Inference({ manager, methodNameCheck: true });
});

after(() => manager.close());

const fails = (code: string, message: RegExp | string) => ({ name: 'TfServeError', code, message });

suite('model specs', () => {
  test('EXPECTED FAILURE - a missing spec, an empty name, an unknown model, version or label', async () => {
    await assert.rejects(inference.predict({ inputs: {} }), fails('INVALID_ARGUMENT', 'Missing ModelSpec'));
    await assert.rejects(inference.predict({ modelSpec: { name: '' }, inputs: {} }), fails('INVALID_ARGUMENT', 'ModelSpec has no name specified.'));
    await assert.rejects(inference.predict({ modelSpec: { name: 'nope' }, inputs: {} }), fails('NOT_FOUND', 'Servable not found for request: Latest(nope)'));
    await assert.rejects(
      inference.predict({ modelSpec: { name: 'tf1', version: 5 }, inputs: {} }),
      fails('NOT_FOUND', 'Servable not found for request: Specific(tf1, 5)'),
    );
    await assert.rejects(
      inference.predict({ modelSpec: { name: 'tf1', versionLabel: 'canary' }, inputs: {} }),
      fails('INVALID_ARGUMENT', 'Unrecognized servable version label: canary'),
    );
  });
});

suite('predict', () => {
  test('serving_default by default; the response names the version and signature that ran', async () => {
    const response = await inference.predict({ modelSpec: { name: 'half_plus_two' }, inputs: { x: floats(1, 2, 5) } });
    assert.deepEqual(response.modelSpec, { name: 'half_plus_two', version: 1, signatureName: 'serving_default' });
    assert.deepEqual(values(response.outputs['y']), [2.5, 3, 4.5]);
    const labelled = await inference.predict({ modelSpec: { name: 'tf1', versionLabel: 'stable', signatureName: 'predict' }, inputs: { x: floats(-4) } });
    assert.deepEqual(labelled.modelSpec, { name: 'tf1', version: 7, signatureName: 'predict' });
  });

  test('output_filter picks outputs in the order asked; empty means all', async () => {
    const inputs = readGolden('keras_multi').cases[0]!.inputs;
    const request = (outputFilter?: string[]) => ({ modelSpec: { name: 'multi' }, inputs: inputs as never, outputFilter });
    assert.deepEqual(Object.keys((await inference.predict(request(['score']))).outputs), ['score']);
    assert.deepEqual(Object.keys((await inference.predict(request(['score', 'logits']))).outputs), ['score', 'logits']);
    assert.deepEqual(Object.keys((await inference.predict(request([]))).outputs), ['logits', 'score']);
  });

  test('EXPECTED FAILURE - unknown signature, input count, unknown alias, output filter (TF Serving\'s texts)', async () => {
    const spec = { name: 'multi' };
    const one = { category: { dtype: 'int64' as const, shape: [1, 1], data: [1] } };
    await assert.rejects(
      inference.predict({ modelSpec: { ...spec, signatureName: 'nope' }, inputs: one }),
      fails('FAILED_PRECONDITION', 'Serving signature key "nope" not found.'),
    );
    await assert.rejects(
      inference.predict({ modelSpec: spec, inputs: one }),
      fails('INVALID_ARGUMENT', 'input size does not match signature: 1!=2 len({category}) != len({category,features}). Sent extra: {}. Missing but required: {features}.'),
    );
    const three = { ...one, features: floats(1), zeta: floats(1) };
    await assert.rejects(
      inference.predict({ modelSpec: spec, inputs: three }),
      fails('INVALID_ARGUMENT', 'input size does not match signature: 3!=2 len({category,features,zeta}) != len({category,features}). Sent extra: {zeta}. Missing but required: {}.'),
    );
    await assert.rejects(
      inference.predict({ modelSpec: { name: 'half_plus_two' }, inputs: { z: floats(1) } }),
      fails(
        'INVALID_ARGUMENT',
        'Signature input alias: x(feed name: serving_default_x:0) not found in request and no default value provided. Inputs expected to be in the request {z}, or default input alias set: ',
      ),
    );
    await assert.rejects(
      inference.predict({ modelSpec: spec, inputs: { category: one.category, zeta: floats(1) } }),
      fails('INVALID_ARGUMENT', /^Signature input alias: features\(feed name: serving_default_features:0\) not found in request and no default value provided\. Inputs expected to be in the request \{category,zeta\}/),
    );
    const hpt = { modelSpec: { name: 'half_plus_two' }, inputs: { x: floats(1) } };
    await assert.rejects(
      inference.predict({ ...hpt, outputFilter: ['w'] }),
      fails('INVALID_ARGUMENT', 'output tensor alias not found in signature: w Outputs expected to be in the set {y}.'),
    );
    await assert.rejects(inference.predict({ ...hpt, outputFilter: ['y', 'y'] }), fails('INVALID_ARGUMENT', 'duplicate output tensor alias: y'));
  });

  test('inputs given as decoders are decoded only after the signature and input-count checks', async () => {
    let decoded = 0;
    const lazy = () => {
      decoded += 1;
      return floats(1, 2);
    };
    const response = await inference.predict({ modelSpec: { name: 'half_plus_two' }, inputs: { x: lazy } });
    assert.deepEqual(values(response.outputs['y']), [2.5, 3]);
    assert.equal(decoded, 1);
    await assert.rejects(inference.predict({ modelSpec: { name: 'half_plus_two', signatureName: 'nope' }, inputs: { x: lazy } }), fails('FAILED_PRECONDITION', /not found/));
    await assert.rejects(inference.predict({ modelSpec: { name: 'half_plus_two' }, inputs: { x: lazy, w: lazy } }), fails('INVALID_ARGUMENT', /^input size does not match/));
    assert.equal(decoded, 1);
    const bad = () => {
      throw new TfServeError('INVALID_ARGUMENT', 'tensor parsing error: x');
    };
    await assert.rejects(inference.predict({ modelSpec: { name: 'half_plus_two' }, inputs: { x: bad }, outputFilter: ['nope'] }), fails('INVALID_ARGUMENT', 'tensor parsing error: x'));
  });

  test('EXPECTED FAILURE - a dtype the graph does not take fails in TF\'s words', async () => {
    await assert.rejects(
      inference.predict({ modelSpec: { name: 'half_plus_two' }, inputs: { x: { dtype: 'string', shape: [1], data: ['a'] } } }),
      fails('INVALID_ARGUMENT', 'Expects arg[0] to be float but string is provided'),
    );
  });

  test('any signature predicts, unless the method-name check is on', async () => {
    const request = { modelSpec: { name: 'tf1', signatureName: 'classify' }, inputs: { inputs: { dtype: 'string' as const, shape: [0], data: [] } } };
    await assert.doesNotReject(strict.predict(request));
    const tf2 = readGolden('tf2_module');
    const odd = Object.entries(tf2.signatures).find(([, s]) => ![CLASSIFY_METHOD, REGRESS_METHOD, 'tensorflow/serving/predict'].includes(s.methodName));
    if (odd) {
      await assert.rejects(strict.predict({ modelSpec: { name: 'tf2', signatureName: odd[0] }, inputs: {} }), fails('INTERNAL', /^Expected prediction signature method_name to be one of/));
    }
  });

  test('the handle is released on success and on every failure: the version still unloads', async () => {
    const local = new ModelManager({ load: loadServable, maxLoadRetries: 0 });
    local.setAspiredVersions('m', [{ version: 1, path: path.join(REPO_ROOT, 'models', 'half_plus_two', '1') }]);
    await local.settled();
    const api = new Inference({ manager: local });
    await api.predict({ modelSpec: { name: 'm' }, inputs: { x: floats(1) } });
    await assert.rejects(api.predict({ modelSpec: { name: 'm' }, inputs: { z: floats(1) } }));
    await assert.rejects(api.predict({ modelSpec: { name: 'm' }, inputs: { x: { dtype: 'string', shape: [1], data: ['a'] } } }));
    await assert.rejects(api.classify({ modelSpec: { name: 'm' }, input: { examples: [] } }));
    await local.close();
    assert.deepEqual(local.status('m').map((s) => s.state), ['END']);
  });
});

suite('predict: SignatureDef defaults (TF2 export of TF Serving\'s half_plus_two)', { skip: sharedFixturesSkip }, () => {
  let local: ModelManager;
  let api: Inference;
  before(async () => {
    local = new ModelManager({ load: loadServable, maxLoadRetries: 0 });
    local.setAspiredVersions('tf2', [{ version: 123, path: path.join(SHARED_FIXTURES, 'saved_model_half_plus_two_tf2_cpu', '00000123') }]);
    await local.settled();
    api = new Inference({ manager: local });
  });
  after(() => local?.close());

  test('a missing input takes its default: x = [0] gives y = [2]', async () => {
    const response = await api.predict({ modelSpec: { name: 'tf2' }, inputs: {} });
    assert.deepEqual(response.outputs['y']!.shape, [1]);
    assert.deepEqual(values(response.outputs['y']), [2]);
    const sent = await api.predict({ modelSpec: { name: 'tf2' }, inputs: { x: floats(4) } });
    assert.deepEqual(values(sent.outputs['y']), [4]);
  });

  test('EXPECTED FAILURE - an input the signature lacks, beside a defaulted one', async () => {
    await assert.rejects(
      api.predict({ modelSpec: { name: 'tf2' }, inputs: { z: floats(1) } }),
      fails('INVALID_ARGUMENT', 'Inputs contains invalid name. Used request inputs: , request input: z'),
    );
  });
});

suite('cancellation', () => {
  test('EXPECTED FAILURE - a cancelled call rejects with CANCELLED and releases its handle before the run ends', async () => {
    const events: string[] = [];
    // The real servable, wrapped to tell when its run settles and when the manager disposes it.
    const load = async (dir: string): Promise<Servable> => {
      const servable = await loadServable(dir);
      return {
        path: servable.path,
        signatures: servable.signatures,
        signatureDefs: servable.signatureDefs,
        run: (request) => servable.run(request).finally(() => events.push('run ended')),
        dispose: () => {
          events.push('dispose');
          return servable.dispose();
        },
      };
    };
    const local = new ModelManager({ load, maxLoadRetries: 0 });
    local.setAspiredVersions('tf2', [{ version: 1, path: modelPath('tf2_module') }]);
    await local.settled();
    const api = new Inference({ manager: local });
    const controller = new AbortController();
    const scalar = { dtype: 'float32' as const, shape: [], data: [2] };
    const slow = api.predict({ modelSpec: { name: 'tf2', signatureName: 'slow' }, inputs: { x: scalar } }, { signal: controller.signal });
    setImmediate(() => controller.abort());
    await assert.rejects(slow, fails('CANCELLED', 'The client cancelled the call'));
    events.push('cancelled');
    const aborted = new AbortController();
    aborted.abort();
    const valid = { x: { dtype: 'float32' as const, shape: [1, 3], data: [1, 2, 3] } };
    await assert.rejects(api.predict({ modelSpec: { name: 'tf2' }, inputs: valid }, { signal: aborted.signal }), fails('CANCELLED', /cancelled/));
    local.setAspiredVersions('tf2', []);
    await local.settled();
    await local.close();
    assert.deepEqual(events, ['cancelled', 'dispose', 'run ended']);
  });
});

suite('classify, regress, multiInference', () => {
  const golden = readGolden('tf1_methods');
  const classifyCase = golden.cases.find((c) => c.signature === 'classify')!;
  const examples = [x(1), x(-2), x(0)];

  test('classify: labels and scores per example, as TF computed them', async () => {
    const response = await inference.classify({ modelSpec: { name: 'tf1', signatureName: 'classify' }, input: { examples } });
    assert.deepEqual(response.modelSpec, { name: 'tf1', version: 7, signatureName: 'classify' });
    const labels = (classifyCase.outputs['classes']!.data as string[]).map((b64) => Buffer.from(b64, 'base64').toString());
    const scores = classifyCase.outputs['scores']!.data as number[];
    response.result.classifications.forEach(({ classes }, i) => {
      classes.forEach(({ label, score }, c) => {
        assert.equal(Buffer.from(label).toString(), labels[i * 2 + c]);
        assert.ok(Math.abs(score - scores[i * 2 + c]!) < 1e-6);
      });
    });
  });

  test('a context is merged into every example', async () => {
    const withContext = await inference.regress({ modelSpec: { name: 'tf1', signatureName: 'regress' }, input: { examples: [{}, {}], context: x(3) } });
    const plain = await inference.regress({ modelSpec: { name: 'tf1', signatureName: 'regress' }, input: { examples: [x(3), x(3)] } });
    assert.deepEqual(withContext.result, plain.result);
  });

  test('multiInference: one run, results in task order, each with its signature', async () => {
    const response = await inference.multiInference({
      tasks: [
        { modelSpec: { name: 'tf1', signatureName: 'regress' }, methodName: REGRESS_METHOD },
        { modelSpec: { name: 'tf1', signatureName: 'classify' }, methodName: CLASSIFY_METHOD },
      ],
      input: { examples },
    });
    const regress = await inference.regress({ modelSpec: { name: 'tf1', signatureName: 'regress' }, input: { examples } });
    const classify = await inference.classify({ modelSpec: { name: 'tf1', signatureName: 'classify' }, input: { examples } });
    assert.deepEqual(response.results, [
      { modelSpec: { name: 'tf1', version: 7, signatureName: 'regress' }, regressionResult: regress.result },
      { modelSpec: { name: 'tf1', version: 7, signatureName: 'classify' }, classificationResult: classify.result },
    ]);
  });

  test('EXPECTED FAILURE - classify/regress/multiInference errors in TF Serving\'s words', async () => {
    await assert.rejects(
      inference.classify({ modelSpec: { name: 'tf1', signatureName: 'nope' }, input: { examples } }),
      fails('INVALID_ARGUMENT', 'No signature was found with the name: nope'),
    );
    await assert.rejects(inference.regress({ modelSpec: { name: 'tf1', signatureName: 'regress' }, input: { examples: [] } }), fails('INVALID_ARGUMENT', 'Input is empty.'));
    await assert.rejects(
      inference.classify({ modelSpec: { name: 'tf1', signatureName: 'predict' }, input: { examples } }),
      fails('INVALID_ARGUMENT', /^No classification inputs found in SignatureDef: inputs \{\n  key: "x"/),
    );
    await assert.rejects(
      strict.classify({ modelSpec: { name: 'tf1', signatureName: 'regress' }, input: { examples } }),
      fails('INVALID_ARGUMENT', 'Expected classification signature method_name to be tensorflow/serving/classify. Was: tensorflow/serving/regress'),
    );
    const task = (name: string, signatureName: string, methodName = REGRESS_METHOD) => ({ modelSpec: { name, signatureName }, methodName });
    const multi = (...tasks: ReturnType<typeof task>[]) => inference.multiInference({ tasks, input: { examples } });
    await assert.rejects(multi(task('tf1', 'regress'), task('', 'classify')), fails('INVALID_ARGUMENT', 'Found ModelSpec with an empty model name.'));
    await assert.rejects(
      multi(task('tf1', 'regress'), task('half_plus_two', 'classify')),
      fails('INVALID_ARGUMENT', 'All ModelSpecs in a MultiInferenceRequest must access the same model name.'),
    );
    await assert.rejects(multi(task('tf1', 'regress'), task('tf1', 'regress')), fails('INVALID_ARGUMENT', 'Duplicate evaluation of signature: regress'));
    await assert.rejects(multi(task('tf1', 'nope')), fails('INVALID_ARGUMENT', 'Requested signature not found in model graph: nope'));
    await assert.rejects(multi(task('tf1', 'predict', 'tensorflow/serving/predict')), fails('UNIMPLEMENTED', 'Unsupported signature method_name: tensorflow/serving/predict'));
  });
});

suite('metadata, status, reload', () => {
  test('metadata: every SignatureDef of the resolved version', () => {
    const response = inference.getModelMetadata({ modelSpec: { name: 'tf1', versionLabel: 'stable' }, metadataField: ['signature_def'] });
    assert.deepEqual(response.modelSpec, { name: 'tf1', version: 7 });
    assert.deepEqual(Object.keys(response.signatureDef).sort(), ['classify', 'predict', 'regress', 'serving_default']);
    assert.equal(response.signatureDef['regress']!.method_name, REGRESS_METHOD);
  });

  test('EXPECTED FAILURE - metadata fields', () => {
    assert.throws(
      () => inference.getModelMetadata({ modelSpec: { name: 'tf1' }, metadataField: [] }),
      fails('INVALID_ARGUMENT', 'GetModelMetadataRequest must specify at least one metadata_field'),
    );
    assert.throws(
      () => inference.getModelMetadata({ modelSpec: { name: 'tf1' }, metadataField: ['signature_def', 'other'] }),
      fails('INVALID_ARGUMENT', 'Metadata field other is not supported'),
    );
  });

  test('status: every version, a label ignored; unknown model and version', () => {
    assert.deepEqual(inference.getModelStatus({ modelSpec: { name: 'tf1', versionLabel: 'whatever' } }), {
      modelVersionStatus: [{ version: 7, state: 'AVAILABLE', status: { errorCode: 'OK', errorMessage: '' } }],
    });
    assert.throws(() => inference.getModelStatus({ modelSpec: { name: 'nope' } }), fails('NOT_FOUND', 'Could not find any versions of model nope'));
    assert.throws(() => inference.getModelStatus({ modelSpec: { name: 'tf1', version: 3 } }), fails('NOT_FOUND', 'Could not find version 3 of model tf1'));
  });

  test('reloadConfig: applied through the reloader, with the requested counters\' increase', async () => {
    let counter = 10;
    const applied: string[][] = [];
    const api = new Inference<string[]>({
      manager,
      reloader: {
        reloadConfig: async (config) => {
          applied.push(config);
          counter += 2;
        },
        counterValue: (name) => (name === '/tensorflow/serving/load_count' ? counter : undefined),
      },
    });
    const response = await api.reloadConfig({ config: ['a'], metricNames: ['/tensorflow/serving/load_count', '/unknown'] });
    assert.deepEqual(applied, [['a']]);
    assert.deepEqual(response, { status: { errorCode: 'OK', errorMessage: '' }, metric: [{ name: '/tensorflow/serving/load_count', int64ValueIncrease: 2 }] });
  });
});

import assert from 'node:assert/strict';
import { suite, test } from 'node:test';

import { loadSavedModel } from '../../src/model/saved-model.js';
import type { Tensor } from '../../src/model/tensor.js';
import {
  decodeClassificationRequest,
  decodeGetModelMetadataRequest,
  decodeGetModelStatusRequest,
  decodeMultiInferenceRequest,
  decodePredictRequest,
  decodePredictResponse,
  decodeRegressionRequest,
  decodeReloadConfigRequest,
  encodeClassificationResponse,
  encodeGetModelMetadataResponse,
  encodeGetModelStatusResponse,
  encodeMultiInferenceResponse,
  encodePredictRequest,
  encodePredictResponse,
  encodeRegressionResponse,
  encodeReloadConfigResponse,
  readPredictRequest,
} from '../../src/proto/serving-codec.js';
import { ClassificationRequest, GetModelMetadataResponse, PredictResponse, ReloadConfigRequest, SignatureDefMap } from '../../src/proto/serving-protos.js';
import { type ModelConfig, validateModelConfigs } from '../../src/serving/model-config.js';
import { modelPath } from '../helpers.js';
import { assertTensor, EXPECTED, fixture } from './grpc-fixtures.js';

const b64s = (list: Uint8Array[]) => list.map((b) => Buffer.from(b).toString('base64'));

suite('serving-codec', () => {
  test('PredictRequest -> model spec, tensors by alias, output filter', () => {
    for (const name of ['predict_request_content', 'predict_request_typed'] as const) {
      const call = decodePredictRequest(fixture(name));
      const spec = EXPECTED[name].model_spec;
      assert.deepEqual(call.modelSpec, {
        name: spec.name,
        signatureName: spec.signature_name,
        ...(spec.version !== undefined ? { version: spec.version } : {}),
        ...(spec.version_label !== undefined ? { versionLabel: spec.version_label } : {}),
      });
      assert.deepEqual(Object.keys(call.inputs).sort(), Object.keys(EXPECTED[name].inputs).sort());
      for (const [alias, expected] of Object.entries(EXPECTED[name].inputs)) assertTensor(call.inputs[alias]!, expected, `${name}.${alias}`);
    }
    assert.deepEqual(decodePredictRequest(fixture('predict_request_content')).outputFilter, ['y', 'z']);
    assert.deepEqual(decodePredictRequest(Buffer.alloc(0)), { modelSpec: undefined, inputs: {}, outputFilter: [] });
  });

  test('ModelSpec.version keeps all of int64: a bigint beyond 2^53, written back digit for digit', () => {
    for (const version of [9007199254740993n, 2n ** 63n - 1n, -(2n ** 63n)]) {
      const bytes = encodePredictRequest({ modelSpec: { name: 'm', version, signatureName: '' }, inputs: {} });
      const call = decodePredictRequest(bytes);
      assert.equal(call.modelSpec!.version, version);
      assert.deepEqual(encodePredictRequest({ modelSpec: call.modelSpec!, inputs: {} }), bytes);
    }
    assert.equal(decodePredictRequest(encodePredictRequest({ modelSpec: { name: 'm', version: 9007199254740991, signatureName: '' }, inputs: {} })).modelSpec!.version, 9007199254740991);
  });

  test('readPredictRequest leaves each TensorProto as a view of the request, undecoded', () => {
    const bytes = fixture('predict_request_typed');
    const parts = readPredictRequest(bytes);
    assert.equal(parts.inputs['float32']!.buffer, bytes.buffer);
    // A bad tensor is only found when it is decoded, as TF Serving finds it after the signature checks.
    const bad = encodePredictRequest({ inputs: {} });
    const withBad = Buffer.concat([bad, Buffer.from([0x12, 0x07, 0x0a, 0x01, 0x78, 0x12, 0x02, 0x08, 0x08])]); // x: DT_COMPLEX64
    assert.deepEqual(Object.keys(readPredictRequest(withBad).inputs), ['x']);
    assert.throws(() => decodePredictRequest(withBad), { code: 'INVALID_ARGUMENT', message: 'tensor parsing error: x' });
  });

  test('an input named __proto__ is an input like any other', () => {
    const tensor: Tensor = { dtype: 'int32', shape: [1], data: new Int32Array([5]) };
    const inputs = Object.defineProperty({}, '__proto__', { value: tensor, enumerable: true }) as Record<string, Tensor>;
    const decoded = decodePredictRequest(encodePredictRequest({ inputs })).inputs;
    assert.deepEqual(Object.keys(decoded), ['__proto__']);
    assert.deepEqual(Object.getOwnPropertyDescriptor(decoded, '__proto__')!.value.data, new Int32Array([5]));
  });

  test('a repeated input key keeps the last entry, as a protobuf map does', () => {
    const first = encodePredictRequest({ inputs: { x: { dtype: 'int32', shape: [1], data: new Int32Array([1]) } } });
    const second = encodePredictRequest({ inputs: { x: { dtype: 'int32', shape: [1], data: new Int32Array([2]) } } });
    assert.deepEqual(decodePredictRequest(Buffer.concat([first, second])).inputs['x']!.data, new Int32Array([2]));
  });

  test('PredictResponse is written byte for byte as the stubs (and TF Serving) write it', () => {
    const response = decodePredictResponse(fixture('predict_response'));
    assert.deepEqual(response.modelSpec, { name: 'half_plus_two', version: 3, signatureName: 'serving_default' });
    assert.deepEqual(encodePredictResponse(response), fixture('predict_response'));
    // --enable_serialization_as_tensor_content: the same tensors, every non-empty one as tensor_content.
    const asContent = encodePredictResponse(response, { tensorContent: true });
    const messages = PredictResponse.decode(asContent).outputs!;
    for (const [name, output] of Object.entries(EXPECTED.predict_response.outputs)) {
      assertTensor(decodePredictResponse(asContent).outputs[name]!, output.tensor, name);
      assert.equal(messages[name]!.tensor_content !== undefined, name !== 'empty', name);
    }
  });

  test('PredictRequest from tensors, for clients, decodes back to the same tensors', () => {
    const inputs: Record<string, Tensor> = {
      x: { dtype: 'float32', shape: [2], data: new Float32Array([1, 2]) },
      s: { dtype: 'string', shape: [1], data: [Buffer.from('a')] },
    };
    for (const tensorContent of [false, true]) {
      const bytes = encodePredictRequest({ modelSpec: { name: 'm', version: 0, signatureName: '' }, inputs, outputFilter: ['y'] }, { tensorContent });
      const call = decodePredictRequest(bytes);
      assert.deepEqual(call.modelSpec, { name: 'm', version: 0, signatureName: '' });
      assert.deepEqual(call.inputs['x']!.data, inputs['x']!.data);
      assert.deepEqual((call.inputs['s']!.data as Uint8Array[]).map((b) => Buffer.from(b).toString()), ['a']);
      assert.deepEqual(call.outputFilter, ['y']);
    }
  });

  test('Classify/Regress/MultiInference inputs: the serialized Examples TF Serving feeds', () => {
    const classify = decodeClassificationRequest(fixture('classification_request'));
    assert.deepEqual(classify.modelSpec, { name: 'tf1', signatureName: 'classify_x_to_y' });
    assert.deepEqual(b64s(classify.examples), EXPECTED.classification_request.examples);
    const bytes = fixture('regression_request');
    const regress = decodeRegressionRequest(bytes);
    assert.deepEqual(regress.modelSpec, { name: 'tf1', version: 1, signatureName: '' });
    assert.deepEqual(b64s(regress.examples), EXPECTED.regression_request.examples);
    assert.equal(regress.examples[0]!.buffer, bytes.buffer, 'examples without a context are views of the request');
    const multi = decodeMultiInferenceRequest(fixture('multi_inference_request'));
    assert.deepEqual(
      multi.tasks,
      EXPECTED.multi_inference_request.tasks.map((t) => ({ modelSpec: { name: t.model_spec.name, signatureName: t.model_spec.signature_name }, methodName: t.method_name })),
    );
    assert.deepEqual(b64s(multi.examples), EXPECTED.multi_inference_request.examples);
    assert.deepEqual(decodeClassificationRequest(ClassificationRequest.encode({ model_spec: { name: 'm' } })).examples, []);
  });

  test('the last Input member on the wire wins, as a protobuf oneof does', () => {
    const withContext = fixture('classification_request');
    const plain = ClassificationRequest.encode({ input: { example_list: { examples: [{}] } } });
    assert.deepEqual(decodeClassificationRequest(Buffer.concat([withContext, plain])).examples.map((e) => e.length), [0]);
    assert.equal(decodeClassificationRequest(Buffer.concat([plain, withContext])).examples.length, 2);
  });

  test('EXPECTED FAILURE - an Example that protobuf cannot parse fails the request, INTERNAL', () => {
    const broken = Buffer.from([0x12, 0x06, 0x0a, 0x04, 0x0a, 0x02, 0x0a, 0x05]); // Example.features length past its end
    assert.throws(() => decodeClassificationRequest(broken), { code: 'INTERNAL', message: /^Failed to parse tensorflow.Example: / });
    // A FloatList whose packed values are 3 bytes long.
    const floatList = [0x0a, 0x03, 0, 0, 0];
    const feature = [0x12, floatList.length, ...floatList];
    const entry = [0x0a, 0x01, 0x66, 0x12, feature.length, ...feature];
    const features = [0x0a, entry.length, ...entry];
    const example = [0x0a, features.length, ...features];
    const list = [0x0a, example.length, ...example];
    const input = [0x0a, list.length, ...list];
    assert.throws(() => decodeClassificationRequest(Buffer.from([0x12, input.length, ...input])), {
      code: 'INTERNAL',
      message: 'Failed to parse tensorflow.Example: packed fixed32 field of a length not divisible by 4',
    });
  });

  test('Classify/Regress/MultiInference responses, byte for byte', () => {
    const spec = (signatureName: string) => ({ name: 'tf1', version: 1, signatureName });
    assert.deepEqual(
      encodeClassificationResponse({
        modelSpec: spec('classify_x_to_y'),
        result: { classifications: [{ classes: [{ label: 'a', score: 0.25 }, { label: 'b', score: 0.75 }] }, { classes: [{ label: 'a', score: 1 }, { label: 'b', score: 0 }] }] },
      }),
      fixture('classification_response'),
    );
    assert.deepEqual(
      encodeRegressionResponse({ modelSpec: spec('serving_default'), result: { regressions: [{ value: 2.5 }, { value: -1 }, { value: 0 }] } }),
      fixture('regression_response'),
    );
    assert.deepEqual(
      encodeMultiInferenceResponse({
        results: [
          { modelSpec: spec('classify_x_to_y'), classificationResult: { classifications: [{ classes: [{ label: '', score: 0.5 }] }] } },
          { modelSpec: spec('regress_x_to_y'), regressionResult: { regressions: [{ value: 3.5 }] } },
        ],
      }),
      fixture('multi_inference_response'),
    );
  });

  test('GetModelMetadata: the SignatureDefMap Any from a servable\'s signatureDefs', async () => {
    assert.deepEqual(decodeGetModelMetadataRequest(fixture('get_model_metadata_request')), {
      modelSpec: { name: 'tf1', version: 1, signatureName: '' },
      metadataFields: ['signature_def'],
    });
    const model = await loadSavedModel(modelPath('tf1_methods'));
    try {
      const ours = encodeGetModelMetadataResponse({ modelSpec: { name: 'tf1', version: 1, signatureName: '' }, signatureDefs: model.signatureDefJson });
      const theirs = fixture('get_model_metadata_response');
      const any = (bytes: Uint8Array) => GetModelMetadataResponse.decode(bytes).metadata!['signature_def']!;
      assert.equal(any(ours).type_url, EXPECTED.get_model_metadata_response.type_url);
      // Field by field: map entries have no defined order on the wire (TF Serving's C++ map neither).
      assert.deepEqual(SignatureDefMap.decode(any(ours).value!), SignatureDefMap.decode(any(theirs).value!));
    } finally {
      await model.dispose();
    }
  });

  test('GetModelStatus: the request\'s spec, and the manager\'s statuses byte for byte', () => {
    assert.deepEqual(decodeGetModelStatusRequest(fixture('get_model_status_request')), { modelSpec: { name: 'tf1', version: 2, signatureName: '' } });
    const bytes = encodeGetModelStatusResponse([
      { version: 2, state: 'AVAILABLE', error: null },
      { version: 1, state: 'END', error: { code: 'NOT_FOUND', message: 'Could not find SavedModel .pb or .pbtxt' } },
    ]);
    assert.deepEqual(bytes, fixture('get_model_status_response'));
  });

  test('HandleReloadConfigRequest: ModelConfigs in the serving layer\'s form, and the response', () => {
    const call = decodeReloadConfigRequest(fixture('reload_config_request'));
    const configs: ModelConfig[] = call.configs!;
    assert.deepEqual(configs, [
      {
        name: 'a',
        basePath: '/models/a',
        platform: 'tensorflow',
        versionPolicy: { kind: 'specific', versions: [1, 2] },
        versionLabels: new Map<string, number | bigint>([['stable', 1], ['huge', 2n ** 62n]]),
      },
      { name: 'b', basePath: '/models/b', platform: 'tensorflow', versionPolicy: { kind: 'latest', numVersions: 2 }, versionLabels: new Map() },
      { name: 'c', basePath: '/models/c', platform: '', versionPolicy: { kind: 'all' }, versionLabels: new Map(), modelType: 'TENSORFLOW' },
    ]);
    assert.deepEqual(validateModelConfigs(configs), ['Deprecated ModelServerConfig::model_type field used. Prefer ModelServerConfig::model_platform.']);
    assert.deepEqual(call.metricNames, ['/tensorflow/serving/model_warmup_latency']);
    assert.equal(decodeReloadConfigRequest(fixture('reload_config_request_custom')).configs, undefined);
    assert.equal(decodeReloadConfigRequest(Buffer.alloc(0)).configs, undefined);
    assert.deepEqual(
      encodeReloadConfigResponse({ status: null, metrics: [{ name: '/tensorflow/serving/model_warmup_latency', int64ValueIncrease: 3 }] }),
      fixture('reload_config_response'),
    );
  });

  test('EXPECTED FAILURE - a specific version beyond 2^53 in a ReloadConfigRequest', () => {
    const request = ReloadConfigRequest.encode({
      config: { model_config_list: { config: [{ name: 'a', model_version_policy: { specific: { versions: ['9007199254740993'] } } }] } },
    });
    assert.throws(() => decodeReloadConfigRequest(request), {
      code: 'INVALID_ARGUMENT',
      message: 'Version 9007199254740993 of model a is outside the range tfserve supports (-2^53+1 to 2^53-1)',
    });
  });
});

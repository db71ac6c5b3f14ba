// Observed calls (src/serving/call-observer.ts) as the serving layer fills them in, with real models:
// what metrics, the access log and request logging get for each transport call.
import assert from 'node:assert/strict';
import { after, before, suite, test } from 'node:test';

import type { Example } from '../../src/proto/example.js';
import { combineObservers, type InferenceObserver, ObservedCall } from '../../src/serving/call-observer.js';
import { CLASSIFY_METHOD, Inference, REGRESS_METHOD } from '../../src/serving/inference.js';
import { ModelManager } from '../../src/serving/manager.js';
import { loadServable, modelPath } from '../helpers.js';

const x = (value: number): Example => ({ features: { feature: { x: { floatList: { value: [value] } } } } });
const floats = (...values: number[]) => ({ dtype: 'float32' as const, shape: [values.length], data: Float32Array.from(values) });

interface Ended {
  call: ObservedCall;
  error: unknown;
  latencyUs: number;
}

/** Records every start and end. */
class Recorder implements InferenceObserver {
  readonly started: ObservedCall[] = [];
  readonly ended: Ended[] = [];
  callStarted(call: ObservedCall): void {
    this.started.push(call);
  }
  callEnded(call: ObservedCall, error: unknown, latencyUs: number): void {
    this.ended.push({ call, error, latencyUs });
  }
  only(): Ended {
    assert.equal(this.started.length, 1, 'one call started');
    assert.equal(this.ended.length, 1, 'one call ended');
    assert.equal(this.ended[0]!.call, this.started[0]);
    return this.ended[0]!;
  }
}

let manager: ModelManager;

before(async () => {
  manager = new ModelManager({ load: loadServable, maxLoadRetries: 0 });
  manager.setAspiredVersions('tf1', [{ version: 7, path: modelPath('tf1_methods') }]);
  await manager.settled();
});

after(() => manager.close());

function observed(): { inference: Inference; recorder: Recorder } {
  const recorder = new Recorder();
  return { inference: new Inference({ manager, observer: recorder }), recorder };
}

const GRPC = (api: string) => ({ entrypoint: 'GRPC', api, requestId: 'r1' });

suite('calls the serving layer observes itself (gRPC passes entrypoint and api)', () => {
  test('predict: model, version, the run under TF Serving\'s runtime label, the exchange', async () => {
    const { inference, recorder } = observed();
    const request = { modelSpec: { name: 'tf1' }, inputs: { x: floats(1, 2) } };
    const response = await inference.predict(request, GRPC('Predict'));
    const { call, error, latencyUs } = recorder.only();
    assert.equal(error, null);
    assert.deepEqual(
      { entrypoint: call.entrypoint, api: call.api, model: call.model, version: call.version, requestId: call.requestId, runtimeApi: call.runtimeApi, examples: call.examples },
      { entrypoint: 'GRPC', api: 'Predict', model: 'tf1', version: 7, requestId: 'r1', runtimeApi: 'Predict', examples: undefined },
    );
    assert.ok(call.runtimeUs !== undefined && call.runtimeUs >= 0 && call.runtimeUs <= latencyUs);
    assert.deepEqual(call.exchange, { kind: 'predict', request, response });
    assert.ok(call.ended);
  });

  test('classify and regress count their Examples; multi_inference runs once as MultiInference', async () => {
    const { inference, recorder } = observed();
    const input = { examples: [x(1), x(2), x(3)] };
    const classified = await inference.classify({ modelSpec: { name: 'tf1', signatureName: 'classify' }, input }, GRPC('Classify'));
    const regressed = await inference.regress({ modelSpec: { name: 'tf1', signatureName: 'regress' }, input }, GRPC('Regress'));
    const multi = await inference.multiInference(
      {
        tasks: [
          { modelSpec: { name: 'tf1', signatureName: 'classify' }, methodName: CLASSIFY_METHOD },
          { modelSpec: { name: 'tf1', signatureName: 'regress' }, methodName: REGRESS_METHOD },
        ],
        input: { examples: [x(0.5)] },
      },
      GRPC('MultiInference'),
    );
    assert.deepEqual(
      recorder.ended.map(({ call }) => [call.api, call.runtimeApi, call.examples, call.version, call.exchange?.kind]),
      [
        ['Classify', 'Classify', 3, 7, 'classify'],
        ['Regress', 'Regress', 3, 7, 'regress'],
        ['MultiInference', 'MultiInference', 1, 7, 'multi_inference'],
      ],
    );
    assert.equal(recorder.ended[0]!.call.exchange?.response, classified);
    assert.equal(recorder.ended[1]!.call.exchange?.response, regressed);
    assert.equal(recorder.ended[2]!.call.exchange?.response, multi);
  });

  test('metadata and status calls are observed too, with no run', async () => {
    const { inference, recorder } = observed();
    inference.getModelMetadata({ modelSpec: { name: 'tf1' }, metadataField: ['signature_def'] }, GRPC('GetModelMetadata'));
    inference.getModelStatus({ modelSpec: { name: 'tf1' } }, GRPC('GetModelStatus'));
    assert.deepEqual(
      recorder.ended.map(({ call, error }) => [call.api, call.model, call.version, call.runtimeApi, error]),
      [
        ['GetModelMetadata', 'tf1', 7, undefined, null],
        ['GetModelStatus', 'tf1', undefined, undefined, null],
      ],
    );
  });

  test('EXPECTED FAILURE - a call that fails before any model is resolved ends with its error', async () => {
    const { inference, recorder } = observed();
    await assert.rejects(inference.predict({ modelSpec: { name: 'nope' }, inputs: {} }, GRPC('Predict')), { code: 'NOT_FOUND' });
    const { call, error } = recorder.only();
    assert.equal(call.model, 'nope');
    assert.equal(call.version, undefined);
    assert.equal(call.exchange, undefined);
    assert.deepEqual([(error as { code: string }).code, (error as Error).message], ['NOT_FOUND', 'Servable not found for request: Latest(nope)']);
    assert.throws(() => inference.getModelStatus({ modelSpec: { name: 'nope' } }, GRPC('GetModelStatus')), { code: 'NOT_FOUND' });
    assert.equal((recorder.ended[1]!.error as { code: string }).code, 'NOT_FOUND');
  });

  test('EXPECTED FAILURE - a request refused after the version was resolved keeps the version, no exchange', async () => {
    const { inference, recorder } = observed();
    await assert.rejects(inference.predict({ modelSpec: { name: 'tf1', signatureName: 'nope' }, inputs: {} }, GRPC('Predict')), { code: 'FAILED_PRECONDITION' });
    const { call } = recorder.only();
    assert.equal(call.version, 7);
    assert.equal(call.runtimeApi, undefined);
    assert.equal(call.exchange, undefined);
  });

  test('a call on a handle (predictWith) is observed once', async () => {
    const { inference, recorder } = observed();
    await inference.predictWith(inference.acquire({ name: 'tf1' }), { inputs: { x: floats(1) } }, GRPC('Predict'));
    assert.equal(recorder.only().call.version, 7);
  });

  test('a call without an entrypoint (warmup, the library) is not observed', async () => {
    const { inference, recorder } = observed();
    await inference.predict({ modelSpec: { name: 'tf1' }, inputs: { x: floats(1) } });
    await inference.classifyWith(inference.acquire({ name: 'tf1' }), { modelSpec: { signatureName: 'classify', name: 'tf1' }, input: { examples: [x(1)] } });
    assert.equal(recorder.started.length, 0);
  });
});

suite('calls the transport observes (REST: Inference.startCall, ended by the transport)', () => {
  test('the serving layer fills the observation in and leaves the end to the transport', async () => {
    const { inference, recorder } = observed();
    const observation = inference.startCall({ entrypoint: 'REST', api: 'predict', model: 'tf1', requestId: 'req-1' })!;
    await inference.predict({ modelSpec: { name: 'tf1' }, inputs: { x: floats(3) } }, { observation });
    assert.equal(recorder.started.length, 1);
    assert.equal(recorder.ended.length, 0);
    assert.equal(observation.version, 7);
    assert.equal(observation.exchange?.kind, 'predict');
    observation.httpStatus = 200;
    observation.end(null);
    observation.end(new Error('a second end does nothing'));
    assert.equal(recorder.only().error, null);
  });

  test('no observer: nothing is observed and startCall gives nothing', () => {
    const inference = new Inference({ manager });
    assert.equal(inference.observing, false);
    assert.equal(inference.startCall({ entrypoint: 'REST', api: '', model: 'tf1' }), undefined);
  });
});

suite('combineObservers', () => {
  test('each observer in turn; one observer is itself; none is undefined', () => {
    const a = new Recorder();
    const b = new Recorder();
    const both = combineObservers([a, undefined, b])!;
    const call = new ObservedCall({ entrypoint: 'REST', api: '', model: 'm' }, both);
    call.end(null);
    assert.deepEqual([a.started.length, a.ended.length, b.started.length, b.ended.length], [1, 1, 1, 1]);
    assert.equal(combineObservers([a]), a);
    assert.equal(combineObservers([undefined]), undefined);
  });
});

// The classify and regress signatures as TF Serving checks and reads them (src/serving/examples-signatures.ts):
// which tensors to feed and fetch, and the typed results from the fetched tensors. No model is needed.
import assert from 'node:assert/strict';
import { suite, test } from 'node:test';

import type { Tensor } from '../../src/model/tensor.js';
import { classificationPlan, classificationResult, regressionPlan, regressionResult } from '../../src/serving/examples-signatures.js';

const CLASSIFY_DEF = { inputs: { inputs: { name: 'ex:0' } }, outputs: { classes: { name: 'c:0' }, scores: { name: 's:0' } } };
const REGRESS_DEF = { inputs: { inputs: { name: 'ex:0' } }, outputs: { outputs: { name: 'y:0' } } };

/** The classification result from whichever of classes/scores is given, fetched by tensor name. */
function classify(count: number, outputs: { classes?: Tensor; scores?: Tensor }) {
  const names: string[] = [];
  const tensors: Tensor[] = [];
  if (outputs.classes) names.push('c:0'), tensors.push(outputs.classes);
  if (outputs.scores) names.push('s:0'), tensors.push(outputs.scores);
  return classificationResult(CLASSIFY_DEF, count, names, tensors);
}

function regress(count: number, tensor: Tensor) {
  return regressionResult(REGRESS_DEF, count, ['y:0'], [tensor]);
}

suite('classify/regress plans', () => {
  test('the Examples go to the `inputs` tensor; classes and scores are fetched by name', () => {
    assert.deepEqual(classificationPlan(CLASSIFY_DEF, false), { input: 'ex:0', outputs: ['c:0', 's:0'] });
    assert.deepEqual(regressionPlan(REGRESS_DEF, false), { input: 'ex:0', outputs: ['y:0'] });
  });

  test('EXPECTED FAILURE - signature shape errors in TF Serving\'s words', () => {
    const fails = (fn: () => unknown, message: RegExp) => assert.throws(fn, { name: 'TfServeError', code: 'INVALID_ARGUMENT', message });
    fails(() => classificationPlan({ inputs: {}, outputs: CLASSIFY_DEF.outputs }, false), /^Expected one input Tensor\.$/);
    fails(() => classificationPlan({ inputs: CLASSIFY_DEF.inputs, outputs: {} }, false), /^Expected one or two output Tensors, found 0$/);
    fails(() => classificationPlan({ inputs: { x: { name: 'x:0' } }, outputs: CLASSIFY_DEF.outputs }, false), /^No classification inputs found in SignatureDef: inputs \{/);
    fails(() => classificationPlan({ inputs: CLASSIFY_DEF.inputs, outputs: { y: { name: 'y:0' } } }, false), /at least one of "classes" or "scores"/);
    fails(() => regressionPlan({ inputs: REGRESS_DEF.inputs, outputs: { y: { name: 'y:0' } } }, false), /^No regression outputs found in SignatureDef: /);
    fails(() => regressionPlan({ ...REGRESS_DEF, method_name: 'tensorflow/serving/predict' }, true), /^Expected regression signature method_name to be tensorflow\/serving\/regress\. Was: tensorflow\/serving\/predict$/);
  });
});

suite('classify/regress results from fetched tensors', () => {
  const floats = (shape: number[], values: number[]): Tensor => ({ dtype: 'float32', shape, data: Float32Array.from(values) });
  const doubles = (shape: number[], values: number[]): Tensor => ({ dtype: 'float64', shape, data: Float64Array.from(values) });
  const strings = (shape: number[], values: string[]): Tensor => ({ dtype: 'string', shape, data: values.map((v) => Buffer.from(v)) });

  test('classes and scores per example, labels "" without classes and 0.0 without scores (§8 C.12)', () => {
    const classes = strings([2, 3], ['car', 'bike', 'bus', 'car', 'bike', 'bus']);
    const scores = floats([2, 3], [0.2, 0.7, 0.1, 0.7, 0.2, 0.1]);
    const labelled = classify(2, { classes, scores });
    assert.deepEqual(
      labelled.classifications.map((c) => c.classes.map(({ label, score }) => [Buffer.from(label).toString(), score])),
      [[['car', Math.fround(0.2)], ['bike', Math.fround(0.7)], ['bus', Math.fround(0.1)]], [['car', Math.fround(0.7)], ['bike', Math.fround(0.2)], ['bus', Math.fround(0.1)]]],
    );
    const onlyClasses = classify(1, { classes: strings([1, 2], ['a', '"q"']) });
    assert.deepEqual(onlyClasses.classifications[0]!.classes.map(({ label, score }) => [Buffer.from(label).toString(), score]), [['a', 0], ['"q"', 0]]);
    const onlyScores = classify(1, { scores: floats([1, 1], [3]) });
    assert.deepEqual(onlyScores.classifications[0]!.classes.map(({ label, score }) => [label.length, score]), [[0, 3]]);
  });

  test('both aliases naming one tensor: it is the classes, as TF Serving\'s matching makes it', () => {
    const def = { outputs: { classes: { name: 'same:0' }, scores: { name: 'same:0' } } };
    const result = classificationResult(def, 1, ['same:0'], [strings([1, 1], ['only'])]);
    assert.deepEqual(result.classifications[0]!.classes.map(({ label, score }) => [Buffer.from(label).toString(), score]), [['only', 0]]);
  });

  test('regression values, NaN and infinities kept', () => {
    assert.deepEqual(regress(3, floats([3], [0.5, 1, 2])).regressions.map((r) => r.value), [0.5, 1, 2]);
    assert.deepEqual(regress(3, floats([3, 1], [Infinity, -Infinity, NaN])).regressions.map((r) => r.value), [Infinity, -Infinity, NaN]);
  });

  const CLASSIFY_ERRORS: [string, Record<string, Tensor>, string][] = [
    ['scores of rank 1', { scores: floats([2], [1, 2]) }, 'Expected Tensor shape: [batch_size num_classes] but got [2]'],
    ['classes of rank 3', { classes: strings([2, 1, 1], ['a', 'b']) }, 'Expected Tensor shape: [batch_size num_classes] but got [2,1,1]'],
    ['double scores', { scores: doubles([2, 1], [1, 2]) }, 'Expected scores Tensor of DT_FLOAT. Got: DT_DOUBLE'],
    ['float classes', { classes: floats([2, 1], [1, 2]) }, 'Expected classes Tensor of DT_STRING. Got: DT_FLOAT'],
    ['scores batch', { scores: floats([1, 2], [1, 2]) }, 'Expected scores output batch size of 2. Got: 1'],
    ['classes batch', { classes: strings([3, 1], ['a', 'b', 'c']) }, 'Expected classes output batch size of 2. Got: 3'],
    ['classes and scores disagree', { classes: strings([2, 1], ['a', 'b']), scores: floats([2, 2], [1, 2, 3, 4]) },
      'Tensors class and score should match in dim_size(1). Got 1 vs. 2'],
  ];
  for (const [name, outputs, message] of CLASSIFY_ERRORS) {
    test(`EXPECTED FAILURE - classify output check: ${name}`, () => {
      assert.throws(() => classify(2, outputs), { name: 'TfServeError', code: 'INVALID_ARGUMENT', message });
    });
  }

  const REGRESS_ERRORS: [string, Tensor, string][] = [
    ['[batch, 2]', floats([2, 2], [1, 2, 3, 4]), 'Expected output Tensor shape to be either [batch_size] or [batch_size, 1] but got [2,2]'],
    ['scalar', floats([], [1]), 'Expected output Tensor shape to be either [batch_size] or [batch_size, 1] but got []'],
    ['batch', floats([3], [1, 2, 3]), 'Input batch size did not match output batch size: 2 vs. 3'],
    ['double', doubles([2], [1, 2]), 'Expected output Tensor of DT_FLOAT.  Got: DT_DOUBLE'],
  ];
  for (const [name, tensor, message] of REGRESS_ERRORS) {
    test(`EXPECTED FAILURE - regress output check: ${name}`, () => {
      assert.throws(() => regress(2, tensor), { name: 'TfServeError', code: 'INVALID_ARGUMENT', message });
    });
  }
});


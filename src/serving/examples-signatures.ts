/**
 * The classify and regress signatures as TF Serving checks and reads them (PreProcessClassification,
 * PostProcessClassificationResult and their regression twins in servables/tensorflow/{classifier,
 * regressor}.cc): which tensor takes the serialized Examples, which to fetch, and the typed results
 * from the fetched tensors, with TF Serving's texts. Outputs are matched by graph tensor name, as TF
 * Serving matches them, so several signatures can share one run (MultiInference).
 */
import { DTYPES } from '../model/dtypes.js';
import { TfServeError } from '../model/errors.js';
import { dataTypeEnumName, type SignatureDefJson } from '../model/signature.js';
import type { Tensor } from '../model/tensor.js';
import { signatureDebugString } from '../proto/debug-string.js';

export const CLASSIFY_METHOD = 'tensorflow/serving/classify';
export const REGRESS_METHOD = 'tensorflow/serving/regress';

export interface ClassLabel {
  /** The label's raw bytes (DT_STRING need not be UTF-8); empty without a `classes` output. */
  readonly label: Uint8Array;
  /** 0 without a `scores` output. */
  readonly score: number;
}

export interface ClassificationResult {
  /** Per example, per class. */
  readonly classifications: { readonly classes: ClassLabel[] }[];
}

export interface RegressionResult {
  readonly regressions: { readonly value: number }[];
}

export interface ExamplesPlan {
  /** The graph tensor fed with the serialized Examples. */
  readonly input: string;
  /** Graph tensor names to fetch. */
  readonly outputs: string[];
}

function invalid(message: string): TfServeError {
  return new TfServeError('INVALID_ARGUMENT', message);
}

function has(map: Readonly<Record<string, unknown>> | undefined, key: string): boolean {
  return map !== undefined && Object.prototype.hasOwnProperty.call(map, key);
}

function keyCount(map: Readonly<Record<string, unknown>> | undefined): number {
  return Object.keys(map ?? {}).length;
}

function shapeText(shape: readonly number[]): string {
  return `[${shape.join(',')}]`;
}

/** The graph tensor behind a SignatureDef alias. */
export function tensorName(map: Readonly<Record<string, unknown>> | undefined, alias: string): string | undefined {
  const info = has(map, alias) ? (map![alias] as { name?: unknown }) : undefined;
  return typeof info?.name === 'string' ? info.name : undefined;
}

function methodCheck(enabled: boolean, def: SignatureDefJson, expected: string, what: string): void {
  if (enabled && def.method_name !== expected) {
    throw invalid(`Expected ${what} signature method_name to be ${expected}. Was: ${def.method_name ?? ''}`);
  }
}

export function classificationPlan(def: SignatureDefJson, methodNameCheck: boolean): ExamplesPlan {
  methodCheck(methodNameCheck, def, CLASSIFY_METHOD, 'classification');
  const outputs = keyCount(def.outputs);
  if (keyCount(def.inputs) !== 1) throw invalid('Expected one input Tensor.');
  if (outputs !== 1 && outputs !== 2) throw invalid(`Expected one or two output Tensors, found ${outputs}`);
  if (!has(def.inputs, 'inputs')) throw invalid(`No classification inputs found in SignatureDef: ${signatureDebugString(def)}`);
  const classes = tensorName(def.outputs, 'classes');
  const scores = tensorName(def.outputs, 'scores');
  if (!has(def.outputs, 'classes') && !has(def.outputs, 'scores')) {
    throw invalid(
      `Expected classification signature outputs to contain at least one of "classes" or "scores". Signature was: ${signatureDebugString(def)}`,
    );
  }
  const fetches: string[] = [];
  if (classes !== undefined) fetches.push(classes);
  if (scores !== undefined && scores !== classes) fetches.push(scores);
  return { input: tensorName(def.inputs, 'inputs') ?? '', outputs: fetches };
}

export function regressionPlan(def: SignatureDefJson, methodNameCheck: boolean): ExamplesPlan {
  methodCheck(methodNameCheck, def, REGRESS_METHOD, 'regression');
  if (keyCount(def.inputs) !== 1) throw invalid('Expected one input Tensor.');
  if (keyCount(def.outputs) !== 1) throw invalid('Expected one output Tensor.');
  if (!has(def.inputs, 'inputs')) throw invalid(`No regression inputs found in SignatureDef: ${signatureDebugString(def)}`);
  if (!has(def.outputs, 'outputs')) throw invalid(`No regression outputs found in SignatureDef: ${signatureDebugString(def)}`);
  return { input: tensorName(def.inputs, 'inputs') ?? '', outputs: [tensorName(def.outputs, 'outputs') ?? ''] };
}

/** The fetched tensor named `name`, matched as TF Serving matches: the first fetch of that name. */
function fetched(names: readonly string[], tensors: readonly Tensor[], name: string | undefined): Tensor | undefined {
  if (name === undefined) return undefined;
  const index = names.indexOf(name);
  return index < 0 ? undefined : tensors[index];
}

export function classificationResult(def: SignatureDefJson, count: number, names: readonly string[], tensors: readonly Tensor[]): ClassificationResult {
  const classesName = tensorName(def.outputs, 'classes');
  const classes = fetched(names, tensors, classesName);
  // When both aliases name one tensor, TF Serving's if/else-if takes it as the classes.
  const scoresName = tensorName(def.outputs, 'scores');
  const scores = scoresName === classesName && classes !== undefined ? undefined : fetched(names, tensors, scoresName);
  for (const [tensor, what, dtype, enumName] of [
    [classes, 'classes', 'string', 'DT_STRING'],
    [scores, 'scores', 'float32', 'DT_FLOAT'],
  ] as const) {
    if (tensor === undefined) continue;
    if (tensor.shape.length !== 2) throw invalid(`Expected Tensor shape: [batch_size num_classes] but got ${shapeText(tensor.shape)}`);
    if (tensor.dtype !== dtype) throw invalid(`Expected ${what} Tensor of ${enumName}. Got: ${dataTypeEnumName(DTYPES[tensor.dtype].tfType)}`);
    if (tensor.shape[0] !== count) throw invalid(`Expected ${what} output batch size of ${count}. Got: ${tensor.shape[0]}`);
  }
  let numClasses: number;
  if (classes !== undefined && scores !== undefined) {
    if (classes.shape[1] !== scores.shape[1]) {
      throw invalid(`Tensors class and score should match in dim_size(1). Got ${classes.shape[1]} vs. ${scores.shape[1]}`);
    }
    numClasses = classes.shape[1]!;
  } else {
    numClasses = (classes ?? scores)?.shape[1] ?? 0;
  }
  const labels = classes?.data as Uint8Array[] | undefined;
  const values = scores?.data as Float32Array | undefined;
  const empty = new Uint8Array(0);
  const classifications = new Array<{ classes: ClassLabel[] }>(count);
  for (let i = 0; i < count; i++) {
    const row = new Array<ClassLabel>(numClasses);
    for (let c = 0; c < numClasses; c++) {
      const at = i * numClasses + c;
      row[c] = { label: labels !== undefined ? labels[at]! : empty, score: values !== undefined ? values[at]! : 0 };
    }
    classifications[i] = { classes: row };
  }
  return { classifications };
}

export function regressionResult(def: SignatureDefJson, count: number, names: readonly string[], tensors: readonly Tensor[]): RegressionResult {
  const tensor = fetched(names, tensors, tensorName(def.outputs, 'outputs'));
  if (tensor === undefined) throw invalid("Could not find output tensor 'outputs'");
  const { shape } = tensor;
  if (!(shape.length === 1 || (shape.length === 2 && shape[1] === 1))) {
    throw invalid(`Expected output Tensor shape to be either [batch_size] or [batch_size, 1] but got ${shapeText(shape)}`);
  }
  if (shape[0] !== count) throw invalid(`Input batch size did not match output batch size: ${count} vs. ${shape[0]}`);
  if (tensor.dtype !== 'float32') throw invalid(`Expected output Tensor of DT_FLOAT.  Got: ${dataTypeEnumName(DTYPES[tensor.dtype].tfType)}`);
  const data = tensor.data as Float32Array;
  const regressions = new Array<{ value: number }>(count);
  for (let i = 0; i < count; i++) regressions[i] = { value: data[i]! };
  return { regressions };
}


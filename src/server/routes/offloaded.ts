/**
 * :predict, :classify and :regress for bodies that app.ts sends to the DecodePool (large or gzip JSON
 * bodies): step for step what routes/predict.ts and routes/classify-regress.ts do, in the same order
 * and with the same codecs, but the gunzip, the budget check, the parse, the decode (and, for a large
 * answer, the JSON encode) run on a pool thread, so the event loop keeps serving while they do.
 */
import { encodeClassificationResults, encodeRegressionResults } from '../../json/examples-codec.js';
import { encodePredictResponse } from '../../json/predict-codec.js';
import type { Tensor, TensorInput } from '../../model/tensor.js';
import type { ServableHandle } from '../../serving/manager.js';
import type { DecodePool } from '../decode-pool.js';
import type { ClassifyRegressKind } from './classify-regress.js';
import type { RestContext, RestTarget } from './context.js';

/** An answer with at least this many values is written to JSON on a pool thread (~10 ms of work). */
export const ENCODE_OFFLOAD_VALUES = 256 * 1024;

export interface OffloadedBody {
  readonly bytes: Uint8Array;
  readonly gzip: boolean;
  readonly budget: number;
}

function valueCount(outputs: Record<string, Tensor>): number {
  let count = 0;
  for (const tensor of Object.values(outputs)) count += tensor.data.length;
  return count;
}

export async function offloadedPredictRoute(context: RestContext, pool: DecodePool, target: RestTarget, body: OffloadedBody): Promise<Buffer> {
  const parsed = await pool.parsePredict(body.bytes, body.gzip, body.budget);
  const { inference } = context;
  const modelSpec = { ...target, signatureName: parsed.signatureName };
  let handle: ServableHandle;
  let inputs: Record<string, TensorInput>;
  try {
    handle = inference.acquire(modelSpec);
  } catch (error) {
    parsed.cancel();
    throw error;
  }
  try {
    inputs = await parsed.decode(inference.restPredictSignature(handle, parsed.signatureName));
  } catch (error) {
    parsed.cancel();
    handle.release();
    throw error;
  }
  const { outputs } = await inference.predictWith(handle, { modelSpec, inputs }, context.call);
  if (valueCount(outputs) >= ENCODE_OFFLOAD_VALUES) return pool.encodePredict(parsed.format, outputs);
  return encodePredictResponse(parsed.format, outputs);
}

export async function offloadedExamplesRoute(
  kind: ClassifyRegressKind,
  context: RestContext,
  pool: DecodePool,
  target: RestTarget,
  body: OffloadedBody,
): Promise<Buffer> {
  const { signatureName, serialized } = await pool.examples(body.bytes, body.gzip, body.budget);
  const request = { modelSpec: { ...target, signatureName }, input: { serialized } };
  if (kind === 'classify') return encodeClassificationResults((await context.inference.classify(request, context.call)).result);
  return encodeRegressionResults((await context.inference.regress(request, context.call)).result);
}

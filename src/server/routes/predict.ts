/**
 * POST ...:predict with a JSON body (spec §1.6–1.7): JSON -> tensors -> serving layer -> JSON. The body
 * is parsed before the servable is resolved, and decoded against the signature the REST handler looks
 * up itself, so errors come in TF Serving's order: JSON, then model, then signature, then values.
 */
import { decodePredictInputs, encodePredictResponse, parsePredictBody } from '../../json/predict-codec.js';
import type { RestContext, RestTarget } from './context.js';

export async function predictRoute(context: RestContext, target: RestTarget, body: Uint8Array): Promise<Buffer> {
  const parsed = parsePredictBody(body, context.json);
  const { inference } = context;
  const modelSpec = { ...target, signatureName: parsed.signatureName };
  const handle = inference.acquire(modelSpec);
  let inputs;
  try {
    inputs = decodePredictInputs(parsed, inference.restPredictSignature(handle, parsed.signatureName), context.json);
  } catch (error) {
    handle.release();
    throw error;
  }
  const response = await inference.predictWith(handle, { modelSpec, inputs }, context.call);
  return encodePredictResponse(parsed.format, response.outputs);
}

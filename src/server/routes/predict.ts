/** POST ...:predict (spec §1.6–1.7): JSON body -> tensors -> SavedModel.predict -> JSON body. */
import { TfServeError } from '../../model/errors.js';
import { DEFAULT_SIGNATURE } from '../../model/saved-model.js';
import type { ServableHandle } from '../../serving/manager.js';
import type { SignatureInfo } from '../../model/signature.js';
import { decodePredictInputs, encodePredictResponse, parsePredictBody } from '../../json/predict-codec.js';

/** TF Serving's lookup: an absent or empty `signature_name` means serving_default. */
export function lookupSignature(handle: ServableHandle, requested: string | undefined): { name: string; signature: SignatureInfo } {
  const name = requested ? requested : DEFAULT_SIGNATURE;
  const signature = Object.hasOwn(handle.model.signatures, name) ? handle.model.signatures[name] : undefined;
  if (!signature) {
    // The TF2 init op is a SignatureDef too: TF Serving finds it, then has no input map for it.
    if (Object.hasOwn(handle.model.signatureDefJson, name)) {
      throw new TfServeError('INVALID_ARGUMENT', `Failed to get input map for signature: ${requested ? requested : 'DEFAULT'}`);
    }
    throw new TfServeError('INVALID_ARGUMENT', `Serving signature name: "${name}" not found in signature def`);
  }
  return { name, signature };
}

export async function predictBody(body: Uint8Array, acquire: () => ServableHandle, timeoutMs: number | undefined): Promise<Buffer> {
  // JSON errors come before model lookup errors, as in TF Serving.
  const parsed = parsePredictBody(body);
  const handle = acquire();
  try {
    const { name, signature } = lookupSignature(handle, parsed.signatureName);
    const inputs = decodePredictInputs(parsed, signature);
    // TF Serving checks dtypes but not shapes: a signature tensor need not be a placeholder.
    const outputs = await handle.model.predict(inputs, { signature: name, checkShapes: false, timeoutMs });
    return encodePredictResponse(parsed.format, outputs);
  } finally {
    handle.release();
  }
}

/** GET .../metadata: the model spec and every SignatureDef, shaped as TF Serving prints them (spec §1.5). */
import type { ServableHandle } from '../../serving/manager.js';

export function metadataBody(handle: ServableHandle): string {
  const modelSpec = { name: handle.name, signature_name: '', version: String(handle.version) };
  const signatureDef = { signature_def: handle.model.signatureDefJson };
  return `{\n"model_spec":${JSON.stringify(modelSpec, null, 1)},\n"metadata": {"signature_def": ${JSON.stringify(signatureDef, null, 1)}}\n}\n`;
}

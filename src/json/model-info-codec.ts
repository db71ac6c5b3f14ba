/**
 * GetModelStatus and GetModelMetadata answers as TF Serving's REST API prints them (spec §1.4, §1.5):
 * protobuf's JSON printer with add_whitespace (1-space indent), proto field names, int64 as strings.
 */
import type { SignatureDefJson } from '../model/signature.js';

export interface ModelStatusJson {
  readonly modelVersionStatus: readonly {
    readonly version: number;
    readonly state: string;
    readonly status: { readonly errorCode: string; readonly errorMessage: string };
  }[];
}

export interface ModelMetadataJson {
  readonly modelSpec: { readonly name: string; readonly version: number };
  readonly signatureDef: Readonly<Record<string, SignatureDefJson>>;
}

export function encodeModelStatus(response: ModelStatusJson): string {
  const body = {
    model_version_status: response.modelVersionStatus.map((status) => ({
      version: String(status.version),
      state: status.state,
      status: { error_code: status.status.errorCode, error_message: status.status.errorMessage },
    })),
  };
  return `${JSON.stringify(body, null, 1)}\n`;
}

/** TF Serving assembles this one by hand around two printed protos; `signature_name` is always "". */
export function encodeModelMetadata(response: ModelMetadataJson): string {
  const modelSpec = { name: response.modelSpec.name, signature_name: '', version: String(response.modelSpec.version) };
  const signatureDef = { signature_def: response.signatureDef };
  return `{\n"model_spec":${JSON.stringify(modelSpec, null, 1)},\n"metadata": {"signature_def": ${JSON.stringify(signatureDef, null, 1)}}\n}\n`;
}

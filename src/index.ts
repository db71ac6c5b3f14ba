/** tfserve's public API. */
export { DTYPES, type DataTypeMap, type DType, type NumericDType } from './dtypes.js';
export { TfServeError, type StatusCode } from './errors.js';
export { bfloat16Bits, bfloat16Value, float16Bits, float16Value } from './float16.js';
export {
  DEFAULT_SIGNATURE,
  loadSavedModel,
  type LoadOptions,
  type PredictInputs,
  type PredictOptions,
  type PredictOutputs,
  SavedModel,
} from './saved-model.js';
export type { GpuConfig, SessionConfig } from './session-config.js';
export type { SignatureInfo, TensorInfo } from './signature.js';
export { allocTensor, type Tensor, type TensorInput } from './tensor.js';

import { binding } from './native.js';

/** The libtensorflow version the addon is linked against, e.g. "2.21.0". */
export function tensorflowVersion(): string {
  return binding().tensorflowVersion;
}

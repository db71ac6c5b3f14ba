/** tfserve's public API. */
export {
  type ClassifyResponse,
  type ClientOptions,
  type ExamplesRequest,
  type ImageLabel,
  type ImageSource,
  type ModelMetadataResponse,
  type ModelStatusResponse,
  type ModelTarget,
  type ModelVersionStatus,
  type PredictImageOptions,
  type PredictRequest,
  type PredictResponse,
  type RegressResponse,
  TFServingClient,
  TfServingHttpError,
} from './client.js';
export { DTYPES, type DataTypeMap, type DType, type NumericDType } from './dtypes.js';
export { TfServeError, type StatusCode } from './errors.js';
export {
  DEFAULT_LIMIT_INPUT_PIXELS,
  type GrayscaleMethod,
  type ImageDType,
  type ImageFit,
  type ImageKernel,
  type ImageLayout,
  type ImageSpec,
  IMAGE_SPEC_KEYS,
  type ImageTensor,
  type PreprocessOptions,
  preprocessImage,
} from './image/preprocess.js';
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

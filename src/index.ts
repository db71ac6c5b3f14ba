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
  type PredictTensorsOptions,
  type PredictTensorsResponse,
  type RegressResponse,
  TFServingClient,
  TfServingHttpError,
} from './client/rest-client.js';
export { type CudaPreload } from './model/cuda.js';
export { type DeviceInfo, type Placement, type TensorFlowBuild, tensorflowBuild } from './model/devices.js';
export { DTYPES, type DataTypeMap, type DType, type NumericDType } from './model/dtypes.js';
export { TfServeError, type StatusCode } from './model/errors.js';
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
export { bfloat16Bits, bfloat16Value, float16Bits, float16Value } from './model/float16.js';
export {
  DEFAULT_SIGNATURE,
  loadSavedModel,
  type LoadOptions,
  type PredictInputs,
  type PredictOptions,
  type PredictOutputs,
  SavedModel,
} from './model/saved-model.js';
export type { GpuConfig, SessionConfig } from './model/session-config.js';
export { parseConfigProto, type ConfigProtoMessage } from './proto/config-proto.js';
export type { SignatureInfo, TensorInfo } from './model/signature.js';
export { allocTensor, type Tensor, type TensorInput } from './model/tensor.js';

import { binding, cudaPreload as nativeCudaPreload } from './model/native.js';
import type { CudaPreload } from './model/cuda.js';

/** The CUDA libraries TFSERVE_CUDA_DIR made TensorFlow use, or null when it is not set. */
export function cudaPreload(): CudaPreload | null {
  return nativeCudaPreload();
}

/** The libtensorflow version the addon is linked against, e.g. "2.21.0". */
export function tensorflowVersion(): string {
  return binding().tensorflowVersion;
}

/**
 * tensorflow.serving.ModelService (GetModelStatus, HandleReloadConfigRequest) as a thin adapter over
 * the serving layer. A reload applies the new ModelConfigList as a config-file reload does
 * (ServerCore.reloadConfig) and answers `status` plus one Metric per requested name that tfserve
 * counts; a failed reload is the call's gRPC status, as TF Serving returns it.
 */
import type { UntypedServiceImplementation } from '@grpc/grpc-js';

import { TfServeError } from '../model/errors.js';
import {
  decodeGetModelStatusRequest,
  decodeReloadConfigRequest,
  encodeGetModelStatusResponse,
  encodeReloadConfigResponse,
  type ModelConfigValue,
} from '../proto/serving-codec.js';
import type { Inference } from '../serving/inference.js';
import { type CallLog, unary } from './call.js';

/** HandleReloadConfigRequest's config is the serving layer's ModelConfig list (the codec decodes that shape). */
export function modelService(inference: Inference<ModelConfigValue[]>, log: CallLog & { info(message: string): void }): UntypedServiceImplementation {
  return {
    GetModelStatus: unary(
      'GetModelStatus',
      (bytes, call) => {
        const { modelSpec } = decodeGetModelStatusRequest(bytes);
        const response = inference.getModelStatus({ modelSpec }, call);
        return encodeGetModelStatusResponse(
          response.modelVersionStatus.map(({ version, state, status }) => ({
            version,
            state,
            error: status.errorCode === 'OK' ? null : { code: status.errorCode, message: status.errorMessage },
          })),
        );
      },
      log,
    ),
    HandleReloadConfigRequest: unary(
      'HandleReloadConfigRequest',
      async (bytes) => {
        const request = decodeReloadConfigRequest(bytes);
        try {
          if (request.configs === undefined) {
            throw new TfServeError(
              'INVALID_ARGUMENT',
              'ServerModelConfig type not supported by HandleReloadConfigRequest. Only ModelConfigList is currently supported',
            );
          }
          request.configs.forEach((config, index) => {
            log.info(`Config entry index : ${index} path : ${config.basePath} name : ${config.name} platform : ${config.platform}`);
          });
          const response = await inference.reloadConfig({ config: request.configs, metricNames: request.metricNames });
          return encodeReloadConfigResponse({
            status: null,
            metrics: response.metric.map((m) => ({ name: m.name, int64ValueIncrease: m.int64ValueIncrease })),
          });
        } catch (error) {
          if (error instanceof TfServeError) log.error(`ReloadConfig failed: ${error.message}`);
          throw error;
        }
      },
      log,
    ),
  };
}

/**
 * tensorflow.serving.PredictionService (Predict, Classify, Regress, MultiInference, GetModelMetadata)
 * as a thin adapter: wire bytes -> src/proto/serving-codec.ts -> the serving layer (Inference) ->
 * codec -> wire bytes. Predict's input TensorProtos are decoded only when the serving layer reaches
 * them (after the servable, the signature and the input count), so errors come in TF Serving's order;
 * each is copied once into aligned memory that TensorFlow then uses as it is.
 */
import type { UntypedServiceImplementation } from '@grpc/grpc-js';

import {
  decodeClassificationRequest,
  decodeGetModelMetadataRequest,
  decodeMultiInferenceRequest,
  decodeRegressionRequest,
  encodeClassificationResponse,
  encodeGetModelMetadataResponse,
  encodeMultiInferenceResponse,
  encodePredictResponse,
  encodeRegressionResponse,
  type ModelSpec as WireModelSpec,
  readPredictRequest,
} from '../proto/serving-codec.js';
import { tensorFromProto } from '../proto/tensor-proto.js';
import type { Inference, ModelSpec, PredictInput, ServedModelSpec } from '../serving/inference.js';
import { type CallLog, unary } from './call.js';

export interface PredictionServiceOptions {
  /** --enable_serialization_as_tensor_content: Predict outputs in tensor_content instead of typed fields. */
  readonly tensorContent?: boolean;
}

function served(spec: ServedModelSpec): WireModelSpec {
  return { name: spec.name, version: spec.version, signatureName: spec.signatureName };
}

/** A task's spec as the serving layer takes it; an absent spec is one without a name. */
function taskSpec(spec: ModelSpec | undefined): ModelSpec {
  return spec ?? { name: '' };
}

export function predictionService(inference: Inference, log: CallLog, options: PredictionServiceOptions = {}): UntypedServiceImplementation {
  const tensorOptions = { tensorContent: options.tensorContent ?? false };
  return {
    Predict: unary(
      'Predict',
      async (bytes, call) => {
        const request = readPredictRequest(bytes);
        const inputs: Record<string, PredictInput> = {};
        for (const [alias, proto] of Object.entries(request.inputs)) {
          // defineProperty: an alias "__proto__" stays an input.
          Object.defineProperty(inputs, alias, { value: () => tensorFromProto(proto, alias), enumerable: true });
        }
        const response = await inference.predict({ modelSpec: request.modelSpec, inputs, outputFilter: request.outputFilter }, call);
        return encodePredictResponse({ modelSpec: served(response.modelSpec), outputs: response.outputs }, tensorOptions);
      },
      log,
    ),
    Classify: unary(
      'Classify',
      async (bytes, call) => {
        const request = decodeClassificationRequest(bytes);
        const response = await inference.classify({ modelSpec: request.modelSpec, input: { serialized: request.examples } }, call);
        const classifications = response.result.classifications.map(({ classes }) => ({
          classes: classes.map(({ label, score }) => ({ label: Buffer.from(label).toString('utf8'), score })),
        }));
        return encodeClassificationResponse({ modelSpec: served(response.modelSpec), result: { classifications } });
      },
      log,
    ),
    Regress: unary(
      'Regress',
      async (bytes, call) => {
        const request = decodeRegressionRequest(bytes);
        const response = await inference.regress({ modelSpec: request.modelSpec, input: { serialized: request.examples } }, call);
        return encodeRegressionResponse({ modelSpec: served(response.modelSpec), result: response.result });
      },
      log,
    ),
    MultiInference: unary(
      'MultiInference',
      async (bytes, call) => {
        const request = decodeMultiInferenceRequest(bytes);
        const tasks = request.tasks.map((task) => ({ modelSpec: taskSpec(task.modelSpec), methodName: task.methodName }));
        const response = await inference.multiInference({ tasks, input: { serialized: request.examples } }, call);
        return encodeMultiInferenceResponse({
          results: response.results.map((result) =>
            'classificationResult' in result
              ? {
                  modelSpec: served(result.modelSpec),
                  classificationResult: {
                    classifications: result.classificationResult.classifications.map(({ classes }) => ({
                      classes: classes.map(({ label, score }) => ({ label: Buffer.from(label).toString('utf8'), score })),
                    })),
                  },
                }
              : { modelSpec: served(result.modelSpec), regressionResult: result.regressionResult },
          ),
        });
      },
      log,
    ),
    GetModelMetadata: unary(
      'GetModelMetadata',
      (bytes, call) => {
        const request = decodeGetModelMetadataRequest(bytes);
        const response = inference.getModelMetadata({ modelSpec: request.modelSpec, metadataField: request.metadataFields }, call);
        return encodeGetModelMetadataResponse({
          modelSpec: { name: response.modelSpec.name, version: response.modelSpec.version, signatureName: '' },
          signatureDefs: response.signatureDef,
        });
      },
      log,
    ),
  };
}

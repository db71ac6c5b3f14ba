/**
 * KServe v2's gRPC service, `inference.GRPCInferenceService` (KSERVE_V2_SPEC.md A.3): ServerLive,
 * ServerReady, ModelReady, ServerMetadata, ModelMetadata and ModelInfer, as handlers over raw bytes
 * (serviceDefinition) that decode with src/proto/kserve-codec.ts, call the serving layer's
 * OpenInference and encode its answer. The methods of Triton's larger service that tritonclient can
 * also call (streaming, repository, statistics, shared memory) are not in the definition, so grpc-js
 * answers them UNIMPLEMENTED.
 *
 * Health and readiness answer OK with a false flag rather than an error; every error is the gRPC
 * status of its TfServeError (TF codes are gRPC codes). A call's deadline becomes the session run's
 * timeout, as TF Serving's gRPC handlers do. The server that hosts the service owns its options:
 * tritonclient sends messages up to 2 GiB, so it must raise grpc-js's 4 MiB receive limit.
 */
import type * as grpc from '@grpc/grpc-js';

import { grpcStatusOf } from '../proto/grpc-status.js';
import {
  decodeModelInferRequest,
  decodeModelRequest,
  encodeModelInferResponse,
  encodeModelMetadataResponse,
  encodeModelReadyResponse,
  encodeServerLiveResponse,
  encodeServerMetadataResponse,
  encodeServerReadyResponse,
} from '../proto/kserve-codec.js';
import { GRPC_INFERENCE_SERVICE, serviceDefinition } from '../proto/serving-protos.js';
import type { CallOptions } from '../serving/inference.js';
import type { OpenInference } from '../serving/open-inference.js';

type Call = grpc.ServerUnaryCall<Buffer, Uint8Array>;

/** A unary handler whose work may throw or reject: either way the caller gets the error's status. */
function unary(work: (request: Buffer, call: Call) => Uint8Array | Promise<Uint8Array>): grpc.handleUnaryCall<Buffer, Uint8Array> {
  return (call, callback) => {
    new Promise<Uint8Array>((resolve) => resolve(work(call.request, call))).then(
      (response) => callback(null, response),
      (error: unknown) => callback(grpcStatusOf(error)),
    );
  };
}

/** The call's deadline as a run timeout; none without a deadline. */
function callOptions(call: Call): CallOptions {
  const deadline = call.getDeadline();
  const at = deadline instanceof Date ? deadline.getTime() : deadline;
  // entrypoint and api: the serving layer observes the call (metrics, access log, request logs).
  const observed = { entrypoint: 'GRPC', api: 'ModelInfer' };
  return Number.isFinite(at) ? { timeoutMs: Math.max(1, at - Date.now()), ...observed } : observed;
}

export function inferenceServiceHandlers(v2: OpenInference): grpc.UntypedServiceImplementation {
  return {
    ServerLive: unary(() => encodeServerLiveResponse(v2.serverLive())),
    ServerReady: unary(() => encodeServerReadyResponse(v2.serverReady())),
    ModelReady: unary((bytes) => encodeModelReadyResponse(v2.modelReady(decodeModelRequest(bytes, 'ModelReadyRequest')).ready)),
    ServerMetadata: unary(() => encodeServerMetadataResponse(v2.serverMetadata())),
    ModelMetadata: unary((bytes) => encodeModelMetadataResponse(v2.modelMetadata(decodeModelRequest(bytes, 'ModelMetadataRequest')))),
    ModelInfer: unary(async (bytes, call) => {
      const { modelName, modelVersion, request } = decodeModelInferRequest(bytes);
      return encodeModelInferResponse(await v2.infer({ name: modelName, version: modelVersion }, request, callOptions(call)));
    }),
  };
}

/** Serves GRPCInferenceService on `server` (before it starts). */
export function addInferenceService(server: grpc.Server, v2: OpenInference): void {
  server.addService(serviceDefinition(GRPC_INFERENCE_SERVICE), inferenceServiceHandlers(v2));
}

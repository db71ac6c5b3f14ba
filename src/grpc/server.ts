/**
 * The gRPC transport: a @grpc/grpc-js Server serving TF Serving's tensorflow.serving.PredictionService
 * and tensorflow.serving.ModelService over the serving layer (prediction-service.ts, model-service.ts),
 * with grpc.health.v1.Health when asked (--enable_grpc_healthcheck_service: "", "ModelService" and
 * "PredictionService" SERVING) and server reflection (beyond TF Serving, so grpcurl needs no protos).
 *
 * Contract: buildGrpcServer never listens (the CLI binds it, as buildApp's server); messages travel as
 * raw bytes (src/proto/serving-protos.ts serviceDefinition) and are decoded by the adapters, so a bad
 * tensor answers INVALID_ARGUMENT rather than grpc-js's INTERNAL. Message size limits are INT32_MAX
 * both ways, as TF Serving sets them; --grpc_channel_arguments override them. close() stops accepting
 * calls, reports NOT_SERVING, lets calls in flight finish and forces the rest after a grace period.
 */
import path from 'node:path';

import * as grpc from '@grpc/grpc-js';
import type { PackageDefinition } from '@grpc/proto-loader';
import { ReflectionService } from '@grpc/reflection';
import { HealthImplementation, protoPath as healthProtoPath } from 'grpc-health-check';
import protobuf from 'protobufjs';

import type { ModelConfigValue } from '../proto/serving-codec.js';
import { GRPC_INFERENCE_SERVICE, MODEL_SERVICE, PREDICTION_SERVICE, protoDir, serviceDefinition } from '../proto/serving-protos.js';
import type { Inference } from '../serving/inference.js';
import type { OpenInference } from '../serving/open-inference.js';
import { addInferenceService } from './inference-service.js';
import { fileDescriptorProtos } from './descriptors.js';
import { modelService } from './model-service.js';
import { predictionService } from './prediction-service.js';

export const INT32_MAX = 2 ** 31 - 1;
/** The services TF Serving's health check names (besides "", the server as a whole). */
export const HEALTH_SERVICES = ['', 'ModelService', 'PredictionService'] as const;
const HEALTH_SERVICE = 'grpc.health.v1.Health';

export interface GrpcLog {
  debug(message: string): void;
  info(message: string): void;
  error(message: string): void;
}

export interface GrpcServerOptions {
  readonly inference: Inference<ModelConfigValue[]>;
  /** KServe v2's GRPCInferenceService beside TF Serving's services, when given. */
  readonly openInference?: OpenInference;
  /** --enable_serialization_as_tensor_content. */
  readonly tensorContent?: boolean;
  /** --enable_grpc_healthcheck_service. */
  readonly healthCheck?: boolean;
  /** grpc.reflection.v1 and v1alpha for the services served (default true). */
  readonly reflection?: boolean;
  /** --grpc_channel_arguments, as server options. */
  readonly channelArguments?: grpc.ChannelOptions;
  readonly log?: GrpcLog;
}

/** grpc.health.v1's descriptor, from the .proto grpc-health-check ships (<root>/health/v1/health.proto). */
function healthDescriptors(): Buffer[] {
  const root = new protobuf.Root();
  root.loadSync(healthProtoPath, { keepCase: true });
  root.resolveAll();
  return fileDescriptorProtos([HEALTH_SERVICE], root, path.resolve(path.dirname(healthProtoPath), '..', '..'));
}

const SILENT: GrpcLog = { debug() {}, info() {}, error() {} };

export class GrpcServer {
  readonly server: grpc.Server;
  readonly health: HealthImplementation | undefined;
  #closing: Promise<void> | undefined;

  constructor(options: GrpcServerOptions) {
    const log = options.log ?? SILENT;
    this.server = new grpc.Server({
      'grpc.max_receive_message_length': INT32_MAX,
      'grpc.max_send_message_length': INT32_MAX,
      ...options.channelArguments,
    });
    this.server.addService(serviceDefinition(PREDICTION_SERVICE), predictionService(options.inference, log, { tensorContent: options.tensorContent }));
    this.server.addService(serviceDefinition(MODEL_SERVICE), modelService(options.inference, log));
    const served: string[] = [PREDICTION_SERVICE, MODEL_SERVICE];
    if (options.openInference) {
      addInferenceService(this.server, options.openInference);
      served.push(GRPC_INFERENCE_SERVICE);
    }
    if (options.healthCheck) {
      this.health = new HealthImplementation(Object.fromEntries(HEALTH_SERVICES.map((name) => [name, 'SERVING' as const])));
      this.health.addToServer(this.server);
      served.push(HEALTH_SERVICE);
    }
    if (options.reflection ?? true) {
      const files = fileDescriptorProtos(served.filter((name) => name !== HEALTH_SERVICE));
      if (options.healthCheck) files.push(...healthDescriptors());
      // ReflectionService reads only the fileDescriptorProtos of a package definition.
      const definition = { files: { fileDescriptorProtos: files } } as unknown as PackageDefinition;
      new ReflectionService(definition, { services: served }).addToServer(this.server);
    }
  }

  /** Binds `address` ("0.0.0.0:8500", "unix:/tmp/tfserve.sock"); resolves with the bound port (0 for a socket). */
  listen(address: string, credentials: grpc.ServerCredentials = grpc.ServerCredentials.createInsecure()): Promise<number> {
    return new Promise((resolve, reject) => {
      this.server.bindAsync(address, credentials, (error, port) => (error ? reject(error) : resolve(port)));
    });
  }

  /**
   * Graceful stop: NOT_SERVING for every health service, no new calls, calls in flight finish; those
   * still running after `graceMs` (and Health.Watch streams, which never end by themselves) are cancelled.
   */
  close(graceMs = 10_000): Promise<void> {
    this.#closing ??= new Promise<void>((resolve) => {
      if (this.health) for (const name of HEALTH_SERVICES) this.health.setStatus(name, 'NOT_SERVING');
      const timer = setTimeout(() => this.server.forceShutdown(), graceMs);
      this.server.tryShutdown(() => {
        clearTimeout(timer);
        resolve();
      });
    });
    return this.#closing;
  }
}

export function buildGrpcServer(options: GrpcServerOptions): GrpcServer {
  return new GrpcServer(options);
}

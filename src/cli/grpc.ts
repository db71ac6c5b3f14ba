/**
 * The CLI's gRPC part: tensorflow_model_server's gRPC flags -> src/grpc's server, bound on
 * `0.0.0.0:--port` (0 = none) and `unix:--grpc_socket_path` (when set), insecure or with the TLS of
 * --ssl_config_file on both, and TF Serving's log lines for each. Failures are TfServeErrors the CLI
 * prints as `Failed to start server. Error: <CODE>: <message>`.
 */
import fs from 'node:fs';

import { ServerCredentials } from '@grpc/grpc-js';
import type { Logger } from 'pino';

import { TfServeError } from '../model/errors.js';
import { parseChannelArguments } from '../grpc/channel-arguments.js';
import { buildGrpcServer, type GrpcServer } from '../grpc/server.js';
import { readSslConfigFile, serverCredentials } from '../grpc/ssl-config.js';
import type { ModelConfigValue } from '../proto/serving-codec.js';
import type { Inference } from '../serving/inference.js';
import type { OpenInference } from '../serving/open-inference.js';
import type { Flags } from './flags.js';

/** grpc core unlinks a stale socket file before binding a UNIX socket; grpc-js does not. */
function unlinkStaleSocket(file: string): void {
  try {
    if (fs.statSync(file).isSocket()) fs.unlinkSync(file);
  } catch {
    // absent: nothing to do; anything else surfaces as the bind error
  }
}

export async function startGrpc(
  flags: Flags,
  inference: Inference<ModelConfigValue[]>,
  openInference: OpenInference,
  log: Logger,
): Promise<GrpcServer> {
  if (flags.port === 0 && flags.grpc_socket_path === '') {
    throw new TfServeError('INVALID_ARGUMENT', 'At least one of server_options.grpc_port or server_options.grpc_socket_path must be set.');
  }
  const credentials = flags.ssl_config_file ? serverCredentials(readSslConfigFile(flags.ssl_config_file)) : ServerCredentials.createInsecure();
  const server = buildGrpcServer({
    inference,
    openInference,
    tensorContent: flags.enable_serialization_as_tensor_content,
    healthCheck: flags.enable_grpc_healthcheck_service,
    channelArguments: parseChannelArguments(flags.grpc_channel_arguments),
    log: { debug: (m) => log.debug(m), info: (m) => log.info(m), error: (m) => log.error(m) },
  });
  const addresses: { uri: string; shown: string }[] = [];
  if (flags.port !== 0) addresses.push({ uri: `0.0.0.0:${flags.port}`, shown: `0.0.0.0:${flags.port}` });
  if (flags.grpc_socket_path !== '') {
    unlinkStaleSocket(flags.grpc_socket_path);
    addresses.push({ uri: `unix:${flags.grpc_socket_path}`, shown: `UNIX socket ${flags.grpc_socket_path}` });
  }
  for (const address of addresses) {
    try {
      await server.listen(address.uri, credentials);
    } catch (err) {
      log.error(`gRPC cannot listen on ${address.uri}: ${(err as Error).message}`);
      await server.close(0);
      throw new TfServeError('INVALID_ARGUMENT', 'Failed to BuildAndStart gRPC server', { cause: err });
    }
  }
  for (const address of addresses) log.info(`Running gRPC ModelServer at ${address.shown} ...`);
  return server;
}

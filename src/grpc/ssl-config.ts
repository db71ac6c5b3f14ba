/**
 * --ssl_config_file: TF Serving's SSLConfig text proto (server_key=1, server_cert=2, custom_ca=3,
 * client_verify=4; PEM texts inline) -> grpc-js ServerCredentials, as BuildServerCredentialsFromSSLConfigFile
 * builds them: the key pair always; `client_verify` requests and requires a client certificate and
 * verifies it against `custom_ca` (mutual TLS); without it no client certificate is asked for.
 * Errors are TfServeErrors in TF Serving's words (`Invalid protobuf file: '<path>'` + the parser's).
 */
import fs from 'node:fs';

import { ServerCredentials } from '@grpc/grpc-js';

import { TfServeError } from '../model/errors.js';
import { type MessageSchema, parseTextProto } from '../proto/text-format.js';
import { fsErrorToStatus } from '../serving/source.js';

export const SSL_CONFIG_SCHEMA: MessageSchema = {
  name: 'tensorflow.serving.SSLConfig',
  fields: {
    server_key: { type: 'string' },
    server_cert: { type: 'string' },
    custom_ca: { type: 'string' },
    client_verify: { type: 'bool' },
  },
};

export interface SslConfig {
  serverKey: string;
  serverCert: string;
  customCa: string;
  clientVerify: boolean;
}

export function parseSslConfig(text: string | Uint8Array, source: string): SslConfig {
  let message;
  try {
    message = parseTextProto(text, SSL_CONFIG_SCHEMA);
  } catch (error) {
    if (!(error instanceof TfServeError)) throw error;
    throw new TfServeError('INVALID_ARGUMENT', `Invalid protobuf file: '${source}': ${error.message}`, { cause: error });
  }
  return {
    serverKey: (message['server_key'] as string | undefined) ?? '',
    serverCert: (message['server_cert'] as string | undefined) ?? '',
    customCa: (message['custom_ca'] as string | undefined) ?? '',
    clientVerify: (message['client_verify'] as boolean | undefined) ?? false,
  };
}

export function readSslConfigFile(path: string): SslConfig {
  let bytes: Uint8Array;
  try {
    bytes = fs.readFileSync(path);
  } catch (error) {
    throw fsErrorToStatus(error, path);
  }
  return parseSslConfig(bytes, path);
}

/** The credentials TF Serving builds from an SSLConfig; INVALID_ARGUMENT when the PEM texts are not usable. */
export function serverCredentials(config: SslConfig): ServerCredentials {
  try {
    return ServerCredentials.createSsl(
      config.customCa ? Buffer.from(config.customCa) : null,
      [{ private_key: Buffer.from(config.serverKey), cert_chain: Buffer.from(config.serverCert) }],
      config.clientVerify,
    );
  } catch (error) {
    throw new TfServeError('INVALID_ARGUMENT', `SSLConfig cannot be used for TLS: ${(error as Error).message}`, { cause: error });
  }
}

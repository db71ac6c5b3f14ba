/**
 * --grpc_channel_arguments: `key=value,key=value`, each value passed as an int when it parses as a
 * 32-bit integer and as a string otherwise, as TF Serving's parseGrpcChannelArgs does. grpc-js takes
 * them as server options: the ones it knows (GRPC_JS_SERVER_ARGUMENTS) take effect, the others are
 * accepted and have no effect (grpc C++ likewise ignores arguments it does not use).
 */
import type { ChannelOptions } from '@grpc/grpc-js';

import { TfServeError } from '../model/errors.js';

/** The server options grpc-js 1.14 reads (README: "gRPC"); C++-only ones like grpc.so_reuseaddr are ignored. */
export const GRPC_JS_SERVER_ARGUMENTS = [
  'grpc.max_concurrent_streams',
  'grpc.max_receive_message_length',
  'grpc.max_send_message_length',
  'grpc.keepalive_time_ms',
  'grpc.keepalive_timeout_ms',
  'grpc.keepalive_permit_without_calls',
  'grpc.max_connection_age_ms',
  'grpc.max_connection_age_grace_ms',
  'grpc.max_connection_idle_ms',
  'grpc.http2.max_frame_size',
  'grpc-node.max_session_memory',
  'grpc.enable_channelz',
  'grpc.ssl_target_name_override',
] as const;

const INT32 = /^[-+]?\d+$/;

export function parseChannelArguments(text: string): ChannelOptions {
  const options: ChannelOptions = {};
  if (text === '') return options;
  for (const argument of text.split(',')) {
    const at = argument.indexOf('=');
    if (at <= 0) {
      throw new TfServeError('INVALID_ARGUMENT', `--grpc_channel_arguments: expected key=value but got "${argument}" in "${text}"`);
    }
    const key = argument.slice(0, at);
    const value = argument.slice(at + 1);
    const number = Number(value);
    options[key] = INT32.test(value) && number >= -(2 ** 31) && number < 2 ** 31 ? number : value;
  }
  return options;
}

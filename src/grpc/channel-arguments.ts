/**
 * --grpc_channel_arguments: `key=value,key=value`, each value passed as an int when it parses as a
 * 32-bit integer and as a string otherwise, as TF Serving's parseGrpcChannelArgs does. grpc-js takes
 * them as server options: the ones it knows take effect (README, "gRPC API", lists them), the others
 * are accepted and have no effect (grpc C++ likewise ignores arguments it does not use).
 */
import type { ChannelOptions } from '@grpc/grpc-js';

import { TfServeError } from '../model/errors.js';

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

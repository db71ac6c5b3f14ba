/**
 * The session flags -> the SessionConfig of every model, in the order and with the texts of
 * tensorflow_model_server's server.cc (BuildAndStart): the --tensorflow_session_config_file ConfigProto
 * first, then gpu_options.per_process_gpu_memory_fraction set from --per_process_gpu_memory_fraction,
 * then intra_op_ and inter_op_parallelism_threads from the parallelism flags. TF Serving sets those
 * three fields whatever the flags hold, so the flags' defaults (0) clear what a file says of them; we
 * do the same and warn about it. Reading the file is synchronous (startup).
 *
 * Without a file the config is the library's (allow_soft_placement: true, as tfserve always had);
 * with one it is the file's ConfigProto as TF Serving uses it. Runs take TensorFlow's inter-op pool
 * ('pool') when the file configures that pool (use_per_session_threads, session_inter_op_thread_pool),
 * which tfserve's default 'caller' runs would bypass.
 */
import fs from 'node:fs';

import { TfServeError } from '../model/errors.js';
import type { SessionConfig } from '../model/session-config.js';
import { parseConfigProto, type ConfigProtoMessage } from '../proto/config-proto.js';
import { fsErrorToStatus } from '../serving/source.js';
import type { Flags } from './flags.js';

/** Reads and parses a ConfigProto text file with ParseProtoTextFile's errors (NOT_FOUND, INVALID_ARGUMENT). */
export function readConfigProtoFile(file: string): ConfigProtoMessage {
  let bytes: Uint8Array;
  try {
    bytes = fs.readFileSync(file);
  } catch (err) {
    throw fsErrorToStatus(err, file);
  }
  return parseConfigProto(bytes, file);
}

type SessionFlags = Pick<
  Flags,
  | 'tensorflow_session_config_file'
  | 'per_process_gpu_memory_fraction'
  | 'tensorflow_session_parallelism'
  | 'tensorflow_intra_op_parallelism'
  | 'tensorflow_inter_op_parallelism'
>;

/** TF Serving's thread counts: the two separate flags when either is set, else session_parallelism for both. */
function threads(flags: SessionFlags): { intra: number; inter: number } {
  const { tensorflow_session_parallelism: both, tensorflow_intra_op_parallelism: intra, tensorflow_inter_op_parallelism: inter } = flags;
  if (both > 0 && intra > 0 && inter > 0) {
    throw new TfServeError(
      'INVALID_ARGUMENT',
      'Either configure server_options.tensorflow_session_parallelism or (server_options.tensorflow_intra_op_parallelism, server_options.tensorflow_inter_op_parallelism) separately. You cannot configure all.',
    );
  }
  return intra > 0 || inter > 0 ? { intra, inter } : { intra: both, inter: both };
}

// A field the flags set: what the file said of it is replaced, 0 clearing it as proto3 does.
function setFromFlag(message: ConfigProtoMessage, field: string, value: number, flag: string, warn: (message: string) => void): void {
  const before = message[field];
  if (before !== undefined && before !== value) {
    warn(
      `--tensorflow_session_config_file: ${field}: ${String(before)} is replaced by --${flag}=${value}, as tensorflow_model_server does; set the flag instead`,
    );
  }
  if (value === 0) delete message[field];
  else message[field] = value;
}

export function sessionConfigFromFlags(flags: SessionFlags, warn: (message: string) => void): SessionConfig {
  const file = flags.tensorflow_session_config_file;
  if (file === '') {
    const { intra, inter } = threads(flags);
    const config: SessionConfig = { intraOpThreads: intra > 0 ? intra : undefined, interOpThreads: inter > 0 ? inter : undefined };
    if (flags.per_process_gpu_memory_fraction > 0) config.gpu = { memoryFraction: flags.per_process_gpu_memory_fraction };
    return config;
  }
  const message = readConfigProtoFile(file);
  const gpu = (message['gpu_options'] ??= {}) as ConfigProtoMessage;
  setFromFlag(gpu, 'per_process_gpu_memory_fraction', flags.per_process_gpu_memory_fraction, 'per_process_gpu_memory_fraction', warn);
  const { intra, inter } = threads(flags);
  const intraFlag = flags.tensorflow_intra_op_parallelism > 0 || flags.tensorflow_inter_op_parallelism > 0 ? 'tensorflow_intra_op_parallelism' : 'tensorflow_session_parallelism';
  const interFlag = intraFlag === 'tensorflow_intra_op_parallelism' ? 'tensorflow_inter_op_parallelism' : 'tensorflow_session_parallelism';
  setFromFlag(message, 'intra_op_parallelism_threads', intra, intraFlag, warn);
  setFromFlag(message, 'inter_op_parallelism_threads', inter, interFlag, warn);
  const pools = message['session_inter_op_thread_pool'] as unknown[] | undefined;
  const usesPool = message['use_per_session_threads'] === true || (pools !== undefined && pools.length > 0);
  return { configProto: message, interOpExecution: usesPool ? 'pool' : 'caller' };
}

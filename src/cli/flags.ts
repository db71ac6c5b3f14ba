/**
 * tensorflow_model_server's flags: same names, meanings and defaults (spec §4), plus the few of our
 * own, marked "(tfserve)" (log level and format, body limit). Both `--flag=value` and `--flag value`;
 * booleans also as a bare `--flag` (or `--flag true|false`); `-flag` works like `--flag`, as in TF's
 * parser. Every tensorflow_model_server flag is accepted, so its command lines run unchanged; those
 * of features tfserve lacks carry a `notYet` note that the CLI logs at startup.
 *
 * Errors: an unknown flag, a positional argument or a malformed value throws FlagError, which the CLI
 * prints with the usage and exits 2 on. TF Serving continues past unknown flags and exits 255 on a bad
 * value; we think a typo deserves a stop, and 2 is the usual exit code for a usage error.
 */
import { isIP } from 'node:net';

export type FlagType = 'int' | 'bool' | 'string' | 'float';

interface FlagSpec {
  type: FlagType;
  default: number | boolean | string;
  help: string;
  /** For flags of features tfserve does not have yet: what happens instead, logged at startup. */
  notYet?: string;
  /** Log the notYet note only when the flag is given (features nobody gets by default). */
  quiet?: boolean;
}

const TFLITE = 'TensorFlow Lite models are not supported; the SavedModel is loaded';

export const FLAGS = {
  port: { type: 'int', default: 8500, help: 'gRPC port on 0.0.0.0 (0 = none; then --grpc_socket_path is needed)' },
  grpc_socket_path: { type: 'string', default: '', help: 'also serve gRPC on this UNIX socket' },
  rest_api_port: {
    type: 'int',
    default: 8501,
    help: 'REST port. TF Serving defaults to 0 (REST off); tfserve defaults to 8501 as TF Serving\'s Docker image does, and 0 asks the OS for a free port (logged)',
  },
  rest_api_num_threads: {
    type: 'int',
    default: 0,
    help: 'threads that gunzip, parse and decode large REST bodies (and write large answers) off the event loop; 0 = half the CPUs, 1 to 4 (TF Serving: its HTTP threads, 4 x CPUs)',
  },
  rest_api_timeout_in_ms: { type: 'int', default: 30000, help: 'TensorFlow run timeout for REST requests (0 = none)' },
  rest_api_enable_cors_support: { type: 'bool', default: false, help: 'add CORS headers to REST responses' },
  rest_api_body_limit_bytes: { type: 'int', default: 256 * 1024 * 1024, help: '(tfserve) largest REST request body' },
  rest_api_request_memory_budget_bytes: {
    type: 'int',
    default: 1024 * 1024 * 1024,
    help: '(tfserve) most memory one REST request may need to be read: its gunzipped body, parsed JSON and input tensors, estimated before any is spent; over it: 429',
  },
  rest_api_listen_address: {
    type: 'string',
    default: '',
    help: '(tfserve) IP address of the interface the REST port listens on, e.g. 127.0.0.1 or ::1; "" = every interface (::, else 0.0.0.0), as TF Serving',
  },
  rest_api_headers_timeout_in_ms: {
    type: 'int',
    default: 10_000,
    help: '(tfserve) time a client has to send a request\'s headers; then 408 and the connection closes (0 = none)',
  },
  rest_api_receive_timeout_in_ms: {
    type: 'int',
    default: 60_000,
    help: '(tfserve) time a client has to send a whole request, headers and body; then 408 and the connection closes (0 = none)',
  },
  rest_api_keepalive_timeout_in_ms: {
    type: 'int',
    default: 72_000,
    help: '(tfserve) an idle keep-alive connection is closed after this long',
  },
  drain_timeout_seconds: {
    type: 'int',
    default: 30,
    help: '(tfserve) on SIGTERM/SIGINT, time for requests in flight to finish; then the remaining connections are closed and the models unload',
  },
  model_name: { type: 'string', default: 'default', help: 'name of the model served with --model_base_path' },
  model_base_path: {
    type: 'string',
    default: '',
    help: 'folder holding the model\'s numbered versions; a relative path is taken from the working directory (TF Serving requires an absolute one)',
  },
  model_config_file: { type: 'string', default: '', help: 'ModelServerConfig text file; overrides --model_name/--model_base_path' },
  model_config_file_poll_wait_seconds: { type: 'int', default: 0, help: 're-read --model_config_file every N seconds (0 = never)' },
  file_system_poll_wait_seconds: { type: 'int', default: 1, help: 'poll base paths for new versions every N seconds (0 = once, <0 = never)' },
  flush_filesystem_caches: { type: 'bool', default: true, help: 'accepted for compatibility; tfserve keeps no file system caches to flush' },
  max_num_load_retries: { type: 'int', default: 5, help: 'retries after a failed load' },
  load_retry_interval_micros: { type: 'int', default: 60_000_000, help: 'delay between load retries' },
  num_load_threads: { type: 'int', default: 0, help: 'accepted; loads run on libuv worker threads, one at a time per model' },
  num_unload_threads: { type: 'int', default: 0, help: 'accepted; unloads run on libuv worker threads' },
  tensorflow_session_parallelism: { type: 'int', default: 0, help: 'intra- and inter-op threads (0 = TensorFlow chooses)' },
  tensorflow_intra_op_parallelism: { type: 'int', default: 0, help: 'threads one op may use (0 = TensorFlow chooses)' },
  tensorflow_inter_op_parallelism: { type: 'int', default: 0, help: 'ops run in parallel (0 = TensorFlow chooses)' },
  tensorflow_session_config_file: {
    type: 'string',
    default: '',
    help: 'tensorflow.ConfigProto text file: the session config of every model; --per_process_gpu_memory_fraction and the parallelism flags then set their fields, defaults (0) included, as TF Serving does',
  },
  per_process_gpu_memory_fraction: { type: 'float', default: 0, help: 'fraction of each GPU\'s memory to take, 0 to 1 (0 = TensorFlow default)' },
  saved_model_tags: { type: 'string', default: 'serve', help: 'comma-separated MetaGraph tags to load' },
  platform_config_file: {
    type: 'string',
    default: '',
    help: 'PlatformConfigMap text file',
    notYet: 'platform config files are not read yet; the session and batching flags apply',
    quiet: true,
  },
  allow_version_labels_for_unavailable_models: { type: 'bool', default: false, help: 'allow new labels on versions that are not loaded yet' },
  enable_batching: { type: 'bool', default: false, help: 'merge concurrent requests into batched TensorFlow runs' },
  batching_parameters_file: { type: 'string', default: '', help: 'BatchingParameters text file (needs --enable_batching)' },
  enable_per_model_batching_parameters: {
    type: 'bool',
    default: false,
    help: 'batch each version with its own <version>/batching_params.pbtxt (none: not batched); only the thread settings of --batching_parameters_file apply',
  },
  enable_model_warmup: {
    type: 'bool',
    default: true,
    help: 'replay <version>/assets.extra/tf_serving_warmup_requests after a load, before the version serves',
  },
  num_request_iterations_for_warmup: { type: 'int', default: 0, help: 'replays per warmup record (0 = 1)' },
  monitoring_config_file: {
    type: 'string',
    default: '',
    help: 'MonitoringConfig text file: prometheus_config { enable: true path: "/monitoring/prometheus/metrics" } serves the Prometheus page on the REST port',
  },
  access_log: { type: 'bool', default: false, help: '(tfserve) log one line per REST and gRPC request: model, version, API, status, latency, bytes, request id' },
  ssl_config_file: { type: 'string', default: '', help: 'SSLConfig text file: TLS (and with client_verify mutual TLS) for the gRPC API' },
  use_alts_credentials: {
    type: 'bool',
    default: false,
    help: 'ALTS credentials for the gRPC API',
    notYet: 'ALTS is not supported (grpc-js has no ALTS); gRPC is insecure or uses --ssl_config_file',
    quiet: true,
  },
  grpc_channel_arguments: { type: 'string', default: '', help: 'k=v,k=v gRPC server arguments (those grpc-js knows take effect)' },
  grpc_max_threads: { type: 'int', default: 0, help: 'accepted for compatibility; grpc-js serves calls on the event loop, runs go to tfserve\'s run threads' },
  enable_grpc_healthcheck_service: { type: 'bool', default: false, help: 'serve grpc.health.v1.Health ("", ModelService, PredictionService)' },
  enable_serialization_as_tensor_content: { type: 'bool', default: false, help: 'gRPC Predict outputs as tensor_content instead of typed fields' },
  enable_profiler: {
    type: 'bool',
    default: true,
    help: 'profiler service on the gRPC port',
    notYet: 'the TensorFlow profiler service is not served',
    quiet: true,
  },
  remove_unused_fields_from_bundle_metagraph: { type: 'bool', default: true, help: 'accepted for compatibility; tfserve keeps only signatures' },
  prefer_tflite_model: { type: 'bool', default: false, help: 'load model.tflite when present', notYet: TFLITE, quiet: true },
  num_tflite_pools: { type: 'int', default: 0, help: 'TensorFlow Lite interpreter pools (TF Serving: CPUs)', notYet: TFLITE, quiet: true },
  num_tflite_interpreters_per_pool: { type: 'int', default: 1, help: 'TensorFlow Lite interpreters per pool', notYet: TFLITE, quiet: true },
  enable_signature_method_name_check: {
    type: 'bool',
    default: false,
    help: 'enforce SignatureDef method names for predict/classify/regress',
  },
  xla_cpu_compilation_enabled: { type: 'bool', default: false, help: 'XLA JIT on CPU', notYet: 'XLA compilation is not enabled by tfserve', quiet: true },
  xla_gpu_compilation_enabled: { type: 'bool', default: false, help: 'XLA JIT on GPU', notYet: 'XLA compilation is not enabled by tfserve', quiet: true },
  thread_pool_factory_config_file: {
    type: 'string',
    default: '',
    help: 'ThreadPoolFactoryConfig text file',
    notYet: 'custom thread pools are not supported',
    quiet: true,
  },
  mixed_precision: { type: 'string', default: '', help: 'e.g. bfloat16', notYet: 'mixed precision rewriting is not supported', quiet: true },
  skip_initialize_tpu: { type: 'bool', default: false, help: 'accepted for compatibility; tfserve has no TPU support' },
  log_level: { type: 'string', default: 'info', help: '(tfserve) trace, debug, info, warn, error or fatal' },
  log_format: { type: 'string', default: 'json', help: '(tfserve) json (pino) or pretty' },
  version: { type: 'bool', default: false, help: 'print the versions and exit' },
  help: { type: 'bool', default: false, help: 'print this help and exit (also -h)' },
} as const satisfies Record<string, FlagSpec>;

export type FlagName = keyof typeof FLAGS;
export type Flags = { [K in FlagName]: (typeof FLAGS)[K]['default'] extends boolean ? boolean : (typeof FLAGS)[K]['default'] extends number ? number : string };

export class FlagError extends Error {
  override name = 'FlagError';
}

const INT32_MAX = 2 ** 31 - 1;
const INT32_MIN = -(2 ** 31);
export const LOG_LEVELS = ['trace', 'debug', 'info', 'warn', 'error', 'fatal'] as const;

function parseValue(name: FlagName, text: string): number | boolean | string {
  const spec: FlagSpec = FLAGS[name];
  switch (spec.type) {
    case 'bool':
      if (text === 'true' || text === '1') return true;
      if (text === 'false' || text === '0') return false;
      throw new FlagError(`Invalid value "${text}" for flag --${name}: expected true or false`);
    case 'int': {
      // load_retry_interval_micros is TF's only int64 flag; the others are int32, but for a memory budget.
      const int64 = name === 'load_retry_interval_micros' || name === 'rest_api_request_memory_budget_bytes';
      const value = Number(text.trim());
      const [min, max] = int64 ? [Number.MIN_SAFE_INTEGER, Number.MAX_SAFE_INTEGER] : [INT32_MIN, INT32_MAX];
      if (!/^\s*[-+]?\d+\s*$/.test(text) || value < min || value > max) {
        throw new FlagError(`Invalid value "${text}" for flag --${name}: expected an integer between ${min} and ${max}`);
      }
      return value;
    }
    case 'float': {
      const value = Number(text);
      if (!/^\s*[-+]?(\d+\.?\d*|\.\d+)(e[-+]?\d+)?\s*$/i.test(text) || !Number.isFinite(value)) {
        throw new FlagError(`Invalid value "${text}" for flag --${name}: expected a number`);
      }
      return value;
    }
    case 'string':
      return text;
  }
}

function isFlagName(name: string): name is FlagName {
  return Object.prototype.hasOwnProperty.call(FLAGS, name);
}

function editDistance(a: string, b: string): number {
  let row = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i += 1) {
    const next = [i];
    for (let j = 1; j <= b.length; j += 1) {
      next[j] = Math.min(row[j]! + 1, next[j - 1]! + 1, row[j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1));
    }
    row = next;
  }
  return row[b.length]!;
}

/** The known flag closest to a misspelt one, if any is close. */
function suggestion(name: string): string | undefined {
  let best: { name: string; distance: number } | undefined;
  for (const candidate of Object.keys(FLAGS)) {
    const distance = editDistance(name.toLowerCase(), candidate);
    if (!best || distance < best.distance) best = { name: candidate, distance };
  }
  return best && best.distance <= Math.max(2, Math.floor(name.length / 4)) ? best.name : undefined;
}

/**
 * Parses a command line (without node and the script). Returns every flag's value (defaults filled
 * in) and the set of flags given explicitly. A repeated flag keeps its last value, as in TF Serving.
 * Throws FlagError for anything it cannot take.
 */
export function parseFlags(argv: readonly string[]): { flags: Flags; given: Set<FlagName> } {
  const values: Record<string, number | boolean | string> = {};
  for (const [name, spec] of Object.entries(FLAGS)) values[name] = spec.default;
  const given = new Set<FlagName>();
  for (let i = 0; i < argv.length; i += 1) {
    const arg = argv[i]!;
    const match = /^--?([A-Za-z0-9_]+)(?:=(.*))?$/s.exec(arg);
    if (!match) throw new FlagError(`unknown argument: ${arg} (tfserve takes flags only, e.g. --model_base_path=/models/my_model)`);
    const name = match[1] === 'h' ? 'help' : match[1]!;
    if (!isFlagName(name)) {
      const near = suggestion(name);
      throw new FlagError(`unknown flag: --${name}${near ? ` (did you mean --${near}?)` : ''}`);
    }
    let text = match[2];
    if (text === undefined) {
      const next = argv[i + 1];
      if (FLAGS[name].type === 'bool') {
        if (next === 'true' || next === 'false') {
          text = next;
          i += 1;
        } else {
          text = 'true';
        }
      } else {
        // A following `--flag` is never taken as a value; `-1` is (poll periods may be negative).
        if (next === undefined || next.startsWith('--')) throw new FlagError(`flag --${name} needs a value`);
        text = next;
        i += 1;
      }
    }
    values[name] = parseValue(name, text);
    given.add(name);
  }
  const flags = values as Flags;
  checkRanges(flags);
  return { flags, given };
}

/** Values that parse but cannot work. */
function checkRanges(flags: Flags): void {
  const bad = (name: FlagName, expected: string): FlagError =>
    new FlagError(`Invalid value "${String(flags[name])}" for flag --${name}: expected ${expected}`);
  if (flags.rest_api_port < 0 || flags.rest_api_port > 65535) throw bad('rest_api_port', 'a port between 0 and 65535');
  if (flags.port < 0 || flags.port > 65535) throw bad('port', 'a port between 0 and 65535');
  if (flags.rest_api_body_limit_bytes <= 0) throw bad('rest_api_body_limit_bytes', 'a positive integer');
  if (flags.rest_api_request_memory_budget_bytes <= 0) throw bad('rest_api_request_memory_budget_bytes', 'a positive integer');
  if (flags.rest_api_num_threads < 0) throw bad('rest_api_num_threads', 'a number >= 0');
  if (flags.rest_api_listen_address !== '' && isIP(flags.rest_api_listen_address) === 0) {
    throw bad('rest_api_listen_address', 'an IPv4 or IPv6 address, or "" for every interface');
  }
  for (const name of ['rest_api_headers_timeout_in_ms', 'rest_api_receive_timeout_in_ms', 'drain_timeout_seconds'] as const) {
    if (flags[name] < 0) throw bad(name, 'a number >= 0');
  }
  if (flags.rest_api_keepalive_timeout_in_ms <= 0) throw bad('rest_api_keepalive_timeout_in_ms', 'a positive integer');
  if (flags.rest_api_receive_timeout_in_ms > 0 && flags.rest_api_headers_timeout_in_ms > flags.rest_api_receive_timeout_in_ms) {
    throw bad('rest_api_headers_timeout_in_ms', `at most --rest_api_receive_timeout_in_ms (${flags.rest_api_receive_timeout_in_ms})`);
  }
  if (flags.per_process_gpu_memory_fraction < 0 || flags.per_process_gpu_memory_fraction > 1) {
    throw bad('per_process_gpu_memory_fraction', 'a number between 0 and 1');
  }
  if (!(LOG_LEVELS as readonly string[]).includes(flags.log_level)) throw bad('log_level', `one of ${LOG_LEVELS.join(', ')}`);
  if (flags.log_format !== 'json' && flags.log_format !== 'pretty') throw bad('log_format', 'json or pretty');
}

export function usage(): string {
  const lines = ['usage: tfserve [--flag=value ...]', '', 'Flags (tensorflow_model_server\'s names and defaults):'];
  for (const [name, spec] of Object.entries(FLAGS) as [string, FlagSpec][]) {
    const fallback = spec.type === 'string' ? JSON.stringify(spec.default) : String(spec.default);
    lines.push(`  --${name}=${spec.type.padEnd(6)} default: ${fallback}`, `      ${spec.help}${spec.notYet ? ` [${spec.notYet}]` : ''}`);
  }
  return lines.join('\n');
}

import assert from 'node:assert/strict';
import { suite, test } from 'node:test';

import { FLAGS, FlagError, parseFlags, usage } from '../../src/cli/flags.js';

// Every tensorflow_model_server flag of TFSERVING_SPEC.md §4, with its default there. tfserve's
// deliberate differences are listed separately below.
const TF_SERVING_DEFAULTS: Record<string, number | boolean | string> = {
  port: 8500,
  grpc_socket_path: '',
  rest_api_timeout_in_ms: 30000,
  rest_api_enable_cors_support: false,
  enable_batching: false,
  batching_parameters_file: '',
  enable_per_model_batching_parameters: false,
  allow_version_labels_for_unavailable_models: false,
  model_config_file: '',
  model_config_file_poll_wait_seconds: 0,
  model_name: 'default',
  model_base_path: '',
  num_load_threads: 0,
  num_unload_threads: 0,
  max_num_load_retries: 5,
  load_retry_interval_micros: 60000000,
  file_system_poll_wait_seconds: 1,
  flush_filesystem_caches: true,
  tensorflow_session_parallelism: 0,
  tensorflow_intra_op_parallelism: 0,
  tensorflow_inter_op_parallelism: 0,
  tensorflow_session_config_file: '',
  per_process_gpu_memory_fraction: 0,
  saved_model_tags: 'serve',
  platform_config_file: '',
  ssl_config_file: '',
  use_alts_credentials: false,
  grpc_channel_arguments: '',
  enable_model_warmup: true,
  num_request_iterations_for_warmup: 0,
  monitoring_config_file: '',
  remove_unused_fields_from_bundle_metagraph: true,
  prefer_tflite_model: false,
  num_tflite_interpreters_per_pool: 1,
  enable_signature_method_name_check: false,
  xla_cpu_compilation_enabled: false,
  xla_gpu_compilation_enabled: false,
  enable_profiler: true,
  thread_pool_factory_config_file: '',
  mixed_precision: '',
  skip_initialize_tpu: false,
  enable_grpc_healthcheck_service: false,
  enable_serialization_as_tensor_content: false,
  version: false,
};

// TF Serving's defaults that depend on the machine (4 x CPUs...) or that tfserve changes on purpose.
const DIFFERENT_DEFAULTS: Record<string, number | boolean | string> = {
  rest_api_port: 8501, // TF: 0 (REST off); tfserve has only REST, like TF Serving's Docker image
  rest_api_num_threads: 0, // TF: 4 x CPUs; ignored
  grpc_max_threads: 0, // TF: 4 x CPUs; no gRPC yet
  num_tflite_pools: 0, // TF: CPUs; no TFLite
};

function flagError(argv: string[], message: RegExp): void {
  assert.throws(() => parseFlags(argv), (err: unknown) => {
    assert.ok(err instanceof FlagError, `expected FlagError, got ${String(err)}`);
    assert.match(err.message, message);
    return true;
  });
}

suite('parseFlags', () => {
  test('no arguments: every flag has TF Serving\'s default', () => {
    const { flags, given } = parseFlags([]);
    assert.equal(given.size, 0);
    for (const [name, value] of Object.entries(TF_SERVING_DEFAULTS)) {
      assert.equal((flags as Record<string, unknown>)[name], value, `default of --${name}`);
    }
    for (const [name, value] of Object.entries(DIFFERENT_DEFAULTS)) {
      assert.equal((flags as Record<string, unknown>)[name], value, `default of --${name}`);
    }
    assert.equal(flags.log_level, 'info');
    assert.equal(flags.log_format, 'json');
    assert.equal(flags.access_log, false);
    assert.equal(flags.help, false);
  });

  test('accepts every tensorflow_model_server flag of the spec', () => {
    for (const name of [...Object.keys(TF_SERVING_DEFAULTS), ...Object.keys(DIFFERENT_DEFAULTS)]) {
      assert.ok(Object.hasOwn(FLAGS, name), `--${name} is missing`);
    }
  });

  test('the integration test\'s command line of TF Serving parses', () => {
    const { flags } = parseFlags([
      '--port=9000',
      '--rest_api_port=8501',
      '--rest_api_timeout_in_ms=5000',
      '--grpc_socket_path=/tmp/tf-serving.sock',
      '--grpc_channel_arguments=grpc.so_reuseaddr=1',
      '--model_name=default',
      '--model_base_path=/models/default',
    ]);
    assert.equal(flags.port, 9000);
    assert.equal(flags.rest_api_timeout_in_ms, 5000);
    assert.equal(flags.grpc_socket_path, '/tmp/tf-serving.sock');
    // Only the first '=' separates name and value.
    assert.equal(flags.grpc_channel_arguments, 'grpc.so_reuseaddr=1');
    assert.equal(flags.model_base_path, '/models/default');
  });

  test('--flag=value and --flag value give the same result; given lists what was set', () => {
    const a = parseFlags(['--model_name=m', '--rest_api_port=9001', '--per_process_gpu_memory_fraction=0.5']);
    const b = parseFlags(['--model_name', 'm', '--rest_api_port', '9001', '--per_process_gpu_memory_fraction', '0.5']);
    assert.deepEqual(a.flags, b.flags);
    assert.deepEqual([...a.given].sort(), ['model_name', 'per_process_gpu_memory_fraction', 'rest_api_port']);
    assert.deepEqual([...b.given].sort(), [...a.given].sort());
    assert.equal(a.flags.rest_api_port, 9001);
    assert.equal(a.flags.per_process_gpu_memory_fraction, 0.5);
  });

  test('a single dash works as two, as in TF\'s parser; -h is --help', () => {
    assert.equal(parseFlags(['-model_name=x']).flags.model_name, 'x');
    assert.equal(parseFlags(['-h']).flags.help, true);
    assert.equal(parseFlags(['--help']).flags.help, true);
  });

  test('booleans: bare, =true/false, =1/0 and a following true/false', () => {
    assert.equal(parseFlags(['--enable_batching']).flags.enable_batching, true);
    assert.equal(parseFlags(['--enable_batching=true']).flags.enable_batching, true);
    assert.equal(parseFlags(['--enable_batching=1']).flags.enable_batching, true);
    assert.equal(parseFlags(['--enable_model_warmup=false']).flags.enable_model_warmup, false);
    assert.equal(parseFlags(['--enable_model_warmup=0']).flags.enable_model_warmup, false);
    assert.equal(parseFlags(['--enable_model_warmup', 'false']).flags.enable_model_warmup, false);
    // A bare boolean does not swallow the next flag.
    const { flags } = parseFlags(['--rest_api_enable_cors_support', '--model_name=x']);
    assert.equal(flags.rest_api_enable_cors_support, true);
    assert.equal(flags.model_name, 'x');
  });

  test('integers: signs and surrounding spaces; negative values as a separate argument', () => {
    assert.equal(parseFlags(['--file_system_poll_wait_seconds=-1']).flags.file_system_poll_wait_seconds, -1);
    assert.equal(parseFlags(['--file_system_poll_wait_seconds', '-1']).flags.file_system_poll_wait_seconds, -1);
    assert.equal(parseFlags(['--max_num_load_retries=+3']).flags.max_num_load_retries, 3);
    assert.equal(parseFlags(['--max_num_load_retries= 7 ']).flags.max_num_load_retries, 7);
    // The one int64 flag takes values beyond int32.
    assert.equal(parseFlags(['--load_retry_interval_micros=600000000000']).flags.load_retry_interval_micros, 600000000000);
  });

  test('strings keep their text, including an empty value and "=" inside', () => {
    assert.equal(parseFlags(['--model_base_path=']).flags.model_base_path, '');
    assert.equal(parseFlags(['--saved_model_tags=serve,gpu']).flags.saved_model_tags, 'serve,gpu');
    assert.equal(parseFlags(['--model_name=a=b']).flags.model_name, 'a=b');
  });

  test('the last of a repeated flag wins', () => {
    assert.equal(parseFlags(['--model_name=a', '--model_name=b']).flags.model_name, 'b');
  });

  test('usage lists every flag with its default', () => {
    const text = usage();
    assert.match(text, /^usage: tfserve/);
    for (const name of Object.keys(FLAGS)) assert.match(text, new RegExp(`--${name}=`), `usage lacks --${name}`);
    assert.match(text, /--model_name=string\s+default: "default"/);
    assert.match(text, /--file_system_poll_wait_seconds=int\s+default: 1\b/);
  });

  test('EXPECTED FAILURE - unknown flags are errors, with a suggestion when one is close', () => {
    flagError(['--no_such_flag=1'], /^unknown flag: --no_such_flag$/);
    flagError(['--model_nme=x'], /unknown flag: --model_nme \(did you mean --model_name\?\)/);
    flagError(['--rest_api_prot', '8501'], /did you mean --rest_api_port\?/);
  });

  test('EXPECTED FAILURE - positional arguments are errors', () => {
    flagError(['serve'], /^unknown argument: serve/);
    flagError(['--model_name=x', '/models/x'], /unknown argument: \/models\/x/);
    flagError(['---model_name=x'], /unknown argument: ---model_name=x/);
  });

  test('EXPECTED FAILURE - a value-taking flag at the end or before another flag needs a value', () => {
    flagError(['--model_name'], /^flag --model_name needs a value$/);
    flagError(['--rest_api_port', '--model_name=x'], /^flag --rest_api_port needs a value$/);
  });

  test('EXPECTED FAILURE - malformed values name the flag and what it expects', () => {
    flagError(['--rest_api_port=abc'], /Invalid value "abc" for flag --rest_api_port: expected an integer/);
    flagError(['--rest_api_port=85.01'], /for flag --rest_api_port: expected an integer/);
    flagError(['--rest_api_port='], /Invalid value "" for flag --rest_api_port/);
    flagError(['--port=0x10'], /for flag --port: expected an integer/);
    flagError(['--port=2147483648'], /for flag --port: expected an integer between -2147483648 and 2147483647/);
    flagError(['--enable_batching=yes'], /Invalid value "yes" for flag --enable_batching: expected true or false/);
    flagError(['--per_process_gpu_memory_fraction=half'], /for flag --per_process_gpu_memory_fraction: expected a number/);
    flagError(['--per_process_gpu_memory_fraction=Infinity'], /expected a number/);
    flagError(['--per_process_gpu_memory_fraction='], /expected a number/);
  });

  test('EXPECTED FAILURE - values out of their range', () => {
    flagError(['--rest_api_port=65536'], /Invalid value "65536" for flag --rest_api_port: expected a port between 0 and 65535/);
    flagError(['--rest_api_port=-1'], /for flag --rest_api_port: expected a port/);
    flagError(['--rest_api_body_limit_bytes=0'], /for flag --rest_api_body_limit_bytes: expected a positive integer/);
    flagError(['--per_process_gpu_memory_fraction=1.5'], /expected a number between 0 and 1/);
    flagError(['--log_level=verbose'], /Invalid value "verbose" for flag --log_level: expected one of trace, debug, info, warn, error, fatal/);
    flagError(['--log_format=xml'], /Invalid value "xml" for flag --log_format: expected json or pretty/);
  });

  test('port 0 is valid (the OS picks a free port)', () => {
    assert.equal(parseFlags(['--rest_api_port=0']).flags.rest_api_port, 0);
  });

  test('(tfserve) connection flags: listen address, client timeouts, drain deadline and their defaults', () => {
    const { flags } = parseFlags([]);
    assert.equal(flags.rest_api_listen_address, '');
    assert.equal(flags.rest_api_headers_timeout_in_ms, 10_000);
    assert.equal(flags.rest_api_receive_timeout_in_ms, 60_000);
    assert.equal(flags.rest_api_keepalive_timeout_in_ms, 72_000);
    assert.equal(flags.drain_timeout_seconds, 30);
    for (const address of ['127.0.0.1', '::1', '0.0.0.0', '::', 'fe80::1']) {
      assert.equal(parseFlags([`--rest_api_listen_address=${address}`]).flags.rest_api_listen_address, address);
    }
    const zero = parseFlags(['--rest_api_headers_timeout_in_ms=0', '--rest_api_receive_timeout_in_ms=0', '--drain_timeout_seconds=0']).flags;
    assert.deepEqual([zero.rest_api_headers_timeout_in_ms, zero.rest_api_receive_timeout_in_ms, zero.drain_timeout_seconds], [0, 0, 0]);
  });

  test('(tfserve) the memory budget takes int64 values; --rest_api_num_threads sizes the decode threads', () => {
    assert.equal(parseFlags([]).flags.rest_api_request_memory_budget_bytes, 1024 ** 3);
    assert.equal(parseFlags(['--rest_api_request_memory_budget_bytes=8589934592']).flags.rest_api_request_memory_budget_bytes, 8 * 1024 ** 3);
    assert.equal(parseFlags(['--rest_api_num_threads=3']).flags.rest_api_num_threads, 3);
    flagError(['--rest_api_request_memory_budget_bytes=0'], /for flag --rest_api_request_memory_budget_bytes: expected a positive integer/);
    flagError(['--rest_api_num_threads=-1'], /for flag --rest_api_num_threads: expected a number >= 0/);
  });

  test('EXPECTED FAILURE - bad connection flag values', () => {
    flagError(['--rest_api_listen_address=localhost'], /Invalid value "localhost" for flag --rest_api_listen_address: expected an IPv4 or IPv6 address, or "" for every interface/);
    flagError(['--rest_api_listen_address=[::1]'], /expected an IPv4 or IPv6 address/);
    flagError(['--rest_api_headers_timeout_in_ms=-1'], /for flag --rest_api_headers_timeout_in_ms: expected a number >= 0/);
    flagError(['--drain_timeout_seconds=-5'], /for flag --drain_timeout_seconds: expected a number >= 0/);
    flagError(['--rest_api_keepalive_timeout_in_ms=0'], /for flag --rest_api_keepalive_timeout_in_ms: expected a positive integer/);
    flagError(
      ['--rest_api_headers_timeout_in_ms=5000', '--rest_api_receive_timeout_in_ms=1000'],
      /Invalid value "5000" for flag --rest_api_headers_timeout_in_ms: expected at most --rest_api_receive_timeout_in_ms \(1000\)/,
    );
  });
});

/**
 * tensorflow_model_server's `--model_config_file` (a ModelServerConfig in protobuf text format) and its
 * `--model_name`/`--model_base_path` pair, turned into typed ModelConfig records, plus ServerCore's
 * validation of a config list with TF Serving's exact messages.
 *
 * Contract: parsing and validation are separate steps, as in TF Serving, where a file that parses can
 * still be refused by ReloadConfig: `readModelConfigFile`/`parseModelServerConfig` throw only for
 * unreadable files, text-format errors and `custom_model_config`; `validateModelConfigs` throws
 * INVALID_ARGUMENT for the first invalid entry, in ServerCore's order (duplicate names, base paths,
 * platform change against the previous config, then platforms). Version labels are parsed and exposed
 * but checked against available versions by the manager, which TF Serving does between the base-path
 * and the platform checks.
 *
 * Numbers: proto int64 values arrive as bigint. Specific versions must fit a JS safe integer (else
 * INVALID_ARGUMENT); label values are numbers when safe and bigints otherwise.
 */
import fs from 'node:fs';

import { TfServeError } from '../model/errors.js';
import { type MessageSchema, parseTextProto, type TextProtoMessage, type TextProtoValue } from '../proto/text-format.js';
import { fsErrorToStatus } from './source.js';
import { checkVersionPolicy, DEFAULT_VERSION_POLICY, type VersionPolicy } from './version-policy.js';

export interface ModelConfig {
  name: string;
  /** Absolute path or URI of the directory holding the numbered version directories. */
  basePath: string;
  /**
   * model_platform as written ("" when absent). A config that passed validateModelConfigs serves
   * "tensorflow"; effectivePlatform() also resolves the deprecated model_type.
   */
  platform: string;
  versionPolicy: VersionPolicy;
  versionLabels: Map<string, bigint | number>;
  /** The deprecated model_type when set to anything but MODEL_TYPE_UNSPECIFIED. */
  modelType?: 'TENSORFLOW' | 'OTHER' | number;
  /** logging_config, when set: which requests to log and where (src/serving/request-logging.ts). */
  loggingConfig?: LoggingConfig;
}

/** tensorflow.serving.LoggingConfig (config/logging_config.proto), its default values filled in. */
export interface LoggingConfig {
  readonly logCollectorConfig: { readonly type: string; readonly filenamePrefix: string };
  readonly samplingConfig: {
    readonly samplingRate: number;
    readonly attributes: number;
    readonly perTaskSamplingConfigs: readonly { readonly dc: string; readonly taskIndex?: number; readonly samplingRate: number }[];
  };
}

/** The only platform tensorflow_model_server registers. */
export const TENSORFLOW_PLATFORM = 'tensorflow';

const ANY_SCHEMA: MessageSchema = {
  name: 'google.protobuf.Any',
  any: true,
  fields: { type_url: { type: 'string' }, value: { type: 'bytes' } },
};

const VERSION_POLICY_SCHEMA: MessageSchema = {
  name: 'tensorflow.serving.FileSystemStoragePathSourceConfig.ServableVersionPolicy',
  fields: {
    latest: {
      oneof: 'policy_choice',
      type: {
        name: 'tensorflow.serving.FileSystemStoragePathSourceConfig.ServableVersionPolicy.Latest',
        fields: { num_versions: { type: 'uint32' } },
      },
    },
    all: {
      oneof: 'policy_choice',
      type: { name: 'tensorflow.serving.FileSystemStoragePathSourceConfig.ServableVersionPolicy.All', fields: {} },
    },
    specific: {
      oneof: 'policy_choice',
      type: {
        name: 'tensorflow.serving.FileSystemStoragePathSourceConfig.ServableVersionPolicy.Specific',
        fields: { versions: { type: 'int64', repeated: true } },
      },
    },
  },
};

const LOGGING_CONFIG_SCHEMA: MessageSchema = {
  name: 'tensorflow.serving.LoggingConfig',
  fields: {
    log_collector_config: {
      type: {
        name: 'tensorflow.serving.LogCollectorConfig',
        fields: { type: { type: 'string' }, filename_prefix: { type: 'string' } },
      },
    },
    sampling_config: {
      type: {
        name: 'tensorflow.serving.SamplingConfig',
        fields: {
          sampling_rate: { type: 'double' },
          attributes: { type: 'int32' },
          per_task_sampling_configs: {
            repeated: true,
            type: {
              name: 'tensorflow.serving.PerTaskSamplingConfig',
              fields: { dc: { type: 'string' }, task_index: { type: 'int32' }, sampling_rate: { type: 'double' } },
            },
          },
        },
      },
    },
    custom_logging_config: { type: ANY_SCHEMA },
  },
};

const MODEL_TYPES = { MODEL_TYPE_UNSPECIFIED: 0, TENSORFLOW: 1, OTHER: 2 } as const;

const MODEL_CONFIG_SCHEMA: MessageSchema = {
  name: 'tensorflow.serving.ModelConfig',
  fields: {
    name: { type: 'string' },
    base_path: { type: 'string' },
    model_type: { type: 'enum', enum: { name: 'tensorflow.serving.ModelType', values: MODEL_TYPES }, deprecated: true },
    model_platform: { type: 'string' },
    model_version_policy: { type: VERSION_POLICY_SCHEMA },
    version_labels: { type: 'int64', map: 'string' },
    logging_config: { type: LOGGING_CONFIG_SCHEMA },
  },
};

/** tensorflow.serving.ModelServerConfig (config/model_server_config.proto) for parseTextProto. */
export const MODEL_SERVER_CONFIG_SCHEMA: MessageSchema = {
  name: 'tensorflow.serving.ModelServerConfig',
  fields: {
    model_config_list: {
      oneof: 'config',
      type: {
        name: 'tensorflow.serving.ModelConfigList',
        fields: { config: { type: MODEL_CONFIG_SCHEMA, repeated: true } },
      },
    },
    custom_model_config: { oneof: 'config', type: ANY_SCHEMA },
  },
};

function toVersionPolicy(name: string, message: TextProtoMessage | undefined): VersionPolicy {
  if (message === undefined) return { ...DEFAULT_VERSION_POLICY };
  const latest = message['latest'] as TextProtoMessage | undefined;
  if (latest !== undefined) return { kind: 'latest', numVersions: (latest['num_versions'] as number | undefined) ?? 0 };
  if (message['all'] !== undefined) return { kind: 'all' };
  const specific = message['specific'] as TextProtoMessage | undefined;
  if (specific !== undefined) {
    const versions = ((specific['versions'] as bigint[] | undefined) ?? []).map((v) => {
      if (v > BigInt(Number.MAX_SAFE_INTEGER) || v < BigInt(Number.MIN_SAFE_INTEGER)) {
        throw new TfServeError(
          'INVALID_ARGUMENT',
          `Version ${v} of model ${name} is outside the range tfserve supports (-2^53+1 to 2^53-1)`,
        );
      }
      return Number(v);
    });
    return { kind: 'specific', versions };
  }
  // An empty model_version_policy {} sets no oneof member: the default policy applies.
  return { ...DEFAULT_VERSION_POLICY };
}

function toLoggingConfig(message: TextProtoMessage): LoggingConfig {
  const collector = (message['log_collector_config'] as TextProtoMessage | undefined) ?? {};
  const sampling = (message['sampling_config'] as TextProtoMessage | undefined) ?? {};
  const perTask = (sampling['per_task_sampling_configs'] as TextProtoMessage[] | undefined) ?? [];
  return {
    logCollectorConfig: {
      type: (collector['type'] as string | undefined) ?? '',
      filenamePrefix: (collector['filename_prefix'] as string | undefined) ?? '',
    },
    samplingConfig: {
      samplingRate: (sampling['sampling_rate'] as number | undefined) ?? 0,
      attributes: (sampling['attributes'] as number | undefined) ?? 0,
      perTaskSamplingConfigs: perTask.map((task) => {
        const taskIndex = task['task_index'] as number | undefined;
        return {
          dc: (task['dc'] as string | undefined) ?? '',
          ...(taskIndex === undefined ? {} : { taskIndex }),
          samplingRate: (task['sampling_rate'] as number | undefined) ?? 0,
        };
      }),
    },
  };
}

function toModelConfig(message: TextProtoMessage): ModelConfig {
  const name = (message['name'] as string | undefined) ?? '';
  const modelPlatform = (message['model_platform'] as string | undefined) ?? '';
  const rawType = (message['model_type'] as string | number | undefined) ?? 'MODEL_TYPE_UNSPECIFIED';
  const labels = new Map<string, bigint | number>();
  for (const [label, version] of (message['version_labels'] as Map<string, TextProtoValue> | undefined) ?? []) {
    const v = version as bigint;
    labels.set(label, v >= BigInt(Number.MIN_SAFE_INTEGER) && v <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(v) : v);
  }
  const config: ModelConfig = {
    name,
    basePath: (message['base_path'] as string | undefined) ?? '',
    platform: modelPlatform,
    versionPolicy: toVersionPolicy(name, message['model_version_policy'] as TextProtoMessage | undefined),
    versionLabels: labels,
  };
  if (rawType !== 'MODEL_TYPE_UNSPECIFIED' && rawType !== 0) config.modelType = rawType as 'TENSORFLOW' | 'OTHER' | number;
  const logging = message['logging_config'] as TextProtoMessage | undefined;
  if (logging !== undefined) config.loggingConfig = toLoggingConfig(logging);
  return config;
}

/**
 * Parses ModelServerConfig text. Returns the model_config_list entries in file order ([] for an empty
 * config). `source` (a file name) is quoted in errors as TF Serving does: `Invalid protobuf file: '<source>'`
 * followed by protobuf's `Error parsing text-format ...: line:col: ...`; the TextFormatError is the
 * error's `cause`. Without `source` the TextFormatError itself is thrown. custom_model_config throws
 * UNIMPLEMENTED (tensorflow_model_server aborts on it).
 */
export function parseModelServerConfig(text: string | Uint8Array, source?: string): ModelConfig[] {
  let message: TextProtoMessage;
  try {
    message = parseTextProto(text, MODEL_SERVER_CONFIG_SCHEMA);
  } catch (err) {
    if (source === undefined || !(err instanceof TfServeError)) throw err;
    throw new TfServeError('INVALID_ARGUMENT', `Invalid protobuf file: '${source}': ${err.message}`, { cause: err });
  }
  if (message['custom_model_config'] !== undefined) {
    throw new TfServeError('UNIMPLEMENTED', 'ModelServer does not yet support custom model config.');
  }
  const list = message['model_config_list'] as TextProtoMessage | undefined;
  const configs = (list?.['config'] as TextProtoMessage[] | undefined) ?? [];
  return configs.map(toModelConfig);
}

/**
 * Reads and parses a model config file synchronously (startup). Read failures keep TF's status code
 * (NOT_FOUND for a missing file) and name the path; parse failures are INVALID_ARGUMENT
 * `Invalid protobuf file: '<path>': Error parsing text-format ...`.
 */
export function readModelConfigFile(path: string): ModelConfig[] {
  checkPath(path);
  let bytes: Uint8Array;
  try {
    bytes = fs.readFileSync(path);
  } catch (err) {
    throw fsErrorToStatus(err, path);
  }
  return parseModelServerConfig(bytes, path);
}

/** readModelConfigFile without blocking the event loop, for `--model_config_file_poll_wait_seconds`. */
export async function readModelConfigFileAsync(path: string): Promise<ModelConfig[]> {
  checkPath(path);
  let bytes: Uint8Array;
  try {
    bytes = await fs.promises.readFile(path);
  } catch (err) {
    throw fsErrorToStatus(err, path);
  }
  return parseModelServerConfig(bytes, path);
}

function checkPath(path: unknown): void {
  if (typeof path !== 'string' || path === '') {
    throw new TfServeError('INVALID_ARGUMENT', `Expected non-empty string for path but received ${String(path)} of type ${typeof path}`);
  }
}

/** The config tensorflow_model_server builds from `--model_name` and `--model_base_path`. */
export function singleModelConfig(name: string, basePath: string, policy: VersionPolicy = DEFAULT_VERSION_POLICY): ModelConfig {
  if (typeof name !== 'string') throw new TfServeError('INVALID_ARGUMENT', `Expected string for name but received ${String(name)} of type ${typeof name}`);
  if (typeof basePath !== 'string') {
    throw new TfServeError('INVALID_ARGUMENT', `Expected string for basePath but received ${String(basePath)} of type ${typeof basePath}`);
  }
  checkVersionPolicy(policy, 'policy');
  return { name, basePath, platform: TENSORFLOW_PLATFORM, versionPolicy: { ...policy }, versionLabels: new Map() };
}

/**
 * TF's UriIsRelativePath: a URI has a scheme of a letter and at least one more letter, digit or dot
 * before "://"; anything else is a path, absolute only when it starts with "/".
 */
export function isRelativePath(uri: string): boolean {
  return !/^[A-Za-z][A-Za-z0-9.]+:\/\//.test(uri) && !uri.startsWith('/');
}

/** ServerCore's GetPlatform: the model's effective platform, or the INVALID_ARGUMENT it reports. */
export function effectivePlatform(config: ModelConfig): string {
  if (config.modelType !== undefined) {
    if (config.platform !== '') {
      throw new TfServeError(
        'INVALID_ARGUMENT',
        `Illegal setting both ModelServerConfig::model_type (deprecated) and ModelServerConfig::model_platform, model name is ${config.name}`,
      );
    }
    if (config.modelType !== 'TENSORFLOW') {
      const number = typeof config.modelType === 'number' ? config.modelType : MODEL_TYPES[config.modelType];
      throw new TfServeError('INVALID_ARGUMENT', `ModelServerConfig::model_type choice ${number} not supported.`);
    }
    return TENSORFLOW_PLATFORM;
  }
  if (config.platform === '') {
    throw new TfServeError(
      'INVALID_ARGUMENT',
      `Illegal setting neither ModelServerConfig::model_type (deprecated) nor ModelServerConfig::model_platform, model name is ${config.name}`,
    );
  }
  return config.platform;
}

/**
 * ServerCore's checks of a new model_config_list, in its order; throws the first failure:
 * 1. `Illegal to list model <n> multiple times in config list`
 * 2. `Expected model <n> to have an absolute path or URI; got base_path()=<p>`
 * 3. with `previous`: `Illegal to change a model's platform. For model <n> platform was <a> and new
 *    platform requested is <b>`
 * 4. `Illegal setting neither ModelServerConfig::model_type (deprecated) nor
 *    ModelServerConfig::model_platform, model name is <n>` (and the model_type variants), then
 *    `Model <n> requests unsupported platform <p>` (only "tensorflow" is served).
 * Returns the warnings TF Serving logs (use of the deprecated model_type).
 */
export function validateModelConfigs(configs: readonly ModelConfig[], previous?: readonly ModelConfig[]): string[] {
  if (!Array.isArray(configs)) {
    throw new TfServeError('INVALID_ARGUMENT', `Expected array for configs but received ${String(configs)} of type ${typeof configs}`);
  }
  const names = new Set<string>();
  for (const config of configs) {
    if (names.has(config.name)) {
      throw new TfServeError('INVALID_ARGUMENT', `Illegal to list model ${config.name} multiple times in config list`);
    }
    names.add(config.name);
  }
  for (const config of configs) {
    if (isRelativePath(config.basePath)) {
      throw new TfServeError(
        'INVALID_ARGUMENT',
        `Expected model ${config.name} to have an absolute path or URI; got base_path()=${config.basePath}`,
      );
    }
  }
  if (previous !== undefined) {
    const oldPlatforms = new Map(previous.map((config) => [config.name, effectivePlatform(config)]));
    for (const config of configs) {
      const was = oldPlatforms.get(config.name);
      if (was === undefined) continue;
      const now = effectivePlatform(config);
      if (now !== was) {
        throw new TfServeError(
          'INVALID_ARGUMENT',
          `Illegal to change a model's platform. For model ${config.name} platform was ${was} and new platform requested is ${now}`,
        );
      }
    }
  }
  const warnings: string[] = [];
  for (const config of configs) {
    if (config.modelType !== undefined) {
      warnings.push('Deprecated ModelServerConfig::model_type field used. Prefer ModelServerConfig::model_platform.');
    }
    const platform = effectivePlatform(config);
    if (platform !== TENSORFLOW_PLATFORM) {
      throw new TfServeError('INVALID_ARGUMENT', `Model ${config.name} requests unsupported platform ${platform}`);
    }
  }
  return warnings;
}

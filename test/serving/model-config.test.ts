import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { suite, test } from 'node:test';

import {
  effectivePlatform,
  isRelativePath,
  type ModelConfig,
  parseModelServerConfig,
  readModelConfigFile,
  readModelConfigFileAsync,
  singleModelConfig,
  validateModelConfigs,
} from '../../src/serving/model-config.js';
import { TextFormatError } from '../../src/proto/text-format.js';
import { SHARED_FIXTURES, sharedFixturesSkip } from '../helpers.js';

function model(overrides: Partial<ModelConfig> = {}): ModelConfig {
  return { ...singleModelConfig('m', '/models/m'), ...overrides };
}

function oneModel(body: string): ModelConfig {
  const configs = parseModelServerConfig(`model_config_list { config { name: "m" base_path: "/m" ${body} } }`);
  assert.equal(configs.length, 1);
  return configs[0]!;
}

suite('model-config', () => {
  test('good_model_config.txt: two tensorflow models, placeholders kept as written', { skip: sharedFixturesSkip }, () => {
    const configs = readModelConfigFile(path.join(SHARED_FIXTURES, 'good_model_config.txt'));
    assert.deepEqual(configs, [
      {
        name: 'half_plus_two',
        basePath: '${TEST_HALF_PLUS_TWO_DIR}',
        platform: 'tensorflow',
        versionPolicy: { kind: 'latest', numVersions: 1 },
        versionLabels: new Map(),
      },
      {
        name: 'half_plus_three',
        basePath: '${TEST_HALF_PLUS_THREE_DIR}',
        platform: 'tensorflow',
        versionPolicy: { kind: 'latest', numVersions: 1 },
        versionLabels: new Map(),
      },
    ]);
  });

  test('EXPECTED FAILURE - bad_model_config.txt fails with the file, line:column and protobuf\'s reason', { skip: sharedFixturesSkip }, () => {
    const file = path.join(SHARED_FIXTURES, 'bad_model_config.txt');
    const reason = 'Message type "tensorflow.serving.ModelServerConfig" has no field named "improperly".';
    assert.throws(() => readModelConfigFile(file), (err: unknown) => {
      assert.ok(err instanceof Error);
      assert.equal((err as { code?: string }).code, 'INVALID_ARGUMENT');
      assert.equal(
        err.message,
        `Invalid protobuf file: '${file}': Error parsing text-format tensorflow.serving.ModelServerConfig: 1:12: ${reason}`,
      );
      assert.ok(err.cause instanceof TextFormatError);
      assert.equal(err.cause.line, 1);
      assert.equal(err.cause.column, 12);
      return true;
    });
    assert.throws(() => parseModelServerConfig(fs.readFileSync(file, 'utf8')), {
      name: 'TfServeError',
      code: 'INVALID_ARGUMENT',
      message: `Error parsing text-format tensorflow.serving.ModelServerConfig: 1:12: ${reason}`,
    });
  });

  test('the spec example: specific policy and version labels', () => {
    const configs = parseModelServerConfig(`
      model_config_list {
        config {
          name: "half_plus_two"                  # ModelConfig.name=1
          base_path: "/models/half_plus_two"
          model_platform: "tensorflow"
          model_version_policy { specific { versions: 123 versions: 124 } }
          version_labels { key: "stable" value: 123 }
          version_labels { key: "canary" value: 124 }
        }
        config { name: "half_plus_three" base_path: "/models/half_plus_three" model_platform: "tensorflow" }
      }`);
    assert.equal(configs.length, 2);
    assert.deepEqual(configs[0]!.versionPolicy, { kind: 'specific', versions: [123, 124] });
    assert.deepEqual(configs[0]!.versionLabels, new Map([['stable', 123], ['canary', 124]]));
    assert.deepEqual(configs[1]!.versionPolicy, { kind: 'latest', numVersions: 1 });
    assert.deepEqual(validateModelConfigs(configs), []);
  });

  test('policies: latest {n}, latest {} (n = 0), all, specific [list], empty policy = default', () => {
    assert.deepEqual(oneModel('model_version_policy { latest { num_versions: 3 } }').versionPolicy, { kind: 'latest', numVersions: 3 });
    assert.deepEqual(oneModel('model_version_policy { latest {} }').versionPolicy, { kind: 'latest', numVersions: 0 });
    assert.deepEqual(oneModel('model_version_policy { all {} }').versionPolicy, { kind: 'all' });
    assert.deepEqual(oneModel('model_version_policy: { specific: { versions: [1, -2] } }').versionPolicy, { kind: 'specific', versions: [1, -2] });
    assert.deepEqual(oneModel('model_version_policy { specific {} }').versionPolicy, { kind: 'specific', versions: [] });
    assert.deepEqual(oneModel('model_version_policy {}').versionPolicy, { kind: 'latest', numVersions: 1 });
  });

  test('label values past 2^53 stay exact as bigint', () => {
    const labels = oneModel('version_labels { key: "big" value: 9007199254740993 } version_labels { key: "small" value: -1 }').versionLabels;
    assert.deepEqual(labels, new Map<string, bigint | number>([['big', 9007199254740993n], ['small', -1]]));
  });

  test('logging_config: collector and sampling, defaults filled in', () => {
    const config = oneModel(`model_platform: "tensorflow" logging_config {
      log_collector_config { type: "tfrecord" filename_prefix: "/tmp/log" }
      sampling_config { sampling_rate: 0.5 attributes: 3 per_task_sampling_configs { dc: "x" task_index: 0 sampling_rate: 1 } }
    }`);
    assert.deepEqual(config.loggingConfig, {
      logCollectorConfig: { type: 'tfrecord', filenamePrefix: '/tmp/log' },
      samplingConfig: { samplingRate: 0.5, attributes: 3, perTaskSamplingConfigs: [{ dc: 'x', taskIndex: 0, samplingRate: 1 }] },
    });
    assert.deepEqual(oneModel('model_platform: "tensorflow" logging_config {}').loggingConfig, {
      logCollectorConfig: { type: '', filenamePrefix: '' },
      samplingConfig: { samplingRate: 0, attributes: 0, perTaskSamplingConfigs: [] },
    });
    assert.equal(oneModel('model_platform: "tensorflow"').loggingConfig, undefined);
  });

  test('an empty config or an empty list serves no model', () => {
    assert.deepEqual(parseModelServerConfig(''), []);
    assert.deepEqual(parseModelServerConfig('# nothing\n'), []);
    assert.deepEqual(parseModelServerConfig('model_config_list {}'), []);
  });

  test('EXPECTED FAILURE - custom_model_config is unsupported', () => {
    assert.throws(() => parseModelServerConfig('custom_model_config { type_url: "x" }'), {
      name: 'TfServeError',
      code: 'UNIMPLEMENTED',
      message: 'ModelServer does not yet support custom model config.',
    });
  });

  test('EXPECTED FAILURE - specific versions beyond JS safe integers are refused', () => {
    assert.throws(() => oneModel('model_version_policy { specific { versions: 9007199254740993 } }'), {
      code: 'INVALID_ARGUMENT',
      message: /Version 9007199254740993 of model m is outside the range tfserve supports/,
    });
  });

  test('EXPECTED FAILURE - unreadable files keep TF\'s status and name the path', async () => {
    const missing = path.join(os.tmpdir(), 'tfserve-no-such-config.txt');
    assert.throws(() => readModelConfigFile(missing), { code: 'NOT_FOUND', message: `${missing}; No such file or directory` });
    await assert.rejects(readModelConfigFileAsync(missing), { code: 'NOT_FOUND', message: `${missing}; No such file or directory` });
    assert.throws(() => readModelConfigFile(os.tmpdir()), { code: 'FAILED_PRECONDITION', message: `${os.tmpdir()}; Is a directory` });
  });

  test('readModelConfigFileAsync parses like the synchronous reader', async (t) => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tfserve-config-'));
    t.after(() => fs.rmSync(dir, { recursive: true, force: true }));
    const file = path.join(dir, 'models.config');
    fs.writeFileSync(file, 'model_config_list { config { name: "a" base_path: "/a" model_platform: "tensorflow" } }');
    assert.deepEqual(await readModelConfigFileAsync(file), readModelConfigFile(file));
    fs.writeFileSync(file, 'model_config_list {\n  config { name: "a" }\n  oops\n}');
    await assert.rejects(readModelConfigFileAsync(file), {
      code: 'INVALID_ARGUMENT',
      message: `Invalid protobuf file: '${file}': Error parsing text-format tensorflow.serving.ModelServerConfig: 4:1: Message type "tensorflow.serving.ModelConfigList" has no field named "oops".`,
    });
  });

  test('singleModelConfig is what --model_name/--model_base_path build', () => {
    assert.deepEqual(singleModelConfig('default', '/models/default'), {
      name: 'default',
      basePath: '/models/default',
      platform: 'tensorflow',
      versionPolicy: { kind: 'latest', numVersions: 1 },
      versionLabels: new Map(),
    });
    assert.deepEqual(singleModelConfig('m', '/m', { kind: 'all' }).versionPolicy, { kind: 'all' });
  });

  test('absolute paths and URIs are accepted, anything else is relative (TF\'s UriIsRelativePath)', () => {
    for (const p of ['/models/m', '/', 'gs://bucket/m', 's3://b', 'file:///m', 'hdfs://host:9000/m', 'a.b://x']) assert.equal(isRelativePath(p), false, p);
    for (const p of ['', 'models/m', './m', '../m', 'a://x', '1s://x', 'gs:/x', 'C:\\models']) assert.equal(isRelativePath(p), true, p);
  });

  test('EXPECTED FAILURE - duplicate model names', () => {
    assert.throws(() => validateModelConfigs([model({ name: 'a' }), model({ name: 'b' }), model({ name: 'a' })]), {
      name: 'TfServeError',
      code: 'INVALID_ARGUMENT',
      message: 'Illegal to list model a multiple times in config list',
    });
  });

  test('EXPECTED FAILURE - relative base paths, --model_base_path included', () => {
    assert.throws(() => validateModelConfigs([model({ basePath: 'models/m' })]), {
      code: 'INVALID_ARGUMENT',
      message: 'Expected model m to have an absolute path or URI; got base_path()=models/m',
    });
    assert.throws(() => validateModelConfigs([singleModelConfig('default', '')]), {
      message: 'Expected model default to have an absolute path or URI; got base_path()=',
    });
  });

  test('EXPECTED FAILURE - missing and unsupported platforms', () => {
    assert.throws(() => validateModelConfigs(parseModelServerConfig('model_config_list { config { name: "m" base_path: "/m" } }')), {
      code: 'INVALID_ARGUMENT',
      message: 'Illegal setting neither ModelServerConfig::model_type (deprecated) nor ModelServerConfig::model_platform, model name is m',
    });
    assert.throws(() => validateModelConfigs([model({ platform: 'tflite' })]), {
      code: 'INVALID_ARGUMENT',
      message: 'Model m requests unsupported platform tflite',
    });
  });

  test('the deprecated model_type: TENSORFLOW alone works (with a warning), mixed or OTHER fails', () => {
    const typeOnly = oneModel('model_type: TENSORFLOW');
    assert.equal(typeOnly.platform, '');
    assert.equal(typeOnly.modelType, 'TENSORFLOW');
    assert.equal(effectivePlatform(typeOnly), 'tensorflow');
    assert.deepEqual(validateModelConfigs([typeOnly]), [
      'Deprecated ModelServerConfig::model_type field used. Prefer ModelServerConfig::model_platform.',
    ]);
    assert.throws(() => validateModelConfigs([oneModel('model_type: TENSORFLOW model_platform: "tensorflow"')]), {
      message: 'Illegal setting both ModelServerConfig::model_type (deprecated) and ModelServerConfig::model_platform, model name is m',
    });
    assert.throws(() => validateModelConfigs([oneModel('model_type: OTHER')]), { message: 'ModelServerConfig::model_type choice 2 not supported.' });
    assert.equal(oneModel('model_type: MODEL_TYPE_UNSPECIFIED model_platform: "tensorflow"').modelType, undefined);
  });

  test('EXPECTED FAILURE - a reload may not change a model\'s platform', () => {
    assert.throws(() => validateModelConfigs([model({ platform: 'tflite' })], [model()]), {
      code: 'INVALID_ARGUMENT',
      message: "Illegal to change a model's platform. For model m platform was tensorflow and new platform requested is tflite",
    });
    assert.deepEqual(validateModelConfigs([model({ name: 'new' })], [model({ platform: 'other' })]), []);
  });

  test('checks run in ServerCore\'s order: names, then paths, then platforms', () => {
    const dup = model({ basePath: 'rel', platform: '' });
    assert.throws(() => validateModelConfigs([dup, dup]), { message: /multiple times/ });
    assert.throws(() => validateModelConfigs([model({ name: 'x', platform: '' }), model({ name: 'y', basePath: 'rel' })]), {
      message: /absolute path/,
    });
  });

  test('BAD CALL - wrong argument types', () => {
    assert.throws(() => readModelConfigFile('' as never), { code: 'INVALID_ARGUMENT', message: /Expected non-empty string for path/ });
    assert.throws(() => singleModelConfig(1 as never, '/m'), { code: 'INVALID_ARGUMENT', message: /Expected string for name/ });
    assert.throws(() => singleModelConfig('m', null as never), { message: /Expected string for basePath/ });
    assert.throws(() => singleModelConfig('m', '/m', { kind: 'some' } as never), { message: /policy\.kind/ });
    assert.throws(() => validateModelConfigs(null as never), { message: /Expected array for configs/ });
    assert.throws(() => parseModelServerConfig(null as never), { message: /Expected string or Uint8Array/ });
  });
});

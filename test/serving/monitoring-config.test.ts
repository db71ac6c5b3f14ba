import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { suite, test } from 'node:test';

import { DEFAULT_PROMETHEUS_PATH, parseMonitoringConfig, readMonitoringConfigFile } from '../../src/serving/monitoring-config.js';
import { SHARED_FIXTURES, sharedFixturesSkip } from '../helpers.js';

suite('MonitoringConfig', () => {
  test('prometheus_config: enable and path, in any text-format spelling', () => {
    assert.deepEqual(parseMonitoringConfig('prometheus_config { enable: true, path: "/monitoring/prometheus/metrics" }'), {
      enable: true,
      path: '/monitoring/prometheus/metrics',
    });
    assert.deepEqual(parseMonitoringConfig('prometheus_config: { enable: true path: "/metrics" } # comment'), { enable: true, path: '/metrics' });
  });

  test('defaults: disabled, and TF Serving\'s path when none is given', () => {
    assert.equal(DEFAULT_PROMETHEUS_PATH, '/monitoring/prometheus/metrics');
    assert.deepEqual(parseMonitoringConfig(''), { enable: false, path: DEFAULT_PROMETHEUS_PATH });
    assert.deepEqual(parseMonitoringConfig('prometheus_config { enable: true }'), { enable: true, path: DEFAULT_PROMETHEUS_PATH });
    assert.deepEqual(parseMonitoringConfig('prometheus_config { enable: false path: "" }'), { enable: false, path: DEFAULT_PROMETHEUS_PATH });
  });

  test('TF Serving\'s own monitoring_config.txt', { skip: sharedFixturesSkip }, () => {
    assert.deepEqual(readMonitoringConfigFile(path.join(SHARED_FIXTURES, 'monitoring_config.txt')), { enable: true, path: '/monitoring/prometheus/metrics' });
  });

  test('EXPECTED FAILURE - a file that does not parse: Invalid protobuf file, with line and column', (t) => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tfserve-monitoring-'));
    t.after(() => fs.rmSync(dir, { recursive: true, force: true }));
    const file = path.join(dir, 'monitoring.config');
    fs.writeFileSync(file, 'prometheus_config {\n  enable: yes\n}\n');
    assert.throws(() => readMonitoringConfigFile(file), {
      name: 'TfServeError',
      code: 'INVALID_ARGUMENT',
      message: new RegExp(`^Invalid protobuf file: '${file.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')}': Error parsing text-format tensorflow\\.serving\\.MonitoringConfig: 3:1: Invalid value for boolean field "enable"\\. Value: "yes"\\.$`),
    });
    fs.writeFileSync(file, 'prometheus { enable: true }');
    assert.throws(() => readMonitoringConfigFile(file), { code: 'INVALID_ARGUMENT', message: /tensorflow\.serving\.MonitoringConfig: 1:12: Message type "tensorflow\.serving\.MonitoringConfig" has no field named "prometheus"\.$/ });
  });

  test('EXPECTED FAILURE - a missing file is NOT_FOUND naming it', () => {
    const file = path.join(os.tmpdir(), 'tfserve-no-such-dir', 'monitoring.config');
    assert.throws(() => readMonitoringConfigFile(file), { name: 'TfServeError', code: 'NOT_FOUND', message: new RegExp(`^${file}; `) });
  });
});

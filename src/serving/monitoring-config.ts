/**
 * `--monitoring_config_file`: a tensorflow.serving.MonitoringConfig in protobuf text format
 * (config/monitoring_config.proto), e.g.
 *
 *     prometheus_config { enable: true, path: "/monitoring/prometheus/metrics" }
 *
 * Contract: `readMonitoringConfigFile` returns the Prometheus settings with TF Serving's default path
 * filled in, or throws TfServeError: the file's read error (NOT_FOUND for a missing file), or
 * INVALID_ARGUMENT `Invalid protobuf file: '<path>'` followed by the parser's line and column.
 */
import fs from 'node:fs';

import { TfServeError } from '../model/errors.js';
import { type MessageSchema, parseTextProto, type TextProtoMessage } from '../proto/text-format.js';
import { fsErrorToStatus } from './source.js';

/** PrometheusExporter::kPrometheusPath: where the page is served when the config names no path. */
export const DEFAULT_PROMETHEUS_PATH = '/monitoring/prometheus/metrics';

export interface PrometheusConfig {
  readonly enable: boolean;
  readonly path: string;
}

export const MONITORING_CONFIG_SCHEMA: MessageSchema = {
  name: 'tensorflow.serving.MonitoringConfig',
  fields: {
    prometheus_config: {
      type: {
        name: 'tensorflow.serving.PrometheusConfig',
        fields: { enable: { type: 'bool' }, path: { type: 'string' } },
      },
    },
  },
};

export function parseMonitoringConfig(text: string | Uint8Array, source?: string): PrometheusConfig {
  let message: TextProtoMessage;
  try {
    message = parseTextProto(text, MONITORING_CONFIG_SCHEMA);
  } catch (err) {
    if (source === undefined || !(err instanceof TfServeError)) throw err;
    throw new TfServeError('INVALID_ARGUMENT', `Invalid protobuf file: '${source}': ${err.message}`, { cause: err });
  }
  const prometheus = (message['prometheus_config'] as TextProtoMessage | undefined) ?? {};
  const path = (prometheus['path'] as string | undefined) ?? '';
  return { enable: (prometheus['enable'] as boolean | undefined) ?? false, path: path === '' ? DEFAULT_PROMETHEUS_PATH : path };
}

export function readMonitoringConfigFile(path: string): PrometheusConfig {
  let bytes: Uint8Array;
  try {
    bytes = fs.readFileSync(path);
  } catch (err) {
    throw fsErrorToStatus(err, path);
  }
  return parseMonitoringConfig(bytes, path);
}

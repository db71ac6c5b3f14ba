/**
 * tfserve's access log (`--access_log`, not a TF Serving flag: TF Serving has none): one info line per
 * observed request, REST and gRPC alike, when it ends. The line's message reads
 *
 *     REST predict half_plus_two v1 OK 200 0.412ms in=31B out=43B id=req-1
 *
 * and the same facts are in its `access` field for JSON log readers: entrypoint, api, model, version
 * (absent when no version was resolved), status (TF's code name), http_status (REST), latency_ms,
 * bytes_in and bytes_out (when the transport knows them), request_id. '-' stands for what a request
 * did not name (no model, a REST GET's empty API label).
 */
import type { InferenceObserver, ObservedCall } from './call-observer.js';
import { statusCodeOf } from './metrics-observer.js';

export interface AccessLogger {
  info(fields: object, message: string): void;
}

export interface AccessRecord {
  readonly entrypoint: string;
  readonly api: string;
  readonly model: string;
  readonly version?: number;
  readonly status: string;
  readonly http_status?: number;
  readonly latency_ms: number;
  readonly bytes_in?: number;
  readonly bytes_out?: number;
  readonly request_id?: string;
}

export function accessRecord(call: ObservedCall, error: unknown, latencyUs: number): AccessRecord {
  return {
    entrypoint: call.entrypoint,
    api: call.api,
    model: call.model,
    ...(call.version === undefined ? {} : { version: call.version }),
    status: statusCodeOf(error),
    ...(call.httpStatus === undefined ? {} : { http_status: call.httpStatus }),
    latency_ms: Math.round(latencyUs) / 1000,
    ...(call.bytesIn === undefined ? {} : { bytes_in: call.bytesIn }),
    ...(call.bytesOut === undefined ? {} : { bytes_out: call.bytesOut }),
    ...(call.requestId === undefined ? {} : { request_id: call.requestId }),
  };
}

export function accessLine(record: AccessRecord): string {
  const size = (n: number | undefined) => (n === undefined ? '-' : `${n}B`);
  return (
    `${record.entrypoint} ${record.api || '-'} ${record.model || '-'}${record.version === undefined ? '' : ` v${record.version}`} ` +
    `${record.status}${record.http_status === undefined ? '' : ` ${record.http_status}`} ${record.latency_ms}ms ` +
    `in=${size(record.bytes_in)} out=${size(record.bytes_out)} id=${record.request_id ?? '-'}`
  );
}

export function accessLogObserver(logger: AccessLogger): InferenceObserver {
  return {
    callEnded(call, error, latencyUs) {
      const record = accessRecord(call, error, latencyUs);
      logger.info({ access: record }, accessLine(record));
    },
  };
}

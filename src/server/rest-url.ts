/**
 * TF Serving's REST URL grammar (model_servers/http_rest_api_util.cc), matched case-insensitively on
 * the whole path as it does:
 *   POST /v1/models/<name>[/versions/<digits>|/labels/<label>]:(classify|regress|predict)
 *   GET  /v1/models[/<name>][/versions/<digits>|/labels/<label>][/metadata]
 * Names and labels are percent-decoded as curl_easy_unescape does (a bad escape stays as it is).
 * Anything else under /v1 is "Malformed request"; a GET without a model name is "Missing model name".
 */
import { TfServeError } from '../model/errors.js';
import { type VersionId, versionId } from '../serving/version-id.js';

export type RestRequest =
  | { kind: 'status'; model: string; version?: VersionId; label?: string }
  | { kind: 'metadata'; model: string; version?: VersionId; label?: string }
  | { kind: 'predict' | 'classify' | 'regress'; model: string; version?: VersionId; label?: string };

const POST_PATTERN = /^\/v1\/models\/([^/:]+)(?:\/versions\/(\d+)|\/labels\/([^/:]+))?:(classify|regress|predict)$/i;
const GET_PATTERN = /^\/v1\/models(?:\/([^/:]+))?(?:\/versions\/(\d+)|\/labels\/([^/:]+))?(\/metadata)?$/i;
const INT64_MAX = 2n ** 63n - 1n;

function malformed(method: string, url: string): TfServeError {
  return new TfServeError('INVALID_ARGUMENT', `Malformed request: ${method} ${url}`);
}

/**
 * An error TF Serving returns from its URL parsing before it writes any body (ParseModelInfo's early
 * return): the client gets HTTP 400, Content-Type application/json and an empty body.
 */
export class UrlParseError extends TfServeError {
  constructor(message: string) {
    super('INVALID_ARGUMENT', message);
  }
}

function hexValue(c: number): number {
  if (c >= 0x30 && c <= 0x39) return c - 0x30;
  if (c >= 0x41 && c <= 0x46) return c - 0x37;
  if (c >= 0x61 && c <= 0x66) return c - 0x57;
  return -1;
}

/** curl_easy_unescape: every %XX with two hex digits becomes its byte; nothing else changes ('+' included). */
export function unescapeUrlComponent(component: string): string {
  // Node hands over the request target as latin1 text of its raw bytes.
  if (!/[%\x80-\xff]/.test(component)) return component;
  const bytes = Buffer.from(component, 'latin1');
  const out = Buffer.alloc(bytes.length);
  let size = 0;
  for (let i = 0; i < bytes.length; i++) {
    const c = bytes[i]!;
    if (c === 0x25 && i + 2 < bytes.length && hexValue(bytes[i + 1]!) >= 0 && hexValue(bytes[i + 2]!) >= 0) {
      out[size++] = hexValue(bytes[i + 1]!) * 16 + hexValue(bytes[i + 2]!);
      i += 2;
    } else {
      out[size++] = c;
    }
  }
  return out.toString('utf8', 0, size);
}

function version(digits: string | undefined): VersionId | undefined {
  if (digits === undefined) return undefined;
  if (BigInt(digits) > INT64_MAX) throw new UrlParseError(`Failed to convert version: ${digits} to numeric.`);
  return versionId(digits);
}

/** `url` is the raw request target; TF Serving does not strip `?query` before matching, nor do we. */
export function parseRestUrl(method: string, url: string): RestRequest {
  if (method === 'POST') {
    const match = POST_PATTERN.exec(url);
    if (!match) throw malformed(method, url);
    // The version is converted first; then the verb is compared case-sensitively, unlike the pattern.
    const parsedVersion = version(match[2]);
    const verb = match[4]!;
    if (verb !== 'classify' && verb !== 'regress' && verb !== 'predict') throw malformed(method, url);
    return {
      kind: verb,
      model: unescapeUrlComponent(match[1]!),
      version: parsedVersion,
      label: match[3] === undefined ? undefined : unescapeUrlComponent(match[3]),
    };
  }
  if (method === 'GET') {
    const match = GET_PATTERN.exec(url);
    if (!match) throw malformed(method, url);
    // TF Serving converts the version before it notices that the name is missing.
    const parsedVersion = version(match[2]);
    if (match[1] === undefined) throw new TfServeError('INVALID_ARGUMENT', 'Missing model name in request.');
    return {
      // "/METADATA" matches the pattern but not TF Serving's case-sensitive check: a status request.
      kind: match[4] === '/metadata' ? 'metadata' : 'status',
      model: unescapeUrlComponent(match[1]),
      version: parsedVersion,
      label: match[3] === undefined ? undefined : unescapeUrlComponent(match[3]),
    };
  }
  throw malformed(method, url);
}

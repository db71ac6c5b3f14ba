/**
 * The one error class tfserve throws or rejects with. `code` is TensorFlow's canonical status name,
 * so callers (and the server's HTTP mapping) switch on it without parsing messages.
 */
export type StatusCode =
  | 'OK'
  | 'CANCELLED'
  | 'UNKNOWN'
  | 'INVALID_ARGUMENT'
  | 'DEADLINE_EXCEEDED'
  | 'NOT_FOUND'
  | 'ALREADY_EXISTS'
  | 'PERMISSION_DENIED'
  | 'RESOURCE_EXHAUSTED'
  | 'FAILED_PRECONDITION'
  | 'ABORTED'
  | 'OUT_OF_RANGE'
  | 'UNIMPLEMENTED'
  | 'INTERNAL'
  | 'UNAVAILABLE'
  | 'DATA_LOSS'
  | 'UNAUTHENTICATED';

const STATUS_CODES: ReadonlySet<string> = new Set<StatusCode>([
  'OK', 'CANCELLED', 'UNKNOWN', 'INVALID_ARGUMENT', 'DEADLINE_EXCEEDED', 'NOT_FOUND', 'ALREADY_EXISTS',
  'PERMISSION_DENIED', 'RESOURCE_EXHAUSTED', 'FAILED_PRECONDITION', 'ABORTED', 'OUT_OF_RANGE', 'UNIMPLEMENTED',
  'INTERNAL', 'UNAVAILABLE', 'DATA_LOSS', 'UNAUTHENTICATED',
]);

export class TfServeError extends Error {
  override name = 'TfServeError';
  readonly code: StatusCode;

  constructor(code: StatusCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.code = code;
  }
}

export function invalidArgument(message: string): TfServeError {
  return new TfServeError('INVALID_ARGUMENT', message);
}

/**
 * Re-raises an error from the native binding as a TfServeError with the caller's stack: native
 * rejections happen on a later tick and would otherwise show no user frame at all.
 */
export function fromNative(err: unknown, callerStack: Error): TfServeError {
  const native = err as { code?: unknown; message?: unknown };
  const code = typeof native.code === 'string' && STATUS_CODES.has(native.code) ? (native.code as StatusCode) : 'INTERNAL';
  const error = new TfServeError(code, String(native.message ?? err), { cause: err });
  error.stack = `${error.name}: ${error.message}\n${(callerStack.stack ?? '').split('\n').slice(1).join('\n')}`;
  return error;
}

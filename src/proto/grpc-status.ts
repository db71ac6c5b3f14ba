/**
 * TensorFlow status codes <-> gRPC status codes, which have the same numbers, and the status a gRPC
 * handler answers for an error, as TF Serving's ToGRPCStatus writes it: the error's TF code, and its
 * message cut to 1024 bytes plus "...TRUNCATED".
 */
import { type StatusCode, TfServeError } from '../model/errors.js';

export const STATUS_CODE_NUMBERS: Readonly<Record<StatusCode, number>> = {
  OK: 0,
  CANCELLED: 1,
  UNKNOWN: 2,
  INVALID_ARGUMENT: 3,
  DEADLINE_EXCEEDED: 4,
  NOT_FOUND: 5,
  ALREADY_EXISTS: 6,
  PERMISSION_DENIED: 7,
  RESOURCE_EXHAUSTED: 8,
  FAILED_PRECONDITION: 9,
  ABORTED: 10,
  OUT_OF_RANGE: 11,
  UNIMPLEMENTED: 12,
  INTERNAL: 13,
  UNAVAILABLE: 14,
  DATA_LOSS: 15,
  UNAUTHENTICATED: 16,
};

const BY_NUMBER = new Map<number, StatusCode>(
  (Object.entries(STATUS_CODE_NUMBERS) as [StatusCode, number][]).map(([name, number]) => [number, name]),
);

/** The StatusCode of a gRPC or TensorFlow code number; UNKNOWN for numbers outside the table. */
export function statusCodeFromNumber(code: number): StatusCode {
  return BY_NUMBER.get(code) ?? 'UNKNOWN';
}

const MESSAGE_LIMIT_BYTES = 1024;

/** TF Serving's limit on status messages, in UTF-8 bytes, cut at a character boundary. */
export function truncateStatusMessage(message: string): string {
  const bytes = Buffer.from(message, 'utf8');
  if (bytes.length <= MESSAGE_LIMIT_BYTES) return message;
  let end = MESSAGE_LIMIT_BYTES;
  while (end > 0 && (bytes[end]! & 0xc0) === 0x80) end--; // not inside a multi-byte character
  return `${bytes.toString('utf8', 0, end)}...TRUNCATED`;
}

export interface GrpcStatus {
  code: number;
  details: string;
}

/**
 * The gRPC status for an error a handler caught: a TfServeError keeps its code; anything else is a
 * bug in tfserve and answers INTERNAL, as the REST transport does.
 */
export function grpcStatusOf(error: unknown): GrpcStatus {
  if (error instanceof TfServeError) {
    return { code: STATUS_CODE_NUMBERS[error.code], details: truncateStatusMessage(error.message) };
  }
  const message = error instanceof Error ? error.message : String(error);
  return { code: STATUS_CODE_NUMBERS.INTERNAL, details: truncateStatusMessage(message) };
}

/** A client's TfServeError for a gRPC status a server answered. */
export function errorFromGrpcStatus(status: GrpcStatus): TfServeError {
  return new TfServeError(statusCodeFromNumber(status.code), status.details);
}

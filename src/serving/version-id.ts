/**
 * Model versions as requests and labels name them: TF Serving's int64, held as a number when it is a
 * safe integer and as a bigint beyond (never a bigint that fits a number), so that `===` and Map keys
 * compare two of them correctly. Loaded versions are always numbers: the source ignores version
 * directories beyond 2^53, so a request for a bigint version is answered NOT_FOUND with its exact
 * digits (a Number() of them would echo `9223372036854775807` as `9223372036854776000`).
 */
export type VersionId = number | bigint;

/** The canonical VersionId of an integer (a bigint, a safe integer, or decimal digits with an optional sign). */
export function versionId(value: bigint | number | string): VersionId {
  const big = typeof value === 'bigint' ? value : BigInt(value);
  return big >= BigInt(Number.MIN_SAFE_INTEGER) && big <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(big) : big;
}

/**
 * Which of a model's on-disk versions to serve: TF Serving's ServableVersionPolicy (`latest {n}`, `all {}`,
 * `specific {versions}`) as pure functions, with the warnings tensorflow_model_server logs word for word
 * (sources/storage_path/file_system_storage_path_source.cc).
 *
 * Contract: no I/O, no state. `aspiredVersions` gets the version numbers found under a base path and
 * returns the ones to aspire (ascending) plus the warnings the source should log for this poll. The
 * "No versions of servable ..." warning depends on the policy (a `specific` policy can find versions on
 * disk and still aspire none), so it is decided here and not by the directory listing.
 */
import { invalidArgument } from '../model/errors.js';

export type VersionPolicy =
  | { kind: 'latest'; numVersions: number }
  | { kind: 'all' }
  | { kind: 'specific'; versions: number[] };

/** TF Serving's default when a model config names no policy: serve the highest version only. */
export const DEFAULT_VERSION_POLICY: VersionPolicy = Object.freeze({ kind: 'latest', numVersions: 1 });

export interface ServableRef {
  /** The model (servable) name, as warnings quote it. */
  name: string;
  /** Its base path, as the "No versions" warning quotes it. */
  basePath: string;
}

export interface AspiredVersionsResult {
  versions: number[];
  warnings: string[];
}

function describe(value: unknown): string {
  return `${String(value)} of type ${typeof value}`;
}

/** Throws INVALID_ARGUMENT unless `policy` is a well-formed VersionPolicy; returns it typed. */
export function checkVersionPolicy(policy: unknown, what = 'versionPolicy'): VersionPolicy {
  if (typeof policy !== 'object' || policy === null) throw invalidArgument(`Expected object for ${what} but received ${describe(policy)}`);
  const { kind } = policy as { kind?: unknown };
  switch (kind) {
    case 'latest': {
      const n = (policy as { numVersions?: unknown }).numVersions;
      if (typeof n !== 'number' || !Number.isInteger(n)) {
        throw invalidArgument(`Expected integer for ${what}.numVersions but received ${describe(n)}`);
      }
      return policy as VersionPolicy;
    }
    case 'all':
      return policy as VersionPolicy;
    case 'specific': {
      const versions = (policy as { versions?: unknown }).versions;
      if (!Array.isArray(versions)) throw invalidArgument(`Expected array for ${what}.versions but received ${describe(versions)}`);
      versions.forEach((v: unknown, i) => {
        if (typeof v !== 'number' || !Number.isSafeInteger(v)) {
          throw invalidArgument(`Expected integer for ${what}.versions[${i}] but received ${describe(v)}`);
        }
      });
      return policy as VersionPolicy;
    }
    default:
      throw invalidArgument(`Expected one of latest, all, specific for ${what}.kind but received ${describe(kind)}`);
  }
}

export function noVersionsWarning(servable: ServableRef): string {
  return (
    `No versions of servable ${servable.name} found under base path ${servable.basePath}. ` +
    `Did you forget to name your leaf directory as a number (eg. '/1/')?`
  );
}

export function missingSpecificVersionWarning(version: number, servableName: string): string {
  return (
    `Version ${version} of servable ${servableName}, which was requested to be served as a 'specific' ` +
    `version in the servable's version policy, was not found in the file system`
  );
}

export function noSpecificVersionsWarning(servableName: string): string {
  return `No specific versions requested for servable ${servableName}.`;
}

/**
 * The versions to aspire under `policy` given the versions available on disk:
 * - latest {n}: the n highest (n < 1 counts as 1);
 * - all: every available version;
 * - specific: the listed versions that are available; each missing one warns. An empty list warns
 *   "No specific versions requested" and aspires nothing (and, as in TF Serving, without the
 *   "No versions" warning).
 * When nothing is aspired otherwise, the "No versions of servable ..." warning is added.
 */
export function aspiredVersions(policy: VersionPolicy, available: Iterable<number>, servable: ServableRef): AspiredVersionsResult {
  checkVersionPolicy(policy);
  if (typeof servable !== 'object' || servable === null || typeof servable.name !== 'string' || typeof servable.basePath !== 'string') {
    throw invalidArgument(`Expected {name, basePath} strings for servable but received ${describe(servable)}`);
  }
  const sorted = [...new Set(available)].sort((a, b) => a - b);
  const warnings: string[] = [];
  let versions: number[];
  switch (policy.kind) {
    case 'latest':
      versions = sorted.slice(-Math.max(policy.numVersions, 1));
      break;
    case 'all':
      versions = sorted;
      break;
    case 'specific': {
      if (policy.versions.length === 0) {
        return { versions: [], warnings: [noSpecificVersionsWarning(servable.name)] };
      }
      const present = new Set(sorted);
      const requested = [...new Set(policy.versions)];
      versions = requested.filter((v) => present.has(v)).sort((a, b) => a - b);
      for (const v of requested) if (!present.has(v)) warnings.push(missingSpecificVersionWarning(v, servable.name));
      break;
    }
  }
  if (versions.length === 0) warnings.push(noVersionsWarning(servable));
  return { versions, warnings };
}

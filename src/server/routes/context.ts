/** What every REST route adapter gets: the serving layer, the JSON options and the call options. */
import type { ParseOptions } from '../../json/parse.js';
import type { DecodeOptions } from '../../json/predict-codec.js';
import type { CallOptions, Inference } from '../../serving/inference.js';
import type { VersionId } from '../../serving/version-id.js';

export interface RestContext {
  readonly inference: Inference;
  readonly json: ParseOptions & DecodeOptions;
  readonly call: CallOptions;
}

/** The model a URL names: `/v1/models/<name>[/versions/<v>|/labels/<l>]`. */
export interface RestTarget {
  readonly name: string;
  readonly version?: VersionId;
  readonly versionLabel?: string;
}

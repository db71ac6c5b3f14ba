/** GET /v1/models/<name>[...] (status) and GET .../metadata, through the serving layer. */
import { encodeModelMetadata, encodeModelStatus } from '../../json/model-info-codec.js';
import type { RestContext, RestTarget } from './context.js';

export function statusRoute(context: RestContext, target: RestTarget): string {
  return encodeModelStatus(context.inference.getModelStatus({ modelSpec: target }));
}

export function metadataRoute(context: RestContext, target: RestTarget): string {
  return encodeModelMetadata(context.inference.getModelMetadata({ modelSpec: target, metadataField: ['signature_def'] }));
}

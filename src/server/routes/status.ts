/** GET /v1/models/<name>[/versions/<v>|/labels/<l>]: TF Serving's GetModelStatus as JSON (spec §1.4). */
import { TfServeError } from '../../model/errors.js';
import type { ModelManager } from '../../serving/manager.js';

export function modelStatusBody(manager: ModelManager, model: string, version: number | undefined): string {
  let statuses = manager.status(model);
  if (statuses.length === 0) throw new TfServeError('NOT_FOUND', `Could not find any versions of model ${model}`);
  // A label is accepted but ignored, exactly as TF Serving's status handler does.
  if (version !== undefined) {
    statuses = statuses.filter((status) => status.version === version);
    if (statuses.length === 0) throw new TfServeError('NOT_FOUND', `Could not find version ${version} of model ${model}`);
  }
  const body = {
    model_version_status: statuses.map((status) => ({
      version: String(status.version),
      state: status.state,
      status: { error_code: status.error?.code ?? 'OK', error_message: status.error?.message ?? '' },
    })),
  };
  return `${JSON.stringify(body, null, 1)}\n`;
}

/**
 * POST ...:classify and ...:regress (spec §1.8): JSON -> Examples -> serving layer -> `{"results": ...}`.
 * Everything about the body is checked before the servable is looked up, so JSON and Example errors
 * win over unknown model/version/label errors, as in TF Serving.
 */
import { encodeClassificationResults, encodeRegressionResults, parseExamplesBody } from '../../json/examples-codec.js';
import type { RestContext, RestTarget } from './context.js';

export type ClassifyRegressKind = 'classify' | 'regress';

export async function classifyRegressRoute(
  kind: ClassifyRegressKind,
  context: RestContext,
  target: RestTarget,
  body: Uint8Array,
): Promise<Buffer> {
  const { signatureName, examples, context: exampleContext } = parseExamplesBody(body, context.json);
  const request = {
    modelSpec: { ...target, signatureName },
    input: exampleContext === undefined ? { examples } : { examples, context: exampleContext },
  };
  if (kind === 'classify') return encodeClassificationResults((await context.inference.classify(request, context.call)).result);
  return encodeRegressionResults((await context.inference.regress(request, context.call)).result);
}

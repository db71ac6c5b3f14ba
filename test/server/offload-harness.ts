// What the offload, budget and fuzz tests share: the repo's own models in one manager, and the REST
// app over it twice, once decoding every body on the event loop and once on decode threads. Not a
// test file itself.
import { after, before } from 'node:test';

import type { FastifyInstance, InjectOptions } from 'fastify';

import { BUNDLED_MODEL } from '../../src/cli/main.js';
import type { AppOptions } from '../../src/server/app.js';
import { ModelManager } from '../../src/serving/manager.js';
import { loadServable, modelPath, restApp } from '../helpers.js';

export const MODELS = {
  half: `${BUNDLED_MODEL.basePath}/1`,
  dtypes: modelPath('dtypes'),
  tf1: modelPath('tf1_methods'),
  multi: modelPath('keras_multi'),
};

export interface AppPair {
  /** Every body decoded on the event loop (no decode threads). */
  loop: FastifyInstance;
  /** Every JSON body, however small, decoded on a decode thread. */
  offloaded: FastifyInstance;
  manager: ModelManager;
}

export interface Answer {
  status: number;
  body: string;
  contentType: unknown;
}

/** In a suite: the pair of apps, built before its tests and closed after them. */
export function useAppPair(options: Omit<AppOptions, 'inference'> = {}): AppPair {
  const pair = {} as AppPair;
  before(async () => {
    pair.manager = new ModelManager({ load: loadServable, maxLoadRetries: 0 });
    for (const [name, dir] of Object.entries(MODELS)) pair.manager.setAspiredVersions(name, [{ version: 1, path: dir }]);
    await pair.manager.settled();
    pair.loop = await restApp(pair.manager, { ...options, decodeThreads: 0 });
    pair.offloaded = await restApp(pair.manager, { ...options, decodeThreads: 1, offloadBytes: 0 });
  });
  after(async () => {
    await pair.loop?.close();
    await pair.offloaded?.close();
    await pair.manager?.close();
  });
  return pair;
}

export async function answer(app: FastifyInstance, request: InjectOptions): Promise<Answer> {
  const response = await app.inject(request);
  return { status: response.statusCode, body: response.body, contentType: response.headers['content-type'] };
}

// On-demand benchmark (never part of npm test): what observing a REST request costs — the metrics,
// request-logging and access-log observers (src/serving/call-observer.ts, src/server/plugins/observe.ts)
// against none. The model is a Servable that answers at once, so the difference is the observation
// itself; requests go through fastify's inject, alternating rounds so that all see the same machine.
// CPU time (process.cpuUsage) rather than wall time: on a shared machine it moves less with the load
// of other processes.
//
//   npm run bench:observe     # BENCH_REQUESTS (default 5000) per round, BENCH_ROUNDS (default 10) rounds
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Writable } from 'node:stream';

import pino from 'pino';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const dist = (p) => path.join(root, 'dist', p);
const { buildApp } = await import(dist('server/app.js'));
const { Inference } = await import(dist('serving/inference.js'));
const { ModelManager } = await import(dist('serving/manager.js'));
const { ServingMetrics } = await import(dist('serving/metrics.js'));
const { metricsObserver } = await import(dist('serving/metrics-observer.js'));
const { RequestLogging } = await import(dist('serving/request-logging.js'));
const { accessLogObserver } = await import(dist('serving/access-log.js'));
const { combineObservers } = await import(dist('serving/call-observer.js'));

const REQUESTS = Number(process.env.BENCH_REQUESTS ?? 5000);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 10);
const signature = { methodName: 'tensorflow/serving/predict', inputs: { x: { name: 'x:0', dtype: 'float32', shape: [-1], tfType: 1 } }, outputs: { y: { name: 'y:0', dtype: 'float32', shape: [-1], tfType: 1 } } };
const signatureDef = { method_name: 'tensorflow/serving/predict', inputs: { x: { name: 'x:0', dtype: 'DT_FLOAT' } }, outputs: { y: { name: 'y:0', dtype: 'DT_FLOAT' } } };
const echo = {
  path: '/m/1',
  signatures: { serving_default: signature },
  signatureDefs: { serving_default: signatureDef },
  run: async ({ feeds }) => [feeds['x:0']],
  dispose: async () => {},
};

async function app(observer) {
  const manager = new ModelManager({ load: async () => echo });
  manager.setAspiredVersions('m', [{ version: 1, path: '/m/1' }]);
  await manager.settled();
  const inference = new Inference({ manager, observer });
  return buildApp({ inference });
}

const nowhere = new Writable({ write: (_c, _e, done) => done() });
const variants = {
  'no observer': () => app(undefined),
  'metrics + request logging': () => {
    const metrics = new ServingMetrics({ processMetrics: false });
    const logging = new RequestLogging({ savedModelTags: ['serve'] });
    return app(combineObservers([metricsObserver(metrics), logging]));
  },
  '+ access log': () => {
    const metrics = new ServingMetrics({ processMetrics: false });
    const logging = new RequestLogging({ savedModelTags: ['serve'] });
    const log = pino(nowhere);
    return app(combineObservers([metricsObserver(metrics), logging, accessLogObserver({ info: (f, m) => log.info(f, m) })]));
  },
};

const apps = {};
for (const [name, make] of Object.entries(variants)) apps[name] = await make();
const request = { method: 'POST', url: '/v1/models/m:predict', payload: '{"instances": [1.0, 2.0, 5.0, 0.5]}' };
const results = Object.fromEntries(Object.keys(apps).map((name) => [name, []]));
for (let round = 0; round < ROUNDS; round++) {
  for (const [name, instance] of Object.entries(apps)) {
    for (let i = 0; i < 500; i++) await instance.inject(request);
    const start = process.cpuUsage();
    for (let i = 0; i < REQUESTS; i++) await instance.inject(request);
    const used = process.cpuUsage(start);
    results[name].push((used.user + used.system) / REQUESTS);
  }
}
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const base = median(results['no observer']);
console.log(`${REQUESTS} injected predicts per round, ${ROUNDS} rounds, median CPU µs per request:`);
for (const [name, xs] of Object.entries(results)) {
  const m = median(xs);
  console.log(`  ${name.padEnd(28)} ${m.toFixed(1)} µs${name === 'no observer' ? '' : ` (+${(m - base).toFixed(1)} µs)`}`);
}
for (const instance of Object.values(apps)) await instance.close();

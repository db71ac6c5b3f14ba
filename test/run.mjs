// Runs the compiled tests (tsc -p tsconfig.test.json writes them to dist-test/) with node's own test
// runner. The list is explicit: Node 20 has no globs in `node --test`, and an explicit list makes a
// missing file an error instead of a silently smaller run.
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const TESTS = [
  'test/model/dtypes.test.js',
  'test/model/float16.test.js',
  'test/model/errors.test.js',
  'test/model/session-config.test.js',
  'test/model/signature.test.js',
  'test/model/tensor.test.js',
  'test/model/devices.test.js',
  'test/model/cuda.test.js',
  'test/unit/libtensorflow.test.js',
  'test/unit/build-files.test.js',
  'test/unit/package.test.js',
  'test/proto/text-format.test.js',
  'test/proto/config-proto.test.js',
  'test/proto/tfrecord.test.js',
  'test/proto/prediction-log.test.js',
  'test/proto/tensor-proto.test.js',
  'test/proto/serving-protos.test.js',
  'test/proto/serving-codec.test.js',
  'test/proto/grpc-status.test.js',
  'test/proto/kserve-codec.test.js',
  'test/serving/model-config.test.js',
  'test/serving/version-policy.test.js',
  'test/serving/source.test.js',
  'test/serving/version-id.test.js',
  'test/serving/metrics.test.js',
  'test/serving/metrics-observer.test.js',
  'test/serving/monitoring-config.test.js',
  'test/json/parse.test.js',
  'test/json/predict-codec.test.js',
  'test/json/examples-codec.test.js',
  'test/json/v2-codec.test.js',
  'test/serving/examples-signatures.test.js',
  'test/serving/inference.test.js',
  'test/serving/server-core.test.js',
  'test/serving/open-inference.test.js',
  'test/serving/call-observer.test.js',
  'test/serving/warmup.test.js',
  'test/serving/access-log.test.js',
  'test/serving/request-logging.test.js',
  'test/json/float-format.test.js',
  'test/image/preprocess.test.js',
  'test/native/saved-model.test.js',
  'test/native/binding.test.js',
  'test/native/input-lifetime.test.js',
  'test/native/json-numbers.test.js',
  'test/native/memory.test.js',
  'test/serving/manager.test.js',
  'test/serving/batching/batching-parameters.test.js',
  'test/serving/batching/batch-scheduler.test.js',
  'test/serving/batching/batching-servable.test.js',
  'test/conformance/tfserving-models.test.js',
  'test/server/app.test.js',
  'test/server/model-info.test.js',
  'test/server/predict.test.js',
  'test/server/classify-regress.test.js',
  'test/server/v2.test.js',
  'test/grpc/inference-service.test.js',
  'test/grpc/server.test.js',
  'test/server/monitoring.test.js',
  'test/server/image.test.js',
  'test/server/rest-url.test.js',
  'test/server/errors.test.js',
  'test/server/connections.test.js',
  'test/server/request-budget.test.js',
  'test/server/decode-pool.test.js',
  'test/server/memory-reclaim.test.js',
  'test/server/fuzz.test.js',
  'test/client/client.test.js',
  'test/client/grpc-client.test.js',
  'test/cli/flags.test.js',
  'test/cli/session-flags.test.js',
  'test/cli/main.test.js',
  'test/cli/operations.test.js',
  'test/cli/warmup.test.js',
  'test/cli/bin.test.js',
  'test/e2e/emotion.test.js',
  'test/deploy/manifests.test.js',
  'test/deploy/dockerfile.test.js',
  'test/deploy/entrypoint.test.js',
];

const files = TESTS.map((file) => path.join(root, 'dist-test', file));
const missing = files.filter((file) => !fs.existsSync(file));
if (missing.length > 0) {
  console.error(`missing compiled tests:\n  ${missing.join('\n  ')}`);
  process.exit(1);
}
const result = spawnSync(process.execPath, ['--expose-gc', '--test', '--test-concurrency=1', ...files], {
  cwd: root,
  stdio: 'inherit',
  env: { TF_CPP_MIN_LOG_LEVEL: '2', ...process.env },
});
process.exit(result.status ?? 1);

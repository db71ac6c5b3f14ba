// tfserve's per-call predict latency, for bench/run.mjs: sequential awaits, so each number is one
// full round trip JS -> worker thread -> TF_SessionRun -> JS. Prints the median and the mean µs per call.
// Usage: node bench/tfserve_predict.mjs <export_dir> <signature> <input_key> <iterations> <dims...>
// TFSERVE_BENCH_EXECUTION=pool|caller picks config.interOpExecution (default: the library's).
// TFSERVE_BENCH_INPUT=js feeds a plain Float32Array (JS-owned memory, copied once per call) instead
// of allocTensor's aligned native memory (used in place).
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);
const { loadSavedModel, allocTensor } = require('../dist/index.js');

const [exportDir, signature, inputKey, iterationsText, ...dimTexts] = process.argv.slice(2);
const iterations = Number(iterationsText);
const shape = dimTexts.map(Number);
const execution = process.env.TFSERVE_BENCH_EXECUTION;
const model = await loadSavedModel(exportDir, execution ? { config: { interOpExecution: execution } } : {});
const x = process.env.TFSERVE_BENCH_INPUT === 'js'
  ? { dtype: 'float32', shape, data: new Float32Array(shape.reduce((a, b) => a * b, 1)) }
  : allocTensor('float32', shape);
x.data.fill(0.5);
const inputs = { [inputKey]: x };
for (let i = 0; i < iterations / 10 + 1; i += 1) await model.predict(inputs, { signature });
const calls = new Float64Array(iterations);
const start = process.hrtime.bigint();
for (let i = 0; i < iterations; i += 1) {
  const before = process.hrtime.bigint();
  await model.predict(inputs, { signature });
  calls[i] = Number(process.hrtime.bigint() - before) / 1e3;
}
const micros = Number(process.hrtime.bigint() - start) / 1e3 / iterations;
calls.sort();
console.log(`${calls[iterations >> 1].toFixed(3)} ${micros.toFixed(3)}`);
await model.dispose();

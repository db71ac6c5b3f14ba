// The machine's floor for any async hop through libuv's thread pool, for bench/run.mjs: mean µs of
// `await crypto.randomFill(1 byte)` (JS thread -> pool thread -> JS thread, almost no work).
// Usage: node bench/libuv_roundtrip.mjs <iterations>
import crypto from 'node:crypto';

const iterations = Number(process.argv[2] ?? 5000);
const buffer = Buffer.alloc(1);
const once = () => new Promise((resolve, reject) => crypto.randomFill(buffer, (err) => (err ? reject(err) : resolve())));
for (let i = 0; i < iterations / 10 + 1; i += 1) await once();
const start = process.hrtime.bigint();
for (let i = 0; i < iterations; i += 1) await once();
const mean = (Number(process.hrtime.bigint() - start) / 1e3 / iterations).toFixed(3);
console.log(`${mean} ${mean}`);

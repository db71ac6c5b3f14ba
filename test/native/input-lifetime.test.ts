// What JavaScript can do to an input while its predict is in flight: detach it, transfer it to a
// worker, resize or write it, collect it. Each predict must still return the answer for the data as
// it was when predict() was called (allocTensor memory, which runs use in place, must stay valid).
// Every scenario runs in a child process, so that a crash fails its test instead of the runner.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { suite, test } from 'node:test';

import { modelPath, REPO_ROOT } from '../helpers.js';

const LIBRARY = path.resolve(__dirname, '..', '..', 'src', 'index.js');
const HALF_PLUS_TWO = path.join(REPO_ROOT, 'models', 'half_plus_two', '1');

// Runs in the child before a scenario's body. inFlight() starts IN_FLIGHT predicts per round, calls
// `after` on each input right after its predict() returned, collects garbage, then checks every
// output element. half_plus_two computes x / 2 + 2, so 1 -> 2.5 and 9 -> 6.5.
const PRELUDE = `
const tf = require(${JSON.stringify(LIBRARY)});
const { Worker } = require('node:worker_threads');
const N = 1 << 20;
const ROUNDS = 6;
const IN_FLIGHT = 8;
function checkAll(data, allowed, what) {
  for (let i = 0; i < data.length; i += 1) {
    if (!allowed.includes(data[i])) throw new Error(what + ': element ' + i + ' is ' + data[i] + ', expected ' + allowed.join(' or '));
  }
}
async function inFlight(model, makeInput, after, allowed = [2.5]) {
  for (let round = 0; round < ROUNDS; round += 1) {
    const runs = [];
    for (let k = 0; k < IN_FLIGHT; k += 1) {
      const input = makeInput();
      runs.push(model.predict({ x: input }));
      after(input);
    }
    global.gc();
    for (const out of await Promise.all(runs)) {
      if (out.y.data.length === 0) throw new Error('empty output');
      checkAll(out.y.data, allowed, 'round ' + round);
    }
  }
}
const floats = (n = N, buffer = new ArrayBuffer(n * 4)) => ({ dtype: 'float32', shape: [n], data: new Float32Array(buffer, 0, n).fill(1) });
async function main() {
  const model = await tf.loadSavedModel(${JSON.stringify(HALF_PLUS_TWO)});
  await scenario(model);
  await model.dispose();
  console.log('scenario passed');
}
main().catch((err) => { console.error(err); process.exit(1); });
`;

function runScenario(body: string): void {
  const child = spawnSync(process.execPath, ['--expose-gc', '-e', `${PRELUDE}\n${body}`], {
    encoding: 'utf8',
    env: { TF_CPP_MIN_LOG_LEVEL: '2', ...process.env },
  });
  const diagnostics = `signal ${child.signal}, status ${child.status}\n${child.stderr.slice(-2000)}`;
  assert.equal(child.signal, null, diagnostics);
  assert.equal(child.status, 0, diagnostics);
  assert.match(child.stdout, /scenario passed/);
}

suite('inputs changed by JavaScript while their run is in flight', () => {
  test('a typed array detached by a transfer (and collected) after predict() gives the right answer', () => {
    runScenario(`async function scenario(model) {
      await inFlight(model, () => floats(), (x) => structuredClone(x.data.buffer, { transfer: [x.data.buffer] }));
    }`);
  });

  test('a typed array written after predict() gives the answer for the data as it was', () => {
    runScenario(`async function scenario(model) {
      await inFlight(model, () => floats(), (x) => x.data.fill(9));
    }`);
  });

  test('a resizable ArrayBuffer shrunk, grown or transferred after predict() gives the right answer', () => {
    runScenario(`async function scenario(model) {
      const resizable = () => floats(N, new ArrayBuffer(N * 4, { maxByteLength: N * 8 }));
      await inFlight(model, resizable, (x) => { x.data.buffer.resize(0); x.data.buffer.resize(N * 8); });
      await inFlight(model, resizable, (x) => structuredClone(x.data.buffer, { transfer: [x.data.buffer] }));
    }`);
  });

  test('a typed array transferred to a worker that writes and drops it gives the right answer', () => {
    runScenario(`async function scenario(model) {
      const worker = new Worker(
        "require('node:worker_threads').parentPort.on('message', (x) => { x.fill(9); x = null; global.gc(); });",
        { eval: true });
      await inFlight(model, () => floats(), (x) => worker.postMessage(x.data, [x.data.buffer]));
      await worker.terminate();
    }`);
  });

  test('a typed array over a SharedArrayBuffer is read once, on the call', () => {
    runScenario(`async function scenario(model) {
      await inFlight(model, () => floats(N, new SharedArrayBuffer(N * 4)), (x) => x.data.fill(9));
    }`);
  });

  test('a plain array emptied after predict() gives the right answer', () => {
    runScenario(`async function scenario(model) {
      await inFlight(model, () => ({ dtype: 'float32', shape: [4096], data: new Array(4096).fill(1) }), (x) => { x.data.fill(9); x.data.length = 0; });
    }`);
  });

  test('string elements detached after predict() give the right answer', () => {
    runScenario(`async function scenario() {
      const strings = await tf.loadSavedModel(${JSON.stringify(modelPath('dtypes'))});
      for (let round = 0; round < ROUNDS; round += 1) {
        const runs = [];
        for (let k = 0; k < IN_FLIGHT; k += 1) {
          const items = [new Uint8Array(65536).fill(1), new Uint8Array(65536).fill(2)];
          runs.push(strings.predict({ x: { dtype: 'string', shape: [2], data: items } }, { signature: 'string' }));
          for (const item of items) structuredClone(item.buffer, { transfer: [item.buffer] });
        }
        global.gc();
        for (const out of await Promise.all(runs)) {
          const [first, second] = out.y.data;
          if (first.length !== 65536 || second.length !== 65536) throw new Error('wrong string lengths');
          checkAll(first, [2], 'first string');
          checkAll(second, [1], 'second string');
        }
      }
      await strings.dispose();
    }`);
  });

  test('allocTensor memory stays valid when its arrays are transferred, written and collected mid-run', () => {
    runScenario(`async function scenario(model) {
      const aligned = () => { const x = tf.allocTensor('float32', [N]); x.data.fill(1); return x; };
      // Node 22 and later refuse to transfer native (external) memory at all, which is as safe.
      const refusedOrDone = (transfer) => { try { transfer(); } catch (err) { if (err.name !== 'DataCloneError') throw err; } };
      await inFlight(model, aligned, (x) => refusedOrDone(() => structuredClone(x.data.buffer, { transfer: [x.data.buffer] })));
      const worker = new Worker("require('node:worker_threads').parentPort.on('message', () => global.gc());",
        { eval: true });
      await inFlight(model, aligned, (x) => refusedOrDone(() => worker.postMessage(x.data, [x.data.buffer])));
      await worker.terminate();
      // Used in place, so a write during the run may or may not be seen, element by element.
      await inFlight(model, aligned, (x) => x.data.fill(9), [2.5, 6.5]);
      // An Identity output is the input's own memory: it outlives the input's arrays.
      const identity = await tf.loadSavedModel(${JSON.stringify(modelPath('tf2_module'))});
      const outputs = [];
      for (let k = 0; k < IN_FLIGHT; k += 1) outputs.push((await identity.predict({ x: aligned() }, { signature: 'identity' })).y.data);
      global.gc();
      new Float32Array(N * 8).fill(5);
      for (const y of outputs) checkAll(y, [1], 'identity output');
      await identity.dispose();
    }`);
  });
});

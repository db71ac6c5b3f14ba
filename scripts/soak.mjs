// On-demand fault and load run against the real server (bin/tfserve.js on loopback, the bundled
// half_plus_two), never part of npm test. Phases, each bounded:
//   fuzz      generated bodies and URLs (test/server/fuzz-generators.ts) over HTTP, 4 clients
//   soak      mixed load for --seconds: small predicts, 1 MB and gzip bodies, status GETs
//   big       a gzip bomb (refused by the memory budget) and a 10 M-number body, small requests beside;
//             then the same on KServe v2's /v2 infer (the 10 M numbers as plain JSON)
//   slow      clients that stall their headers or body, or trickle it (short timeouts for the run)
//   shutdown  SIGTERM with 8 clients sending 10^6-element requests; then one with a stalled client
// Usage: node scripts/soak.mjs [--phases=fuzz,soak,big,slow,shutdown] [--seconds=60] [--fuzz=20000] [--seed=N]
// Needs the build (npm test makes it). The server's event-loop figure is the longest stretch its loop
// ran code (scripts/soak-probe.cjs; CPU time on Node >= 23.9, wall clock before).
import { execFileSync, spawn } from 'node:child_process';
import fs from 'node:fs';
import http from 'node:http';
import { createRequire } from 'node:module';
import net from 'node:net';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { gzipSync } from 'node:zlib';

const require = createRequire(import.meta.url);
const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const args = Object.fromEntries(process.argv.slice(2).map((arg) => arg.replace(/^--/, '').split('=')));
const phases = (args.phases ?? 'fuzz,soak,big,slow,shutdown').split(',');
const seconds = Number(args.seconds ?? 60);
const fuzzCount = Number(args.fuzz ?? 20_000);
const seed = Number(args.seed ?? Math.floor(Math.random() * 2 ** 31));
const MODEL = '/v1/models/half_plus_two';
const summary = [];

if (!fs.existsSync(path.join(root, 'dist-test', 'test', 'server', 'fuzz-generators.js'))) {
  execFileSync(process.execPath, [path.join(root, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', 'tsconfig.test.json'], { cwd: root, stdio: 'inherit' });
}
const { fuzzBody, fuzzUrl, prng } = require('../dist-test/test/server/fuzz-generators.js');

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));
const mb = (bytes) => `${(bytes / 2 ** 20).toFixed(0)} MB`;
const percentile = (values, p) => {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted.length === 0 ? NaN : sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))];
};

async function startServer(extra = []) {
  const child = spawn(process.execPath, [...(process.env.SOAK_PROF ? ['--cpu-prof', '--cpu-prof-dir=' + process.env.SOAK_PROF] : []), '--require', path.join(root, 'scripts', 'soak-probe.cjs'), path.join(root, 'bin', 'tfserve.js'), '--rest_api_port=0', '--rest_api_listen_address=127.0.0.1', ...extra], {
    cwd: root,
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, TF_CPP_MIN_LOG_LEVEL: '2' },
  });
  let stdout = '';
  let stderr = '';
  child.stderr.on('data', (chunk) => (stderr += chunk));
  const exited = new Promise((resolve) => child.on('exit', (code, signal) => resolve({ code, signal })));
  const port = await new Promise((resolve, reject) => {
    child.stdout.on('data', (chunk) => {
      stdout += chunk;
      const match = /Exporting HTTP\/REST API at:localhost:(\d+)/.exec(stdout);
      if (match) resolve(Number(match[1]));
    });
    exited.then(() => reject(new Error(`the server exited:\n${stdout}\n${stderr}`)));
  });
  const server = {
    child,
    port,
    exited,
    logs: () => stdout,
    /** The probe's figures since the last call (the event loop's longest stretch, memory). */
    async probe() {
      const from = stderr.length;
      child.kill('SIGUSR2');
      for (let i = 0; i < 200 && !stderr.slice(from).includes('SOAK '); i++) await sleep(10);
      const line = stderr.slice(from).split('\n').find((l) => l.startsWith('SOAK '));
      return line ? JSON.parse(line.slice(5)) : null;
    },
    rss() {
      try {
        return Number(/VmRSS:\s+(\d+)/.exec(fs.readFileSync(`/proc/${child.pid}/status`, 'utf8'))[1]) * 1024;
      } catch {
        return NaN;
      }
    },
  };
  // The startup (loading TensorFlow and the model) is not what the runs measure.
  await server.probe();
  return server;
}

function request(port, { method = 'POST', path: target, body, headers = {}, agent }) {
  return new Promise((resolve) => {
    const started = performance.now();
    const req = http.request({ host: '127.0.0.1', port, method, path: target, agent, headers: body ? { 'content-length': body.length, ...headers } : headers }, (res) => {
      let bytes = 0;
      const chunks = [];
      res.on('data', (chunk) => {
        bytes += chunk.length;
        if (chunks.length < 4) chunks.push(chunk);
      });
      res.on('end', () => resolve({ status: res.statusCode, bytes, expected: Number(res.headers['content-length'] ?? -1), ms: performance.now() - started, head: Buffer.concat(chunks).subarray(0, 300).toString(), type: res.headers['content-type'], connection: res.headers.connection }));
      res.on('error', (error) => resolve({ error: error.code ?? error.message, ms: performance.now() - started, bytes }));
    });
    req.on('error', (error) => resolve({ error: error.code ?? error.message, reused: req.reusedSocket, ms: performance.now() - started }));
    req.end(body);
  });
}

const SMALL = Buffer.from('{"instances": [1.0, 2.0, 5.0]}');
const numbers = (count, token = '0.5') => Buffer.from(`{"instances": [${`${token},`.repeat(count - 1)}${token}]}`);

// ---------------------------------------------------------------------------------------------------

async function fuzzPhase() {
  const server = await startServer();
  const random = prng(seed);
  const routes = [`${MODEL}:predict`, `${MODEL}:classify`, `${MODEL}:regress`];
  const statuses = new Map();
  let connectionErrors = 0;
  const badAnswers = [];
  let next = 0;
  const rssBefore = server.rss();
  const started = performance.now();
  const worker = async () => {
    const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
    while (next < fuzzCount) {
      const i = next++;
      let reply;
      let sent;
      if (i % 5 === 4) {
        const { method, url } = fuzzUrl(random);
        let target = url;
        try {
          target = encodeURI(decodeURI(url));
        } catch {
          target = url.replace(/[^\x21-\x7e]/g, (c) => encodeURIComponent(c));
        }
        sent = `${method} ${target}`;
        reply = await request(server.port, { method, path: target, body: method === 'GET' || method === 'HEAD' ? undefined : SMALL, agent });
        if (method === 'HEAD') reply.expected = 0;
      } else {
        const url = routes[Math.floor(random() * routes.length)];
        let body = fuzzBody(random, url);
        const headers = {};
        if (random() < 0.05) {
          headers['content-encoding'] = 'gzip';
          body = gzipSync(body);
        }
        sent = `POST ${url} ${body.toString('latin1').slice(0, 80)}`;
        reply = await request(server.port, { path: url, body, headers, agent });
      }
      if (reply.error) {
        connectionErrors++;
        continue;
      }
      statuses.set(reply.status, (statuses.get(reply.status) ?? 0) + 1);
      const allowed = /^\S+ \/v2\//i.test(sent) ? [200, 400, 404, 405, 429, 501, 503] : [200, 400, 404, 429, 501];
      if (!allowed.includes(reply.status) || (reply.expected >= 0 && reply.bytes !== reply.expected)) {
        badAnswers.push(`${sent} -> ${reply.status} ${reply.bytes}/${reply.expected} ${reply.head.slice(0, 80)}`);
      }
    }
    agent.destroy();
  };
  await Promise.all(Array.from({ length: 4 }, worker));
  const after = await request(server.port, { path: `${MODEL}:predict`, body: SMALL });
  const probe = await server.probe();
  server.child.kill('SIGTERM');
  const exit = await server.exited;
  summary.push([
    'fuzz',
    `${fuzzCount} requests (seed ${seed}) in ${((performance.now() - started) / 1000).toFixed(0)} s: statuses ${JSON.stringify(Object.fromEntries(statuses))}, ` +
      `${badAnswers.length} unexpected answers${badAnswers.length > 0 ? ` (${badAnswers.slice(0, 3).join('; ')})` : ''}, ${connectionErrors} connection errors; a good request after: ${after.status}; ` +
      `RSS ${mb(rssBefore)} -> ${mb(probe.rss)}; longest loop stretch ${probe.loopMs.toFixed(0)} ms (${probe.loopKind}); exit ${exit.code}`,
  ]);
}

async function soakPhase() {
  const server = await startServer();
  const deadline = performance.now() + seconds * 1000;
  const classes = {
    small: { body: SMALL, clients: 12 },
    '1 MB': { body: numbers(200_000), clients: 2 },
    'gzip 5 MB': { body: gzipSync(numbers(1_000_000, '1.25')), clients: 1, headers: { 'content-encoding': 'gzip' } },
    status: { clients: 1, method: 'GET' },
  };
  const stats = Object.fromEntries(Object.keys(classes).map((name) => [name, { done: 0, failed: 0, latencies: [] }]));
  const rss = [server.rss()];
  let loopMax = 0;
  const sampler = setInterval(() => rss.push(server.rss()), 1000);
  const prober = setInterval(async () => {
    const probe = await server.probe();
    if (probe) loopMax = Math.max(loopMax, probe.loopMs);
  }, 5000);
  const loops = Object.entries(classes).flatMap(([name, spec]) =>
    Array.from({ length: spec.clients }, async () => {
      const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
      while (performance.now() < deadline) {
        const reply = await request(server.port, {
          method: spec.method ?? 'POST',
          path: spec.method === 'GET' ? MODEL : `${MODEL}:predict`,
          body: spec.body,
          headers: spec.headers,
          agent,
        });
        const stat = stats[name];
        if (reply.error || reply.status !== 200 || reply.bytes !== reply.expected) stat.failed++;
        else stat.done++;
        if (name === 'small') stat.latencies.push(reply.ms);
      }
      agent.destroy();
    }),
  );
  await Promise.all(loops);
  clearInterval(sampler);
  clearInterval(prober);
  await sleep(3000);
  const idle = server.rss();
  // The decode threads end after 10 s without work, and their heaps with them.
  await sleep(12_000);
  const later = await server.probe();
  server.child.kill('SIGTERM');
  await server.exited;
  const done = Object.values(stats).reduce((sum, stat) => sum + stat.done, 0);
  const failed = Object.values(stats).reduce((sum, stat) => sum + stat.failed, 0);
  const small = stats.small.latencies;
  summary.push([
    'soak',
    `${seconds} s, ${done} requests (${Object.entries(stats).map(([name, stat]) => `${name} ${stat.done}`).join(', ')}), ${failed} failed; ` +
      `small p50/p99/max ${percentile(small, 50).toFixed(1)}/${percentile(small, 99).toFixed(1)}/${Math.max(...small).toFixed(0)} ms; ` +
      `RSS start ${mb(rss[0])}, max ${mb(Math.max(...rss))}, 3 s after ${mb(idle)}, 15 s after ${mb(later.rss)} (JS heap ${mb(later.heapTotal)}, external ${mb(later.external)}); ` +
      `longest loop stretch ${loopMax.toFixed(0)} ms (${later.loopKind})`,
  ]);
}

/** A bomb, then a large body with small requests beside it, on a running server: the figures. */
async function bigCase(server, refusedRequest, acceptedRequest) {
  await server.probe();
  const rssBefore = server.rss();
  const refused = await request(server.port, refusedRequest);
  let probing = true;
  const small = [];
  let peak = rssBefore;
  const sampler = setInterval(() => (peak = Math.max(peak, server.rss())), 50);
  const prober = (async () => {
    const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
    while (probing) {
      small.push((await request(server.port, { path: `${MODEL}:predict`, body: SMALL, agent })).ms);
      await sleep(10);
    }
    agent.destroy();
  })();
  const accepted = await request(server.port, acceptedRequest);
  probing = false;
  await prober;
  clearInterval(sampler);
  const during = await server.probe();
  let error;
  try {
    error = JSON.parse(refused.head).error;
  } catch {
    error = refused.head || refused.error;
  }
  return { refused, error, accepted, small, during, rssBefore, peak };
}

function bigText(what, { refused, error, accepted, small, during, rssBefore, peak }) {
  return (
    `${what[0]}: ${refused.status} in ${refused.ms.toFixed(0)} ms ("${String(error).slice(0, 60)}..."); ` +
    `${what[1]}: ${accepted.status}, ${accepted.bytes} B in ${(accepted.ms / 1000).toFixed(1)} s; ` +
    `${small.length} small requests beside it: p99 ${percentile(small, 99).toFixed(0)} ms, max ${Math.max(...small).toFixed(0)} ms; ` +
    `longest loop stretch ${during.loopMs.toFixed(0)} ms (${during.loopKind}); RSS ${mb(rssBefore)}, peak ${mb(peak)}`
  );
}

const v2Numbers = (count, token) => Buffer.from(`{"inputs": [{"name": "x", "shape": [${count}], "datatype": "FP32", "data": [${`${token},`.repeat(count - 1)}${token}]}]}`);

async function bigPhase() {
  const server = await startServer();
  const bomb = gzipSync(numbers(45_000_000, '1'));
  const large = gzipSync(numbers(10_000_000, '1.5'));
  const v1 = await bigCase(
    server,
    { path: `${MODEL}:predict`, body: bomb, headers: { 'content-encoding': 'gzip' } },
    { path: `${MODEL}:predict`, body: large, headers: { 'content-encoding': 'gzip' } },
  );
  const afterMs = [1500, 5000, 15000];
  const after = [];
  for (const wait of afterMs) {
    await sleep(wait - (after.length > 0 ? afterMs[after.length - 1] : 0));
    after.push(mb(server.rss()));
  }
  // KServe v2: a gzip bomb of the same numbers, then 10 M of them as plain JSON (the size path).
  const v2BombJson = v2Numbers(45_000_000, '1');
  const v2Bomb = gzipSync(v2BombJson);
  const v2Large = v2Numbers(10_000_000, '1.5');
  const v2 = await bigCase(
    server,
    { path: '/v2/models/half_plus_two/infer', body: v2Bomb, headers: { 'content-encoding': 'gzip' } },
    { path: '/v2/models/half_plus_two/infer', body: v2Large },
  );
  server.child.kill('SIGTERM');
  await server.exited;
  summary.push([
    'big',
    `${bigText([`gzip bomb ${bomb.length} B -> 90 MB (45 M numbers)`, `10 M numbers (${large.length} B gzip)`], v1)}, ` +
      `after ${afterMs.map((ms, i) => `${ms / 1000} s ${after[i]}`).join(', ')}`,
  ]);
  summary.push([
    'big v2',
    bigText([`/v2 gzip bomb ${v2Bomb.length} B -> ${mb(v2BombJson.length)} (45 M numbers)`, `/v2 10 M numbers (${mb(v2Large.length)} JSON)`], v2),
  ]);
}

function rawClient(port, writes) {
  return new Promise((resolve) => {
    const started = performance.now();
    const socket = net.connect(port, '127.0.0.1');
    let received = '';
    socket.on('data', (chunk) => (received += chunk));
    socket.on('error', () => undefined);
    socket.on('close', () => resolve({ ms: performance.now() - started, status: /^HTTP\/1\.1 (\d+)/.exec(received)?.[1] ?? 'closed' }));
    let i = 0;
    const next = () => {
      if (i >= writes.length) return;
      const [delay, text] = writes[i++];
      setTimeout(() => {
        if (!socket.destroyed) {
          socket.write(text);
          next();
        }
      }, delay);
    };
    next();
  });
}

async function slowPhase() {
  const server = await startServer(['--rest_api_headers_timeout_in_ms=2000', '--rest_api_receive_timeout_in_ms=5000', '--rest_api_keepalive_timeout_in_ms=3000']);
  const post = `POST ${MODEL}:predict HTTP/1.1\r\nHost: x\r\nContent-Length: 1000\r\n\r\n`;
  const [headers, body, trickle, idle] = await Promise.all([
    rawClient(server.port, [[0, `GET ${MODEL} HTTP/1.1\r\nHost: x\r\n`]]),
    rawClient(server.port, [[0, `${post}{"instances": [`]]),
    rawClient(server.port, [[0, post], ...Array.from({ length: 100 }, () => [100, ' '])]),
    rawClient(server.port, [[0, `GET ${MODEL} HTTP/1.1\r\nHost: x\r\n\r\n`]]),
  ]);
  server.child.kill('SIGTERM');
  await server.exited;
  const show = (r) => `${r.status} after ${(r.ms / 1000).toFixed(1)} s`;
  summary.push(['slow', `(headers 2 s, receive 5 s, keep-alive 3 s) stalled headers: ${show(headers)}; stalled body: ${show(body)}; trickled body: ${show(trickle)}; idle keep-alive: answered ${show(idle)}, then closed`]);
}

async function shutdownPhase() {
  const server = await startServer();
  const body = numbers(1_000_000, '7');
  const counts = { full: 0, short: 0, reset: 0, refused: 0, 503: 0, other: 0 };
  let running = true;
  let signalled = false;
  let afterSignal = 0;
  const loops = Array.from({ length: 8 }, async () => {
    const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
    while (running) {
      const reply = await request(server.port, { path: `${MODEL}:predict`, body, agent });
      if (signalled) afterSignal++;
      if (reply.error === 'ECONNREFUSED') {
        counts.refused++;
        await sleep(20);
      } else if (reply.error) counts.reset++;
      else if (reply.status === 503) counts[503]++;
      else if (reply.status !== 200) counts.other++;
      else if (reply.bytes === reply.expected) counts.full++;
      else counts.short++;
    }
    agent.destroy();
  });
  await sleep(8000);
  const signalAt = performance.now();
  signalled = true;
  server.child.kill('SIGTERM');
  const exit = await server.exited;
  const stopMs = performance.now() - signalAt;
  await sleep(500);
  running = false;
  await Promise.all(loops);

  // A client that sent its headers and stalls: the drain deadline ends it, and the process exits 0.
  const second = await startServer(['--drain_timeout_seconds=5']);
  const stalled = rawClient(second.port, [[0, `POST ${MODEL}:predict HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\n{"in`]]);
  await sleep(300);
  const drainAt = performance.now();
  second.child.kill('SIGTERM');
  const drained = await second.exited;
  const drainMs = performance.now() - drainAt;
  await stalled;
  summary.push([
    'shutdown',
    `SIGTERM under 8 clients of 10^6-element requests: ${JSON.stringify(counts)} (responses in full, cut short, reset, refused, 503, other); ` +
      `exit ${exit.code ?? exit.signal} ${(stopMs / 1000).toFixed(1)} s after the signal. ` +
      `With a stalled client and --drain_timeout_seconds=5: exit ${drained.code} after ${(drainMs / 1000).toFixed(1)} s`,
  ]);
}

const PHASES = { fuzz: fuzzPhase, soak: soakPhase, big: bigPhase, slow: slowPhase, shutdown: shutdownPhase };
for (const phase of phases) {
  const started = performance.now();
  process.stdout.write(`${phase}...`);
  await PHASES[phase]();
  process.stdout.write(` ${((performance.now() - started) / 1000).toFixed(0)} s\n`);
}
console.log(`\nNode ${process.version}, ${require('node:os').cpus().length} CPUs, load average ${require('node:os').loadavg().map((l) => l.toFixed(1)).join(' ')}`);
for (const [phase, text] of summary) console.log(`${phase.padEnd(9)} ${text}`);

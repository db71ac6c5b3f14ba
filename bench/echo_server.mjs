// The platform's own floor for bench/server.mjs: bare fastify on the same Node answering each
// model's predict with the very bytes tfserve answers it with, read from a file once, doing no work
// per request (no parsing, no TensorFlow). tfserve's added latency and its throughput ratio are
// measured against it; its p99/p50 shows the tail this machine and Node add by themselves.
// Usage: node bench/echo_server.mjs <port> <answers.json: {"<model>": "<response body>"}>
import fs from 'node:fs';
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);
const Fastify = require('fastify');

const answers = new Map(
  Object.entries(JSON.parse(fs.readFileSync(process.argv[3], 'utf8'))).map(([model, body]) => [`${model}:predict`, Buffer.from(body)]),
);
const app = Fastify({ bodyLimit: 256 * 1024 * 1024 });
app.addContentTypeParser('application/json', { parseAs: 'buffer' }, (_request, body, done) => done(null, body));
app.post('/v1/models/:target', async (request, reply) => {
  reply.type('application/json');
  return answers.get(request.params.target);
});
await app.listen({ port: Number(process.argv[2]), host: '127.0.0.1' });

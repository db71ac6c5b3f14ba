// The platform's own floor for bench/server.mjs: fastify on the same Node, reading the same JSON body
// (parsed with JSON.parse) and answering a fixed small `{"predictions": ...}`, with no TensorFlow and
// no tfserve. Its p99/p50 shows how much tail latency this machine and Node add by themselves.
// Usage: node bench/echo_server.mjs <port>
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);
const Fastify = require('fastify');

const app = Fastify({ bodyLimit: 256 * 1024 * 1024 });
app.addContentTypeParser('application/json', { parseAs: 'buffer' }, (_request, body, done) => done(null, body));
app.post('/v1/models/:target', async (request, reply) => {
  const { instances } = JSON.parse(request.body.toString('utf8'));
  reply.type('application/json');
  return `{"predictions": [${instances.length}]}`;
});
await app.listen({ port: Number(process.argv[2]), host: '127.0.0.1' });

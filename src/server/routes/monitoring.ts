/**
 * The Prometheus page on the REST port (`--monitoring_config_file`, TFSERVING_SPEC.md §7), as TF
 * Serving's http_server.cc serves it: any method on the configured path, `Content-Type: text/plain`;
 * a request target that is not exactly the path (a query string, say) gets HTTP 400 and the text
 * `Unexpected path: <target>. Should be <path>`.
 */
import type { FastifyInstance } from 'fastify';

export interface MonitoringRouteOptions {
  /** The configured path, e.g. /monitoring/prometheus/metrics. */
  readonly path: string;
  /** Renders the page. */
  readonly page: () => Promise<string>;
}

export function registerMonitoringRoute(app: FastifyInstance, options: MonitoringRouteOptions): void {
  const { path, page } = options;
  app.all(path, async (request, reply) => {
    // A Buffer, so that fastify does not append "; charset=utf-8": TF Serving sends exactly text/plain.
    reply.type('text/plain');
    if (request.originalUrl !== path) {
      return reply.code(400).send(Buffer.from(`Unexpected path: ${request.originalUrl}. Should be ${path}`, 'utf8'));
    }
    return reply.code(200).send(Buffer.from(await page(), 'utf8'));
  });
}

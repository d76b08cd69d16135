/**
 * The gateway process: connects to Temporal and the service databases, listens, and shuts down gracefully. Logs
 * JSON lines (lib/logger.ts); serves `GET /metrics` on its metrics port (api/metrics.ts).
 */
import type { Server, ServerResponse } from 'node:http';
import { Client, Connection } from '@temporalio/client';
import { logDatabaseWarningsTo } from '../lib/databases';
import { closeServer, serveEndpoints } from '../lib/http-endpoints';
import { createLogger } from '../lib/logger';
import { AesGcmPayloadCodec, dataConverterOf } from '../lib/payload-codec';
import { startTracing, tracingClientInterceptors } from '../lib/tracing';
import { connectDatabases, createServices } from '../lib/wiring';
import { createOrderEvents } from '../services/order';
import { createApp } from './app';
import { loadGatewayConfig } from './config';
import { createHealthCheck } from './health';
import { HttpMetrics, metricsAnswer } from './metrics';
import { requestIdInterceptor } from './request-context';
import { createSagaClient } from './saga-client';

/** How long in-flight requests may take to finish after SIGTERM/SIGINT before the process gives up on them. */
const SHUTDOWN_GRACE_MS = 10_000;

async function main(): Promise<void> {
  const config = loadGatewayConfig();
  const logger = createLogger({ service: 'gateway', level: config.logLevel });
  logDatabaseWarningsTo(logger);
  const tracing = startTracing('gateway', config.otlpEndpoint);
  const databases = connectDatabases(config.databases);
  // Lazy: the gateway starts (and answers /health with 503) while Temporal is down or restarting; the channel
  // connects on the first call and reconnects by itself.
  const connection = Connection.lazy(config.temporal.connection);
  // Every payload the gateway sends (an order's input, its card token) is encrypted before it leaves the process.
  const codec = new AesGcmPayloadCodec(config.payloadKeys);
  const client = new Client({
    connection,
    namespace: config.temporal.namespace,
    dataConverter: dataConverterOf(codec),
    // A started workflow carries the request's id (api/request-context.ts) and its trace (lib/tracing.ts) on
    // to the workers.
    interceptors: { workflow: [requestIdInterceptor, ...tracingClientInterceptors().workflow] },
  });
  // One LISTEN connection for every client waiting on an order (long poll, Prefer: wait, event stream).
  const orderEvents = createOrderEvents(config.databases.order.url, (error) =>
    logger.warn({ err: error }, 'order progress listener lost its connection; reconnecting'),
  );
  const services = createServices(databases);
  const httpMetrics = new HttpMetrics();
  const metricsServer: Server | undefined = config.metricsPort
    ? await serveEndpoints(config.metricsPort, {
        '/metrics': () => metricsAnswer(services.orders, httpMetrics, logger),
      }).catch((error: unknown) => {
        throw new Error(`GATEWAY_METRICS_PORT ${config.metricsPort}: ${String(error)}`);
      })
    : undefined;

  const app = createApp({
    services,
    orderEvents,
    saga: createSagaClient(client, config.temporal.uiUrl, {
      compensationRetryInterval: config.compensationRetryInterval,
    }),
    auth: { secret: config.jwtSecret, expiresInSeconds: config.jwtExpiresInSeconds, audience: config.jwtAudience },
    checkHealth: createHealthCheck(connection, databases, (dependency, reason) =>
      logger.warn({ dependency, reason }, 'health check failed'),
    ),
    logger,
    codec: { codec, allowedOrigins: config.codecCorsOrigins },
    corsOrigins: config.corsOrigins,
    loginRateLimit: config.loginRateLimit,
    loginAccountRateLimit: config.loginAccountRateLimit,
    signUpRateLimit: config.signUpRateLimit,
    orderLimits: config.orderLimits,
    trustProxy: config.trustProxy,
    rateLimitStore: config.rateLimitStore,
    httpMetrics,
  });

  const server = app.listen(config.port, () => logger.info(`gateway listening on http://localhost:${config.port}`));
  if (metricsServer) logger.info(`gateway metrics on http://localhost:${config.metricsPort}/metrics`);
  let stopping = false;
  const unanswered = new Set<ServerResponse>();
  server.on('request', (_req, res: ServerResponse) => {
    if (stopping) res.setHeader('Connection', 'close');
    unanswered.add(res);
    res.on('close', () => unanswered.delete(res));
  });
  const shutdown = (signal: string) => {
    if (stopping) return;
    stopping = true;
    logger.info({ signal, inFlight: unanswered.size }, 'shutting down: finishing in-flight requests');
    // Keep-alive clients would otherwise hold their connections (and this process) open after their answer.
    for (const res of unanswered) if (!res.headersSent) res.setHeader('Connection', 'close');
    // Named, so that a shutdown that outlasts its grace says which client it was still waiting for.
    const pending = new Set<string>(['http']);
    const closing = (name: string, close: () => Promise<unknown> | undefined) => {
      pending.add(name);
      return Promise.resolve(close()).finally(() => pending.delete(name));
    };
    server.close(() => {
      pending.delete('http');
      void Promise.allSettled([
        closing('temporal', () => connection.close()),
        closing('metrics', () => closeServer(metricsServer)),
        closing('order events', () => orderEvents.close()),
        ...Object.entries(databases).map(([name, db]) => closing(`database ${name}`, () => db.$disconnect())),
        closing('tracing', () => tracing?.shutdown()),
      ]).then((results) => {
        for (const result of results) {
          if (result.status === 'rejected') logger.warn({ err: result.reason }, 'a client did not close cleanly');
        }
        logger.info('gateway stopped');
        process.exit(0);
      });
    });
    server.closeIdleConnections();
    setTimeout(() => {
      logger.error(
        { inFlight: unanswered.size, waitingFor: [...pending] },
        `shutdown not done after ${SHUTDOWN_GRACE_MS} ms; exiting`,
      );
      process.exit(1);
    }, SHUTDOWN_GRACE_MS).unref();
  };
  process.on('SIGINT', () => shutdown('SIGINT'));
  process.on('SIGTERM', () => shutdown('SIGTERM'));
}

main().catch((error: unknown) => {
  console.error('gateway failed to start:', error instanceof Error ? error.message : error);
  process.exit(1);
});

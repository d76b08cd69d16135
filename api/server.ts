/** The gateway process: connects to Temporal and the service databases, listens, and shuts down gracefully. */
import type { ServerResponse } from 'node:http';
import { Client, Connection } from '@temporalio/client';
import { pino } from 'pino';
import { AesGcmPayloadCodec, dataConverterOf } from '../lib/payload-codec';
import { startTracing, tracingClientInterceptors } from '../lib/tracing';
import { connectDatabases, createServices } from '../lib/wiring';
import { createOrderEvents } from '../services/order';
import { createApp } from './app';
import { loadGatewayConfig } from './config';
import { createHealthCheck } from './health';
import { createSagaClient } from './saga-client';

/** How long in-flight requests may take to finish after SIGTERM/SIGINT before the process gives up on them. */
const SHUTDOWN_GRACE_MS = 10_000;

async function main(): Promise<void> {
  const config = loadGatewayConfig();
  const tracing = startTracing('gateway', config.otlpEndpoint);
  const logger = pino({ level: config.logLevel });
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
    // A started workflow carries the request's trace on to the workers (lib/tracing.ts).
    interceptors: tracingClientInterceptors(),
  });
  // One LISTEN connection for every client waiting on an order (long poll, Prefer: wait, event stream).
  const orderEvents = createOrderEvents(config.databases.order.url, (error) =>
    logger.warn({ err: error }, 'order progress listener lost its connection; reconnecting'),
  );

  const app = createApp({
    services: createServices(databases),
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
  });

  const server = app.listen(config.port, () => logger.info(`gateway listening on http://localhost:${config.port}`));
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
    server.close(() => {
      void Promise.allSettled([
        connection.close(),
        orderEvents.close(),
        ...Object.values(databases).map((db) => db.$disconnect()),
        tracing?.shutdown(),
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
      logger.error({ inFlight: unanswered.size }, `requests still open after ${SHUTDOWN_GRACE_MS} ms; exiting`);
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

/** The gateway process: connects to Temporal and the service databases, listens, and shuts down gracefully. */
import { Client, Connection } from '@temporalio/client';
import { pino } from 'pino';
import { connectCouponDb, connectItemDb, connectOrderDb, connectPaymentDb, connectUserDb } from '../lib/databases';
import { createCouponService } from '../services/coupon';
import { createItemService } from '../services/item';
import { createOrderService } from '../services/order';
import { createUserService } from '../services/user';
import { createApp } from './app';
import { loadGatewayConfig } from './config';
import { createHealthCheck } from './health';
import { createSagaClient } from './saga-client';

async function main(): Promise<void> {
  const config = loadGatewayConfig();
  const logger = pino({ level: config.logLevel });
  const databases = {
    user: connectUserDb(),
    item: connectItemDb(),
    coupon: connectCouponDb(),
    payment: connectPaymentDb(),
    order: connectOrderDb(),
  };
  const connection = await Connection.connect({ address: config.temporal.address });
  const client = new Client({ connection, namespace: config.temporal.namespace });

  const app = createApp({
    services: {
      users: createUserService(databases.user),
      items: createItemService(databases.item),
      coupons: createCouponService(databases.coupon),
      orders: createOrderService(databases.order),
    },
    saga: createSagaClient(client, config.temporal.uiUrl),
    auth: { secret: config.jwtSecret, expiresInSeconds: config.jwtExpiresInSeconds },
    checkHealth: createHealthCheck(connection, databases),
    logger,
    corsOrigins: config.corsOrigins,
    loginRateLimit: config.loginRateLimit,
  });

  const server = app.listen(config.port, () => logger.info(`gateway listening on http://localhost:${config.port}`));
  let stopping = false;
  const shutdown = (signal: string) => {
    if (stopping) return;
    stopping = true;
    logger.info({ signal }, 'shutting down: finishing in-flight requests');
    server.close(async () => {
      await connection.close();
      await Promise.all(Object.values(databases).map((db) => db.$disconnect()));
      process.exit(0);
    });
    server.closeIdleConnections();
    setTimeout(() => process.exit(1), 10_000).unref();
  };
  process.on('SIGINT', () => shutdown('SIGINT'));
  process.on('SIGTERM', () => shutdown('SIGTERM'));
}

main().catch((error: unknown) => {
  console.error('gateway failed to start:', error instanceof Error ? error.message : error);
  process.exit(1);
});

/**
 * One-shot set-up for an existing infrastructure (docker-compose, or any PostgreSQL and Temporal you run):
 * applies every service's migrations, loads the seed data and registers the custom search attributes.
 * Reads the same environment variables as the services (see the README's configuration table). Logs JSON lines,
 * like the gateway and the workers.
 */
import { Connection } from '@temporalio/client';
import { loadSetupConfig, type TemporalSettings } from '../lib/config';
import { createLogger } from '../lib/logger';
import { SERVICE_NAMES } from '../lib/services';
import { OrderSearchAttributes } from '../workflows/definitions';
import { migrateService } from './lib/migrate';

const logger = createLogger({ service: 'setup', level: 'info' });

const INDEXED_VALUE_TYPE = { KEYWORD: 2, INT: 3 } as const; // temporal.api.enums.v1.IndexedValueType

async function registerSearchAttributes(temporal: TemporalSettings): Promise<void> {
  const connection = await Connection.connect(temporal.connection);
  try {
    const { customAttributes } = await connection.operatorService.listSearchAttributes({
      namespace: temporal.namespace,
    });
    const missing = Object.values(OrderSearchAttributes).filter((key) => !customAttributes?.[key.name]);
    if (missing.length === 0) return;
    await connection.operatorService.addSearchAttributes({
      namespace: temporal.namespace,
      searchAttributes: Object.fromEntries(
        missing.map((key) => [key.name, key.type === 'INT' ? INDEXED_VALUE_TYPE.INT : INDEXED_VALUE_TYPE.KEYWORD]),
      ),
    });
    logger.info({ searchAttributes: missing.map((key) => key.name) }, 'registered search attributes');
  } finally {
    await connection.close();
  }
}

async function main(): Promise<void> {
  const config = loadSetupConfig();
  for (const service of SERVICE_NAMES) {
    const migrations = await migrateService(service, config.databases[service].url);
    logger.info({ database: service, migrations }, `${service}: migrations ${migrations}`);
  }
  const { seed } = await import('./lib/seed');
  const { connectDatabase } = await import('../lib/wiring');
  const dbs = {
    user: connectDatabase('user', config.databases.user),
    item: connectDatabase('item', config.databases.item),
    coupon: connectDatabase('coupon', config.databases.coupon),
  };
  const { created } = await seed(dbs);
  logger.info({ created }, `seed: ${created} records created`);
  await Promise.all(Object.values(dbs).map((db) => db.$disconnect()));
  await registerSearchAttributes(config.temporal);
}

main().catch((error: unknown) => {
  logger.fatal({ err: error }, 'set-up failed');
  process.exit(1);
});

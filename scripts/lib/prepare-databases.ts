/**
 * Migrations and seed data for every service database, as `npm start` and `npm run start:cluster` run them once per
 * start, before any service process (not supervised: they finish). The seed and the Prisma wiring are imported
 * lazily, because the generated clients they need may only exist once the start script has prepared them.
 */
import { databaseUrlVariable, loadDatabaseSettings } from '../../lib/config';
import { SERVICE_NAMES } from '../../lib/services';
import { migrateService } from './migrate';

export async function migrateAndSeed(env: NodeJS.ProcessEnv, log: (line: string) => void): Promise<void> {
  const migrated = await Promise.all(
    SERVICE_NAMES.map((service) => migrateService(service, env[databaseUrlVariable(service)]!)),
  );
  log(`migrations: ${SERVICE_NAMES.map((service, index) => `${service} ${migrated[index]}`).join(', ')}`);
  const { seed } = await import('./seed');
  const { connectDatabase } = await import('../../lib/wiring');
  const settings = loadDatabaseSettings(['user', 'item', 'coupon'] as const, env);
  const databases = {
    user: connectDatabase('user', settings.user),
    item: connectDatabase('item', settings.item),
    coupon: connectDatabase('coupon', settings.coupon),
  };
  const { created } = await seed(databases);
  await Promise.all(Object.values(databases).map((db) => db.$disconnect()));
  log(created > 0 ? `seed data loaded (${created} records)` : 'seed data already present');
}

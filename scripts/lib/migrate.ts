/** Applies each service's committed Prisma migrations to its database (`prisma migrate deploy`, offline engine). */
import { spawn } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';
import path from 'node:path';
import pg from 'pg';
import { databaseUrlVariable, type ServiceName } from '../../lib/config';

/**
 * The project root: the nearest folder above with a package.json. Not a fixed `../..`, so that the compiled copy
 * (dist/scripts/lib, run by the image's set-up job and by `npm start`) finds the same prisma/ and node_modules/.
 */
function projectRoot(from: string): string {
  for (let dir = from; ; dir = path.dirname(dir)) {
    if (existsSync(path.join(dir, 'package.json'))) return dir;
    if (path.dirname(dir) === dir) throw new Error(`no package.json above ${from}`);
  }
}

export const ROOT = projectRoot(__dirname);
const PRISMA_CLI = path.join(ROOT, 'node_modules', 'prisma', 'build', 'index.js');

/** Runs the Prisma CLI for one service with its database URL set; rejects with the CLI's output on failure. */
export function runPrisma(service: ServiceName, args: string[], databaseUrl: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn(
      process.execPath,
      [PRISMA_CLI, ...args, '--config', path.join(ROOT, 'prisma', service, 'prisma.config.ts')],
      {
        cwd: ROOT,
        env: {
          ...process.env,
          [databaseUrlVariable(service)]: databaseUrl,
          PRISMA_HIDE_UPDATE_MESSAGE: '1',
          CHECKPOINT_DISABLE: '1',
        },
        stdio: ['ignore', 'pipe', 'pipe'],
      },
    );
    let output = '';
    child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.on('error', reject);
    child.on('close', (code) =>
      code === 0
        ? resolve(output)
        : reject(new Error(`prisma ${args.join(' ')} for ${service} failed (${code}):\n${output}`)),
    );
  });
}

function committedMigrations(service: ServiceName): string[] {
  const folder = path.join(ROOT, 'prisma', service, 'migrations');
  return readdirSync(folder, { withFileTypes: true })
    .filter((entry) => entry.isDirectory())
    .map((entry) => entry.name)
    .sort();
}

/** The committed migrations that Prisma has not recorded as applied to this database. */
async function pendingMigrations(service: ServiceName, databaseUrl: string): Promise<string[]> {
  const client = new pg.Client({ connectionString: databaseUrl });
  await client.connect();
  try {
    const { rows: table } = await client.query<{ exists: boolean }>(
      `SELECT to_regclass('_prisma_migrations') IS NOT NULL AS exists`,
    );
    if (!table[0]?.exists) return committedMigrations(service);
    const { rows } = await client.query<{ name: string }>(
      `SELECT migration_name AS name FROM _prisma_migrations WHERE finished_at IS NOT NULL AND rolled_back_at IS NULL`,
    );
    const applied = new Set(rows.map((row) => row.name));
    return committedMigrations(service).filter((name) => !applied.has(name));
  } finally {
    await client.end();
  }
}

/**
 * Brings a service database up to date. Skips the CLI when nothing is pending: the Prisma 6 wasm schema
 * engine keeps its process alive for ten seconds after it finishes, which a restart should not pay for.
 */
export async function migrateService(service: ServiceName, databaseUrl: string): Promise<'applied' | 'up-to-date'> {
  if ((await pendingMigrations(service, databaseUrl)).length === 0) return 'up-to-date';
  await runPrisma(service, ['migrate', 'deploy'], databaseUrl);
  return 'applied';
}

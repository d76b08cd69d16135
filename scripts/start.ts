/**
 * `npm start`: the whole system on one machine, no Docker. Starts PostgreSQL (embedded, unless every service
 * has a *_DATABASE_URL) and a Temporal dev server with its Web UI (unless TEMPORAL_ADDRESS is set), applies
 * migrations, loads the seed data, then runs each worker and the gateway as its own OS process. Ctrl-C stops
 * everything in reverse order and keeps the data for the next start.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import {
  DEFAULT_TEMPORAL_PORT,
  DEFAULT_TEMPORAL_UI_PORT,
  SERVICES,
  databaseUrl,
  databaseUrlVariable,
  readInteger,
  readPort,
} from '../lib/config';
import { ROOT, migrateService } from './lib/migrate';
import { generatePrismaClients } from './lib/prisma-clients';
import { resolveTemporalCli, startDevServer, type RunningDevServer } from './lib/temporal-server';

const DATA_DIR = process.env.DATA_DIR || path.join(ROOT, '.data');
const COLORS = [36, 33, 35, 32, 34, 31, 96, 93];
const PROCESSES = [
  { name: 'order-worker', entry: 'workers/order.ts' },
  { name: 'item-worker', entry: 'workers/item.ts' },
  { name: 'coupon-worker', entry: 'workers/coupon.ts' },
  { name: 'payment-worker', entry: 'workers/payment.ts' },
  { name: 'gateway', entry: 'api/server.ts' },
];

function prefixer(name: string, index: number): (line: string) => void {
  const label = process.stdout.isTTY
    ? `\x1b[${COLORS[index % COLORS.length]}m${name.padEnd(15)}\x1b[0m|`
    : `${name.padEnd(15)}|`;
  return (line) => process.stdout.write(`${label} ${line}\n`);
}

function pipeLines(stream: NodeJS.ReadableStream | null, write: (line: string) => void): void {
  let buffer = '';
  stream?.on('data', (chunk: Buffer) => {
    buffer += chunk.toString();
    const lines = buffer.split('\n');
    buffer = lines.pop() ?? '';
    for (const line of lines) write(line);
  });
  stream?.on('end', () => buffer && write(buffer));
}

async function main(): Promise<void> {
  const log = prefixer('start', 7);
  const children: { name: string; child: ChildProcess }[] = [];
  let temporal: RunningDevServer | undefined;
  let stopping = false;

  let postgres: { name: string; child: ChildProcess } | undefined;

  async function stopChild(running: { name: string; child: ChildProcess } | undefined): Promise<void> {
    if (!running) return;
    const { name, child } = running;
    if (child.exitCode !== null || child.signalCode !== null) return;
    const exited = new Promise<boolean>((resolve) => child.once('exit', () => resolve(true)));
    child.kill('SIGTERM');
    if (!(await Promise.race([exited, sleep(15_000).then(() => false)]))) {
      log(`${name} did not stop in time; killing it`);
      child.kill('SIGKILL');
    }
  }

  function run(name: string, entry: string, env: NodeJS.ProcessEnv, color: number, onLine?: (line: string) => void) {
    const child = spawn(process.execPath, ['--import', 'tsx', path.join(ROOT, entry)], {
      cwd: ROOT,
      env,
      stdio: ['ignore', 'pipe', 'pipe'],
      // Its own process group: Ctrl-C reaches only this script, which stops the processes in order.
      detached: true,
    });
    const write = prefixer(name, color);
    const onOutput = (line: string) => {
      write(line);
      onLine?.(line);
    };
    pipeLines(child.stdout, onOutput);
    pipeLines(child.stderr, onOutput);
    child.on('exit', (code, signal) => {
      if (stopping) return;
      write(`exited unexpectedly (${signal ?? code}); stopping everything`);
      void stopAll(1);
    });
    return { name, child };
  }

  async function stopAll(exitCode: number): Promise<never> {
    if (stopping) return new Promise<never>(() => {});
    stopping = true;
    log('stopping…');
    for (const running of [...children].reverse()) await stopChild(running);
    await temporal?.stop().catch((error: unknown) => log(`temporal: ${String(error)}`));
    await stopChild(postgres);
    log('stopped; data kept in ' + path.relative(process.cwd(), DATA_DIR));
    process.exit(exitCode);
  }
  process.on('SIGINT', () => void stopAll(Number(process.exitCode ?? 0)));
  process.on('SIGTERM', () => void stopAll(Number(process.exitCode ?? 0)));
  // Never leave children behind, even on an unexpected exit.
  process.on('exit', () =>
    [...children, postgres, temporal?.process && { child: temporal.process }].forEach(
      (running) => running && running.child.exitCode === null && running.child.kill('SIGKILL'),
    ),
  );

  await generatePrismaClients(log);

  const env: NodeJS.ProcessEnv = { ...process.env, DATA_DIR };
  const embedded = SERVICES.filter((service) => !process.env[databaseUrlVariable(service)]);
  if (embedded.length > 0) {
    await new Promise<void>((resolve) => {
      postgres = run('postgres', 'scripts/postgres-server.ts', env, 5, (line) => line.startsWith('ready') && resolve());
    });
  }
  for (const service of SERVICES) env[databaseUrlVariable(service)] = databaseUrl(service, env);

  const migrated = await Promise.all(
    SERVICES.map((service) => migrateService(service, env[databaseUrlVariable(service)]!)),
  );
  log(`migrations: ${SERVICES.map((service, index) => `${service} ${migrated[index]}`).join(', ')}`);
  const { seed } = await import('./lib/seed');
  const { connectUserDb, connectItemDb, connectCouponDb } = await import('../lib/databases');
  const seedDbs = {
    user: connectUserDb(env.USER_DATABASE_URL),
    item: connectItemDb(env.ITEM_DATABASE_URL),
    coupon: connectCouponDb(env.COUPON_DATABASE_URL),
  };
  const { created } = await seed(seedDbs);
  await Promise.all(Object.values(seedDbs).map((db) => db.$disconnect()));
  log(created > 0 ? `seed data loaded (${created} records)` : 'seed data already present');

  let uiUrl = process.env.TEMPORAL_UI_URL;
  if (!process.env.TEMPORAL_ADDRESS) {
    const port = readInteger('TEMPORAL_PORT', DEFAULT_TEMPORAL_PORT, process.env);
    const temporalLog = prefixer('temporal', 6);
    const uiPort = readInteger('TEMPORAL_UI_PORT', DEFAULT_TEMPORAL_UI_PORT, process.env);
    temporal = await startDevServer({
      executable: resolveTemporalCli(),
      port,
      uiPort,
      dbFile: path.join(DATA_DIR, 'temporal', 'temporal.db'),
      // While stopping, the dev server's own system workers warn about the closed port: noise, not news.
      onOutput: (line) => !stopping && temporalLog(line),
      detached: true,
    });
    env.TEMPORAL_ADDRESS = temporal.address;
    uiUrl ??= `http://localhost:${uiPort}`;
    log(`Temporal dev server ready at ${temporal.address}`);
  }
  env.TEMPORAL_UI_URL = uiUrl ?? `http://localhost:${DEFAULT_TEMPORAL_UI_PORT}`;

  PROCESSES.forEach(({ name, entry }, index) => children.push(run(name, entry, env, index)));

  const gateway = `http://localhost:${readPort(env)}`;
  for (let attempt = 0; attempt < 120 && !stopping; attempt += 1) {
    const healthy = await fetch(`${gateway}/health`).then(
      (res) => res.ok,
      () => false,
    );
    if (healthy) break;
    await sleep(500);
  }
  log('');
  log(`Gateway:     ${gateway}   (API docs: ${gateway}/docs)`);
  log(`Temporal UI: ${env.TEMPORAL_UI_URL}`);
  log('Press Ctrl-C to stop.');
}

main().catch((error: unknown) => {
  console.error('start failed:', error instanceof Error ? error.stack : error);
  process.exitCode = 1;
  process.kill(process.pid, 'SIGTERM');
});

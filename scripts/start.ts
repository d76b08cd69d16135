/**
 * `npm start`: the whole system on one machine, no Docker. Starts PostgreSQL (embedded, unless every service
 * has a *_DATABASE_URL), applies migrations, loads the seed data, starts a Temporal dev server with its Web UI
 * (unless TEMPORAL_ADDRESS is set), then runs each worker and the gateway as its own OS process.
 *
 * Every process is supervised (scripts/lib/supervisor.ts): one that dies is restarted with a backoff while the
 * rest keeps running, and one that keeps dying stops everything with exit code 1. Ctrl-C (or SIGTERM) stops
 * everything in reverse order and keeps the data for the next start. The running pids are kept in
 * `$DATA_DIR/processes.json`.
 */
import { mkdirSync, renameSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { bundleWorkflowCode } from '@temporalio/worker';
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
import { portIsFree } from './lib/ports';
import { generatePrismaClients } from './lib/prisma-clients';
import { Supervisor, restartPolicyFromEnv, type ProcessSpec } from './lib/supervisor';
import {
  devServerArgs,
  resolveTemporalCli,
  startDevServer,
  temporalAnswers,
  type RunningDevServer,
} from './lib/temporal-server';

const DATA_DIR = path.resolve(process.env.DATA_DIR || path.join(ROOT, '.data'));
const STATE_FILE = path.join(DATA_DIR, 'processes.json');
const WORKFLOW_BUNDLE = path.join(DATA_DIR, 'workflow-bundle.js');
const COLORS = [36, 33, 35, 32, 34, 31, 96, 93];
const WORKERS = [
  { name: 'order-worker', entry: 'workers/order.ts' },
  { name: 'item-worker', entry: 'workers/item.ts' },
  { name: 'coupon-worker', entry: 'workers/coupon.ts' },
  { name: 'payment-worker', entry: 'workers/payment.ts' },
];
const LABELS = ['postgres', 'temporal', ...WORKERS.map((worker) => worker.name), 'gateway', 'start'];

function prefixer(name: string): (line: string) => void {
  const index = Math.max(0, LABELS.indexOf(name));
  const label = process.stdout.isTTY
    ? `\x1b[${COLORS[index % COLORS.length]}m${name.padEnd(15)}\x1b[0m|`
    : `${name.padEnd(15)}|`;
  return (line) => process.stdout.write(`${label} ${line}\n`);
}

/** A path as a reader wants it: relative when inside the current folder, else absolute. */
function shown(file: string): string {
  const relative = path.relative(process.cwd(), file);
  return relative && !relative.startsWith('..') ? relative : file;
}

const log = prefixer('start');
const supervisor = new Supervisor({
  policy: restartPolicyFromEnv(),
  stateFile: STATE_FILE,
  log,
  // While stopping, the dev server's own system workers warn about the closed port: noise, not news.
  output: (name, line) => !(name === 'temporal' && supervisor.stopping) && prefixer(name)(line),
});

/** A TypeScript entry point of this repository, run by the same Node.js as this script. */
function nodeProcess(name: string, entry: string, env: NodeJS.ProcessEnv): Omit<ProcessSpec, 'readyLine'> {
  return { name, command: process.execPath, args: ['--import', 'tsx', path.join(ROOT, entry)], cwd: ROOT, env };
}

/**
 * Bundles the workflow code once, so that a restarted order worker loads the bundle instead of running webpack
 * again. Written whole and renamed into place: a worker never reads half a bundle.
 */
async function bundleWorkflows(): Promise<string> {
  const { code } = await bundleWorkflowCode({
    workflowsPath: require.resolve('../workflows'),
    logger: { log() {}, info() {}, warn: console.warn, error: console.error, debug() {}, trace() {} },
  });
  mkdirSync(DATA_DIR, { recursive: true });
  writeFileSync(`${WORKFLOW_BUNDLE}.tmp`, code);
  renameSync(`${WORKFLOW_BUNDLE}.tmp`, WORKFLOW_BUNDLE);
  return WORKFLOW_BUNDLE;
}

/** The embedded PostgreSQL wrapper; its ready line names the real server's pid, which tools may kill. */
function postgresProcess(env: NodeJS.ProcessEnv): ProcessSpec {
  return {
    ...nodeProcess('postgres', 'scripts/postgres-server.ts', env),
    readyLine: /^ready/,
    recordFromLine: (line) => {
      const pid = /postmaster pid (\d+)/.exec(line)?.[1];
      return pid ? { postmasterPid: Number(pid) } : undefined;
    },
  };
}

/** Migrations and seed data, once per start, before any service runs (not supervised: they finish). */
async function prepareDatabases(env: NodeJS.ProcessEnv): Promise<void> {
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
}

/**
 * Runs the Temporal dev server under supervision, on the same db file at every restart so that workflow
 * histories survive. Without a Temporal CLI, the SDK downloads and runs a dev server, which is not supervised.
 */
async function startTemporal(): Promise<{ address: string; uiUrl: string; unsupervised?: RunningDevServer }> {
  const port = readInteger('TEMPORAL_PORT', DEFAULT_TEMPORAL_PORT, process.env);
  const uiPort = readInteger('TEMPORAL_UI_PORT', DEFAULT_TEMPORAL_UI_PORT, process.env);
  const dbFile = path.join(DATA_DIR, 'temporal', 'temporal.db');
  const address = `127.0.0.1:${port}`;
  const uiUrl = process.env.TEMPORAL_UI_URL ?? `http://localhost:${uiPort}`;
  const executable = resolveTemporalCli();
  if (!executable) {
    const unsupervised = await startDevServer({ port, uiPort, dbFile, onOutput: prefixer('temporal') });
    log('the downloaded Temporal dev server is not supervised: it is not restarted if it dies');
    return { address: unsupervised.address, uiUrl, unsupervised };
  }
  await supervisor.start({
    name: 'temporal',
    command: executable,
    args: devServerArgs({ port, uiPort, dbFile }),
    readyProbe: () => temporalAnswers(address),
  });
  log(`Temporal dev server ready at ${address}`);
  return { address, uiUrl };
}

async function gatewayAnswers(url: string): Promise<boolean> {
  return fetch(`${url}/health`).then(
    (res) => res.ok,
    () => false,
  );
}

/**
 * Refuses to start beside something that already holds the ports this start needs. A foreign Temporal server on
 * the Temporal port is named as such: silently adopting it would run the stack against someone else's histories.
 */
async function checkPorts(env: NodeJS.ProcessEnv): Promise<void> {
  const problems: string[] = [];
  const gatewayPort = readPort(env);
  if (!(await portIsFree(gatewayPort))) problems.push(`port ${gatewayPort} (the gateway, PORT) is in use`);
  if (!env.TEMPORAL_ADDRESS) {
    const port = readInteger('TEMPORAL_PORT', DEFAULT_TEMPORAL_PORT, env);
    const uiPort = readInteger('TEMPORAL_UI_PORT', DEFAULT_TEMPORAL_UI_PORT, env);
    if (!(await portIsFree(port))) {
      problems.push(
        (await temporalAnswers(`127.0.0.1:${port}`))
          ? `a Temporal server that this npm start did not start already runs on 127.0.0.1:${port}; stop it, ` +
              `use it on purpose with TEMPORAL_ADDRESS=127.0.0.1:${port}, or choose another TEMPORAL_PORT`
          : `port ${port} (Temporal, TEMPORAL_PORT) is in use`,
      );
    }
    if (!(await portIsFree(uiPort))) problems.push(`port ${uiPort} (the Temporal Web UI, TEMPORAL_UI_PORT) is in use`);
  }
  if (problems.length > 0) {
    throw new Error(`cannot start:\n  - ${problems.join('\n  - ')}\n(see README, Troubleshooting)`);
  }
}

/** A dev server that the SDK downloaded and runs; the supervisor does not know it, so it is stopped last. */
let unsupervisedTemporal: RunningDevServer | undefined;

async function main(): Promise<void> {
  await checkPorts(process.env);
  await generatePrismaClients(log);
  const bundle = bundleWorkflows();
  // Awaited later; a failure before then must not count as unhandled.
  bundle.catch(() => {});

  const env: NodeJS.ProcessEnv = { ...process.env, DATA_DIR };
  const embedded = SERVICES.filter((service) => !process.env[databaseUrlVariable(service)]);
  if (embedded.length > 0) await supervisor.start(postgresProcess(env));
  for (const service of SERVICES) env[databaseUrlVariable(service)] = databaseUrl(service, env);
  const [temporal] = await Promise.all([
    process.env.TEMPORAL_ADDRESS ? undefined : startTemporal(),
    prepareDatabases(env),
  ]);
  if (temporal) {
    env.TEMPORAL_ADDRESS = temporal.address;
    env.TEMPORAL_UI_URL = temporal.uiUrl;
    unsupervisedTemporal = temporal.unsupervised;
  }
  env.TEMPORAL_UI_URL ??= `http://localhost:${DEFAULT_TEMPORAL_UI_PORT}`;

  const workerEnv = { ...env, WORKFLOW_BUNDLE_PATH: await bundle };
  await Promise.all(
    WORKERS.map(({ name, entry }) =>
      supervisor.start({ ...nodeProcess(name, entry, workerEnv), readyLine: /worker polling task queue/ }),
    ),
  );
  const gateway = `http://localhost:${readPort(env)}`;
  await supervisor.start({
    ...nodeProcess('gateway', 'api/server.ts', env),
    readyProbe: () => gatewayAnswers(gateway),
  });

  log(`ready: gateway ${gateway}`);
  log('');
  log(`Gateway:     ${gateway}   (API docs: ${gateway}/docs)`);
  log(`Temporal UI: ${env.TEMPORAL_UI_URL}`);
  log(`Processes:   ${shown(STATE_FILE)}`);
  log('Press Ctrl-C to stop.');
}

for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.on(signal, () => {
    if (!supervisor.stopping) log(`${signal}: stopping…`);
    void supervisor.stop(signal);
  });
}
// Never leave children behind, even on an unexpected exit of this script.
process.on('exit', () => supervisor.killAllNow());

void supervisor.finished.then(async ({ exitCode }) => {
  await unsupervisedTemporal?.stop().catch((error: unknown) => log(`temporal: ${String(error)}`));
  log(`stopped${exitCode ? ` (exit code ${exitCode})` : ''}; data kept in ${shown(DATA_DIR)}`);
  process.exit(exitCode);
});

main().catch((error: unknown) => {
  // A stop during start-up makes the pending start fail too; that is not news.
  if (supervisor.stopping) return;
  log(`start failed: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}`);
  void supervisor.stop('start failed', 1);
});

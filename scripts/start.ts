/**
 * `npm start`: the whole system on one machine, no Docker. Starts PostgreSQL (embedded, unless every service
 * has a *_DATABASE_URL), applies migrations, loads the seed data, starts a Temporal dev server with its Web UI
 * (unless TEMPORAL_ADDRESS or a Temporal profile names a server), then runs each worker and the gateway as its own OS process.
 *
 * Every process is supervised (scripts/lib/supervisor.ts): one that dies is restarted with a backoff while the
 * rest keeps running, and one that keeps dying stops everything with exit code 1. Ctrl-C (or SIGTERM) stops
 * everything in reverse order and keeps the data for the next start. The running pids are kept in
 * `$DATA_DIR/processes.json`.
 */
import { existsSync, mkdirSync, renameSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import {
  ConfigError,
  DEFAULT_TEMPORAL_UI_PORT,
  databaseUrl,
  databaseUrlVariable,
  workerHealthPortVariable,
  workerMetricsPortVariable,
} from '../lib/config';
import {
  SERVICE_NAMES,
  WORKER_SERVICES,
  workerEntry,
  workerProcessName,
  type WorkerServiceName,
} from '../lib/services';
import { workflowBundleOptions } from '../lib/workflow-bundle';
import { ROOT } from './lib/migrate';
import { migrateAndSeed } from './lib/prepare-databases';
import { portIsFree } from './lib/ports';
import { generatePrismaClients } from './lib/prisma-clients';
import { loadStartConfig, type StartConfig } from './lib/start-config';
import { Supervisor, type ProcessSpec } from './lib/supervisor';
import {
  devServerArgs,
  resolveTemporalCli,
  startDevServer,
  temporalAnswers,
  type RunningDevServer,
} from './lib/temporal-server';

/** Read once, before anything starts: a bad value stops the start here, naming the variable. */
function configOrExit(): StartConfig {
  try {
    return loadStartConfig();
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    console.error(`start failed: ${error.message}`);
    process.exit(1);
  }
}

const config = configOrExit();
const DATA_DIR = config.dataDir;
const STATE_FILE = path.join(DATA_DIR, 'processes.json');
const WORKFLOW_BUNDLE = path.join(DATA_DIR, 'workflow-bundle.js');
const COLORS = [36, 33, 35, 32, 34, 31, 96, 93];
/** One supervised process per worker of the registry (lib/services.ts). */
const WORKERS = WORKER_SERVICES.map((service) => ({
  service,
  name: workerProcessName(service),
  entry: workerEntry(service),
}));
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
  policy: config.restartPolicy,
  stateFile: STATE_FILE,
  log,
  // While stopping, the dev server's own system workers warn about the closed port: noise, not news.
  output: (name, line) => !(name === 'temporal' && supervisor.stopping) && prefixer(name)(line),
});

/** A TypeScript entry point of this repository, run by the same Node.js as this script. */
/**
 * `npm start` runs the compiled supervisor (dist/scripts/start.js), whose children run their compiled entry with
 * plain node; started from source (`tsx scripts/start.ts`, the tests), the children go through tsx as well.
 */
const COMPILED = __filename.endsWith('.js');

function nodeProcess(name: string, entry: string, env: NodeJS.ProcessEnv): Omit<ProcessSpec, 'readyLine'> {
  const args = COMPILED
    ? [path.join(__dirname, '..', entry.replace(/\.ts$/, '.js'))]
    : ['--import', 'tsx', path.join(ROOT, entry)];
  return { name, command: process.execPath, args, cwd: ROOT, env };
}

/** The bundle `npm run build` wrote last; npm start's prestart (build-if-stale) rebuilds it when a source is newer. */
const PREBUILT_BUNDLE = path.join(__dirname, '..', 'workflow-bundle.js');

/**
 * The workflow code bundled once, so that a restarted order worker loads the bundle instead of running webpack
 * again. Compiled (`npm start`), that is the build's own bundle: bundling here would cost seconds of start-up and
 * keep webpack's ~100 MiB in this supervisor for as long as the stack runs (docs/benchmarks.md). From source, it is
 * bundled here, written whole and renamed into place: a worker never reads half a bundle.
 */
async function bundleWorkflows(): Promise<string> {
  if (COMPILED && existsSync(PREBUILT_BUNDLE)) return PREBUILT_BUNDLE;
  const { bundleWorkflowCode } = await import('@temporalio/worker');
  const { code } = await bundleWorkflowCode(workflowBundleOptions());
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

/**
 * Runs the Temporal dev server under supervision, on the same db file at every restart so that workflow
 * histories survive. Without a Temporal CLI, the SDK downloads and runs a dev server, which is not supervised.
 */
async function startTemporal(): Promise<{ address: string; uiUrl: string; unsupervised?: RunningDevServer }> {
  const { port, uiPort } = config.devServer;
  const dbFile = path.join(DATA_DIR, 'temporal', 'temporal.db');
  const address = `127.0.0.1:${port}`;
  const uiUrl = config.devServer.uiUrl ?? `http://localhost:${uiPort}`;
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

async function answersOk(url: string): Promise<boolean> {
  return fetch(url).then(
    (res) => res.ok,
    () => false,
  );
}

/**
 * A worker is ready once its `/health/ready` says it polls its task queue; with its health port off, once it
 * logs that it polls.
 */
function workerReadiness(service: WorkerServiceName): Pick<ProcessSpec, 'readyLine' | 'readyProbe'> {
  const port = config.workerPorts[service].health;
  return port
    ? { readyProbe: () => answersOk(`http://127.0.0.1:${port}/health/ready`) }
    : { readyLine: /worker polling task queue/ };
}

/**
 * Refuses to start beside something that already holds the ports this start needs. A foreign Temporal server on
 * the Temporal port is named as such: silently adopting it would run the stack against someone else's histories.
 */
async function checkPorts(): Promise<void> {
  const problems: string[] = [];
  const gatewayPort = config.gatewayPort;
  if (!(await portIsFree(gatewayPort))) problems.push(`port ${gatewayPort} (the gateway, PORT) is in use`);
  const observed: [number, string][] = [
    [config.gatewayMetricsPort, "the gateway's metrics, GATEWAY_METRICS_PORT"],
    ...WORKER_SERVICES.flatMap((service): [number, string][] => [
      [config.workerPorts[service].health, `the ${service} worker's health, ${workerHealthPortVariable(service).name}`],
      [
        config.workerPorts[service].metrics,
        `the ${service} worker's metrics, ${workerMetricsPortVariable(service).name}`,
      ],
    ]),
  ];
  for (const [port, what] of observed) {
    if (port && !(await portIsFree(port))) problems.push(`port ${port} (${what}) is in use`);
  }
  if (!config.temporal.addressConfigured) {
    const { port, uiPort } = config.devServer;
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
  await checkPorts();
  await generatePrismaClients(log);
  const bundle = bundleWorkflows();
  // Awaited later; a failure before then must not count as unhandled.
  bundle.catch(() => {});

  const env: NodeJS.ProcessEnv = { ...process.env, DATA_DIR };
  if (config.externalDatabases.length < SERVICE_NAMES.length) await supervisor.start(postgresProcess(env));
  for (const service of SERVICE_NAMES) env[databaseUrlVariable(service)] = databaseUrl(service, env);
  const [temporal] = await Promise.all([
    config.temporal.addressConfigured ? undefined : startTemporal(),
    migrateAndSeed(env, log),
  ]);
  if (temporal) {
    env.TEMPORAL_ADDRESS = temporal.address;
    env.TEMPORAL_UI_URL = temporal.uiUrl;
    unsupervisedTemporal = temporal.unsupervised;
  }
  env.TEMPORAL_UI_URL ??= `http://localhost:${DEFAULT_TEMPORAL_UI_PORT}`;

  const workerEnv = { ...env, WORKFLOW_BUNDLE_PATH: await bundle };
  await Promise.all(
    WORKERS.map(({ service, name, entry }) =>
      supervisor.start({ ...nodeProcess(name, entry, workerEnv), ...workerReadiness(service) }),
    ),
  );
  const gateway = `http://localhost:${config.gatewayPort}`;
  await supervisor.start({
    ...nodeProcess('gateway', 'api/server.ts', env),
    readyProbe: () => answersOk(`${gateway}/health/ready`),
  });

  log(`ready: gateway ${gateway}`);
  log('');
  log(`Gateway:     ${gateway}   (API docs: ${gateway}/docs)`);
  log(`Storefront:  ${gateway}/   Operator console: ${gateway}/console`);
  log(`Temporal UI: ${env.TEMPORAL_UI_URL}   (payloads are encrypted: README, Payload encryption)`);
  log(`Codec:       ${gateway}/codec   (for the UI's codec settings, with an admin's codec session)`);
  if (config.gatewayMetricsPort) log(`Metrics:     http://localhost:${config.gatewayMetricsPort}/metrics (gateway)`);
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

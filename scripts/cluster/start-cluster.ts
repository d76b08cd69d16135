/**
 * `npm run start:cluster`: the same services as `npm start`, on the topology production runs: a real Temporal
 * server (go.temporal.io/server, all services in one process) with PostgreSQL persistence and SQL visibility
 * instead of the dev server's SQLite file, and every worker twice (CLUSTER_WORKER_REPLICAS), so that a worker
 * process can go away while its twin keeps polling. No Docker: an embedded PostgreSQL holds the service databases
 * and Temporal's own two (temporal, temporal_visibility, schema by temporal-sql-tool); the server binaries are
 * built once through the Go module proxy into .tools/temporal-server (scripts/cluster/install-tools.sh).
 *
 * Everything is supervised like npm start (scripts/lib/supervisor.ts): a dead process is restarted with a backoff,
 * Ctrl-C or SIGTERM stops all of it in reverse order and keeps the data. Ports and the data folder default to
 * values that do not clash with npm start (scripts/cluster/config.ts); the pids are in `<data>/processes.json`.
 */
import { mkdirSync, renameSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { bundleWorkflowCode } from '@temporalio/worker';
import {
  ConfigError,
  DEFAULT_TEMPORAL_NAMESPACE,
  databaseUrl,
  databaseUrlVariable,
  workerHealthPortVariable,
  workerMetricsPortVariable,
} from '../../lib/config';
import { SERVICE_NAMES, WORKER_SERVICES, workerEntry, workerProcessName } from '../../lib/services';
import { workflowBundleOptions } from '../../lib/workflow-bundle';
import { ROOT } from '../lib/migrate';
import { migrateAndSeed } from '../lib/prepare-databases';
import { freePort, portIsFree } from '../lib/ports';
import { generatePrismaClients } from '../lib/prisma-clients';
import { Supervisor, type ProcessSpec } from '../lib/supervisor';
import { temporalAnswers } from '../lib/temporal-server';
import { TEMPORAL_EXTRA_PORTS, loadClusterConfig, type ClusterConfig } from './config';
import {
  SERVER_BINARY,
  UI_BINARY,
  isExecutable,
  uiProcess,
  ensureTemporalServerBuilt,
  registerNamespace,
  serverArgs,
  serverEnv,
  setUpTemporalSchema,
  type PostgresLogin,
} from './temporal-cluster';

function configOrExit(): ClusterConfig {
  try {
    return loadClusterConfig();
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    console.error(`start:cluster failed: ${error.message}`);
    process.exit(1);
  }
}

const config = configOrExit();
const STATE_FILE = path.join(config.dataDir, 'processes.json');
const POSTGRES: PostgresLogin = {
  host: '127.0.0.1',
  port: config.postgresPort,
  user: 'postgres',
  password: 'postgres',
};
const TEMPORAL_ADDRESS = `127.0.0.1:${config.temporalPort}`;

/** The replicas of every worker: `<service>-worker-<n>`, the workflow worker's first (registry order). */
const WORKERS = WORKER_SERVICES.flatMap((service) =>
  Array.from({ length: config.replicas }, (_, index) => ({
    service,
    name: `${workerProcessName(service)}-${index + 1}`,
    entry: workerEntry(service),
  })),
);

function line(name: string): (text: string) => void {
  return (text) => process.stdout.write(`${name.padEnd(17)}| ${text}\n`);
}

const log = line('cluster');
const supervisor = new Supervisor({
  policy: config.restartPolicy,
  stateFile: STATE_FILE,
  log,
  output: (name, text) => line(name)(text),
});

function nodeProcess(name: string, entry: string, env: NodeJS.ProcessEnv): Omit<ProcessSpec, 'readyLine'> {
  return { name, command: process.execPath, args: ['--import', 'tsx', path.join(ROOT, entry)], cwd: ROOT, env };
}

/** As npm start does: one bundle, so that a restarted workflow worker does not run webpack again. */
async function bundleWorkflows(): Promise<string> {
  const bundle = path.join(config.dataDir, 'workflow-bundle.js');
  const { code } = await bundleWorkflowCode(workflowBundleOptions());
  mkdirSync(config.dataDir, { recursive: true });
  writeFileSync(`${bundle}.tmp`, code);
  renameSync(`${bundle}.tmp`, bundle);
  return bundle;
}

/** Refuses to start when any port the cluster needs is taken: a half-started cluster would only confuse. */
async function checkPorts(): Promise<void> {
  const wanted: [number, string][] = [
    [config.gatewayPort, 'the gateway (CLUSTER_GATEWAY_PORT)'],
    [config.postgresPort, 'PostgreSQL (CLUSTER_POSTGRES_PORT)'],
    [config.uiPort, 'the Temporal Web UI (CLUSTER_UI_PORT)'],
    ...Array.from({ length: TEMPORAL_EXTRA_PORTS + 1 }, (_, offset): [number, string] => [
      config.temporalPort + offset,
      `the Temporal server (CLUSTER_TEMPORAL_PORT + ${offset})`,
    ]),
  ];
  const taken: string[] = [];
  for (const [port, what] of wanted) if (!(await portIsFree(port))) taken.push(`port ${port} (${what}) is in use`);
  if (taken.length > 0) throw new Error(`cannot start the cluster:\n  - ${taken.join('\n  - ')}`);
}

async function startTemporalServer(): Promise<void> {
  const started = Date.now();
  await setUpTemporalSchema(POSTGRES);
  log(`Temporal schema ready on PostgreSQL (temporal, temporal_visibility) in ${Date.now() - started} ms`);
  await supervisor.start({
    name: 'temporal',
    command: SERVER_BINARY,
    args: serverArgs(),
    cwd: ROOT,
    env: serverEnv(config.temporalPort, POSTGRES),
    readyProbe: () => temporalAnswers(TEMPORAL_ADDRESS),
  });
  await registerNamespace(TEMPORAL_ADDRESS, DEFAULT_TEMPORAL_NAMESPACE);
  log(`Temporal server ready at ${TEMPORAL_ADDRESS} (namespace and search attributes registered)`);
}

/**
 * The Web UI, when one was built (install-tools.sh tries; the proxy may refuse a dependency): supervised like the
 * rest. Without one, the cluster runs all the same and says so.
 */
async function startWebUi(env: NodeJS.ProcessEnv): Promise<void> {
  if (!isExecutable(UI_BINARY)) {
    log(`no Temporal Web UI built (${UI_BINARY}); see docs/cluster.md`);
    return;
  }
  const url = `http://127.0.0.1:${config.uiPort}`;
  // The gateway (started after the UI) allows the UI's origin on its codec endpoint (CODEC_CORS_ORIGINS).
  const codecEndpoint = `http://localhost:${config.gatewayPort}/codec`;
  const { args, env: uiEnv } = uiProcess(TEMPORAL_ADDRESS, config.uiPort, codecEndpoint);
  await supervisor.start({
    name: 'temporal-ui',
    command: UI_BINARY,
    args,
    cwd: ROOT,
    env: uiEnv,
    readyProbe: () => answersHttp(url, '/'),
  });
  env.TEMPORAL_UI_URL = `http://localhost:${config.uiPort}`;
  log(`Temporal Web UI at ${env.TEMPORAL_UI_URL}`);
}

async function answersHttp(url: string, probe = '/health'): Promise<boolean> {
  return fetch(`${url}${probe}`).then(
    (res) => res.ok,
    () => false,
  );
}

/** The environment every service process gets: the cluster's databases and Temporal, nothing of npm start's. */
function serviceEnv(): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [key, value] of Object.entries(process.env)) {
    if (
      !/_DATABASE_URL$|^TEMPORAL_|^DATA_DIR$|^PORT$|^EMBEDDED_POSTGRES_PORT$|_METRICS_PORT$|_HEALTH_PORT$/.test(key)
    ) {
      env[key] = value;
    }
  }
  // Two replicas of every worker share the machine (and npm start may run beside): no metrics ports, and no
  // fixed health ports (each replica gets a free one of its own when it starts, see main).
  env.GATEWAY_METRICS_PORT = '0';
  for (const service of WORKER_SERVICES) {
    env[workerHealthPortVariable(service).name] = '0';
    env[workerMetricsPortVariable(service).name] = '0';
  }
  env.DATA_DIR = config.dataDir;
  env.EMBEDDED_POSTGRES_PORT = String(config.postgresPort);
  env.PORT = String(config.gatewayPort);
  env.TEMPORAL_ADDRESS = TEMPORAL_ADDRESS;
  env.TEMPORAL_NAMESPACE = DEFAULT_TEMPORAL_NAMESPACE;
  for (const service of SERVICE_NAMES) env[databaseUrlVariable(service)] = databaseUrl(service, env);
  return env;
}

async function main(): Promise<void> {
  const started = Date.now();
  await checkPorts();
  ensureTemporalServerBuilt(log);
  await generatePrismaClients(log);
  const bundle = bundleWorkflows();
  bundle.catch(() => {});

  const env = serviceEnv();
  await supervisor.start({
    ...nodeProcess('postgres', 'scripts/postgres-server.ts', env),
    readyLine: /^ready/,
    recordFromLine: (text) => {
      const pid = /postmaster pid (\d+)/.exec(text)?.[1];
      return pid ? { postmasterPid: Number(pid) } : undefined;
    },
  });
  await Promise.all([startTemporalServer(), migrateAndSeed(env, log)]);
  await startWebUi(env);

  const workerEnv = { ...env, WORKFLOW_BUNDLE_PATH: await bundle };
  // Each replica answers /health/ready on a free port of its own, and counts as started once it says it polls
  // its task queue, as a Kubernetes readiness probe would see it (whatever LOG_LEVEL hides).
  await Promise.all(
    WORKERS.map(async ({ service, name, entry }) => {
      const healthPort = await freePort();
      const replicaEnv = { ...workerEnv, [workerHealthPortVariable(service).name]: String(healthPort) };
      await supervisor.start({
        ...nodeProcess(name, entry, replicaEnv),
        readyProbe: () => answersHttp(`http://127.0.0.1:${healthPort}`, '/health/ready'),
      });
    }),
  );
  const gateway = `http://localhost:${config.gatewayPort}`;
  await supervisor.start({
    ...nodeProcess('gateway', 'api/server.ts', env),
    readyProbe: () => answersHttp(gateway),
  });

  log(`ready: gateway ${gateway} in ${Date.now() - started} ms`);
  log(`Gateway:   ${gateway}   (API docs: ${gateway}/docs)`);
  log(`Temporal:  ${TEMPORAL_ADDRESS} (go.temporal.io/server on PostgreSQL ${config.postgresPort})`);
  if (env.TEMPORAL_UI_URL) log(`Web UI:    ${env.TEMPORAL_UI_URL}`);
  log(`Workers:   ${config.replicas} replicas each; processes in ${STATE_FILE}`);
  log('Press Ctrl-C to stop.');
}

for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.on(signal, () => {
    if (!supervisor.stopping) log(`${signal}: stopping…`);
    void supervisor.stop(signal);
  });
}
process.on('exit', () => supervisor.killAllNow());

void supervisor.finished.then(({ exitCode }) => {
  log(`stopped${exitCode ? ` (exit code ${exitCode})` : ''}; data kept in ${config.dataDir}`);
  process.exit(exitCode);
});

main().catch((error: unknown) => {
  if (supervisor.stopping) return;
  log(`start failed: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}`);
  void supervisor.stop('start failed', 1);
});

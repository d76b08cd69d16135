/**
 * Shared start-up of a worker process: read its configuration, build the service of the registry it runs
 * (database → service → activities, lib/wiring.ts), connect to Temporal, poll the service's task queue. While
 * Temporal is restarting the connection is retried, so a worker started or restarted in that moment waits for the
 * server instead of crash-looping. If the worker fails later (say, the server stayed away too long), the process
 * exits 1 and the supervisor of `npm start` restarts it.
 *
 * Observed from outside (README, "Observing it"): JSON log lines through the Temporal Runtime's logger, so workflow
 * and activity lines keep their context; `GET /health/live` and `GET /health/ready` on the worker's health port,
 * ready only while the worker polls; the SDK's Prometheus metrics on its metrics port. On SIGTERM (or SIGINT)
 * the worker stops polling at once (not ready any more), gives in-flight activities the configured grace time,
 * then cancels them (Temporal retries them elsewhere) and exits, at most a few seconds later whatever happens.
 */
import type { Server } from 'node:http';
import { setTimeout as sleep } from 'node:timers/promises';
import { NativeConnection, Runtime, Worker, type WorkerOptions } from '@temporalio/worker';
import {
  ConfigError,
  WORKER_SHUTDOWN_FORCE_MARGIN_MS,
  loadWorkerConfig,
  type TemporalSettings,
  type WorkerConfig,
  type WorkerObservability,
} from '../lib/config';
import { logDatabaseWarningsTo } from '../lib/databases';
import { closeServer, jsonAnswer, serveEndpoints } from '../lib/http-endpoints';
import { createLogger, temporalLogger, type Logger } from '../lib/logger';
import { payloadDataConverter } from '../lib/payload-codec';
import { workerOf, workerProcessName, type WorkerServiceName } from '../lib/services';
import { startTracing, tracingWorkerOptions } from '../lib/tracing';
import {
  DEFAULT_SERVICE_SETTINGS,
  connectDatabase,
  createActivities,
  createService,
  type ServiceSettings,
} from '../lib/wiring';
import { activityLogContext } from './log-context';

export type WorkerSetup = Omit<WorkerOptions, 'connection' | 'namespace'>;

/** How long a worker keeps trying to reach Temporal before it gives up (and exits 1). */
export const CONNECT_RETRY_LIMIT_MS = 60_000;
const FIRST_RETRY_DELAY_MS = 250;
const MAX_RETRY_DELAY_MS = 5_000;

/** Set once the process is asked to stop, so that a worker still waiting for Temporal stops waiting. */
const stopRequested = new AbortController();

/** The worker once created; the health endpoints and the stop read it. */
let current: Worker | undefined;

/** What `/health/ready` reports: the worker's own state once it exists, the start-up phase before. */
function workerState(): string {
  if (current) return current.getState();
  return stopRequested.signal.aborted ? 'STOPPED' : 'STARTING';
}

/** Ready while the worker polls its task queue, and not from the moment it was asked to stop. */
function isReady(): boolean {
  return !stopRequested.signal.aborted && current?.getState() === 'RUNNING';
}

function healthEndpoints() {
  return {
    '/health/live': () => jsonAnswer(200, { status: 'ok' }),
    '/health/ready': () =>
      isReady()
        ? jsonAnswer(200, { status: 'ok', state: workerState() })
        : jsonAnswer(503, { status: 'unavailable', state: workerState() }),
  };
}

/**
 * Installs the Temporal Runtime before any connection exists: the logger (the SDK's, workflows' and activities'
 * lines, and Core's own warnings, forwarded) and, when a port is set, the Prometheus exporter of the SDK's
 * metrics. Signals are handled here, not by the Runtime, so that readiness drops before the drain starts.
 */
function installRuntime(logger: Logger, observability: WorkerObservability): void {
  Runtime.install({
    logger: temporalLogger(logger),
    shutdownSignals: [],
    telemetryOptions: {
      logging: { filter: { core: 'WARN', other: 'ERROR' }, forward: {} },
      // Prometheus's conventions: durations in seconds, the unit in the name, counters ending in _total.
      ...(observability.metricsPort
        ? {
            metrics: {
              prometheus: {
                bindAddress: `0.0.0.0:${observability.metricsPort}`,
                useSecondsForDurations: true,
                unitSuffix: true,
                countersTotalSuffix: true,
              },
            },
          }
        : {}),
    },
  });
}

/** Connects to Temporal, retrying with a capped backoff; undefined when asked to stop meanwhile. */
async function connectWithRetry(
  name: string,
  temporal: TemporalSettings,
  logger: Logger,
): Promise<NativeConnection | undefined> {
  const { address } = temporal;
  const deadline = Date.now() + CONNECT_RETRY_LIMIT_MS;
  for (let delay = FIRST_RETRY_DELAY_MS; ; delay = Math.min(delay * 2, MAX_RETRY_DELAY_MS)) {
    try {
      return await NativeConnection.connect(temporal.connection);
    } catch (error) {
      if (Date.now() + delay > deadline) throw error;
      logger.warn({ address, delayMs: delay }, `${name} worker: Temporal at ${address} does not answer yet; retrying`);
      const waited = await sleep(delay, true, { signal: stopRequested.signal }).catch(() => false);
      if (!waited) return undefined;
    }
  }
}

export async function runWorker(
  name: string,
  temporal: TemporalSettings,
  setup: WorkerSetup,
  logger: Logger,
  onShutdown: () => Promise<void>,
): Promise<void> {
  const connection = await connectWithRetry(name, temporal, logger);
  if (!connection) {
    await onShutdown();
    return;
  }
  try {
    const worker = await Worker.create({ connection, namespace: temporal.namespace, ...setup });
    // A stop asked for while starting up came before the worker listened for it.
    if (stopRequested.signal.aborted) return;
    current = worker;
    const running = worker.run(); // resolves once stopped and drained
    logger.info(
      { taskQueue: setup.taskQueue, address: temporal.address },
      `${name} worker polling task queue "${setup.taskQueue}" on ${temporal.address}`,
    );
    await running;
  } finally {
    await connection.close();
    await onShutdown();
  }
}

/**
 * SIGTERM/SIGINT: not ready from now on, the worker stops polling and drains; if it has not stopped by the grace
 * time plus a margin (an activity that ignores its cancellation), the process exits 1 anyway, before the
 * orchestrator's own stop timeout (docker-compose.yml stop_grace_period, the Pods' terminationGracePeriodSeconds).
 */
function stopOnSignals(name: string, logger: Logger, shutdownGraceMs: number): void {
  const stop = (signal: NodeJS.Signals) => {
    if (stopRequested.signal.aborted) return;
    const state = current?.getState();
    logger.info({ signal, state, graceMs: shutdownGraceMs }, `${name} worker stopping: draining in-flight tasks`);
    stopRequested.abort();
    if (state === 'RUNNING') current?.shutdown();
    setTimeout(() => {
      logger.error(
        { state: current?.getState() },
        `${name} worker did not stop within ${shutdownGraceMs + WORKER_SHUTDOWN_FORCE_MARGIN_MS} ms; exiting`,
      );
      process.exit(1);
    }, shutdownGraceMs + WORKER_SHUTDOWN_FORCE_MARGIN_MS).unref();
  };
  for (const signal of ['SIGINT', 'SIGTERM'] as const) process.on(signal, () => stop(signal));
}

function exitOnFailure(name: string, logger: Logger, run: Promise<void>, health: Promise<Server | undefined>): void {
  const exit = async (code: number) => {
    await closeServer(await health.catch(() => undefined));
    process.exit(code);
  };
  run.then(
    () => {
      logger.info(`${name} worker stopped`);
      return exit(0);
    },
    (error: unknown) => {
      logger.error({ err: error }, `${name} worker failed`);
      return exit(1);
    },
  );
}

/** What a service's worker adds to the generic one: its settings, workflow code, work beside polling. */
export interface WorkerCustomization {
  settings?: Partial<ServiceSettings>;
  workerOptions?: Partial<WorkerSetup>;
  /** Called once the configuration is read, before the worker connects. */
  beforeRun?: (logger: Logger) => void;
}

/** Reads the configuration, or exits 1 with a message naming the bad variables (no stack trace: not a bug). */
function configOrExit<S extends WorkerServiceName>(service: S): WorkerConfig<S> {
  try {
    return loadWorkerConfig(service);
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    console.error(`${service} worker failed to start: ${error.message}`);
    process.exit(1);
  }
}

/** Fails the start, naming the cause, when a port cannot be bound or the Runtime cannot be installed. */
function startFailed(logger: Logger, service: WorkerServiceName, error: unknown): never {
  logger.fatal({ err: error }, `${service} worker failed to start`);
  process.exit(1);
}

/**
 * The whole process of one registered service's worker. The per-service entry files (workers/<service>.ts)
 * only name their service and, where they have any, their own settings.
 */
export function runServiceWorker<S extends WorkerServiceName>(
  service: S,
  customize: (config: WorkerConfig<S>) => WorkerCustomization = () => ({}),
): void {
  const config = configOrExit(service);
  const { observability } = config;
  const logger = createLogger({ service: workerProcessName(service), level: observability.logLevel });
  logDatabaseWarningsTo(logger);
  try {
    installRuntime(logger, observability);
  } catch (error) {
    startFailed(logger, service, error);
  }
  stopOnSignals(service, logger, observability.shutdownGraceMs);
  const health = observability.healthPort
    ? serveEndpoints(observability.healthPort, healthEndpoints())
    : Promise.resolve(undefined);
  health.catch((error: unknown) =>
    startFailed(logger, service, new Error(`health port ${observability.healthPort}: ${String(error)}`)),
  );

  const { settings, workerOptions, beforeRun } = customize(config);
  const tracing = startTracing(workerProcessName(service), config.otlpEndpoint);
  const traced = tracingWorkerOptions();
  const db = connectDatabase(service, config.database);
  const serviceModule = createService(service, db, { ...DEFAULT_SERVICE_SETTINGS, ...settings });
  const activities = createActivities(service, serviceModule, { ...DEFAULT_SERVICE_SETTINGS, ...settings });
  beforeRun?.(logger);
  const setup: WorkerSetup = {
    taskQueue: workerOf(service).taskQueue,
    activities,
    shutdownGraceTime: observability.shutdownGraceMs,
    // Encrypts what the worker sends to Temporal, decrypts what it receives (lib/payload-codec.ts).
    dataConverter: payloadDataConverter(config.payloadKeys),
    ...workerOptions,
    // Activities continue the trace of their workflow (lib/tracing.ts) and log with its context (log-context.ts).
    interceptors: {
      ...traced.interceptors,
      ...workerOptions?.interceptors,
      activity: [...(traced.interceptors?.activity ?? []), activityLogContext],
    },
  };
  exitOnFailure(
    service,
    logger,
    runWorker(service, config.temporal, setup, logger, async () => {
      await db.$disconnect();
      await tracing?.shutdown();
    }),
    health,
  );
}

/**
 * Shared start-up of a worker process: read its configuration, build the service of the registry it runs
 * (database → service → activities, lib/wiring.ts), connect to Temporal, poll the service's task queue, shut
 * down cleanly on SIGINT/SIGTERM. While Temporal is restarting the connection is retried, so a worker started or restarted in
 * that moment waits for the server instead of crash-looping. If the worker fails later (say, the server stayed
 * away too long), the process exits 1 and the supervisor of `npm start` restarts it.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { NativeConnection, Worker, type WorkerOptions } from '@temporalio/worker';
import { ConfigError, loadWorkerConfig, type TemporalSettings, type WorkerConfig } from '../lib/config';
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

export type WorkerSetup = Omit<WorkerOptions, 'connection' | 'namespace'>;

/** How long a worker keeps trying to reach Temporal before it gives up (and exits 1). */
export const CONNECT_RETRY_LIMIT_MS = 60_000;
const FIRST_RETRY_DELAY_MS = 250;
const MAX_RETRY_DELAY_MS = 5_000;

/** Set once the process is asked to stop, so that a worker still waiting for Temporal stops waiting. */
const stopRequested = new AbortController();
for (const signal of ['SIGINT', 'SIGTERM'] as const) process.on(signal, () => stopRequested.abort());

/** Connects to Temporal, retrying with a capped backoff; undefined when asked to stop meanwhile. */
async function connectWithRetry(name: string, temporal: TemporalSettings): Promise<NativeConnection | undefined> {
  const { address } = temporal;
  const deadline = Date.now() + CONNECT_RETRY_LIMIT_MS;
  for (let delay = FIRST_RETRY_DELAY_MS; ; delay = Math.min(delay * 2, MAX_RETRY_DELAY_MS)) {
    try {
      return await NativeConnection.connect(temporal.connection);
    } catch (error) {
      if (Date.now() + delay > deadline) throw error;
      console.warn(`${name} worker: Temporal at ${address} does not answer yet; retrying in ${delay} ms`);
      const waited = await sleep(delay, true, { signal: stopRequested.signal }).catch(() => false);
      if (!waited) return undefined;
    }
  }
}

export async function runWorker(
  name: string,
  temporal: TemporalSettings,
  setup: WorkerSetup,
  onShutdown: () => Promise<void>,
): Promise<void> {
  const connection = await connectWithRetry(name, temporal);
  if (!connection) {
    await onShutdown();
    return;
  }
  try {
    const worker = await Worker.create({ connection, namespace: temporal.namespace, ...setup });
    // A stop asked for while starting up came before the worker listened for it.
    if (stopRequested.signal.aborted) return;
    console.log(`${name} worker polling task queue "${setup.taskQueue}" on ${temporal.address}`);
    await worker.run(); // returns after SIGINT/SIGTERM, once in-flight tasks are done
  } finally {
    await connection.close();
    await onShutdown();
  }
}

export function exitOnFailure(name: string, run: Promise<void>): void {
  run.then(
    () => process.exit(0),
    (error: unknown) => {
      console.error(`${name} worker failed:`, error);
      process.exit(1);
    },
  );
}

/** What a service's worker adds to the generic one: its settings, workflow code, work beside polling. */
export interface WorkerCustomization {
  settings?: Partial<ServiceSettings>;
  workerOptions?: Partial<WorkerSetup>;
  /** Called once the configuration is read, before the worker connects. */
  beforeRun?: () => void;
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

/**
 * The whole process of one registered service's worker. The per-service entry files (workers/<service>.ts)
 * only name their service and, where they have any, their own settings.
 */
export function runServiceWorker<S extends WorkerServiceName>(
  service: S,
  customize: (config: WorkerConfig<S>) => WorkerCustomization = () => ({}),
): void {
  const config = configOrExit(service);
  const { settings, workerOptions, beforeRun } = customize(config);
  const tracing = startTracing(workerProcessName(service), config.otlpEndpoint);
  const traced = tracingWorkerOptions();
  const db = connectDatabase(service, config.database);
  const serviceModule = createService(service, db, { ...DEFAULT_SERVICE_SETTINGS, ...settings });
  const activities = createActivities(service, serviceModule, { ...DEFAULT_SERVICE_SETTINGS, ...settings });
  beforeRun?.();
  exitOnFailure(
    service,
    runWorker(
      service,
      config.temporal,
      {
        taskQueue: workerOf(service).taskQueue,
        activities,
        // Encrypts what the worker sends to Temporal, decrypts what it receives (lib/payload-codec.ts).
        dataConverter: payloadDataConverter(config.payloadKeys),
        ...workerOptions,
        // Activities continue the trace of their workflow (lib/tracing.ts).
        interceptors: { ...traced.interceptors, ...workerOptions?.interceptors },
      },
      async () => {
        await db.$disconnect();
        await tracing?.shutdown();
      },
    ),
  );
}

/**
 * The whole system inside a test file, on the shared real infrastructure: a Prisma client per service
 * database, a real worker per task queue (real activities; any of them can be replaced or stopped to inject a
 * fault), a Temporal client, and the real gateway listening on a free port.
 */
import type { Server } from 'node:http';
import { Client, Connection } from '@temporalio/client';
import {
  DefaultLogger,
  NativeConnection,
  Runtime,
  Worker,
  makeTelemetryFilterString,
  type WorkerOptions,
} from '@temporalio/worker';
import { pino } from 'pino';
import { createApp } from '../../api/app';
import { createHealthCheck } from '../../api/health';
import { requestIdInterceptor } from '../../api/request-context';
import { createSagaClient } from '../../api/saga-client';
import { databaseUrl } from '../../lib/config';
import { createOrderEvents } from '../../services/order';
import { WORKER_SERVICES, workerOf, type WorkerServiceName } from '../../lib/services';
import { testCodec, testDataConverter } from './payload-keys';
import {
  connectDatabases,
  activitiesOver,
  createServices,
  type ActivityFunctions,
  type ServiceSettings,
} from '../../lib/wiring';
import { activityLogContext } from '../../workers/log-context';

export const TEST_JWT_SECRET = 'test-secret-that-is-long-enough-for-hs256-0123456789';

export { TEST_PAYLOAD_KEYS, testCodec, testDataConverter } from './payload-keys';

type WorkerName = WorkerServiceName;
type Activities = NonNullable<WorkerOptions['activities']>;

let runtimeInstalled = false;

function quietRuntime(): void {
  if (runtimeInstalled) return;
  runtimeInstalled = true;
  Runtime.install({
    logger: new DefaultLogger('ERROR'),
    shutdownSignals: [],
    telemetryOptions: {
      logging: { filter: makeTelemetryFilterString({ core: 'ERROR', other: 'ERROR' }), forward: {} },
    },
  });
}

export interface TestSystemOptions {
  /** Replace activities of a worker, e.g. to make an undo fail. Missing ones keep the real implementation. */
  activityOverrides?: Partial<Record<WorkerName, (real: Activities) => Activities>>;
  /** Which workers to start now (default: all). */
  startWorkers?: WorkerName[];
  /** How long the simulated card gateway hangs on tok_timeout. */
  cardGatewayHangMs?: number;
  /** How old an unfinished order must be before the reconciler looks at it (default 0: at once). */
  reconcileGraceMs?: number;
}

export async function startTestSystem(options: TestSystemOptions = {}) {
  quietRuntime();
  // The same registry and factories as the real processes (lib/services.ts, lib/wiring.ts), with test settings.
  const settings: ServiceSettings = {
    cardGatewayHangMs: options.cardGatewayHangMs ?? 60_000,
    reconciler: { graceMs: options.reconcileGraceMs ?? 0, batchSize: 1000 },
  };
  const db = connectDatabases();
  const services = createServices(db, settings);
  const orderEvents = createOrderEvents(databaseUrl('order'));
  const address = process.env.TEMPORAL_ADDRESS!;
  const connection = await Connection.connect({ address });
  // The gateway's data converter and interceptors, as in the real processes (encrypted payloads; the request id
  // and order id in the logs).
  const client = new Client({
    connection,
    dataConverter: testDataConverter,
    interceptors: { workflow: [requestIdInterceptor] },
  });
  const nativeConnection = await NativeConnection.connect({ address });

  const realActivities = Object.fromEntries(
    WORKER_SERVICES.map((name) => [name, activitiesOver(name, services, settings)]),
  ) as Record<WorkerName, ActivityFunctions>;
  const running = new Map<WorkerName, { worker: Worker; done: Promise<void> }>();

  async function startWorker(name: WorkerName, overrides?: (real: Activities) => Activities): Promise<void> {
    if (running.has(name)) return;
    const override = overrides ?? options.activityOverrides?.[name];
    const activities = override ? override(realActivities[name]) : realActivities[name];
    const worker = await Worker.create({
      connection: nativeConnection,
      taskQueue: workerOf(name).taskQueue,
      activities,
      dataConverter: testDataConverter,
      ...(workerOf(name).runsWorkflows ? { workflowBundle: { codePath: process.env.TEST_WORKFLOW_BUNDLE! } } : {}),
      shutdownGraceTime: '2s',
      interceptors: { activity: [activityLogContext] },
    });
    const done = worker.run();
    running.set(name, { worker, done });
  }

  async function stopWorker(name: WorkerName): Promise<void> {
    const entry = running.get(name);
    if (!entry) return;
    running.delete(name);
    entry.worker.shutdown();
    await entry.done;
  }

  for (const name of options.startWorkers ?? WORKER_SERVICES) await startWorker(name);

  const app = createApp({
    services,
    // Failed undos wait for the operator in tests; a test of the retry timer starts its workflow with its own.
    saga: createSagaClient(client, process.env.TEMPORAL_UI_URL!, { compensationRetryInterval: '1h' }),
    orderEvents,
    auth: { secret: TEST_JWT_SECRET, expiresInSeconds: 600 },
    checkHealth: createHealthCheck(connection, db),
    logger: pino({ level: process.env.TEST_LOG_LEVEL ?? 'silent' }),
    codec: { codec: testCodec, allowedOrigins: [new URL(process.env.TEMPORAL_UI_URL!).origin] },
    loginRateLimit: { limit: 1000, windowMs: 60_000 },
  });
  const server: Server = await new Promise((resolve) => {
    const listening = app.listen(0, '127.0.0.1', () => resolve(listening));
  });
  const { port } = server.address() as { port: number };

  return {
    baseUrl: `http://127.0.0.1:${port}`,
    app,
    db,
    services,
    client,
    startWorker,
    stopWorker,
    async stop(): Promise<void> {
      await new Promise<void>((resolve) => server.close(() => resolve()));
      for (const name of [...running.keys()]) await stopWorker(name);
      await nativeConnection.close();
      await connection.close();
      await orderEvents.close();
      await Promise.all(Object.values(db).map((client) => client.$disconnect()));
    },
  };
}

export type TestSystem = Awaited<ReturnType<typeof startTestSystem>>;

/**
 * The fast tier's Temporal: the time-skipping test server, today's workflow bundle and one worker per task queue
 * serving fake activities. While a test awaits a workflow's result (or calls skip), the server jumps over timers,
 * retry backoffs and timeouts, so the 30 s step bound or the 10-minute compensation retry timer pass in
 * milliseconds. It does not jump while an activity task is outstanding (waiting for a worker or running on one),
 * so a step that never answers is modelled by attempts that fail at once (see noAnswer), not by a fake that hangs.
 */
import { type Client } from '@temporalio/client';
import { SearchAttributeType } from '@temporalio/common';
import { temporal } from '@temporalio/proto';
import { TestWorkflowEnvironment } from '@temporalio/testing';
import { DefaultLogger, Runtime, Worker } from '@temporalio/worker';
import { resolveTemporalTestServer } from '../../../scripts/lib/temporal-server';
import { testDataConverter } from '../../support/payload-keys';
import { OrderSearchAttributes, TaskQueue } from '../../../workflows/definitions';
import { openEveryGate, type FakeServices } from './fake-services';
import { fastTierWorkflowBundle, type WorkflowBundle } from './workflow-bundle';

const { IndexedValueType } = temporal.api.enums.v1;

export interface FastEnvironment {
  client: Client;
  /** Moves the server's clock forward (time skips by itself only while a result is awaited). */
  skip(duration: Parameters<TestWorkflowEnvironment['sleep']>[0]): Promise<void>;
  stop(): Promise<void>;
}

/**
 * The SDK's own errors only: the saga logs every failure it handles, which these tests provoke on purpose, and the
 * SDK's core warns that the test server lacks features the project does not use.
 */
function installQuietRuntime(): void {
  try {
    Runtime.install({
      logger: new DefaultLogger('ERROR', (entry) => {
        if (entry.meta?.sdkComponent !== 'workflow') console.error(entry.message, entry.meta ?? '');
      }),
      telemetryOptions: { logging: { filter: { core: 'ERROR', other: 'ERROR' } } },
    });
  } catch {
    // Installed already (by an earlier environment in this process).
  }
}

/** The test server rejects upserts of unknown search attributes, but takes registrations through the operator API. */
async function registerSearchAttributes(environment: TestWorkflowEnvironment): Promise<void> {
  await environment.connection.operatorService.addSearchAttributes({
    namespace: environment.namespace ?? 'default',
    searchAttributes: Object.fromEntries(
      Object.values(OrderSearchAttributes).map((key) => [
        key.name,
        key.type === SearchAttributeType.INT
          ? IndexedValueType.INDEXED_VALUE_TYPE_INT
          : IndexedValueType.INDEXED_VALUE_TYPE_KEYWORD,
      ]),
    ),
  });
}

/** The installed test server (TEMPORAL_TEST_SERVER_PATH or .tools), else the SDK's download. */
function timeSkippingServer() {
  const path = resolveTemporalTestServer();
  return path ? { server: { executable: { type: 'existing-path' as const, path } } } : {};
}

interface RunningWorker {
  worker: Worker;
  done: Promise<void>;
}

export async function startFastEnvironment(fakes: FakeServices): Promise<FastEnvironment> {
  installQuietRuntime();
  const [environment, workflowBundle] = await Promise.all([
    TestWorkflowEnvironment.createTimeSkipping({
      ...timeSkippingServer(),
      client: { dataConverter: testDataConverter },
    }),
    fastTierWorkflowBundle(require.resolve('../../../workflows')),
  ]);
  const workers = new Map<string, RunningWorker>();

  async function startWorker(taskQueue: string, bundle?: WorkflowBundle): Promise<void> {
    const worker = await Worker.create({
      connection: environment.nativeConnection,
      taskQueue,
      activities: fakes.activitiesFor(taskQueue),
      interceptors: { activity: [fakes.recordHeaders] },
      // As the real workers: every payload encrypted (lib/payload-codec.ts).
      dataConverter: testDataConverter,
      shutdownGraceTime: '100ms',
      ...(bundle ? { workflowBundle: bundle, sinks: fakes.workflowLogSink } : {}),
    });
    workers.set(taskQueue, { worker, done: worker.run() });
  }

  async function stopWorker(taskQueue: string): Promise<void> {
    const running = workers.get(taskQueue);
    if (!running) return;
    workers.delete(taskQueue);
    if (running.worker.getState() === 'RUNNING') running.worker.shutdown();
    await running.done;
  }

  try {
    await registerSearchAttributes(environment);
    await Promise.all(
      Object.values(TaskQueue).map((queue) =>
        startWorker(queue, queue === TaskQueue.orders ? workflowBundle : undefined),
      ),
    );
  } catch (error) {
    await Promise.allSettled([...workers.keys()].map(stopWorker));
    await environment.teardown();
    throw error;
  }

  return {
    client: environment.client,
    skip: (duration) => environment.sleep(duration),
    async stop() {
      openEveryGate();
      await Promise.allSettled([...workers.keys()].map(stopWorker));
      await environment.teardown();
    },
  };
}

/**
 * A fast environment for every test of the calling file: started before the first test and stopped after the
 * last. Its members are read when a test runs, so the result can be held at the top of the file.
 */
export function useFastEnvironment(fakes: FakeServices): FastEnvironment {
  let started: FastEnvironment | undefined;
  beforeAll(async () => {
    started = await startFastEnvironment(fakes);
  }, 60_000);
  afterAll(async () => {
    await started?.stop();
  });
  const current = (): FastEnvironment => {
    if (!started) throw new Error('the fast environment is used outside a test');
    return started;
  };
  return {
    get client() {
      return current().client;
    },
    skip: (duration) => current().skip(duration),
    stop: () => current().stop(),
  };
}

/**
 * The order service's worker process: runs the placeOrder, cleanUpOrder and reconcileOrders workflows and the
 * order activities on the `orders` task queue, and keeps the reconciler's schedule in place.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { Client, Connection } from '@temporalio/client';
import type { TemporalSettings } from '../lib/config';
import type { Logger } from '../lib/logger';
import { WORKFLOW_INTERCEPTOR_MODULES, WORKFLOWS_PATH } from '../lib/workflow-bundle';
import { payloadDataConverter, type PayloadKeys } from '../lib/payload-codec';
import { ensureReconcilerSchedule } from './reconciler-schedule';
import { runServiceWorker, type WorkerSetup } from './run-worker';

/** Creates the schedule once Temporal answers; retried in the background so the worker never waits on it. */
async function keepReconcilerScheduled(
  temporal: TemporalSettings,
  payloadKeys: PayloadKeys,
  intervalSeconds: number,
  logger: Logger,
): Promise<void> {
  for (let attempt = 1; ; attempt += 1) {
    try {
      const connection = await Connection.connect(temporal.connection);
      try {
        const dataConverter = payloadDataConverter(payloadKeys);
        await ensureReconcilerSchedule(
          new Client({ connection, namespace: temporal.namespace, dataConverter }),
          intervalSeconds * 1000,
        );
        logger.info({ intervalSeconds }, `reconciler schedule runs every ${intervalSeconds} s`);
        return;
      } finally {
        await connection.close();
      }
    } catch (error) {
      logger.warn({ attempt, err: error }, 'could not create the reconciler schedule; retrying');
      await sleep(Math.min(30_000, 1000 * 2 ** attempt));
    }
  }
}

/**
 * `npm start` bundles the workflow code once and passes the bundle, so that a restarted order worker polls again
 * within seconds instead of bundling anew; run on its own, the worker bundles the workflows itself.
 */
function workflowCode(bundlePath: string | undefined): Partial<WorkerSetup> {
  return bundlePath
    ? { workflowBundle: { codePath: bundlePath } }
    : { workflowsPath: WORKFLOWS_PATH, interceptors: { workflowModules: WORKFLOW_INTERCEPTOR_MODULES } };
}

runServiceWorker('order', ({ temporal, payloadKeys, extras }) => ({
  settings: {
    reconciler: {
      graceMs: extras.reconcileGraceSeconds * 1000,
      batchSize: 100,
      compensationRetryInterval: `${extras.compensationRetryIntervalSeconds}s`,
    },
  },
  workerOptions: workflowCode(extras.workflowBundlePath),
  beforeRun: (logger) => void keepReconcilerScheduled(temporal, payloadKeys, extras.reconcileIntervalSeconds, logger),
}));

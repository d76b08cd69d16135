/**
 * The order service's worker process: runs the placeOrder, cleanUpOrder and reconcileOrders workflows and the
 * order activities on the `orders` task queue, and keeps the reconciler's schedule in place.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { Client, Connection } from '@temporalio/client';
import { createOrderActivities } from '../activities/order';
import { readInteger, temporalConfig } from '../lib/config';
import { connectOrderDb } from '../lib/databases';
import { createOrderService } from '../services/order';
import { TaskQueue } from '../workflows/definitions';
import { ensureReconcilerSchedule } from './reconciler-schedule';
import { exitOnFailure, runWorker } from './run-worker';

const RECONCILE_INTERVAL_SECONDS = readInteger('RECONCILE_INTERVAL_SECONDS', 60, process.env);
const RECONCILE_GRACE_SECONDS = readInteger('RECONCILE_GRACE_SECONDS', 60, process.env);
const COMPENSATION_RETRY_SECONDS = readInteger('COMPENSATION_RETRY_INTERVAL_SECONDS', 600, process.env);

/** Creates the schedule once Temporal answers; retried in the background so the worker never waits on it. */
async function keepReconcilerScheduled(): Promise<void> {
  for (let attempt = 1; ; attempt += 1) {
    try {
      const temporal = temporalConfig();
      const connection = await Connection.connect({ address: temporal.address });
      try {
        await ensureReconcilerSchedule(
          new Client({ connection, namespace: temporal.namespace }),
          RECONCILE_INTERVAL_SECONDS * 1000,
        );
        console.log(`reconciler schedule runs every ${RECONCILE_INTERVAL_SECONDS} s`);
        return;
      } finally {
        await connection.close();
      }
    } catch (error) {
      console.error(`could not create the reconciler schedule (attempt ${attempt}):`, (error as Error).message);
      await sleep(Math.min(30_000, 1000 * 2 ** attempt));
    }
  }
}

/**
 * `npm start` bundles the workflow code once and passes the bundle, so that a restarted order worker polls again
 * within seconds instead of bundling anew; run on its own, the worker bundles the workflows itself.
 */
const bundlePath = process.env.WORKFLOW_BUNDLE_PATH;
const workflowCode = bundlePath
  ? { workflowBundle: { codePath: bundlePath } }
  : { workflowsPath: require.resolve('../workflows') };

const db = connectOrderDb();
void keepReconcilerScheduled();
exitOnFailure(
  'order',
  runWorker(
    'order',
    {
      taskQueue: TaskQueue.orders,
      ...workflowCode,
      activities: createOrderActivities({
        orders: createOrderService(db),
        reconciler: {
          graceMs: RECONCILE_GRACE_SECONDS * 1000,
          batchSize: 100,
          compensationRetryInterval: `${COMPENSATION_RETRY_SECONDS}s`,
        },
      }),
    },
    () => db.$disconnect(),
  ),
);

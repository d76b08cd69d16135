/** The order service's worker process: runs the placeOrder workflow and the order activities on the `orders` task queue. */
import { createOrderActivities } from '../activities/order';
import { connectOrderDb } from '../lib/databases';
import { createOrderService } from '../services/order';
import { TaskQueue } from '../workflows/definitions';
import { exitOnFailure, runWorker } from './run-worker';

/**
 * `npm start` bundles the workflow code once and passes the bundle, so that a restarted order worker polls again
 * within seconds instead of bundling anew; run on its own, the worker bundles the workflows itself.
 */
const bundlePath = process.env.WORKFLOW_BUNDLE_PATH;
const workflowCode = bundlePath
  ? { workflowBundle: { codePath: bundlePath } }
  : { workflowsPath: require.resolve('../workflows') };

const db = connectOrderDb();
exitOnFailure(
  'order',
  runWorker(
    'order',
    {
      taskQueue: TaskQueue.orders,
      ...workflowCode,
      activities: createOrderActivities({ orders: createOrderService(db) }),
    },
    () => db.$disconnect(),
  ),
);

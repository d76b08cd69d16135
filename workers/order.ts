/** The order service's worker process: runs the placeOrder workflow and the order activities on the `orders` task queue. */
import { createOrderActivities } from '../activities/order';
import { connectOrderDb } from '../lib/databases';
import { createOrderService } from '../services/order';
import { TaskQueue } from '../workflows/definitions';
import { exitOnFailure, runWorker } from './run-worker';

const db = connectOrderDb();
exitOnFailure(
  'order',
  runWorker(
    'order',
    {
      taskQueue: TaskQueue.orders,
      workflowsPath: require.resolve('../workflows'),
      activities: createOrderActivities({ orders: createOrderService(db) }),
    },
    () => db.$disconnect(),
  ),
);

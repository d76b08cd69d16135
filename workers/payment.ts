/** The payment service's worker process: runs the simulated card gateway's activities on the `payments` task queue. */
import { createPaymentActivities, sleepWhileHeartbeating } from '../activities/payment';
import { readInteger } from '../lib/config';
import { connectPaymentDb } from '../lib/databases';
import { createPaymentService } from '../services/payment';
import { TaskQueue } from '../workflows/definitions';
import { exitOnFailure, runWorker } from './run-worker';

const db = connectPaymentDb();
const payments = createPaymentService(db, {
  hangMs: readInteger('CARD_GATEWAY_HANG_MS', 60_000, process.env),
  // Heartbeats while the gateway hangs; stops early when the activity is cancelled or times out on the worker.
  sleep: sleepWhileHeartbeating,
});
exitOnFailure(
  'payment',
  runWorker('payment', { taskQueue: TaskQueue.payments, activities: createPaymentActivities({ payments }) }, () =>
    db.$disconnect(),
  ),
);

/**
 * The engine floors of `npm run bench` (test/bench/engine-floors.ts): workflows that do what an order's workflow
 * does on Temporal, with no-op activities, so that the same server's cost of the saga's shape is measured apart
 * from the services' work. Bundled by the benchmark's own worker; nothing here is part of the shop.
 */
import { proxyActivities, proxyLocalActivities } from '@temporalio/workflow';

/** Every activity of the floors does nothing and returns at once. */
export interface NoopActivities {
  reserveStock(): Promise<void>;
  redeemCoupons(): Promise<void>;
  chargePayment(): Promise<void>;
  recordOrderProgress(): Promise<void>;
}

/** The benchmark's own task queues standing for the shop's `orders`, `items`, `coupons` and `payments`. */
export interface TopologyQueues {
  orders: string;
  items: string;
  coupons: string;
  payments: string;
}

const NOOP_OPTIONS = { startToCloseTimeout: '5s' } as const;

/**
 * The saga's activity topology as a successful order runs it today (workflows/place-order.ts with the patch
 * `local-progress-records`): four local progress writes on the workflow's worker, reserve ‖ redeem on two other
 * queues, the charge on a third, and the ending write as a regular activity on the workflow's queue. The workflow
 * runs on `queues.orders`.
 */
export async function sagaTopologyFloor(queues: TopologyQueues): Promise<void> {
  const local = proxyLocalActivities<NoopActivities>({ startToCloseTimeout: '2s' });
  const on = (taskQueue: string) => proxyActivities<NoopActivities>({ ...NOOP_OPTIONS, taskQueue });
  await local.recordOrderProgress(); // PENDING
  await local.recordOrderProgress(); // items and coupons RUNNING
  await Promise.all([on(queues.items).reserveStock(), on(queues.coupons).redeemCoupons()]);
  await local.recordOrderProgress(); // both steps SUCCEEDED
  await local.recordOrderProgress(); // payment RUNNING
  await on(queues.payments).chargePayment();
  await on(queues.orders).recordOrderProgress(); // COMPLETED: the ending write stays a regular activity
}

/** The least an order can be on Temporal: reserve ‖ redeem, then charge, all on the workflow's own task queue. */
export async function minimalFloor(): Promise<void> {
  const activities = proxyActivities<NoopActivities>(NOOP_OPTIONS);
  await Promise.all([activities.reserveStock(), activities.redeemCoupons()]);
  await activities.chargePayment();
}

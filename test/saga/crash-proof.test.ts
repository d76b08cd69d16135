/**
 * The order and the world never disagree for good: a failed undo retries on a timer, a cancel accepted while the
 * charge is announced never charges, the reconciler undoes orders whose workflow was terminated or never started,
 * and the cancel endpoint answers within its bound when the order worker is down.
 */
import { randomUUID } from 'node:crypto';
import { WorkflowIdReusePolicy } from '@temporalio/client';
import type { OrderProgress } from '../../services/order';
import { ensureReconcilerSchedule } from '../../workers/reconciler-schedule';
import { RECONCILER_SCHEDULE_ID, TaskQueue, orderWorkflowId, type PlaceOrderInput } from '../../workflows/definitions';
import { eventually, request, waitForOrder } from '../support/fixtures';
import { startTestSystem, type TestSystem } from '../support/system';
import { FaultInjector, brokenWhile, buggyWhile, held } from './support/faults';
import { ExpectedState, expectDatabases } from './support/expected-state';
import { UNUSED, databasesState, scheduledActivities, submitOrder } from './support/orders';
import { aShop } from './support/shop';

let system: TestSystem;
const faults = new FaultInjector();
/** Holds the order worker's record of "payment RUNNING" for the customers listed here. */
const holdPaymentAnnouncement = new Map<number, ReturnType<typeof held>>();
/** Fails the order worker's record of "payment RUNNING", as an unreachable order database would, while broken. */
const refusePaymentAnnouncement = new Map<number, { broken: boolean; attempts: number }>();

beforeAll(async () => {
  const overrides = faults.overrides();
  system = await startTestSystem({
    activityOverrides: {
      ...overrides,
      order: (real) => ({
        ...real,
        async recordOrderProgress(progress: OrderProgress) {
          if (progress.status === 'PENDING' && progress.steps.payment === 'RUNNING') {
            const order = await system.services.orders.getOrder(progress.orderId);
            const hold = order && holdPaymentAnnouncement.get(order.customerId);
            if (hold) await hold.fault(progress, async () => undefined);
            const outage = order && refusePaymentAnnouncement.get(order.customerId);
            if (outage)
              await brokenWhile(outage, 'connect ECONNREFUSED (the order database)')(progress, async () => undefined);
          }
          const record = (real as { recordOrderProgress: (p: OrderProgress) => Promise<unknown> }).recordOrderProgress;
          return record(progress);
        },
      }),
    },
  });
  faults.use(system.services.orders);
});

afterAll(async () => {
  await system?.stop();
});

/** Sweeps once, as the schedule would: runs the reconcileOrders workflow to its end. */
async function sweep(): Promise<{ examined: number; cleanedUp: string[] }> {
  return system.client.workflow.execute('reconcileOrders', {
    taskQueue: TaskQueue.orders,
    workflowId: `test-sweep-${randomUUID()}`,
  });
}

test('when a refund fails for a non-transient reason, then the order retries it by itself on the retry timer and ends CANCELLED without an operator', async () => {
  const shop = await aShop(system);
  const refundBug = { broken: true, attempts: 0 };
  faults.inject(shop.customer.id, 'refundPayment', buggyWhile(refundBug));
  // Started like the gateway does, with a short retry timer (the gateway's default is 10 minutes).
  const orderId = randomUUID();
  const lines = shop.standardLines().map((line) => ({
    discountedUnitPrice: line.unitPrice,
    userCouponIds: [],
    ...line,
  }));
  await system.services.orders.createOrder({
    orderId,
    workflowId: orderWorkflowId(orderId),
    customerId: shop.customer.id,
    lines,
  });
  const input: PlaceOrderInput = {
    orderId,
    customerId: shop.customer.id,
    lines,
    paymentToken: 'tok_visa',
    compensationRetryInterval: '2s',
  };
  const charge = held();
  faults.inject(shop.customer.id, 'chargePayment', charge.fault);
  await system.client.workflow.start('placeOrder', {
    taskQueue: TaskQueue.orders,
    workflowId: orderWorkflowId(orderId),
    args: [input],
  });
  await charge.entered;
  expect((await request(system, 'POST', `/orders/${orderId}/cancel`, { token: shop.customer.token })).status).toBe(202);
  charge.release();

  await waitForOrder(system, shop.customer.token, orderId, ['COMPENSATION_FAILED']);
  await eventually(() => refundBug.attempts >= 2, 20_000); // the timer retried, and the bug is still there
  refundBug.broken = false;

  expect(await waitForOrder(system, shop.customer.token, orderId)).toMatchObject({
    status: 'CANCELLED',
    failureReason: 'CANCELLED_BY_CUSTOMER',
  });
  // The timer's retry goes from COMPENSATION_FAILED straight to CANCELLED (no return to FAILED).
  await expectDatabases(
    system,
    ExpectedState.undone(shop.placed(orderId), 'CANCELLED_BY_CUSTOMER')
      .chargeRefunded()
      .history('PENDING', 'FAILED', 'COMPENSATION_FAILED', 'CANCELLED'),
  );
  const history = await system.client.workflow.getHandle(orderWorkflowId(orderId)).fetchHistory();
  expect(history.events?.some((event) => event.timerStartedEventAttributes)).toBe(true);
});

test('when the customer cancels while the charge is being announced, then the card is never charged', async () => {
  const shop = await aShop(system);
  const announcement = held();
  holdPaymentAnnouncement.set(shop.customer.id, announcement);
  const orderId = await submitOrder(system, shop.customer, shop.standardLines());
  try {
    await announcement.entered;
    const cancel = await request(system, 'POST', `/orders/${orderId}/cancel`, { token: shop.customer.token });
    expect(cancel.status).toBe(202);
  } finally {
    announcement.release();
  }

  expect(await waitForOrder(system, shop.customer.token, orderId)).toMatchObject({
    status: 'CANCELLED',
    failureReason: 'CANCELLED_BY_CUSTOMER',
    steps: { items: 'COMPENSATED', coupons: 'COMPENSATED', payment: 'NOT_STARTED' },
  });
  expect(await scheduledActivities(system, orderId)).not.toContain('chargePayment');
  // The refund ran anyway and left its marker: a charge arriving now would be refused.
  await expectDatabases(
    system,
    ExpectedState.undone(shop.placed(orderId), 'CANCELLED_BY_CUSTOMER')
      .chargeVoided()
      .steps({ payment: 'NOT_STARTED' }),
  );
});

test('when the order database refuses the charge announcement, then a cancel is still accepted and the card is never charged', async () => {
  const shop = await aShop(system);
  const outage = { broken: true, attempts: 0 };
  refusePaymentAnnouncement.set(shop.customer.id, outage);
  const orderId = await submitOrder(system, shop.customer, shop.standardLines());
  try {
    await eventually(() => outage.attempts > 0);
    const cancel = await request(system, 'POST', `/orders/${orderId}/cancel`, { token: shop.customer.token });
    expect(cancel.status).toBe(202);
  } finally {
    outage.broken = false;
  }

  expect(await waitForOrder(system, shop.customer.token, orderId)).toMatchObject({
    status: 'CANCELLED',
    failureReason: 'CANCELLED_BY_CUSTOMER',
    steps: { items: 'COMPENSATED', coupons: 'COMPENSATED', payment: 'NOT_STARTED' },
  });
  expect(await scheduledActivities(system, orderId)).not.toContain('chargePayment');
});

test('when an order workflow is terminated mid-saga, then the reconciler undoes what took effect and the order ends CANCELLED with RECONCILED', async () => {
  const shop = await aShop(system);
  const charge = held();
  faults.inject(shop.customer.id, 'chargePayment', charge.fault);
  const orderId = await submitOrder(system, shop.customer, shop.standardLines());
  await charge.entered;
  await system.client.workflow.getHandle(orderWorkflowId(orderId)).terminate('operator terminated it');
  // The charge lands after the terminate: the reconciler must refund it too.
  charge.release();
  await eventually(async () => (await databasesState(system, orderId, shop.scope)).payment?.status === 'CAPTURED');
  expect((await system.services.orders.getOrder(orderId))!.status).toBe('PENDING');

  const { cleanedUp } = await sweep();
  expect(cleanedUp).toContain(orderId);

  const order = await waitForOrder(system, shop.customer.token, orderId);
  expect(order).toMatchObject({ status: 'CANCELLED', failureReason: 'RECONCILED' });
  expect(order.failureDetail).toContain('TERMINATED');
  expect(await databasesState(system, orderId, shop.scope)).toMatchObject({
    order: { history: ['PENDING', 'FAILED', 'CANCELLED'] },
    stock: { [shop.shirt.id]: 5, [shop.coat.id]: 5 },
    reservation: { status: 'RELEASED' },
    coupons: { [shop.fixed]: UNUSED, [shop.ratio]: UNUSED },
    payment: { status: 'REFUNDED', amount: shop.standardTotal },
  });
  // Nothing left to clean: a second sweep leaves it alone.
  expect((await sweep()).cleanedUp).not.toContain(orderId);
});

test('when an order was recorded but its workflow never started, then the reconciler cancels it, and a late start attaches to nothing new', async () => {
  const shop = await aShop(system);
  const orderId = randomUUID();
  const lines = [
    { itemId: shop.coat.id, quantity: 1, unitPrice: 20_000, discountedUnitPrice: 20_000, userCouponIds: [] },
  ];
  await system.services.orders.createOrder({
    orderId,
    workflowId: orderWorkflowId(orderId),
    customerId: shop.customer.id,
    lines,
  });

  expect((await sweep()).cleanedUp).toContain(orderId);
  expect(await waitForOrder(system, shop.customer.token, orderId)).toMatchObject({
    status: 'CANCELLED',
    failureReason: 'RECONCILED',
    steps: { items: 'NOT_STARTED', coupons: 'NOT_STARTED', payment: 'NOT_STARTED' },
  });
  // The gateway retrying its start now gets the cleanup's closed execution: no placeOrder runs, nothing is taken.
  await expect(
    system.client.workflow.start('placeOrder', {
      taskQueue: TaskQueue.orders,
      workflowId: orderWorkflowId(orderId),
      args: [{ orderId, customerId: shop.customer.id, lines, paymentToken: 'tok_visa' }],
      workflowIdReusePolicy: WorkflowIdReusePolicy.REJECT_DUPLICATE,
    }),
  ).rejects.toThrow();
  expect(await databasesState(system, orderId, shop.scope)).toMatchObject({
    stock: { [shop.coat.id]: 5 },
    reservation: { status: 'RELEASED' },
    payment: { status: 'VOIDED' },
  });
});

test('when the cleanup itself is terminated, then the next sweep starts another one that still ends the order', async () => {
  const shop = await aShop(system);
  const charge = held();
  const release = held();
  faults.inject(shop.customer.id, 'chargePayment', charge.fault);
  faults.inject(shop.customer.id, 'releaseStock', release.fault);
  const orderId = await submitOrder(system, shop.customer, shop.standardLines());
  await charge.entered;
  await system.client.workflow.getHandle(orderWorkflowId(orderId)).terminate('first terminate');
  charge.release();
  await eventually(async () => (await databasesState(system, orderId, shop.scope)).payment?.status === 'CAPTURED');

  expect((await sweep()).cleanedUp).toContain(orderId);
  await release.entered; // the cleanup refunded and restored, and now releases the stock
  await system.client.workflow.getHandle(orderWorkflowId(orderId)).terminate('the cleanup is terminated too');
  release.release();
  faults.inject(shop.customer.id, 'releaseStock', async (_input, real) => real());

  expect((await sweep()).cleanedUp).toContain(orderId);
  const order = await waitForOrder(system, shop.customer.token, orderId);
  expect(order).toMatchObject({ status: 'CANCELLED', failureReason: 'RECONCILED' });
  expect(order.failureDetail).toContain('cleanUpOrder ended as TERMINATED');
  expect(await databasesState(system, orderId, shop.scope)).toMatchObject({
    stock: { [shop.shirt.id]: 5, [shop.coat.id]: 5 },
    reservation: { status: 'RELEASED' },
    coupons: { [shop.fixed]: UNUSED, [shop.ratio]: UNUSED },
    payment: { status: 'REFUNDED', amount: shop.standardTotal },
  });
});

test('when an order is still running its saga, then the reconciler leaves it alone', async () => {
  const shop = await aShop(system);
  const reservation = held();
  faults.inject(shop.customer.id, 'reserveStock', reservation.fault);
  const orderId = await submitOrder(system, shop.customer, shop.standardLines());
  try {
    await reservation.entered;
    expect((await sweep()).cleanedUp).not.toContain(orderId);
  } finally {
    reservation.release();
  }
  expect(await waitForOrder(system, shop.customer.token, orderId)).toMatchObject({ status: 'COMPLETED' });
});

test('when the order worker is down, then cancelling answers 503 problem within its bound instead of hanging', async () => {
  const shop = await aShop(system);
  const reservation = held();
  faults.inject(shop.customer.id, 'reserveStock', reservation.fault);
  const orderId = await submitOrder(system, shop.customer, shop.standardLines());
  await reservation.entered;
  await system.stopWorker('order');
  try {
    const started = Date.now();
    const cancel = await request(system, 'POST', `/orders/${orderId}/cancel`, { token: shop.customer.token });
    const tookMs = Date.now() - started;
    expect(cancel).toMatchObject({ status: 503, body: { code: 'SERVICE_UNAVAILABLE' } });
    expect(cancel.headers.get('content-type')).toContain('application/problem+json');
    expect(cancel.headers.get('retry-after')).toBe('1');
    // The bound is 5 s; the margin covers a loaded machine.
    expect(tookMs).toBeLessThan(9_000);
  } finally {
    reservation.release();
    await system.startWorker('order');
  }
  // The cancel's outcome was unknown (503); once the worker is back, the order ends one way or the other.
  expect(['COMPLETED', 'CANCELLED']).toContain((await waitForOrder(system, shop.customer.token, orderId)).status);
});

test('when the order worker starts, then the reconciler runs as a Temporal Schedule of reconcileOrders', async () => {
  await ensureReconcilerSchedule(system.client, 3_600_000);
  await ensureReconcilerSchedule(system.client, 3_600_000); // idempotent: a restart finds it in place
  const handle = system.client.schedule.getHandle(RECONCILER_SCHEDULE_ID);
  try {
    const description = await handle.describe();
    expect(description.action).toMatchObject({ type: 'startWorkflow', workflowType: 'reconcileOrders' });
    expect(description.spec.intervals?.[0]?.every).toBe(3_600_000);
  } finally {
    await handle.delete();
  }
});

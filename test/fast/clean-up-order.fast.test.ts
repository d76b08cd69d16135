/**
 * The reconciler's workflows against fake activities on the time-skipping test server: cleanUpOrder undoes every
 * step in reverse and records the order RECONCILED with writes numbered above the saga's; reconcileOrders reports
 * what its sweep found.
 */
import { randomUUID } from 'node:crypto';
import { WorkflowFailedError } from '@temporalio/client';
import { RECONCILED } from '../../domain/failure-reasons';
import { CLEANUP_FIRST_SEQ } from '../../domain/order';
import type { cleanUpOrder } from '../../workflows/clean-up-order';
import { TaskQueue, getSagaState, orderWorkflowId, type CleanUpOrderInput } from '../../workflows/definitions';
import type { reconcileOrders } from '../../workflows/reconcile-orders';
import { useFastEnvironment } from './support/environment';
import { FakeServices, type Script } from './support/fake-services';
import { TOTAL, activityLabels, consecutiveFrom, ran, seqs, serverDurationMs, statusHistory } from './support/orders';

const fakes = new FakeServices();
const env = useFastEnvironment(fakes);

/** Cleans up an order that stopped while its charge was running, with the given answers of its undos. */
async function cleanUp(script: Script = {}, input: Partial<CleanUpOrderInput> = {}) {
  const orderId = randomUUID();
  fakes.script(orderId, script);
  const handle = await env.client.workflow.start<typeof cleanUpOrder>('cleanUpOrder', {
    taskQueue: TaskQueue.orders,
    workflowId: orderWorkflowId(orderId),
    args: [
      {
        orderId,
        customerId: 42,
        total: TOTAL,
        status: 'PENDING',
        steps: { items: 'SUCCEEDED', coupons: 'SUCCEEDED', payment: 'RUNNING' },
        failureReason: null,
        why: 'its workflow was TERMINATED',
        ...input,
      },
    ],
  });
  return { orderId, handle };
}

test('when an order is cleaned up, then its steps are undone in reverse and it is CANCELLED with RECONCILED', async () => {
  const { orderId, handle } = await cleanUp();

  expect(await handle.result()).toEqual({ status: 'CANCELLED', failureReason: RECONCILED });
  const state = await handle.query(getSagaState);
  expect(state).toMatchObject({
    status: 'CANCELLED',
    steps: { items: 'COMPENSATED', coupons: 'COMPENSATED', payment: 'COMPENSATED' },
    failureReason: RECONCILED,
    compensated: ['payment', 'coupons', 'items'],
  });
  expect(state.failureDetail).toBe(
    'its workflow was TERMINATED; the reconciler undid every step that may have taken effect',
  );
  expect(ran(fakes, orderId)).toEqual(['refundPayment', 'restoreCoupons', 'releaseStock']);
  expect(statusHistory(fakes, orderId)).toEqual(['FAILED', 'CANCELLED']);
  expect(seqs(fakes, orderId)).toEqual(consecutiveFrom(CLEANUP_FIRST_SEQ, 2));
});

test('when a step never took effect, then its undo leaves it as it was', async () => {
  const { handle } = await cleanUp(
    { refundPayment: async () => ({ undone: false }) },
    { steps: { items: 'SUCCEEDED', coupons: 'SUCCEEDED', payment: 'NOT_STARTED' } },
  );

  await handle.result();
  expect((await handle.query(getSagaState)).steps).toEqual({
    items: 'COMPENSATED',
    coupons: 'COMPENSATED',
    payment: 'NOT_STARTED',
  });
});

test('when an earlier cleanup wrote progress, then the next one numbers its writes from above it', async () => {
  const firstSeq = CLEANUP_FIRST_SEQ + 2_000;
  const { orderId, handle } = await cleanUp({}, { firstSeq, failureReason: 'PAYMENT_DECLINED', status: 'FAILED' });

  await handle.result();
  expect(seqs(fakes, orderId)).toEqual(consecutiveFrom(firstSeq, 2));
  expect((await handle.query(getSagaState)).failureDetail).toContain('it had failed with PAYMENT_DECLINED');
});

/** releaseStock fails for a non-transient reason (a RangeError, a bug) on its first call, then works. */
function releaseFailsOnce(): Script {
  let calls = 0;
  return {
    releaseStock: async () => {
      calls += 1;
      if (calls === 1) throw new RangeError('stock would go above its limit');
      return { undone: true };
    },
  };
}

test('when an undo of a cleanup fails for a non-transient reason, then the 10-minute retry timer retries it', async () => {
  const { orderId, handle } = await cleanUp(releaseFailsOnce());

  expect(await handle.result()).toEqual({ status: 'CANCELLED', failureReason: RECONCILED });
  expect(statusHistory(fakes, orderId)).toEqual(['FAILED', 'COMPENSATION_FAILED', 'CANCELLED']);
  expect(ran(fakes, orderId)).toEqual(['refundPayment', 'restoreCoupons', 'releaseStock', 'releaseStock']);
  expect(seqs(fakes, orderId)).toEqual(consecutiveFrom(CLEANUP_FIRST_SEQ, 3));
});

test('when the reconciler sets another compensation retry interval, then a failed undo waits that long instead', async () => {
  const { handle } = await cleanUp(releaseFailsOnce(), { compensationRetryInterval: '1 minute' });

  expect(await handle.result()).toEqual({ status: 'CANCELLED', failureReason: RECONCILED });
  const duration = await serverDurationMs(handle);
  expect(duration).toBeGreaterThanOrEqual(60_000);
  expect(duration).toBeLessThan(10 * 60_000);
});

test('reconcileOrders reports what the sweep examined and cleaned up', async () => {
  fakes.reconcileResult = { examined: 3, cleanedUp: ['order-a', 'order-b'] };

  const result = await env.client.workflow.execute<typeof reconcileOrders>('reconcileOrders', {
    taskQueue: TaskQueue.orders,
    workflowId: `reconcile-${randomUUID()}`,
  });

  expect(result).toEqual({ examined: 3, cleanedUp: ['order-a', 'order-b'] });
});

test('when the sweep keeps failing, then reconcileOrders fails after 3 attempts, labelled for the Web UI', async () => {
  fakes.reconcileFailures = 5;
  fakes.reconcileAttempts = 0;
  const handle = await env.client.workflow.start<typeof reconcileOrders>('reconcileOrders', {
    taskQueue: TaskQueue.orders,
    workflowId: `reconcile-${randomUUID()}`,
  });

  // The schedule runs the next sweep; this one must not retry for ever meanwhile.
  await expect(handle.result()).rejects.toBeInstanceOf(WorkflowFailedError);
  expect(fakes.reconcileAttempts).toBe(3);
  expect(await activityLabels(handle)).toEqual([
    'reconcileOrphanedOrders: Find orders whose workflow ended before them',
  ]);
  fakes.reconcileFailures = 0;
});

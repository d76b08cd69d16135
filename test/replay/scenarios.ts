/**
 * The saga paths whose histories are kept as replay fixtures. Each scenario drives one order through the real
 * gateway, workers, Temporal and PostgreSQL, and returns the order id once the workflow has closed.
 */
import { execFileSync } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdirSync } from 'node:fs';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { NativeConnection, Worker, bundleWorkflowCode } from '@temporalio/worker';
import { Context } from '@temporalio/activity';
import { ApplicationFailure } from '@temporalio/common';
import { createOrderActivities } from '../../activities/order';
import { TestCardToken } from '../../domain/card-tokens';
import type { OrderProgress } from '../../services/order';
import { TaskQueue, orderWorkflowId, retryCompensation } from '../../workflows/definitions';
import { aCouponFor, aUser, anItem, request, waitForOrder, type TestUser } from '../support/fixtures';
import { testDataConverter, type TestSystem, type TestSystemOptions } from '../support/system';

/** Faults the scenarios switch on and off through activity overrides. */
export const faults = {
  slowReservationMs: 0,
  refundFails: false,
  rogueCharge: false,
  /** The order worker's "payment RUNNING" write: its first attempt hangs past its cut, later ones are refused. */
  announcementDown: false,
  announcementAttempts: 0,
};

type ActivityFunctions = Record<string, (...args: unknown[]) => Promise<unknown>>;

export const recordingOverrides: TestSystemOptions['activityOverrides'] = {
  order: (real) => ({
    ...real,
    async recordOrderProgress(...args: unknown[]) {
      const progress = args[0] as OrderProgress;
      if (faults.announcementDown && progress.status === 'PENDING' && progress.steps.payment === 'RUNNING') {
        faults.announcementAttempts += 1;
        if (Context.current().info.attempt === 1) await sleep(3000); // past the local attempt's 2 s cut
        throw new Error('connect ECONNREFUSED (the order database)');
      }
      return (real as ActivityFunctions).recordOrderProgress!(...args);
    },
  }),
  item: (real) => ({
    ...real,
    async reserveStock(...args: unknown[]) {
      if (faults.slowReservationMs > 0) await sleep(faults.slowReservationMs);
      return (real as ActivityFunctions).reserveStock!(...args);
    },
  }),
  payment: (real) => ({
    ...real,
    async chargePayment(...args: unknown[]) {
      // A rogue worker on the payments queue: it charges nothing and answers a bare "captured".
      if (faults.rogueCharge) return { status: 'CAPTURED' };
      return (real as ActivityFunctions).chargePayment!(...args);
    },
    async refundPayment(...args: unknown[]) {
      // Non-transient: a transient fault would be retried until it passes, never reaching COMPENSATION_FAILED.
      if (faults.refundFails)
        throw ApplicationFailure.nonRetryable('the card gateway refuses this refund', 'UNDO_REFUSED');
      return (real as ActivityFunctions).refundPayment!(...args);
    },
  }),
};

async function placeOrder(system: TestSystem, user: TestUser, body: unknown): Promise<string> {
  const placed = await request(system, 'POST', '/orders', { token: user.token, body });
  if (placed.status !== 202) throw new Error(`POST /orders: ${placed.status} ${JSON.stringify(placed.body)}`);
  return placed.body.orderId as string;
}

async function finished(system: TestSystem, user: TestUser, orderId: string, expected: string): Promise<string> {
  const order = await waitForOrder(system, user.token, orderId);
  if (order.status !== expected) throw new Error(`order ${orderId} ended ${order.status}, expected ${expected}`);
  await system.client.workflow.getHandle(orderWorkflowId(orderId)).result();
  return orderId;
}

export type Scenario = (system: TestSystem) => Promise<string>;

/** The last commit before the crash-proof changes (auto-retry timer, cancel before charge, reconciler). */
const PREVIOUS_WORKFLOW_COMMIT = '805b46d';

/** Bundles the workflow code of an earlier commit, extracted with `git archive` into the git-ignored .data folder. */
async function previousWorkflowBundle(commit: string): Promise<{ code: string }> {
  const root = path.resolve(__dirname, '..', '..');
  const folder = path.join(root, '.data', 'previous-workflows', commit);
  mkdirSync(folder, { recursive: true });
  const archive = execFileSync('git', ['-C', root, 'archive', commit, 'workflows', 'domain'], {
    maxBuffer: 64 * 1024 * 1024,
  });
  execFileSync('tar', ['-x', '-C', folder], { input: archive });
  return bundleWorkflowCode({
    workflowsPath: path.join(folder, 'workflows'),
    logger: { log() {}, info() {}, warn() {}, error: console.error, debug() {}, trace() {} },
  });
}

/** Sweeps once, as the reconciler's schedule would. */
async function sweep(system: TestSystem): Promise<void> {
  await system.client.workflow.execute('reconcileOrders', {
    taskQueue: TaskQueue.orders,
    workflowId: `record-sweep-${Date.now()}`,
  });
}

export const scenarios: Record<string, Scenario> = {
  async success(system) {
    const user = await aUser(system);
    const item = await anItem(system, { price: 10_000, stockQuantity: 5 });
    const fixed = await aCouponFor(system, user.id, { type: 'FIXED', discountAmount: 1000 });
    const ratio = await aCouponFor(system, user.id, { type: 'RATIO', discountPercent: 10 });
    const orderId = await placeOrder(system, user, {
      lines: [
        { itemId: item.id, quantity: 1, unitPrice: 10_000, discountedUnitPrice: 8100, userCouponIds: [ratio, fixed] },
      ],
    });
    return finished(system, user, orderId, 'COMPLETED');
  },

  async 'out-of-stock'(system) {
    const user = await aUser(system);
    const item = await anItem(system, { stockQuantity: 1 });
    const orderId = await placeOrder(system, user, {
      lines: [{ itemId: item.id, quantity: 2, unitPrice: item.price }],
    });
    return finished(system, user, orderId, 'CANCELLED');
  },

  async 'coupon-rejected'(system) {
    const owner = await aUser(system);
    const user = await aUser(system);
    const item = await anItem(system);
    const someoneElses = await aCouponFor(system, owner.id, { type: 'FIXED', discountAmount: 1000 });
    const orderId = await placeOrder(system, user, {
      lines: [
        {
          itemId: item.id,
          quantity: 1,
          unitPrice: item.price,
          discountedUnitPrice: item.price - 1000,
          userCouponIds: [someoneElses],
        },
      ],
    });
    return finished(system, user, orderId, 'CANCELLED');
  },

  async 'payment-declined'(system) {
    const user = await aUser(system);
    const item = await anItem(system);
    const orderId = await placeOrder(system, user, {
      lines: [{ itemId: item.id, quantity: 1, unitPrice: item.price }],
      payment: { token: TestCardToken.decline },
    });
    return finished(system, user, orderId, 'CANCELLED');
  },

  async 'customer-cancel'(system) {
    const user = await aUser(system);
    const item = await anItem(system);
    faults.slowReservationMs = 2000;
    try {
      const orderId = await placeOrder(system, user, {
        lines: [{ itemId: item.id, quantity: 1, unitPrice: item.price }],
      });
      await sleep(500);
      const cancel = await request(system, 'POST', `/orders/${orderId}/cancel`, { token: user.token });
      if (cancel.status !== 202) throw new Error(`cancel: ${cancel.status} ${JSON.stringify(cancel.body)}`);
      return await finished(system, user, orderId, 'CANCELLED');
    } finally {
      faults.slowReservationMs = 0;
    }
  },

  async 'undo-retried-by-operator'(system) {
    const user = await aUser(system);
    const item = await anItem(system);
    faults.refundFails = true;
    try {
      // The declined card makes the saga undo its steps; the refund undo fails until the operator's retry.
      const orderId = await placeOrder(system, user, {
        lines: [{ itemId: item.id, quantity: 1, unitPrice: item.price }],
        payment: { token: TestCardToken.decline },
      });
      await waitForOrder(system, user.token, orderId, ['COMPENSATION_FAILED']);
      faults.refundFails = false;
      await system.client.workflow.getHandle(orderWorkflowId(orderId)).executeUpdate(retryCompensation);
      return await finished(system, user, orderId, 'CANCELLED');
    } finally {
      faults.refundFails = false;
    }
  },

  async 'payment-timeout'(system) {
    const user = await aUser(system);
    const item = await anItem(system);
    const orderId = await placeOrder(system, user, {
      lines: [{ itemId: item.id, quantity: 1, unitPrice: item.price }],
      payment: { token: TestCardToken.hang },
    });
    return finished(system, user, orderId, 'CANCELLED');
  },

  async 'service-unavailable'(system) {
    const user = await aUser(system);
    const item = await anItem(system);
    await system.stopWorker('item');
    try {
      const orderId = await placeOrder(system, user, {
        lines: [{ itemId: item.id, quantity: 1, unitPrice: item.price }],
      });
      await waitForOrder(system, user.token, orderId, ['FAILED', 'CANCELLED'], 90_000);
      await system.startWorker('item');
      return await finished(system, user, orderId, 'CANCELLED');
    } finally {
      await system.startWorker('item');
    }
  },

  async 'operator-cancel'(system) {
    const user = await aUser(system);
    const item = await anItem(system);
    faults.slowReservationMs = 2000;
    try {
      const orderId = await placeOrder(system, user, {
        lines: [{ itemId: item.id, quantity: 1, unitPrice: item.price }],
      });
      await sleep(500);
      await system.client.workflow.getHandle(orderWorkflowId(orderId)).cancel();
      return await finished(system, user, orderId, 'CANCELLED');
    } finally {
      faults.slowReservationMs = 0;
    }
  },

  /** The charge answer does not prove the charge (verify-charge patch): the order fails and is undone. */
  async 'charge-unverified'(system) {
    const user = await aUser(system);
    const item = await anItem(system);
    faults.rogueCharge = true;
    try {
      const orderId = await placeOrder(system, user, {
        lines: [{ itemId: item.id, quantity: 1, unitPrice: item.price }],
      });
      return await finished(system, user, orderId, 'CANCELLED');
    } finally {
      faults.rogueCharge = false;
    }
  },

  /**
   * The customer cancels while the charge's announcement cannot be written: the local write's first attempt
   * hangs past its cut, the next ones fail, each retry waits on a timer, and the cancel is taken up meanwhile.
   */
  async 'cancel-while-write-fails'(system) {
    const user = await aUser(system);
    const item = await anItem(system);
    faults.announcementDown = true;
    faults.announcementAttempts = 0;
    try {
      const orderId = await placeOrder(system, user, {
        lines: [{ itemId: item.id, quantity: 1, unitPrice: item.price }],
      });
      while (faults.announcementAttempts < 2) await sleep(50);
      const cancel = await request(system, 'POST', `/orders/${orderId}/cancel`, { token: user.token });
      if (cancel.status !== 202) throw new Error(`cancel: ${cancel.status} ${JSON.stringify(cancel.body)}`);
      faults.announcementDown = false;
      return await finished(system, user, orderId, 'CANCELLED');
    } finally {
      faults.announcementDown = false;
    }
  },

  /** Records the reconciler's cleanUpOrder: the newest execution under the order's workflow id. */
  async 'reconciled-terminate'(system) {
    const user = await aUser(system);
    const item = await anItem(system);
    faults.slowReservationMs = 2000;
    try {
      const orderId = await placeOrder(system, user, {
        lines: [{ itemId: item.id, quantity: 1, unitPrice: item.price }],
      });
      await sleep(500);
      await system.client.workflow.getHandle(orderWorkflowId(orderId)).terminate('recording a reconciled order');
      await sleep(2000); // the reservation in flight lands after the terminate
      await sweep(system);
      return await finished(system, user, orderId, 'CANCELLED');
    } finally {
      faults.slowReservationMs = 0;
    }
  },

  /**
   * Started on the previous workflow code (the commit before the crash-proof changes), stuck in
   * COMPENSATION_FAILED, then finished by today's code after the operator's retry: the history of a deploy.
   */
  async 'started-on-previous-code'(system) {
    const user = await aUser(system);
    const item = await anItem(system);
    const taskQueue = 'orders-previous-code';
    const connection = await NativeConnection.connect({ address: process.env.TEMPORAL_ADDRESS! });
    // Today's code records progress with local activities, which run on the workflow's own worker (as the order
    // worker does); the previous code scheduled them on the `orders` queue and needs none here.
    const runWorkflowWorker = async (
      workflowBundle: { code: string } | { codePath: string },
      activities: object = {},
    ) => {
      const worker = await Worker.create({
        connection,
        taskQueue,
        workflowBundle,
        activities,
        dataConverter: testDataConverter,
      });
      return { stop: () => (worker.shutdown(), undefined), done: worker.run() };
    };
    faults.refundFails = true;
    try {
      const previous = await runWorkflowWorker(await previousWorkflowBundle(PREVIOUS_WORKFLOW_COMMIT));
      const orderId = randomUUID();
      const lines = [
        { itemId: item.id, quantity: 1, unitPrice: item.price, discountedUnitPrice: item.price, userCouponIds: [] },
      ];
      await system.services.orders.createOrder({
        orderId,
        workflowId: orderWorkflowId(orderId),
        customerId: user.id,
        lines,
      });
      await system.client.workflow.start('placeOrder', {
        taskQueue,
        workflowId: orderWorkflowId(orderId),
        args: [{ orderId, customerId: user.id, lines, paymentToken: TestCardToken.decline }],
      });
      await waitForOrder(system, user.token, orderId, ['COMPENSATION_FAILED'], 90_000);
      previous.stop();
      await previous.done;

      faults.refundFails = false;
      const today = await runWorkflowWorker(
        { codePath: process.env.TEST_WORKFLOW_BUNDLE! },
        createOrderActivities({ orders: system.services.orders }),
      );
      try {
        await system.client.workflow.getHandle(orderWorkflowId(orderId)).executeUpdate(retryCompensation);
        return await finished(system, user, orderId, 'CANCELLED');
      } finally {
        today.stop();
        await today.done;
      }
    } finally {
      faults.refundFails = false;
      await connection.close();
    }
  },
};

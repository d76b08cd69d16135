/**
 * The saga paths whose histories are kept as replay fixtures. Each scenario drives one order through the real
 * gateway, workers, Temporal and PostgreSQL, and returns the order id once the workflow has closed.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { ApplicationFailure } from '@temporalio/common';
import { orderWorkflowId, retryCompensation } from '../../workflows/definitions';
import { aCouponFor, aUser, anItem, request, waitForOrder, type TestUser } from '../support/fixtures';
import type { TestSystem, TestSystemOptions } from '../support/system';

/** Faults the scenarios switch on and off through activity overrides. */
export const faults = { slowReservationMs: 0, refundFails: false };

type ActivityFunctions = Record<string, (...args: unknown[]) => Promise<unknown>>;

export const recordingOverrides: TestSystemOptions['activityOverrides'] = {
  item: (real) => ({
    ...real,
    async reserveStock(...args: unknown[]) {
      if (faults.slowReservationMs > 0) await sleep(faults.slowReservationMs);
      return (real as ActivityFunctions).reserveStock!(...args);
    },
  }),
  payment: (real) => ({
    ...real,
    async refundPayment(...args: unknown[]) {
      if (faults.refundFails)
        throw ApplicationFailure.retryable('the card gateway refuses refunds right now', 'GatewayUnavailable');
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
      payment: { token: 'tok_declined' },
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
        payment: { token: 'tok_declined' },
      });
      await waitForOrder(system, user.token, orderId, ['COMPENSATION_FAILED']);
      faults.refundFails = false;
      await system.client.workflow.getHandle(orderWorkflowId(orderId)).executeUpdate(retryCompensation);
      return await finished(system, user, orderId, 'CANCELLED');
    } finally {
      faults.refundFails = false;
    }
  },
};

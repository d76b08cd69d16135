/**
 * Every path of the placeOrder saga, end to end through the gateway, real workers, Temporal and PostgreSQL:
 * each test checks the final state in every service's database and the order in which the undos ran.
 */
import { randomUUID } from 'node:crypto';
import { WorkflowUpdateFailedError } from '@temporalio/client';
import { msToNumber } from '@temporalio/common/lib/time';
import { ORDER_ALREADY_UNDONE } from '../../activities/temporal-failures';
import type { OrderStatus } from '../../domain/order';
import { PAYMENT_TIMEOUTS } from '../../workflows/activity-options';
import { orderWorkflowId, retryCompensation } from '../../workflows/definitions';
import { aCouponFor, aUser, cancelAccepted, eventually, request, waitForOrder } from '../support/fixtures';
import { startTestSystem, type TestSystem } from '../support/system';
import { ExpectedState, expectDatabases } from './support/expected-state';
import { FaultInjector, answerLost, brokenWhile, buggyWhile, held, observed } from './support/faults';
import { UNUSED, activityTimeoutAfterMs, databasesState, sagaState, submitOrder, undoOrder } from './support/orders';
import { Scenarios } from './support/scenarios';
import { SHIRT_PRICE, aShop, type Shop } from './support/shop';

let system: TestSystem;
const faults = new FaultInjector();
const scenarios = new Scenarios();

beforeAll(async () => {
  // The simulated gateway hangs longer than the payment bound (15 s) but not much longer, to free the worker.
  system = await startTestSystem({ activityOverrides: faults.overrides(), cardGatewayHangMs: 20_000 });
  faults.use(system.services.orders);
  scenarios.startAll();
});

afterAll(async () => {
  await scenarios.settled();
  await system?.stop();
});

const CANCELLED_HISTORY = ['PENDING', 'FAILED', 'CANCELLED'];
const OPERATOR_RETRIED_HISTORY: OrderStatus[] = ['PENDING', 'FAILED', 'COMPENSATION_FAILED', 'FAILED', 'CANCELLED'];
const COUPONS_THEN_ITEMS = ['restoreCoupons', 'releaseStock'];
const PAYMENT_COUPONS_ITEMS = ['refundPayment', 'restoreCoupons', 'releaseStock'];

/**
 * The databases after the order failed in the coupon step: the stock went back, the redemption rolled back
 * whole (the undo then left its marker), and no coupon was used; `differs` states what else this path changes
 * (e.g. a further coupon to watch).
 */
async function expectUndoneAfterCouponFailure(
  shop: Shop,
  orderId: string,
  reason: string,
  differs: (expected: ExpectedState) => ExpectedState = (expected) => expected,
) {
  const order = await waitForOrder(system, shop.customer.token, orderId);
  expect(order).toMatchObject({ status: 'CANCELLED', failureReason: reason });
  await expectDatabases(system, differs(ExpectedState.undone(shop.placed(orderId), reason).couponsNotRedeemed()));
  expect(await undoOrder(system, orderId)).toEqual(COUPONS_THEN_ITEMS);
  expect((await sagaState(system, orderId)).compensated).toEqual(['coupons', 'items']);
}

/** Places the standard order with the coupon ids replaced, for the coupon-rule scenarios. */
async function orderWithCoupons(shop: Shop, userCouponIds: number[], discountedUnitPrice = SHIRT_PRICE) {
  return submitOrder(system, shop.customer, shop.standardLines({ shirt: { userCouponIds, discountedUnitPrice } }));
}

/** The payment step's overall bound, as the workflow's activity options set it. */
const PAYMENT_BOUND_MS = msToNumber(PAYMENT_TIMEOUTS.scheduleToCloseTimeout);

scenarios.add(
  'when every step succeeds, then the order is COMPLETED with stock taken, coupons used and the total captured',
  async () => {
    const shop = await aShop(system);
    const orderId = await submitOrder(system, shop.customer, shop.standardLines());

    const order = await waitForOrder(system, shop.customer.token, orderId);
    expect(order).toMatchObject({ status: 'COMPLETED', totalPrice: shop.standardTotal });
    expect(order.failureReason).toBeUndefined();
    await expectDatabases(system, ExpectedState.completed(shop.placed(orderId)));
    expect(await undoOrder(system, orderId)).toEqual([]);
    expect((await sagaState(system, orderId)).compensated).toEqual([]);

    const cancel = await request(system, 'POST', `/orders/${orderId}/cancel`, { token: shop.customer.token });
    expect(cancel.status).toBe(409);
  },
);

scenarios.add(
  'when a line asks for more than the stock, then the order is CANCELLED with OUT_OF_STOCK and its coupons restored',
  async () => {
    const shop = await aShop(system, { coatStock: 1 });
    const orderId = await submitOrder(system, shop.customer, shop.standardLines());

    expect(await waitForOrder(system, shop.customer.token, orderId)).toMatchObject({
      status: 'CANCELLED',
      failureReason: 'OUT_OF_STOCK',
    });
    // Nothing was reserved: the shirt line rolled back with the coat line.
    await expectDatabases(system, ExpectedState.undone(shop.placed(orderId), 'OUT_OF_STOCK').stockNotTaken());
    expect(await undoOrder(system, orderId)).toEqual(COUPONS_THEN_ITEMS);
    expect((await sagaState(system, orderId)).compensated).toEqual(['coupons', 'items']);
  },
);

scenarios.add(
  'when the client sends a unit price other than the current price, then the order is CANCELLED with PRICE_MISMATCH',
  async () => {
    const shop = await aShop(system);
    // Tampered consistently: 9000 - 1000 = 8000, minus 10% = 7200, so only the item service can notice.
    const orderId = await submitOrder(
      system,
      shop.customer,
      shop.standardLines({ shirt: { unitPrice: 9_000, discountedUnitPrice: 7_200 } }),
    );

    expect(await waitForOrder(system, shop.customer.token, orderId)).toMatchObject({
      status: 'CANCELLED',
      failureReason: 'PRICE_MISMATCH',
    });
    await expectDatabases(system, ExpectedState.undone(shop.placed(orderId), 'PRICE_MISMATCH').stockNotTaken());
    expect(await undoOrder(system, orderId)).toEqual(COUPONS_THEN_ITEMS);
  },
);

scenarios.add('when an item does not exist, then the order is CANCELLED with ITEM_NOT_FOUND', async () => {
  const shop = await aShop(system);
  const orderId = await submitOrder(system, shop.customer, shop.standardLines({ coat: { itemId: 2_000_000_000 } }));

  expect(await waitForOrder(system, shop.customer.token, orderId)).toMatchObject({
    status: 'CANCELLED',
    failureReason: 'ITEM_NOT_FOUND',
  });
  await expectDatabases(system, ExpectedState.undone(shop.placed(orderId), 'ITEM_NOT_FOUND').stockNotTaken());
  expect(await undoOrder(system, orderId)).toEqual(COUPONS_THEN_ITEMS);
});

scenarios.add(
  'when a coupon does not exist, then the order is CANCELLED with COUPON_NOT_FOUND and the stock released',
  async () => {
    const shop = await aShop(system);
    const orderId = await orderWithCoupons(shop, [2_000_000_000]);
    await expectUndoneAfterCouponFailure(shop, orderId, 'COUPON_NOT_FOUND');
  },
);

scenarios.add(
  'when a coupon belongs to another customer, then the order is CANCELLED with COUPON_NOT_OWNED and that coupon stays unused',
  async () => {
    const shop = await aShop(system);
    const someoneElse = await aUser(system);
    const theirs = await aCouponFor(system, someoneElse.id, { type: 'FIXED', discountAmount: 1_000 });
    const orderId = await orderWithCoupons(shop, [theirs], SHIRT_PRICE - 1_000);
    await expectUndoneAfterCouponFailure(shop, orderId, 'COUPON_NOT_OWNED', (expected) =>
      expected.coupons({ [theirs]: UNUSED }),
    );
  },
);

scenarios.add(
  'when a coupon was used by an earlier order, then the order is CANCELLED with COUPON_ALREADY_USED and the coupon stays with the earlier order',
  async () => {
    const shop = await aShop(system, { shirtStock: 6 });
    const first = await submitOrder(system, shop.customer, [
      {
        itemId: shop.shirt.id,
        quantity: 1,
        unitPrice: SHIRT_PRICE,
        discountedUnitPrice: 9_000,
        userCouponIds: [shop.fixed],
      },
    ]);
    expect((await waitForOrder(system, shop.customer.token, first)).status).toBe('COMPLETED');

    const second = await orderWithCoupons(shop, [shop.fixed], SHIRT_PRICE - 1_000);
    await expectUndoneAfterCouponFailure(shop, second, 'COUPON_ALREADY_USED', (expected) =>
      // The earlier order keeps the coupon, and the shirt it bought.
      expected.coupons({ [shop.fixed]: { usedByOrderId: first, used: true } }).stock({ [shop.shirt.id]: 5 }),
    );
  },
);

for (const [when, validity] of [
  ['has expired', { validFrom: new Date(Date.now() - 10 * 86_400_000), validUntil: new Date(Date.now() - 86_400_000) }],
  [
    'is not valid yet',
    { validFrom: new Date(Date.now() + 86_400_000), validUntil: new Date(Date.now() + 10 * 86_400_000) },
  ],
] as const) {
  scenarios.add(`when a coupon ${when}, then the order is CANCELLED with COUPON_EXPIRED`, async () => {
    const shop = await aShop(system);
    const coupon = await aCouponFor(system, shop.customer.id, { type: 'RATIO', discountPercent: 10, ...validity });
    const orderId = await orderWithCoupons(shop, [coupon], 9_000);
    await expectUndoneAfterCouponFailure(shop, orderId, 'COUPON_EXPIRED', (expected) =>
      expected.coupons({ [coupon]: UNUSED }),
    );
  });
}

scenarios.add(
  'when a fixed coupon takes more than half of the price, then the order is CANCELLED with COUPON_POLICY_VIOLATION',
  async () => {
    const shop = await aShop(system);
    const tooBig = await aCouponFor(system, shop.customer.id, { type: 'FIXED', discountAmount: 5_001 });
    const orderId = await orderWithCoupons(shop, [tooBig], SHIRT_PRICE - 5_001);
    await expectUndoneAfterCouponFailure(shop, orderId, 'COUPON_POLICY_VIOLATION', (expected) =>
      expected.coupons({ [tooBig]: UNUSED }),
    );
  },
);

scenarios.add(
  'when the client claims a discounted price the coupons do not give, then the order is CANCELLED with DISCOUNT_MISMATCH',
  async () => {
    const shop = await aShop(system);
    // RATIO before FIXED would give 10000 * 0.9 - 1000 = 8000; the rules say 8100.
    const orderId = await orderWithCoupons(shop, [shop.ratio, shop.fixed], 8_000);
    await expectUndoneAfterCouponFailure(shop, orderId, 'DISCOUNT_MISMATCH');
  },
);

scenarios.add(
  'when the card is declined, then the order is CANCELLED with PAYMENT_DECLINED after undoing payment, coupons, then items',
  async () => {
    const shop = await aShop(system);
    const orderId = await submitOrder(system, shop.customer, shop.standardLines(), 'tok_declined');

    expect(await waitForOrder(system, shop.customer.token, orderId)).toMatchObject({
      status: 'CANCELLED',
      failureReason: 'PAYMENT_DECLINED',
    });
    await expectDatabases(system, ExpectedState.undone(shop.placed(orderId), 'PAYMENT_DECLINED').chargeDeclined());
    expect(await undoOrder(system, orderId)).toEqual(PAYMENT_COUPONS_ITEMS);
    expect((await sagaState(system, orderId)).compensated).toEqual(['payment', 'coupons', 'items']);
  },
);

scenarios.add(
  'when the card gateway hangs past the payment bound, then the order is CANCELLED with PAYMENT_TIMEOUT and a late charge is refused',
  async () => {
    const shop = await aShop(system);
    const orderId = await submitOrder(system, shop.customer, shop.standardLines(), 'tok_timeout');

    expect(await waitForOrder(system, shop.customer.token, orderId)).toMatchObject({
      status: 'CANCELLED',
      failureReason: 'PAYMENT_TIMEOUT',
    });
    // The charge was cut at the payment bound (20 s), on the server's clock: scheduled to timed out. The 5 s
    // margin is for the server's timer, not for this test's machine (whose load does not stretch the history).
    const boundMs = await activityTimeoutAfterMs(system, orderId, 'chargePayment');
    expect(boundMs).toBeGreaterThanOrEqual(PAYMENT_BOUND_MS);
    expect(boundMs).toBeLessThan(PAYMENT_BOUND_MS + 5_000);
    await expectDatabases(system, ExpectedState.undone(shop.placed(orderId), 'PAYMENT_TIMEOUT').chargeVoided());
    expect(await undoOrder(system, orderId)).toEqual(PAYMENT_COUPONS_ITEMS);
    expect((await sagaState(system, orderId)).compensated).toEqual(['payment', 'coupons', 'items']);
  },
);

scenarios.add(
  'when the customer cancels while the card gateway hangs, then the accepted cancel names the outcome: CANCELLED with CANCELLED_BY_CUSTOMER, everything undone',
  async () => {
    const shop = await aShop(system);
    const charge = held();
    faults.inject(shop.customer.id, 'chargePayment', charge.fault);
    const orderId = await submitOrder(system, shop.customer, shop.standardLines(), 'tok_timeout');
    try {
      await charge.entered;
      // The order's API shows the charge in flight (steps recorded RUNNING before they start).
      const inFlight = await request(system, 'GET', `/orders/${orderId}`, { token: shop.customer.token });
      expect(inFlight.body).toMatchObject({
        status: 'PENDING',
        steps: { items: 'SUCCEEDED', coupons: 'SUCCEEDED', payment: 'RUNNING' },
      });
    } finally {
      // The real charge then hangs at the card gateway (tok_timeout) while the customer cancels.
      charge.release();
    }
    await cancelAccepted(system, shop.customer.token, orderId);

    const order = await waitForOrder(system, shop.customer.token, orderId);
    expect(order).toMatchObject({ status: 'CANCELLED', failureReason: 'CANCELLED_BY_CUSTOMER' });
    expect(order.failureDetail).toContain('PAYMENT_TIMEOUT');
    await expectDatabases(system, ExpectedState.undone(shop.placed(orderId), 'CANCELLED_BY_CUSTOMER').chargeVoided());
    expect(await undoOrder(system, orderId)).toEqual(PAYMENT_COUPONS_ITEMS);
  },
);

scenarios.add(
  'when the card gateway fails every attempt until the payment bound, then the order is CANCELLED with PAYMENT_TIMEOUT',
  async () => {
    const shop = await aShop(system);
    faults.inject(shop.customer.id, 'chargePayment', async () => {
      throw new Error('the card gateway did not answer');
    });
    const orderId = await submitOrder(system, shop.customer, shop.standardLines());

    const order = await waitForOrder(system, shop.customer.token, orderId);
    expect(order).toMatchObject({ status: 'CANCELLED', failureReason: 'PAYMENT_TIMEOUT' });
    expect(order.failureDetail).toContain('the card gateway did not answer');
    await expectDatabases(system, ExpectedState.undone(shop.placed(orderId), 'PAYMENT_TIMEOUT').chargeVoided());
    expect(await undoOrder(system, orderId)).toEqual(PAYMENT_COUPONS_ITEMS);
  },
);

scenarios.add(
  'when the stock is reserved but every answer is lost until the step bound, then the order fails with SERVICE_UNAVAILABLE and the reservation is undone',
  async () => {
    const shop = await aShop(system);
    faults.inject(shop.customer.id, 'reserveStock', answerLost());
    const orderId = await submitOrder(system, shop.customer, shop.standardLines());

    const order = await waitForOrder(system, shop.customer.token, orderId);
    expect(order).toMatchObject({ status: 'CANCELLED', failureReason: 'SERVICE_UNAVAILABLE' });
    // The customer reads which service was unavailable; the lost connection itself is in the worker's log only.
    expect(order.failureDetail).toBe('the items step did not finish: the item service was unavailable');
    // The step failed as far as the saga could tell, yet its undo found a reservation and gave it back
    // (items COMPENSATED, not FAILED).
    await expectDatabases(system, ExpectedState.undone(shop.placed(orderId), 'SERVICE_UNAVAILABLE'));
    expect(await undoOrder(system, orderId)).toEqual(COUPONS_THEN_ITEMS);
  },
);

scenarios.add(
  'when the card is charged but every answer is lost until the payment bound, then the order fails with PAYMENT_TIMEOUT and the charge is refunded',
  async () => {
    const shop = await aShop(system);
    faults.inject(shop.customer.id, 'chargePayment', answerLost());
    const orderId = await submitOrder(system, shop.customer, shop.standardLines());

    expect(await waitForOrder(system, shop.customer.token, orderId)).toMatchObject({
      status: 'CANCELLED',
      failureReason: 'PAYMENT_TIMEOUT',
    });
    await expectDatabases(system, ExpectedState.undone(shop.placed(orderId), 'PAYMENT_TIMEOUT').chargeRefunded());
    expect(await undoOrder(system, orderId)).toEqual(PAYMENT_COUPONS_ITEMS);
  },
);

scenarios.add(
  'when the customer cancels while stock is being reserved, then the order is CANCELLED with CANCELLED_BY_CUSTOMER and stock and coupons restored',
  async () => {
    const shop = await aShop(system);
    const reservation = held();
    faults.inject(shop.customer.id, 'reserveStock', reservation.fault);
    const orderId = await submitOrder(system, shop.customer, shop.standardLines());
    try {
      await reservation.entered;
      // Not COMPENSATION_FAILED: the operator's update is refused.
      await expect(
        system.client.workflow.getHandle(orderWorkflowId(orderId)).executeUpdate(retryCompensation),
      ).rejects.toBeInstanceOf(WorkflowUpdateFailedError);

      await cancelAccepted(system, shop.customer.token, orderId);
      expect((await sagaState(system, orderId)).cancelRequested).toBe(true);
    } finally {
      reservation.release();
    }

    expect(await waitForOrder(system, shop.customer.token, orderId)).toMatchObject({
      status: 'CANCELLED',
      failureReason: 'CANCELLED_BY_CUSTOMER',
    });
    await expectDatabases(system, ExpectedState.undone(shop.placed(orderId), 'CANCELLED_BY_CUSTOMER'));
    expect(await undoOrder(system, orderId)).toEqual(COUPONS_THEN_ITEMS);
    expect((await sagaState(system, orderId)).compensated).toEqual(['coupons', 'items']);

    const again = await request(system, 'POST', `/orders/${orderId}/cancel`, { token: shop.customer.token });
    expect(again.status).toBe(409);
  },
);

scenarios.add(
  'when an operator cancels the workflow through Temporal while a step runs, then the order is still undone and ends CANCELLED, not PENDING',
  async () => {
    const shop = await aShop(system);
    const reservation = held();
    const late = observed(reservation.fault);
    faults.inject(shop.customer.id, 'reserveStock', late.fault);
    const orderId = await submitOrder(system, shop.customer, shop.standardLines());
    let ended: Awaited<ReturnType<typeof waitForOrder>>;
    try {
      await reservation.entered;
      await system.client.workflow.getHandle(orderWorkflowId(orderId)).cancel();
      ended = await waitForOrder(system, shop.customer.token, orderId);
    } finally {
      // The reservation reaches the item database only now, after its undo ran: it must be refused.
      reservation.release();
    }

    expect(ended).toMatchObject({ status: 'CANCELLED', failureReason: 'CANCELLED_BY_OPERATOR' });
    const outcome = await late.outcome;
    expect(outcome).toEqual({ threw: expect.objectContaining({ type: ORDER_ALREADY_UNDONE }) });
    expect(await databasesState(system, orderId, shop.scope)).toMatchObject({
      order: { status: 'CANCELLED', history: CANCELLED_HISTORY, steps: { payment: 'NOT_STARTED' } },
      stock: { [shop.shirt.id]: 5, [shop.coat.id]: 5 },
      reservation: { status: 'RELEASED' },
      coupons: { [shop.fixed]: UNUSED, [shop.ratio]: UNUSED },
      redemption: { status: 'RESTORED' },
      payment: null,
    });
    expect(await undoOrder(system, orderId)).toEqual(COUPONS_THEN_ITEMS);
  },
);

scenarios.add(
  'when releasing stock fails transiently, then the undo retries with backoff by itself and the order ends CANCELLED, never COMPENSATION_FAILED',
  async () => {
    const shop = await aShop(system);
    const itemDatabase = { broken: true, attempts: 0 };
    faults.inject(shop.customer.id, 'releaseStock', brokenWhile(itemDatabase, 'item database unreachable'));
    const orderId = await submitOrder(system, shop.customer, shop.standardLines(), 'tok_declined');

    // Three attempts take 3 s of backoff after the decline; the margin is for a loaded machine running every
    // scenario of this file at once (30 s was once not enough at a load average of 9).
    await eventually(() => itemDatabase.attempts >= 3, 75_000);
    // Still undoing, not waiting for an operator: a transient fault is never given up on.
    expect((await system.services.orders.getOrder(orderId))!.status).toBe('FAILED');
    expect((await sagaState(system, orderId)).status).toBe('FAILED');
    itemDatabase.broken = false;

    expect(await waitForOrder(system, shop.customer.token, orderId)).toMatchObject({
      status: 'CANCELLED',
      failureReason: 'PAYMENT_DECLINED',
    });
    expect(itemDatabase.attempts).toBeGreaterThanOrEqual(4);
    await expectDatabases(system, ExpectedState.undone(shop.placed(orderId), 'PAYMENT_DECLINED').chargeDeclined());
    expect(await undoOrder(system, orderId)).toEqual([...PAYMENT_COUPONS_ITEMS]);
  },
);

scenarios.add(
  'when the customer cancels during the charge and the refund fails for a non-transient reason, then the order is COMPENSATION_FAILED until an admin retries it over HTTP, then refunded and CANCELLED',
  async () => {
    const shop = await aShop(system);
    const admin = await aUser(system, 'ADMIN');
    const charge = held();
    const refundBug = { broken: true, attempts: 0 };
    faults.inject(shop.customer.id, 'chargePayment', charge.fault);
    faults.inject(shop.customer.id, 'refundPayment', buggyWhile(refundBug));
    const orderId = await submitOrder(system, shop.customer, shop.standardLines());
    try {
      await charge.entered;
      await cancelAccepted(system, shop.customer.token, orderId);
    } finally {
      charge.release();
    }

    const stuck = await waitForOrder(system, shop.customer.token, orderId, ['COMPENSATION_FAILED']);
    expect(stuck).toMatchObject({
      status: 'COMPENSATION_FAILED',
      failureReason: 'CANCELLED_BY_CUSTOMER',
      steps: { items: 'SUCCEEDED', coupons: 'SUCCEEDED', payment: 'COMPENSATION_FAILED' },
    });
    expect(stuck.failureDetail).toContain('undo of payment failed');
    expect(stuck.failureDetail).not.toContain('TypeError');
    // A bug is not retried in a loop: one attempt, then the order waits for the operator (or the retry timer).
    expect(refundBug.attempts).toBe(1);
    // The charge went through and could not be refunded yet: nothing after it was undone either.
    await expectDatabases(
      system,
      ExpectedState.completed(shop.placed(orderId))
        .waitingForOperator('CANCELLED_BY_CUSTOMER')
        .steps({ payment: 'COMPENSATION_FAILED' }),
    );

    const listed = await request(system, 'GET', '/admin/orders?status=COMPENSATION_FAILED', { token: admin.token });
    expect(listed.status).toBe(200);
    expect(listed.body.orders.map((order: { orderId: string }) => order.orderId)).toContain(orderId);
    const retryPath = `/admin/orders/${orderId}/retry-compensation`;
    const byCustomer = await request(system, 'POST', retryPath, { token: shop.customer.token });
    expect(byCustomer).toMatchObject({ status: 403, body: { code: 'FORBIDDEN' } });
    expect(byCustomer.headers.get('content-type')).toContain('application/problem+json');
    const unknown = await request(system, 'POST', `/admin/orders/${randomUUID()}/retry-compensation`, {
      token: admin.token,
    });
    expect(unknown).toMatchObject({ status: 404, body: { code: 'NOT_FOUND' } });

    refundBug.broken = false; // the fix is deployed
    const retried = await request(system, 'POST', retryPath, { token: admin.token });
    expect(retried).toMatchObject({ status: 202, body: { orderId, status: 'COMPENSATION_FAILED' } });

    expect(await waitForOrder(system, shop.customer.token, orderId)).toMatchObject({
      status: 'CANCELLED',
      failureReason: 'CANCELLED_BY_CUSTOMER',
    });
    const notStuck = await request(system, 'POST', retryPath, { token: admin.token });
    expect(notStuck).toMatchObject({ status: 409, body: { code: 'ORDER_NOT_STUCK' } });
    await expectDatabases(
      system,
      ExpectedState.undone(shop.placed(orderId), 'CANCELLED_BY_CUSTOMER')
        .chargeRefunded()
        .history(...OPERATOR_RETRIED_HISTORY),
    );
    expect(await undoOrder(system, orderId)).toEqual(['refundPayment', ...PAYMENT_COUPONS_ITEMS]);
    expect((await sagaState(system, orderId)).compensated).toEqual(['payment', 'coupons', 'items']);
  },
);

scenarios.add(
  'when restoring coupons fails for a non-transient reason, then the order is COMPENSATION_FAILED at the coupon step with the stock still held, until an admin retries it; then coupons and stock come back',
  async () => {
    const shop = await aShop(system);
    const admin = await aUser(system, 'ADMIN');
    const restoreBug = { broken: true, attempts: 0 };
    faults.inject(shop.customer.id, 'restoreCoupons', buggyWhile(restoreBug));
    const orderId = await submitOrder(system, shop.customer, shop.standardLines(), 'tok_declined');

    const stuck = await waitForOrder(system, shop.customer.token, orderId, ['COMPENSATION_FAILED']);
    expect(stuck.failureDetail).toContain('undo of coupons failed');
    expect(restoreBug.attempts).toBe(1);
    // Undos run in reverse and one at a time: the refund ran, the stock waits behind the coupons' undo.
    await expectDatabases(
      system,
      ExpectedState.completed(shop.placed(orderId))
        .chargeDeclined()
        .waitingForOperator('PAYMENT_DECLINED')
        .steps({ coupons: 'COMPENSATION_FAILED' }),
    );

    restoreBug.broken = false; // the fix is deployed
    const retried = await request(system, 'POST', `/admin/orders/${orderId}/retry-compensation`, {
      token: admin.token,
    });
    expect(retried).toMatchObject({ status: 202, body: { orderId, status: 'COMPENSATION_FAILED' } });

    expect(await waitForOrder(system, shop.customer.token, orderId)).toMatchObject({
      status: 'CANCELLED',
      failureReason: 'PAYMENT_DECLINED',
    });
    await expectDatabases(
      system,
      ExpectedState.undone(shop.placed(orderId), 'PAYMENT_DECLINED')
        .chargeDeclined()
        .history(...OPERATOR_RETRIED_HISTORY),
    );
    expect(await undoOrder(system, orderId)).toEqual([
      'refundPayment',
      'restoreCoupons',
      'restoreCoupons',
      'releaseStock',
    ]);
  },
);

scenarios.add(
  'when the coupons are redeemed but every answer is lost until the step bound, then the order fails with SERVICE_UNAVAILABLE and the coupons end unused',
  async () => {
    const shop = await aShop(system);
    faults.inject(shop.customer.id, 'redeemCoupons', answerLost());
    const orderId = await submitOrder(system, shop.customer, shop.standardLines());

    const order = await waitForOrder(system, shop.customer.token, orderId);
    expect(order).toMatchObject({ status: 'CANCELLED', failureReason: 'SERVICE_UNAVAILABLE' });
    expect(order.failureDetail).toBe('the coupons step did not finish: the coupon service was unavailable');
    // The step failed as far as the saga could tell, yet its undo found the redemption and gave the coupons back
    // (coupons COMPENSATED, not FAILED).
    await expectDatabases(system, ExpectedState.undone(shop.placed(orderId), 'SERVICE_UNAVAILABLE'));
    expect(await undoOrder(system, orderId)).toEqual(COUPONS_THEN_ITEMS);
  },
);

scenarios.add(
  'when both parallel steps are rejected (out of stock and an unknown coupon), then the order reports OUT_OF_STOCK and holds nothing',
  async () => {
    const shop = await aShop(system, { coatStock: 1 });
    const orderId = await orderWithCoupons(shop, [2_000_000_000]);

    expect(await waitForOrder(system, shop.customer.token, orderId)).toMatchObject({
      status: 'CANCELLED',
      failureReason: 'OUT_OF_STOCK',
    });
    // The contract names no precedence; the saga reports the stock step's rejection (the fast tier pins the rule).
    await expectDatabases(
      system,
      ExpectedState.undone(shop.placed(orderId), 'OUT_OF_STOCK').stockNotTaken().couponsNotRedeemed(),
    );
    expect(await undoOrder(system, orderId)).toEqual(COUPONS_THEN_ITEMS);
  },
);

scenarios.add(
  'when an operator cancels the workflow through Temporal after stock and coupons were taken, before the charge lands, then everything is undone and the late charge is refused',
  async () => {
    const shop = await aShop(system);
    const charge = held();
    const late = observed(charge.fault);
    faults.inject(shop.customer.id, 'chargePayment', late.fault);
    const orderId = await submitOrder(system, shop.customer, shop.standardLines());
    let ended: Awaited<ReturnType<typeof waitForOrder>>;
    try {
      await charge.entered;
      await system.client.workflow.getHandle(orderWorkflowId(orderId)).cancel();
      ended = await waitForOrder(system, shop.customer.token, orderId);
    } finally {
      // The charge reaches the payment service only now, after its undo left the VOIDED marker.
      charge.release();
    }

    expect(ended).toMatchObject({ status: 'CANCELLED', failureReason: 'CANCELLED_BY_OPERATOR' });
    expect(await late.outcome).toEqual({ threw: expect.objectContaining({ type: ORDER_ALREADY_UNDONE }) });
    await expectDatabases(system, ExpectedState.undone(shop.placed(orderId), 'CANCELLED_BY_OPERATOR').chargeVoided());
    expect(await undoOrder(system, orderId)).toEqual(PAYMENT_COUPONS_ITEMS);
  },
);

scenarios.add(
  'when an operator cancels the workflow through Temporal while the card gateway is charging, then the charge is cut short and the order ends CANCELLED with nothing charged',
  async () => {
    const shop = await aShop(system);
    const charge = held();
    const charging = observed(charge.fault);
    faults.inject(shop.customer.id, 'chargePayment', charging.fault);
    // tok_timeout: once let through, the real charge writes its PENDING intent and waits on the card gateway,
    // heartbeating, until the operator's cancel reaches it.
    const orderId = await submitOrder(system, shop.customer, shop.standardLines(), 'tok_timeout');
    await charge.entered;
    charge.release();
    await eventually(async () => (await system.services.payments.paymentOf(orderId))?.status === 'PENDING');

    await system.client.workflow.getHandle(orderWorkflowId(orderId)).cancel();

    expect(await waitForOrder(system, shop.customer.token, orderId)).toMatchObject({
      status: 'CANCELLED',
      failureReason: 'CANCELLED_BY_OPERATOR',
    });
    // The charge attempt itself ended (cancelled through its heartbeat, or refused), it did not capture.
    expect(await charging.outcome).toEqual({ threw: expect.anything() });
    await expectDatabases(system, ExpectedState.undone(shop.placed(orderId), 'CANCELLED_BY_OPERATOR').chargeVoided());
    expect(await undoOrder(system, orderId)).toEqual(PAYMENT_COUPONS_ITEMS);
  },
);

scenarios.add(
  'when an order has completed, then an operator cancel through Temporal changes nothing, cancels over HTTP are refused (admin 404, owner 409) and the order stays COMPLETED',
  async () => {
    const shop = await aShop(system);
    const admin = await aUser(system, 'ADMIN');
    const orderId = await submitOrder(system, shop.customer, shop.standardLines());
    expect((await waitForOrder(system, shop.customer.token, orderId)).status).toBe('COMPLETED');

    // The order database says COMPLETED a moment before the workflow returns: wait for the workflow to close.
    // Temporal then takes a cancel request without complaint, and nothing happens: the workflow stays completed,
    // with no cancel in its history.
    const handle = system.client.workflow.getHandle(orderWorkflowId(orderId));
    expect(await handle.result()).toEqual({ status: 'COMPLETED', failureReason: null });
    await handle.cancel();
    expect((await handle.describe()).status.name).toBe('COMPLETED');
    const events = (await handle.fetchHistory()).events ?? [];
    expect(events.some((event) => event.workflowExecutionCancelRequestedEventAttributes)).toBe(false);
    expect(events.at(-1)?.workflowExecutionCompletedEventAttributes).toBeTruthy();
    // An admin may read any order but cancel only their own: another customer's order is not found for them.
    const byAdmin = await request(system, 'POST', `/orders/${orderId}/cancel`, { token: admin.token });
    expect(byAdmin).toMatchObject({ status: 404, body: { code: 'NOT_FOUND' } });
    const byOwner = await request(system, 'POST', `/orders/${orderId}/cancel`, { token: shop.customer.token });
    expect(byOwner).toMatchObject({ status: 409, body: { code: 'ORDER_NOT_CANCELLABLE' } });

    await expectDatabases(system, ExpectedState.completed(shop.placed(orderId)));
    expect(await undoOrder(system, orderId)).toEqual([]);
  },
);

// Each scenario started in beforeAll; a generous bound for a loaded 2-core machine (an idle one needs under 30 s).
scenarios.defineTests(120_000);

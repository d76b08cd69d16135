/**
 * The activities against the real service databases, run in Temporal's mock activity context: each step and
 * undo has one effect per order however often it runs, an undo with nothing to undo is harmless, and a step
 * that arrives after its undo is refused.
 */
import { randomUUID } from 'node:crypto';
import { ApplicationFailure, CancelledFailure } from '@temporalio/common';
import { MockActivityEnvironment } from '@temporalio/testing';
import { DefaultLogger } from '@temporalio/worker';
import { ORDER_ALREADY_UNDONE } from '../../activities/temporal-failures';
import { createCouponActivities } from '../../activities/coupon';
import { createItemActivities } from '../../activities/item';
import { createPaymentActivities, sleepWhileHeartbeating } from '../../activities/payment';
import { connectCouponDb, connectItemDb, connectPaymentDb, connectUserDb } from '../../lib/databases';
import { createCouponService } from '../../services/coupon';
import { createItemService } from '../../services/item';
import { chargeKey, ledgerEntries } from '../../services/card-gateway';
import { createPaymentService } from '../../services/payment';
import { createUserService } from '../../services/user';

const db = { item: connectItemDb(), coupon: connectCouponDb(), payment: connectPaymentDb(), user: connectUserDb() };
const services = {
  items: createItemService(db.item),
  coupons: createCouponService(db.coupon),
  payments: createPaymentService(db.payment, { hangMs: 50, sleep: sleepWhileHeartbeating }),
  users: createUserService(db.user),
};
const activities = {
  ...createItemActivities({ items: services.items }),
  ...createCouponActivities({ coupons: services.coupons }),
  ...createPaymentActivities({ payments: services.payments }),
};

// Refusals are expected here; the mock environment would log each as a failed activity.
const quietLogger = new DefaultLogger('ERROR');

afterAll(async () => {
  await Promise.all(Object.values(db).map((client) => client.$disconnect()));
});

/** Runs an activity the way a worker would: inside an activity context. */
function run<A extends unknown[], R>(activity: (...args: A) => Promise<R>, ...args: A): Promise<R> {
  return new MockActivityEnvironment(undefined, { logger: quietLogger }).run(activity, ...args);
}

async function anItem(stockQuantity = 5, price = 10_000) {
  return services.items.createItem({ name: `activity test item ${randomUUID()}`, size: 'M', price, stockQuantity });
}

async function stockOf(itemId: number): Promise<number> {
  return (await services.items.getItem(itemId))!.stockQuantity;
}

let customerId: number;
beforeAll(async () => {
  const customer = await services.users.register({
    email: `activities-${randomUUID()}@example.com`,
    password: 'correct horse battery',
    name: '테스트',
    address: '서울',
  });
  customerId = customer.id;
});

async function aCoupon(): Promise<number> {
  const coupon = await services.coupons.createCoupon({
    name: `activity test coupon ${randomUUID()}`,
    type: 'FIXED',
    discountAmount: 1_000,
  });
  return (await services.coupons.issueCoupon(coupon.id, customerId)).userCouponId;
}

function couponLine(itemId: number, userCouponId: number) {
  return { itemId, quantity: 1, unitPrice: 10_000, discountedUnitPrice: 9_000, userCouponIds: [userCouponId] };
}

async function refusal(promise: Promise<unknown>): Promise<ApplicationFailure> {
  const error = await promise.then(
    () => undefined,
    (failure: unknown) => failure,
  );
  expect(error).toBeInstanceOf(ApplicationFailure);
  return error as ApplicationFailure;
}

describe('reserveStock / releaseStock', () => {
  test('when reserveStock runs twice for an order, then the stock is decremented once', async () => {
    const item = await anItem(5);
    const orderId = randomUUID();
    const input = { orderId, lines: [{ itemId: item.id, quantity: 2, unitPrice: 10_000 }] };

    expect(await run(activities.reserveStock, input)).toEqual({ newlyReserved: true });
    expect(await run(activities.reserveStock, input)).toEqual({ newlyReserved: false });

    expect(await stockOf(item.id)).toBe(3);
    expect(await services.items.reservationOf(orderId)).toMatchObject({
      status: 'RESERVED',
      lines: [{ itemId: item.id, quantity: 2 }],
    });
  });

  test('when reserveStock runs twice at the same time for an order, then the stock is decremented once', async () => {
    const item = await anItem(5);
    const input = { orderId: randomUUID(), lines: [{ itemId: item.id, quantity: 2, unitPrice: 10_000 }] };

    const outcomes = await Promise.all([run(activities.reserveStock, input), run(activities.reserveStock, input)]);

    expect(outcomes.map((outcome) => outcome.newlyReserved).sort()).toEqual([false, true]);
    expect(await stockOf(item.id)).toBe(3);
  });

  test('when releaseStock runs twice after a reservation, then the stock is given back once', async () => {
    const item = await anItem(5);
    const orderId = randomUUID();
    await run(activities.reserveStock, { orderId, lines: [{ itemId: item.id, quantity: 2, unitPrice: 10_000 }] });

    expect(await run(activities.releaseStock, { orderId })).toEqual({ undone: true });
    expect(await run(activities.releaseStock, { orderId })).toEqual({ undone: false });

    expect(await stockOf(item.id)).toBe(5);
    expect((await services.items.reservationOf(orderId))?.status).toBe('RELEASED');
  });

  test('when releaseStock runs with nothing reserved, then nothing changes but a RELEASED marker', async () => {
    const item = await anItem(5);
    const orderId = randomUUID();

    expect(await run(activities.releaseStock, { orderId })).toEqual({ undone: false });

    expect(await stockOf(item.id)).toBe(5);
    expect(await services.items.reservationOf(orderId)).toMatchObject({ status: 'RELEASED', lines: [] });
  });

  test('when reserveStock arrives after releaseStock, then it is refused as ORDER_ALREADY_UNDONE and takes no stock', async () => {
    const item = await anItem(5);
    const orderId = randomUUID();
    await run(activities.releaseStock, { orderId });

    const failure = await refusal(
      run(activities.reserveStock, { orderId, lines: [{ itemId: item.id, quantity: 2, unitPrice: 10_000 }] }),
    );

    expect(failure).toMatchObject({ type: ORDER_ALREADY_UNDONE, nonRetryable: true });
    expect(await stockOf(item.id)).toBe(5);
  });

  test('when one line of an order is out of stock, then no line is reserved and the failure is final OUT_OF_STOCK', async () => {
    const [plenty, scarce] = await Promise.all([anItem(5), anItem(1)]);
    const orderId = randomUUID();

    const failure = await refusal(
      run(activities.reserveStock, {
        orderId,
        lines: [
          { itemId: plenty.id, quantity: 1, unitPrice: 10_000 },
          { itemId: scarce.id, quantity: 2, unitPrice: 10_000 },
        ],
      }),
    );

    expect(failure).toMatchObject({ type: 'OUT_OF_STOCK', nonRetryable: true });
    expect([await stockOf(plenty.id), await stockOf(scarce.id)]).toEqual([5, 1]);
    expect(await services.items.reservationOf(orderId)).toBeNull();
  });
});

describe('redeemCoupons / restoreCoupons', () => {
  test('when redeemCoupons runs twice for an order, then the coupon is used once, by that order', async () => {
    const [item, userCouponId] = await Promise.all([anItem(), aCoupon()]);
    const orderId = randomUUID();
    const input = { orderId, customerId, lines: [couponLine(item.id, userCouponId)] };

    const outcomes = await Promise.all([run(activities.redeemCoupons, input), run(activities.redeemCoupons, input)]);
    expect(await run(activities.redeemCoupons, input)).toEqual({ userCouponIds: [userCouponId] });

    expect(outcomes).toEqual([{ userCouponIds: [userCouponId] }, { userCouponIds: [userCouponId] }]);
    const coupon = await db.coupon.userCoupon.findUniqueOrThrow({ where: { id: userCouponId } });
    expect(coupon.usedByOrderId).toBe(orderId);
    expect(await db.coupon.couponRedemption.count({ where: { orderId } })).toBe(1);
  });

  test('when restoreCoupons runs twice after a redemption, then the coupon is given back once', async () => {
    const [item, userCouponId] = await Promise.all([anItem(), aCoupon()]);
    const orderId = randomUUID();
    await run(activities.redeemCoupons, { orderId, customerId, lines: [couponLine(item.id, userCouponId)] });

    expect(await run(activities.restoreCoupons, { orderId })).toEqual({ undone: true });
    // Meanwhile another order takes the coupon: a second restore must not take it back from that order.
    const nextOrderId = randomUUID();
    await run(activities.redeemCoupons, {
      orderId: nextOrderId,
      customerId,
      lines: [couponLine(item.id, userCouponId)],
    });
    expect(await run(activities.restoreCoupons, { orderId })).toEqual({ undone: false });

    const coupon = await db.coupon.userCoupon.findUniqueOrThrow({ where: { id: userCouponId } });
    expect(coupon.usedByOrderId).toBe(nextOrderId);
    expect((await services.coupons.redemptionOf(orderId))?.status).toBe('RESTORED');
  });

  test('when restoreCoupons runs with nothing redeemed, then nothing changes but a RESTORED marker', async () => {
    const userCouponId = await aCoupon();
    const orderId = randomUUID();

    expect(await run(activities.restoreCoupons, { orderId })).toEqual({ undone: false });

    const coupon = await db.coupon.userCoupon.findUniqueOrThrow({ where: { id: userCouponId } });
    expect(coupon.usedByOrderId).toBeNull();
    expect(await services.coupons.redemptionOf(orderId)).toMatchObject({ status: 'RESTORED', userCouponIds: [] });
  });

  test('when redeemCoupons arrives after restoreCoupons, then it is refused as ORDER_ALREADY_UNDONE and uses no coupon', async () => {
    const [item, userCouponId] = await Promise.all([anItem(), aCoupon()]);
    const orderId = randomUUID();
    await run(activities.restoreCoupons, { orderId });

    const failure = await refusal(
      run(activities.redeemCoupons, { orderId, customerId, lines: [couponLine(item.id, userCouponId)] }),
    );

    expect(failure).toMatchObject({ type: ORDER_ALREADY_UNDONE, nonRetryable: true });
    const coupon = await db.coupon.userCoupon.findUniqueOrThrow({ where: { id: userCouponId } });
    expect(coupon.usedByOrderId).toBeNull();
  });

  test('when a coupon rule is broken, then the failure is final with its reason and nothing is redeemed', async () => {
    const [item, userCouponId] = await Promise.all([anItem(), aCoupon()]);
    const orderId = randomUUID();

    const failure = await refusal(
      run(activities.redeemCoupons, {
        orderId,
        customerId,
        lines: [{ ...couponLine(item.id, userCouponId), discountedUnitPrice: 8_000 }],
      }),
    );

    expect(failure).toMatchObject({ type: 'DISCOUNT_MISMATCH', nonRetryable: true });
    expect(await services.coupons.redemptionOf(orderId)).toBeNull();
    const coupon = await db.coupon.userCoupon.findUniqueOrThrow({ where: { id: userCouponId } });
    expect(coupon.usedByOrderId).toBeNull();
  });
});

describe('chargePayment / refundPayment', () => {
  test('when chargePayment runs twice for an order, then the card is charged once', async () => {
    const orderId = randomUUID();
    const input = { orderId, amount: 12_345, cardToken: 'tok_visa' };

    const outcomes = await Promise.all([run(activities.chargePayment, input), run(activities.chargePayment, input)]);
    // The answer names everything the workflow verifies: order, charge key, status and amount.
    const answer = { orderId, idempotencyKey: chargeKey(orderId), status: 'CAPTURED', amount: 12_345 };
    expect(await run(activities.chargePayment, input)).toEqual(answer);

    expect(outcomes).toEqual([answer, answer]);
    expect(await db.payment.payment.findMany({ where: { orderId } })).toEqual([
      expect.objectContaining({ status: 'CAPTURED', amount: 12_345 }),
    ]);
    expect(await ledgerEntries(db.payment, { orderId })).toEqual([
      { idempotencyKey: chargeKey(orderId), orderId, amount: 12_345, status: 'CAPTURED' },
    ]);
  });

  test('when a declined charge runs again, then it stays declined with a final PAYMENT_DECLINED', async () => {
    const orderId = randomUUID();
    const input = { orderId, amount: 12_345, cardToken: 'tok_declined' };

    expect(await refusal(run(activities.chargePayment, input))).toMatchObject({
      type: 'PAYMENT_DECLINED',
      nonRetryable: true,
    });
    expect(await refusal(run(activities.chargePayment, input))).toMatchObject({ type: 'PAYMENT_DECLINED' });
    expect(await services.payments.paymentOf(orderId)).toMatchObject({ status: 'DECLINED' });
    expect(await ledgerEntries(db.payment, { orderId })).toEqual([expect.objectContaining({ status: 'DECLINED' })]);
  });

  test('when refundPayment runs twice after a charge, then it is refunded once', async () => {
    const orderId = randomUUID();
    await run(activities.chargePayment, { orderId, amount: 5_000, cardToken: 'tok_visa' });

    expect(await run(activities.refundPayment, { orderId })).toEqual({ undone: true });
    expect(await run(activities.refundPayment, { orderId })).toEqual({ undone: false });

    expect(await services.payments.paymentOf(orderId)).toEqual({ orderId, amount: 5_000, status: 'REFUNDED' });
    expect(await ledgerEntries(db.payment, { orderId })).toEqual([
      expect.objectContaining({ status: 'REFUNDED', amount: 5_000 }),
    ]);
  });

  test('when refundPayment runs with no charge, then nothing is refunded but a VOIDED marker', async () => {
    const orderId = randomUUID();

    expect(await run(activities.refundPayment, { orderId })).toEqual({ undone: false });

    expect(await services.payments.paymentOf(orderId)).toEqual({ orderId, amount: 0, status: 'VOIDED' });
    // The gateway keeps a tombstone for the order's key, so even a capture sent straight to it takes nothing.
    expect(await ledgerEntries(db.payment, { orderId })).toEqual([
      { idempotencyKey: chargeKey(orderId), orderId, amount: 0, status: 'VOIDED' },
    ]);
  });

  test('when chargePayment arrives after refundPayment, then it is refused as ORDER_ALREADY_UNDONE and charges nothing', async () => {
    const orderId = randomUUID();
    await run(activities.refundPayment, { orderId });

    const failure = await refusal(run(activities.chargePayment, { orderId, amount: 5_000, cardToken: 'tok_visa' }));

    expect(failure).toMatchObject({ type: ORDER_ALREADY_UNDONE, nonRetryable: true });
    expect(await services.payments.paymentOf(orderId)).toEqual({ orderId, amount: 0, status: 'VOIDED' });
    expect(await ledgerEntries(db.payment, { orderId })).toEqual([
      expect.objectContaining({ status: 'VOIDED', amount: 0 }),
    ]);
  });

  test('when the card gateway hangs, then the charge fails retryably, leaving a PENDING intent that the undo voids', async () => {
    const orderId = randomUUID();

    const error = await run(activities.chargePayment, { orderId, amount: 5_000, cardToken: 'tok_timeout' }).then(
      () => undefined,
      (failure: unknown) => failure,
    );

    expect(error).not.toBeInstanceOf(ApplicationFailure);
    expect(error).toMatchObject({ message: 'the card gateway did not answer' });
    expect(await services.payments.paymentOf(orderId)).toEqual({ orderId, amount: 5_000, status: 'PENDING' });
    expect(await run(activities.refundPayment, { orderId })).toEqual({ undone: false });
    expect(await services.payments.paymentOf(orderId)).toEqual({ orderId, amount: 0, status: 'VOIDED' });
    expect(await ledgerEntries(db.payment, { orderId })).toEqual([expect.objectContaining({ status: 'VOIDED' })]);
  });

  test('when the card gateway hangs, then the charge heartbeats while it waits and stops as soon as it is cancelled', async () => {
    const patient = createPaymentActivities({
      payments: createPaymentService(db.payment, { hangMs: 60_000, sleep: sleepWhileHeartbeating }),
    });
    const environment = new MockActivityEnvironment(undefined, { logger: quietLogger });
    let heartbeats = 0;
    const firstHeartbeat = new Promise<void>((resolve) =>
      environment.on('heartbeat', () => {
        heartbeats += 1;
        resolve();
      }),
    );
    const orderId = randomUUID();
    const started = Date.now();
    const charging = environment.run(patient.chargePayment, { orderId, amount: 5_000, cardToken: 'tok_timeout' });

    await firstHeartbeat;
    environment.cancel();

    await expect(charging).rejects.toBeInstanceOf(CancelledFailure);
    expect(heartbeats).toBeGreaterThanOrEqual(1);
    expect(Date.now() - started).toBeLessThan(5_000);
    expect(await ledgerEntries(db.payment, { orderId })).toEqual([]);
  });
});

test('when a reservation arrives with a quantity below 1 (a caller bypassing the gateway), then it is refused and stock is unchanged', async () => {
  const item = await anItem(5);
  const orderId = randomUUID();
  for (const quantity of [0, -3]) {
    await expect(
      run(activities.reserveStock, { orderId, lines: [{ itemId: item.id, quantity, unitPrice: item.price }] }),
    ).rejects.toThrow('every quantity must be a whole number >= 1');
  }
  expect(await stockOf(item.id)).toBe(5);
  expect(await services.items.reservationOf(orderId)).toBeNull();
});

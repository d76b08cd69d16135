/**
 * Orders racing for the same stock or the same coupon, all at once through the gateway: stock never goes
 * below zero and is never oversold, and a coupon is used by exactly one order.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { aCouponFor, aUser, anItem, waitForOrder, type TestUser } from '../support/fixtures';
import { startTestSystem, type TestSystem } from '../support/system';
import { databasesState, submitOrder, undoOrder } from './support/orders';

let system: TestSystem;

beforeAll(async () => {
  system = await startTestSystem();
});

afterAll(async () => {
  await system?.stop();
});

/** The item's stock and the units that RESERVED reservations hold of it, read in one statement (one snapshot). */
async function stockAndReserved(itemId: number): Promise<{ stock: number; reserved: number }> {
  const [row] = await system.db.item.$queryRaw<{ stock: number; reserved: number }[]>`
    SELECT i.stock_quantity AS stock,
           (SELECT COALESCE(SUM(l.quantity), 0)::int
              FROM reserved_lines l JOIN stock_reservations r ON r.order_id = l.order_id
             WHERE l.item_id = i.id AND r.status = 'RESERVED') AS reserved
      FROM items i WHERE i.id = ${itemId}`;
  if (!row) throw new Error(`item ${itemId} is not in the item database`);
  return row;
}

test('when 8 orders compete for a stock of 3, then exactly 3 complete, the stock ends at 0 and the rest are CANCELLED with OUT_OF_STOCK', async () => {
  const ORDERS = 8;
  const STOCK = 3;
  const item = await anItem(system, { price: 7_000, stockQuantity: STOCK });
  const customers = await Promise.all(Array.from({ length: ORDERS }, () => aUser(system)));
  const line = { itemId: item.id, quantity: 1, unitPrice: 7_000 };

  // Samples, while the orders race, the stock and what RESERVED reservations hold of it, each sample in one
  // statement (one snapshot): every unit is either in stock or held by exactly one reservation, at every moment.
  const samples: { stock: number; reserved: number }[] = [];
  let racing = true;
  const sampling = (async () => {
    while (racing) {
      samples.push(await stockAndReserved(item.id));
      await sleep(10);
    }
  })();
  const orderIds = await Promise.all(customers.map((customer) => submitOrder(system, customer, [line])));
  const orders = await Promise.all(
    orderIds.map((orderId, index) => waitForOrder(system, customers[index]!.token, orderId)),
  );
  racing = false;
  await sampling;
  samples.push(await stockAndReserved(item.id));
  expect(samples.filter(({ stock, reserved }) => stock + reserved !== STOCK)).toEqual([]);
  expect(samples.at(-1)).toEqual({ stock: 0, reserved: STOCK });

  const completed = orders.filter((order) => order.status === 'COMPLETED');
  const cancelled = orders.filter((order) => order.status === 'CANCELLED');
  expect(completed).toHaveLength(STOCK);
  expect(cancelled).toHaveLength(ORDERS - STOCK);
  expect(cancelled.every((order) => order.failureReason === 'OUT_OF_STOCK')).toBe(true);
  expect((await system.services.items.getItem(item.id))!.stockQuantity).toBe(0);

  for (const order of completed) {
    expect(await databasesState(system, order.orderId, { itemIds: [item.id] })).toMatchObject({
      order: { status: 'COMPLETED', steps: { items: 'SUCCEEDED', coupons: 'SUCCEEDED', payment: 'SUCCEEDED' } },
      reservation: { status: 'RESERVED', lines: { [item.id]: 1 } },
      payment: { status: 'CAPTURED', amount: 7_000 },
    });
  }
  for (const order of cancelled) {
    expect(await databasesState(system, order.orderId, { itemIds: [item.id] })).toMatchObject({
      order: {
        status: 'CANCELLED',
        failureReason: 'OUT_OF_STOCK',
        steps: { items: 'FAILED', coupons: 'COMPENSATED', payment: 'NOT_STARTED' },
        history: ['PENDING', 'FAILED', 'CANCELLED'],
      },
      reservation: { status: 'RELEASED', lines: {} },
      redemption: { status: 'RESTORED', userCouponIds: [] },
      payment: null,
    });
    expect(await undoOrder(system, order.orderId)).toEqual(['restoreCoupons', 'releaseStock']);
  }
});

test('when two orders race for one coupon, then exactly one completes with it and the other is CANCELLED with COUPON_ALREADY_USED', async () => {
  const customer: TestUser = await aUser(system);
  const [first, second] = await Promise.all([
    anItem(system, { price: 10_000, stockQuantity: 5 }),
    anItem(system, { price: 10_000, stockQuantity: 5 }),
  ]);
  const coupon = await aCouponFor(system, customer.id, { type: 'RATIO', discountPercent: 20 });
  const lineFor = (itemId: number) => ({
    itemId,
    quantity: 1,
    unitPrice: 10_000,
    discountedUnitPrice: 8_000,
    userCouponIds: [coupon],
  });

  const orderIds = await Promise.all([first, second].map((item) => submitOrder(system, customer, [lineFor(item.id)])));
  const orders = await Promise.all(orderIds.map((orderId) => waitForOrder(system, customer.token, orderId)));

  const winner = orders.find((order) => order.status === 'COMPLETED');
  const loser = orders.find((order) => order.status === 'CANCELLED');
  expect(winner).toBeDefined();
  expect(loser).toMatchObject({ failureReason: 'COUPON_ALREADY_USED' });
  const scope = { itemIds: [first.id, second.id], userCouponIds: [coupon] };
  expect(await databasesState(system, winner!.orderId, scope)).toMatchObject({
    coupons: { [coupon]: { usedByOrderId: winner!.orderId, used: true } },
    redemption: { status: 'REDEEMED', userCouponIds: [coupon] },
    payment: { status: 'CAPTURED', amount: 8_000 },
  });
  expect(await databasesState(system, loser!.orderId, scope)).toMatchObject({
    order: { steps: { items: 'COMPENSATED', coupons: 'FAILED', payment: 'NOT_STARTED' } },
    coupons: { [coupon]: { usedByOrderId: winner!.orderId, used: true } },
    redemption: { status: 'RESTORED', userCouponIds: [] },
    reservation: { status: 'RELEASED' },
    payment: null,
  });
  // One item sold; the loser's reservation was given back.
  const stock = (await databasesState(system, winner!.orderId, scope)).stock;
  expect(Object.values(stock).sort()).toEqual([4, 5]);
});

/**
 * Orders racing for the same stock or the same coupon, all at once through the gateway: stock never goes
 * below zero and is never oversold, and a coupon is used by exactly one order.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { aCouponFor, aUser, anItem, waitForOrder, type TestUser } from '../support/fixtures';
import { startTestSystem, type TestSystem } from '../support/system';
import { ExpectedState, expectDatabases, type PlacedOrder } from './support/expected-state';
import { submitOrder, undoOrder } from './support/orders';

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

  // Every order alike: one unit, no coupon; the stock each one sees at the end is the shared 0.
  const placed = (orderId: string): PlacedOrder => ({
    orderId,
    lines: { [item.id]: 1 },
    initialStock: { [item.id]: STOCK },
    redeemed: [],
    total: 7_000,
  });
  for (const order of completed) {
    await expectDatabases(system, ExpectedState.completed(placed(order.orderId)).stock({ [item.id]: 0 }));
  }
  for (const order of cancelled) {
    await expectDatabases(
      system,
      ExpectedState.undone(placed(order.orderId), 'OUT_OF_STOCK')
        .stockNotTaken()
        .stock({ [item.id]: 0 }),
    );
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
  // Each order buys one unit of its own item with the coupon: one item sold, the loser's reservation given back.
  const placed = (orderId: string): PlacedOrder => {
    const itemId = orderIds.indexOf(orderId) === 0 ? first.id : second.id;
    return { orderId, lines: { [itemId]: 1 }, initialStock: { [itemId]: 5 }, redeemed: [coupon], total: 8_000 };
  };
  await expectDatabases(system, ExpectedState.completed(placed(winner!.orderId)));
  await expectDatabases(
    system,
    ExpectedState.undone(placed(loser!.orderId), 'COUPON_ALREADY_USED')
      .couponsNotRedeemed()
      .coupons({ [coupon]: { usedByOrderId: winner!.orderId, used: true } }),
  );
});

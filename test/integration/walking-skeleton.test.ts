/** One order end to end through real parts: gateway over HTTP, Temporal, a worker per task queue, PostgreSQL. */
import { SEED_COUPONS, SEED_CUSTOMER } from '../../scripts/lib/seed';
import { orderWorkflowId } from '../../workflows/definitions';
import { request, waitForOrder } from '../support/fixtures';
import { startTestSystem, type TestSystem } from '../support/system';

let system: TestSystem;

beforeAll(async () => {
  system = await startTestSystem();
});

afterAll(async () => {
  await system?.stop();
});

test('when Temporal and every database answer, then GET /health is 200 with each check ok', async () => {
  const response = await request(system, 'GET', '/health');
  expect(response.status).toBe(200);
  expect(response.body.status).toBe('ok');
  expect(Object.keys(response.body.checks).sort()).toEqual([
    'couponDb',
    'itemDb',
    'orderDb',
    'paymentDb',
    'temporal',
    'userDb',
  ]);
});

test('when the seed customer orders with both coupons, then the saga completes it across the items, coupons and payments queues', async () => {
  const login = await request(system, 'POST', '/users/login', {
    body: { email: SEED_CUSTOMER.email, password: SEED_CUSTOMER.password },
  });
  expect(login.status).toBe(200);
  const token: string = login.body.accessToken;
  const mine = await request(system, 'GET', '/coupons/mine', { token });
  // The seed's two coupons (other test files may issue more coupons to the seed customer on the shared database).
  const seedNames: string[] = SEED_COUPONS.map((coupon) => coupon.name);
  const unused = mine.body.userCoupons
    .filter((coupon: { used: boolean; name: string }) => !coupon.used && seedNames.includes(coupon.name))
    .map((coupon: { id: number }) => coupon.id);
  expect(unused).toHaveLength(2);
  const before = (await system.services.items.getItem(1))!;

  const placed = await request(system, 'POST', '/orders', {
    token,
    body: {
      lines: [
        { itemId: 1, quantity: 1, unitPrice: 49800, discountedUnitPrice: 39780, userCouponIds: unused },
        { itemId: 4, quantity: 2, unitPrice: 245000 },
      ],
    },
  });
  expect(placed.status).toBe(202);
  expect(placed.body.status).toBe('PENDING');
  expect(placed.body.links.self).toBe(`/orders/${placed.body.orderId}`);
  expect(placed.body.links.temporalUi).toContain(`/workflows/${orderWorkflowId(placed.body.orderId)}`);

  const order = await waitForOrder(system, token, placed.body.orderId);
  expect(order.status).toBe('COMPLETED');
  expect(order.totalPrice).toBe(39780 + 2 * 245000);
  expect(order.steps).toEqual({ items: 'SUCCEEDED', coupons: 'SUCCEEDED', payment: 'SUCCEEDED' });
  expect(order.history.map((change) => change.status)).toEqual(['PENDING', 'COMPLETED']);

  expect((await system.services.items.getItem(1))!.stockQuantity).toBe(before.stockQuantity - 1);
  expect(await system.services.payments.paymentOf(order.orderId)).toMatchObject({
    status: 'CAPTURED',
    amount: order.totalPrice,
  });
  const coupons = await system.services.coupons.couponsOf(login.body && order.customerId);
  expect(coupons.filter((coupon) => unused.includes(coupon.id)).map((coupon) => coupon.usedByOrderId)).toEqual([
    order.orderId,
    order.orderId,
  ]);

  const history = await system.client.workflow.getHandle(orderWorkflowId(order.orderId)).fetchHistory();
  const queues = (history.events ?? [])
    .map((event) => event.activityTaskScheduledEventAttributes)
    .filter((attributes) => attributes?.activityType?.name !== 'recordOrderProgress')
    .map((attributes) => `${attributes?.activityType?.name}@${attributes?.taskQueue?.name}`)
    .filter((entry) => !entry.startsWith('undefined'));
  expect(queues.sort()).toEqual(['chargePayment@payments', 'redeemCoupons@coupons', 'reserveStock@items']);
});

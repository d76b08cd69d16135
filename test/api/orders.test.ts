/** Orders through the real gateway and saga: placing, idempotency, reading, listing and cancelling. */
import { randomUUID } from 'node:crypto';
import { MAX_ORDER_TOTAL } from '../../domain/order';
import { TestCardToken } from '../../domain/card-tokens';
import { orderWorkflowId } from '../../workflows/definitions';
import { aCouponFor, aUser, anItem, request, waitForOrder, type TestUser } from '../support/fixtures';
import { startTestSystem, type TestSystem } from '../support/system';
import { executionsMatching } from '../support/visibility';
import type { OrderLimits } from '../../api/config';
import { ServiceError } from '../../lib/errors';
import { expectExactProblem, expectProblem, fieldPaths, startGateway, type ExtraGateway } from './support';

let system: TestSystem;
let customer: TestUser;
let admin: TestUser;

beforeAll(async () => {
  system = await startTestSystem();
  [customer, admin] = await Promise.all([aUser(system), aUser(system, 'ADMIN')]);
});

afterAll(async () => {
  await system?.stop();
});

/** An order for one unit of a fresh item. */
async function anOrderBody(price = 10_000) {
  const item = await anItem(system, { price });
  return { lines: [{ itemId: item.id, quantity: 1, unitPrice: price }] };
}

function placeOrder(token: string, body: unknown, idempotencyKey?: string) {
  return request(system, 'POST', '/orders', {
    token,
    body,
    ...(idempotencyKey ? { headers: { 'idempotency-key': idempotencyKey } } : {}),
  });
}

/** Every execution Temporal's visibility lists for a query, once it has caught up with all started so far. */
const workflowsMatching = (query: string) => executionsMatching(system.client, query);

describe('POST /orders', () => {
  test('when a customer orders, then 202 PENDING with links to the order and its workflow, and it completes', async () => {
    const body = await anOrderBody(10_000);

    const placed = await placeOrder(customer.token, body);

    expect(placed.status).toBe(202);
    expect(placed.body).toEqual({
      orderId: expect.stringMatching(/^[0-9a-f-]{36}$/),
      status: 'PENDING',
      links: { self: `/orders/${placed.body.orderId}`, temporalUi: expect.any(String) },
    });
    expect(placed.headers.get('location')).toBe(`/orders/${placed.body.orderId}`);
    expect(placed.body.links.temporalUi).toBe(
      `${process.env.TEMPORAL_UI_URL}/namespaces/default/workflows/${orderWorkflowId(placed.body.orderId)}`,
    );
    const order = await waitForOrder(system, customer.token, placed.body.orderId);
    expect(order).toMatchObject({ status: 'COMPLETED', customerId: customer.id, totalPrice: 10_000 });
  });

  test('when the body names a customer, then 400: the customer comes only from the token', async () => {
    const body = await anOrderBody();

    const response = await placeOrder(customer.token, { ...body, customerId: admin.id });

    expectProblem(response, 400, 'VALIDATION_FAILED');
  });

  test('when a line has the wrong types, then 400 naming the fields', async () => {
    const response = await placeOrder(customer.token, {
      lines: [{ itemId: 'one', quantity: 0, unitPrice: 1.5 }],
    });

    expectProblem(response, 400, 'VALIDATION_FAILED');
    expect(fieldPaths(response).sort()).toEqual([
      'body.lines.0.itemId',
      'body.lines.0.quantity',
      'body.lines.0.unitPrice',
    ]);
  });

  test('when there are no lines, then 400', async () => {
    expectProblem(await placeOrder(customer.token, { lines: [] }), 400, 'VALIDATION_FAILED');
  });

  test('when the lines break an order rule, then 422 per line and no order or workflow is started', async () => {
    const buyer = await aUser(system);
    const item = await anItem(system, { price: 10_000 });
    const coupon = await aCouponFor(system, buyer.id, { type: 'FIXED', discountAmount: 1000 });

    const response = await placeOrder(buyer.token, {
      lines: [
        { itemId: item.id, quantity: 2, unitPrice: 10_000, discountedUnitPrice: 9_000, userCouponIds: [coupon] },
        { itemId: item.id, quantity: 1, unitPrice: 10_000 },
      ],
    });

    expectProblem(response, 422, 'ORDER_LINE_RULES');
    expect(response.body).toMatchObject({
      title: 'Order lines break a rule',
      detail: `a line that uses coupons must have quantity 1; item ${item.id} appears on more than one line`,
    });
    expect(response.body.errors).toEqual([
      {
        path: 'body.lines.0.quantity',
        message: 'COUPON_NEEDS_SINGLE_UNIT: a line that uses coupons must have quantity 1',
      },
      { path: 'body.lines.1.itemId', message: `DUPLICATE_ITEM: item ${item.id} appears on more than one line` },
    ]);
    expect((await request(system, 'GET', '/orders', { token: buyer.token })).body.orders).toEqual([]);
    expect(await workflowsMatching(`CustomerId = '${buyer.id}'`)).toEqual([]);
  });

  test('when 10,000 of the 245,000 coat are ordered (a total beyond the 32-bit columns), then 422 ORDER_TOTAL_TOO_LARGE and no order or workflow is started', async () => {
    const buyer = await aUser(system);
    const coat = await anItem(system, { price: 245_000, stockQuantity: 10_000 });

    const response = await placeOrder(buyer.token, {
      lines: [{ itemId: coat.id, quantity: 10_000, unitPrice: 245_000 }],
    });

    expectProblem(response, 422, 'ORDER_TOTAL_TOO_LARGE');
    expect(response.body.detail).toContain(String(MAX_ORDER_TOTAL));
    expect((await request(system, 'GET', '/orders', { token: buyer.token })).body.orders).toEqual([]);
    expect(await workflowsMatching(`CustomerId = '${buyer.id}'`)).toEqual([]);
  });

  test('when nobody is logged in, then 401', async () => {
    expectProblem(await request(system, 'POST', '/orders', { body: await anOrderBody() }), 401, 'UNAUTHORIZED');
  });
});

describe('Idempotency-Key on POST /orders', () => {
  test('when the same key and body are sent again, then the same order comes back and only one workflow ran', async () => {
    const buyer = await aUser(system);
    const body = await anOrderBody();
    const key = randomUUID();

    const responses = await Promise.all([placeOrder(buyer.token, body, key), placeOrder(buyer.token, body, key)]);
    const orderId = responses[0]!.body.orderId;
    await waitForOrder(system, buyer.token, orderId);
    const replayAfterCompletion = await placeOrder(buyer.token, body, key);

    expect([...responses, replayAfterCompletion].map((response) => [response.status, response.body.orderId])).toEqual([
      [202, orderId],
      [202, orderId],
      [202, orderId],
    ]);
    expect(replayAfterCompletion.body.status).toBe('COMPLETED');
    expect((await request(system, 'GET', '/orders', { token: buyer.token })).body.orders).toHaveLength(1);
    // Every execution of the buyer, and every run under the order's workflow id, open or closed: a second one
    // (a duplicate start, a run that replaced the first) would be listed too, however late it was indexed.
    expect(await workflowsMatching(`CustomerId = '${buyer.id}'`)).toEqual([orderWorkflowId(orderId)]);
    expect(await workflowsMatching(`WorkflowId = '${orderWorkflowId(orderId)}'`)).toEqual([orderWorkflowId(orderId)]);
  });

  test('when the same key comes with a different body, then 409 and no second order', async () => {
    const buyer = await aUser(system);
    const body = await anOrderBody();
    const key = randomUUID();
    const first = await placeOrder(buyer.token, body, key);

    const conflicting = await placeOrder(buyer.token, { ...body, payment: { token: TestCardToken.decline } }, key);

    expectProblem(conflicting, 409, 'IDEMPOTENCY_CONFLICT');
    const orders = (await request(system, 'GET', '/orders', { token: buyer.token })).body.orders;
    expect(orders.map((order: any) => order.orderId)).toEqual([first.body.orderId]);
  });

  test('when another customer uses the same key, then they get an order of their own', async () => {
    const [first, second] = await Promise.all([aUser(system), aUser(system)]);
    const body = await anOrderBody();
    const key = randomUUID();

    const a = await placeOrder(first.token, body, key);
    const b = await placeOrder(second.token, body, key);

    expect([a.status, b.status]).toEqual([202, 202]);
    expect(b.body.orderId).not.toBe(a.body.orderId);
  });

  test('when the key is longer than 200 characters, then 400', async () => {
    const response = await placeOrder(customer.token, await anOrderBody(), 'k'.repeat(201));

    expectProblem(response, 400, 'VALIDATION_FAILED');
  });
});

describe('GET /orders/:id and GET /orders', () => {
  let orderId: string;

  beforeAll(async () => {
    const placed = await placeOrder(customer.token, await anOrderBody(20_000));
    orderId = placed.body.orderId;
    await waitForOrder(system, customer.token, orderId);
  });

  test('when the owner reads the order, then 200 with lines, total, steps and history', async () => {
    const response = await request(system, 'GET', `/orders/${orderId}`, { token: customer.token });

    expect(response.status).toBe(200);
    expect(response.body).toMatchObject({
      orderId,
      status: 'COMPLETED',
      customerId: customer.id,
      totalPrice: 20_000,
      lines: [{ quantity: 1, unitPrice: 20_000, discountedUnitPrice: 20_000, userCouponIds: [] }],
      steps: { items: 'SUCCEEDED', coupons: 'SUCCEEDED', payment: 'SUCCEEDED' },
    });
    expect(response.body.history).toEqual([
      { status: 'PENDING', at: expect.any(String) },
      { status: 'COMPLETED', at: expect.any(String) },
    ]);
    expect(response.body).not.toHaveProperty('failureReason');
  });

  test('when another customer reads the order, then 404 as if it did not exist', async () => {
    const stranger = await aUser(system);

    const response = await request(system, 'GET', `/orders/${orderId}`, { token: stranger.token });

    expectExactProblem(response, {
      status: 404,
      code: 'NOT_FOUND',
      title: 'Not found',
      detail: `order ${orderId} does not exist`,
    });
  });

  test('when an admin reads the order, then 200', async () => {
    const response = await request(system, 'GET', `/orders/${orderId}`, { token: admin.token });

    expect(response.status).toBe(200);
    expect(response.body.customerId).toBe(customer.id);
  });

  test('when the order does not exist, then 404; when the id is not a UUID, then 400', async () => {
    expectProblem(await request(system, 'GET', `/orders/${randomUUID()}`, { token: customer.token }), 404, 'NOT_FOUND');
    expectProblem(await request(system, 'GET', '/orders/42', { token: customer.token }), 400, 'VALIDATION_FAILED');
  });

  test('when nobody is logged in, then 401', async () => {
    expectProblem(await request(system, 'GET', `/orders/${orderId}`), 401, 'UNAUTHORIZED');
    expectProblem(await request(system, 'GET', '/orders'), 401, 'UNAUTHORIZED');
  });

  test('when a customer lists orders, then 200 with only their own, newest first', async () => {
    const buyer = await aUser(system);
    const older = await placeOrder(buyer.token, await anOrderBody());
    const newer = await placeOrder(buyer.token, await anOrderBody());

    const response = await request(system, 'GET', '/orders', { token: buyer.token });

    expect(response.status).toBe(200);
    expect(response.body.orders.map((order: any) => order.orderId)).toEqual([newer.body.orderId, older.body.orderId]);
    expect(response.body.orders.every((order: any) => order.customerId === buyer.id)).toBe(true);
  });
});

describe('POST /orders/:id/cancel', () => {
  test('when the owner cancels an order still reserving stock, then 202 and it ends CANCELLED_BY_CUSTOMER with the stock back', async () => {
    const item = await anItem(system, { price: 10_000, stockQuantity: 5 });
    // With the item worker away, the order waits at its stock reservation: cancellable for certain.
    await system.stopWorker('item');
    const [placed, cancelled] = await (async () => {
      const placing = await placeOrder(customer.token, {
        lines: [{ itemId: item.id, quantity: 2, unitPrice: 10_000 }],
      });
      const cancelling = await request(system, 'POST', `/orders/${placing.body.orderId}/cancel`, {
        token: customer.token,
      });
      return [placing, cancelling] as const;
    })().finally(() => system.startWorker('item'));

    expect(placed.status).toBe(202);
    expect(cancelled.status).toBe(202);
    expect(cancelled.body).toMatchObject({ orderId: placed.body.orderId, status: 'PENDING' });
    const order = await waitForOrder(system, customer.token, placed.body.orderId);
    expect(order).toMatchObject({ status: 'CANCELLED', failureReason: 'CANCELLED_BY_CUSTOMER' });
    expect(order.history.map((change) => change.status)).toEqual(['PENDING', 'FAILED', 'CANCELLED']);
    expect((await system.services.items.getItem(item.id))!.stockQuantity).toBe(5);

    const again = await request(system, 'POST', `/orders/${placed.body.orderId}/cancel`, { token: customer.token });
    expectProblem(again, 409, 'ORDER_NOT_CANCELLABLE');
  });

  test('when the order is COMPLETED, then 409 and it stays COMPLETED', async () => {
    const placed = await placeOrder(customer.token, await anOrderBody());
    await waitForOrder(system, customer.token, placed.body.orderId);

    const response = await request(system, 'POST', `/orders/${placed.body.orderId}/cancel`, { token: customer.token });

    expectExactProblem(response, {
      status: 409,
      code: 'ORDER_NOT_CANCELLABLE',
      title: 'Order cannot be cancelled',
      detail: `order ${placed.body.orderId} is COMPLETED`,
    });
    const order = await request(system, 'GET', `/orders/${placed.body.orderId}`, { token: customer.token });
    expect(order.body.status).toBe('COMPLETED');
  });

  test('when someone other than the owner cancels, then 404', async () => {
    const placed = await placeOrder(customer.token, await anOrderBody());
    const stranger = await aUser(system);

    const response = await request(system, 'POST', `/orders/${placed.body.orderId}/cancel`, { token: stranger.token });

    expectExactProblem(response, {
      status: 404,
      code: 'NOT_FOUND',
      title: 'Not found',
      detail: `order ${placed.body.orderId} does not exist`,
    });
    await waitForOrder(system, customer.token, placed.body.orderId);
  });

  test("when an admin cancels another customer's order still in progress, then 404 and the order goes on to complete", async () => {
    const body = await anOrderBody();
    // With the item worker away, the order waits at its stock reservation: a cancel would be accepted for its owner.
    await system.stopWorker('item');
    const [placed, byAdmin] = await (async () => {
      const placing = await placeOrder(customer.token, body);
      const cancelling = await request(system, 'POST', `/orders/${placing.body.orderId}/cancel`, {
        token: admin.token,
      });
      return [placing, cancelling] as const;
    })().finally(() => system.startWorker('item'));

    // An admin may read any order but cancel only their own (README, orders): the same 404 as for a stranger.
    expectProblem(byAdmin, 404, 'NOT_FOUND');
    const order = await waitForOrder(system, customer.token, placed.body.orderId);
    expect(order.status).toBe('COMPLETED');
    expect(order.history.map((change) => change.status)).toEqual(['PENDING', 'COMPLETED']);
  });

  test('when an admin cancels their own completed order, then 409 ORDER_NOT_CANCELLABLE like any owner', async () => {
    const placed = await placeOrder(admin.token, await anOrderBody());
    expect((await waitForOrder(system, admin.token, placed.body.orderId)).status).toBe('COMPLETED');

    const response = await request(system, 'POST', `/orders/${placed.body.orderId}/cancel`, { token: admin.token });

    expectProblem(response, 409, 'ORDER_NOT_CANCELLABLE');
  });

  test('when nobody is logged in, then 401', async () => {
    expectProblem(await request(system, 'POST', `/orders/${randomUUID()}/cancel`), 401, 'UNAUTHORIZED');
  });
});

/** Small limits, so a test reaches each of them in a few requests. */
const SMALL_LIMITS: OrderLimits = {
  maxOpenOrders: 2,
  maxUnitsPerLine: 5,
  rate: { limit: 100, windowMs: 60_000 },
  allowHangingTestCards: false,
};

describe('abuse limits on the order flow', () => {
  let guarded: ExtraGateway;

  beforeAll(async () => {
    guarded = await startGateway(system, { orderLimits: SMALL_LIMITS });
  });

  afterAll(async () => {
    await guarded?.stop();
  });

  const placeAt = (gateway: ExtraGateway, token: string, body: unknown) =>
    request(gateway, 'POST', '/orders', { token, body });

  test('when a line asks for more units than the per-line cap, then 422 ORDER_LINE_RULES naming the quantity, and no order or workflow', async () => {
    const buyer = await aUser(system);
    const item = await anItem(system, { price: 1_000, stockQuantity: 100 });

    const response = await placeAt(guarded, buyer.token, {
      lines: [{ itemId: item.id, quantity: SMALL_LIMITS.maxUnitsPerLine + 1, unitPrice: 1_000 }],
    });

    expectProblem(response, 422, 'ORDER_LINE_RULES');
    expect(response.body.errors).toEqual([
      { path: 'body.lines.0.quantity', message: 'TOO_MANY_UNITS: at most 5 units per line' },
    ]);
    expect(await system.db.order.order.count({ where: { customerId: buyer.id } })).toBe(0);
    expect(await workflowsMatching(`CustomerId = '${buyer.id}'`)).toEqual([]);
  });

  test('when hanging test cards are not allowed (production), then tok_timeout gets 422 TEST_CARD_NOT_ALLOWED, and no order or workflow', async () => {
    const buyer = await aUser(system);

    const response = await placeAt(guarded, buyer.token, {
      ...(await anOrderBody()),
      payment: { token: TestCardToken.hang },
    });

    expectProblem(response, 422, 'TEST_CARD_NOT_ALLOWED');
    expect(await system.db.order.order.count({ where: { customerId: buyer.id } })).toBe(0);
    expect(await workflowsMatching(`CustomerId = '${buyer.id}'`)).toEqual([]);
  });

  test('when a customer places orders faster than the rate, then 429 (malformed attempts count too), and another customer is not held back', async () => {
    const gateway = await startGateway(system, {
      orderLimits: { ...SMALL_LIMITS, rate: { limit: 2, windowMs: 60_000 } },
    });
    try {
      const [fast, other] = await Promise.all([aUser(system), aUser(system)]);
      const malformed = { lines: [] };
      expect((await placeAt(gateway, fast.token, malformed)).status).toBe(400);
      expect((await placeAt(gateway, fast.token, malformed)).status).toBe(400);

      const blocked = await placeAt(gateway, fast.token, await anOrderBody());

      expectProblem(blocked, 429, 'TOO_MANY_REQUESTS');
      expect(await system.db.order.order.count({ where: { customerId: fast.id } })).toBe(0);
      expect((await placeAt(gateway, other.token, await anOrderBody())).status).toBe(202);
    } finally {
      await gateway.stop();
    }
  });

  test('when one customer creates many orders at once, then exactly the cap of open orders is recorded (the count and the insert are one atomic step)', async () => {
    const buyer = await aUser(system);
    const item = await anItem(system);
    const attempt = (index: number) =>
      system.services.orders.createOrder(
        {
          orderId: randomUUID(),
          workflowId: `not-started-${randomUUID()}`,
          customerId: buyer.id,
          lines: [{ itemId: item.id, quantity: 1, unitPrice: 10_000, discountedUnitPrice: 10_000, userCouponIds: [] }],
          idempotencyKey: `burst-${index}`,
          requestFingerprint: 'same',
        },
        { maxOpenOrders: 2 },
      );

    const results = await Promise.allSettled(Array.from({ length: 8 }, (_, index) => attempt(index)));

    const created = results.filter((result) => result.status === 'fulfilled');
    const refused = results.flatMap((result) => (result.status === 'rejected' ? [result.reason] : []));
    expect(created).toHaveLength(2);
    expect(refused).toHaveLength(6);
    for (const reason of refused) expect(reason).toEqual(expect.objectContaining({ code: 'TOO_MANY_OPEN_ORDERS' }));
    expect(refused[0]).toBeInstanceOf(ServiceError);
    expect(await system.db.order.order.count({ where: { customerId: buyer.id } })).toBe(2);
    // A replay of an accepted request is no new order: it is answered at the cap too.
    const acceptedKey = results.findIndex((result) => result.status === 'fulfilled');
    const replay = await attempt(acceptedKey);
    expect(replay.created).toBe(false);
  });

  test("when a customer hoards stock (huge lines, many open orders) and floods sign-ups, then they get 422 and 429 while another customer's order completes", async () => {
    // A development gateway (tok_timeout allowed): the hoarder's orders hang in payment and stay open for the
    // whole payment bound, holding their stock, which is what a hoarder would want.
    const gateway = await startGateway(system, {
      orderLimits: { ...SMALL_LIMITS, allowHangingTestCards: true },
      signUpRateLimit: { limit: 2, windowMs: 3_600_000 },
    });
    try {
      const [hoarder, honest] = await Promise.all([aUser(system), aUser(system)]);
      const scarce = await anItem(system, { price: 1_000, stockQuantity: 12 });
      const hoard = (quantity: number) =>
        placeAt(gateway, hoarder.token, {
          lines: [{ itemId: scarce.id, quantity, unitPrice: 1_000 }],
          payment: { token: TestCardToken.hang },
        });

      expectProblem(await hoard(12), 422, 'ORDER_LINE_RULES');
      const accepted = [await hoard(5), await hoard(5)];
      const overCap = await hoard(5);
      const signUps = [];
      for (let index = 0; index < 3; index += 1) {
        signUps.push(
          await request(gateway, 'POST', '/users', {
            body: {
              email: `flood-${randomUUID()}@example.com`,
              name: '김철수',
              address: '서울',
              password: 'password-1234',
            },
          }),
        );
      }

      expect(accepted.map((response) => response.status)).toEqual([202, 202]);
      expectProblem(overCap, 429, 'TOO_MANY_OPEN_ORDERS');
      expect(signUps.map((response) => response.status)).toEqual([201, 201, 429]);
      expectProblem(signUps[2]!, 429, 'TOO_MANY_REQUESTS');
      for (const { body } of accepted) await waitForOrder(system, hoarder.token, body.orderId, ['PENDING']);
      const honestOrder = await placeAt(gateway, honest.token, {
        lines: [{ itemId: scarce.id, quantity: 2, unitPrice: 1_000 }],
      });
      expect(honestOrder.status).toBe(202);
      expect(await waitForOrder(system, honest.token, honestOrder.body.orderId)).toMatchObject({ status: 'COMPLETED' });
    } finally {
      await gateway.stop();
    }
  });
});

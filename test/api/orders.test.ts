/** Orders through the real gateway and saga: placing, idempotency, reading, listing and cancelling. */
import { randomUUID } from 'node:crypto';
import { MAX_ORDER_TOTAL } from '../../domain/order';
import { TestCardToken } from '../../domain/card-tokens';
import { orderWorkflowId } from '../../workflows/definitions';
import { aCouponFor, aUser, anItem, request, waitForOrder, type TestUser } from '../support/fixtures';
import { startTestSystem, type TestSystem } from '../support/system';
import { executionsMatching } from '../support/visibility';
import { expectExactProblem, expectProblem, fieldPaths } from './support';

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

  test('when nobody is logged in, then 401', async () => {
    expectProblem(await request(system, 'POST', `/orders/${randomUUID()}/cancel`), 401, 'UNAUTHORIZED');
  });
});

/**
 * Waiting for an order without polling, through the real gateway, saga and order database: `Prefer: wait` on
 * POST /orders, the long poll GET /orders/:id?wait=N (with If-None-Match) and the event stream
 * GET /orders/:id/events, all woken by the order database's NOTIFY on each progress write.
 */
import { TestCardToken } from '../../domain/card-tokens';
import { aUser, anItem, request, waitForOrder, type TestUser } from '../support/fixtures';
import { startTestSystem, type TestSystem } from '../support/system';
import { expectProblem } from './support';

let system: TestSystem;
let customer: TestUser;
let stranger: TestUser;

beforeAll(async () => {
  system = await startTestSystem();
  [customer, stranger] = await Promise.all([aUser(system), aUser(system)]);
});

afterAll(async () => {
  await system?.stop();
});

async function anOrderBody(token?: string) {
  const item = await anItem(system, { price: 1_000 });
  return {
    lines: [{ itemId: item.id, quantity: 1, unitPrice: 1_000 }],
    ...(token ? { payment: { token } } : {}),
  };
}

const place = async (headers: Record<string, string> = {}, cardToken?: string) =>
  request(system, 'POST', '/orders', { token: customer.token, body: await anOrderBody(cardToken), headers });

/** Reads a server-sent event stream to its end: the data of each `order` event. */
async function readEvents(path: string, token: string): Promise<{ status: number; orders: any[] }> {
  const response = await fetch(`${system.baseUrl}${path}`, { headers: { authorization: `Bearer ${token}` } });
  const text = await response.text();
  const orders = text
    .split('\n\n')
    .filter((block) => block.includes('event: order'))
    .map((block) =>
      JSON.parse(
        block
          .split('\n')
          .find((line) => line.startsWith('data: '))!
          .slice('data: '.length),
      ),
    );
  return { status: response.status, orders };
}

describe('POST /orders with Prefer: wait', () => {
  test('when the order ends within the wait, then 201 with the final order and Preference-Applied', async () => {
    const placed = await place({ prefer: 'wait=20' });

    expect(placed.status).toBe(201);
    expect(placed.headers.get('preference-applied')).toBe('wait=20');
    expect(placed.headers.get('location')).toBe(`/orders/${placed.body.orderId}`);
    expect(placed.body).toMatchObject({
      status: 'COMPLETED',
      steps: { items: 'SUCCEEDED', coupons: 'SUCCEEDED', payment: 'SUCCEEDED' },
    });
  });

  test('when the order is declined, then 201 with the CANCELLED order and its reason', async () => {
    const placed = await place({ prefer: 'respond-async, wait=20' }, TestCardToken.decline);

    expect(placed.status).toBe(201);
    expect(placed.body).toMatchObject({ status: 'CANCELLED', failureReason: 'PAYMENT_DECLINED' });
  });

  test('when the wait is 0, then 202 as without the header, and the wait is said to be applied', async () => {
    const placed = await place({ prefer: 'wait=0' });

    expect(placed.status).toBe(202);
    expect(placed.headers.get('preference-applied')).toBe('wait=0');
    expect(placed.body).toMatchObject({ status: 'PENDING', links: { self: `/orders/${placed.body.orderId}` } });
    await waitForOrder(system, customer.token, placed.body.orderId);
  });
});

describe('GET /orders/:id?wait=N', () => {
  test('when a client long-polls with If-None-Match, then each answer is a new state and the last one has ended', async () => {
    const placed = await place();
    const seen: string[] = [];
    let tag: string | undefined;
    for (let polls = 0; polls < 20; polls += 1) {
      const started = Date.now();
      const read = await request(system, 'GET', `/orders/${placed.body.orderId}?wait=20`, {
        token: customer.token,
        headers: tag ? { 'if-none-match': tag } : {},
      });
      expect(read.status).toBe(200);
      expect(Date.now() - started).toBeLessThan(15_000);
      expect(read.headers.get('etag')).not.toBe(tag);
      tag = read.headers.get('etag')!;
      seen.push(`${read.body.status} ${JSON.stringify(read.body.steps)}`);
      if (read.body.status === 'COMPLETED') break;
    }
    expect(seen.at(-1)).toMatch(/^COMPLETED/);
    // Each answer differs from the one before: no answer repeats a state the client already had.
    expect(new Set(seen).size).toBe(seen.length);
  });

  test('when the order has ended, then the wait answers at once', async () => {
    const placed = await place({ prefer: 'wait=20' });
    const started = Date.now();

    const read = await request(system, 'GET', `/orders/${placed.body.orderId}?wait=30`, { token: customer.token });

    expect(read.status).toBe(200);
    expect(read.body.status).toBe('COMPLETED');
    expect(Date.now() - started).toBeLessThan(2_000);
  });

  test("when the client's tag is still current after the wait, then 304 with that ETag", async () => {
    const placed = await place({ prefer: 'wait=20' });
    const first = await request(system, 'GET', `/orders/${placed.body.orderId}`, { token: customer.token });
    const started = Date.now();

    const again = await request(system, 'GET', `/orders/${placed.body.orderId}?wait=1`, {
      token: customer.token,
      headers: { 'if-none-match': first.headers.get('etag')! },
    });

    // Ended and unchanged since the tag: nothing to wait for, and nothing new to send.
    expect(again.status).toBe(304);
    expect(Date.now() - started).toBeLessThan(2_000);
  });

  test('when another customer waits on the order, then 404 as for a read', async () => {
    const placed = await place({ prefer: 'wait=0' });

    const read = await request(system, 'GET', `/orders/${placed.body.orderId}?wait=5`, { token: stranger.token });

    expectProblem(read, 404, 'NOT_FOUND');
    await waitForOrder(system, customer.token, placed.body.orderId);
  });

  test('when the wait is longer than 30 s, then 400 VALIDATION_FAILED naming the query parameter', async () => {
    const placed = await place({ prefer: 'wait=20' });

    const read = await request(system, 'GET', `/orders/${placed.body.orderId}?wait=31`, { token: customer.token });

    expectProblem(read, 400, 'VALIDATION_FAILED');
    expect(JSON.stringify(read.body)).toContain('query.wait');
  });
});

describe('GET /orders/:id/events', () => {
  test('when a client follows the stream, then it gets the order at each change and the stream ends with the order', async () => {
    const placed = await place({ prefer: 'wait=0' });

    const { status, orders } = await readEvents(`/orders/${placed.body.orderId}/events`, customer.token);

    expect(status).toBe(200);
    expect(orders.length).toBeGreaterThanOrEqual(1);
    expect(orders.at(-1)).toMatchObject({ orderId: placed.body.orderId, status: 'COMPLETED' });
    expect(orders.slice(0, -1).every((order) => order.status === 'PENDING')).toBe(true);
    const states = orders.map((order) => JSON.stringify([order.status, order.steps]));
    expect(new Set(states).size).toBe(states.length);
  });

  test('when the order is declined, then the stream ends with the CANCELLED order and its reason', async () => {
    const placed = await place({ prefer: 'wait=0' }, TestCardToken.decline);
    const { orders } = await readEvents(`/orders/${placed.body.orderId}/events`, customer.token);

    const statuses = orders.map((order) => order.status);
    expect(statuses.at(-1)).toBe('CANCELLED');
    expect(orders.at(-1)).toMatchObject({ failureReason: 'PAYMENT_DECLINED' });
  });

  test('when another customer asks for the stream, then 404 problem+json', async () => {
    const placed = await place({ prefer: 'wait=20' });

    const response = await request(system, 'GET', `/orders/${placed.body.orderId}/events`, { token: stranger.token });

    expectProblem(response, 404, 'NOT_FOUND');
  });
});

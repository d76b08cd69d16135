/** The admin read API the operator console uses: order counts by status (admins only). */
import { aUser, anItem, request, waitForOrder, type TestUser } from '../support/fixtures';
import { startTestSystem, type TestSystem } from '../support/system';
import { ORDER_STATUSES } from '../../domain/order';
import { expectProblem } from './support';

let system: TestSystem;
let admin: TestUser;

beforeAll(async () => {
  system = await startTestSystem();
  admin = await aUser(system, 'ADMIN');
});

afterAll(async () => {
  await system?.stop();
});

describe('GET /admin/orders/counts', () => {
  test('when an admin asks, then every status is counted, and an order that completes and one that is declined move the counts', async () => {
    const before = await request(system, 'GET', '/admin/orders/counts', { token: admin.token });
    expect(before.status).toBe(200);
    expect(Object.keys(before.body.counts)).toEqual([...ORDER_STATUSES]);
    expect(Object.values(before.body.counts).every((count) => Number.isInteger(count) && (count as number) >= 0)).toBe(
      true,
    );

    const customer = await aUser(system);
    const item = await anItem(system);
    for (const token of ['tok_visa', 'tok_declined']) {
      const placed = await request(system, 'POST', '/orders', {
        token: customer.token,
        body: { lines: [{ itemId: item.id, quantity: 1, unitPrice: item.price }], payment: { token } },
      });
      await waitForOrder(system, customer.token, placed.body.orderId);
    }

    const after = await request(system, 'GET', '/admin/orders/counts', { token: admin.token });
    expect(after.body.counts).toEqual({
      ...before.body.counts,
      COMPLETED: before.body.counts.COMPLETED + 1,
      CANCELLED: before.body.counts.CANCELLED + 1,
    });
  });

  test('when a customer asks, then 403 FORBIDDEN; without a token, 401', async () => {
    const customer = await aUser(system);
    expectProblem(await request(system, 'GET', '/admin/orders/counts', { token: customer.token }), 403, 'FORBIDDEN');
    expectProblem(await request(system, 'GET', '/admin/orders/counts'), 401, 'UNAUTHORIZED');
  });
});

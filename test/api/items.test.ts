/** The catalog through the real gateway: listing, reading, admin creation and optimistic-locking edits. */
import { randomUUID } from 'node:crypto';
import { aUser, anItem, request, type TestUser } from '../support/fixtures';
import { startTestSystem, type TestSystem } from '../support/system';
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

const newItem = () => ({ name: `셔츠 ${randomUUID()}`, size: '100-M', price: 49800, stockQuantity: 5 });

describe('GET /items', () => {
  test('when anyone lists the catalog, then 200 with the seed items and their versions', async () => {
    const response = await request(system, 'GET', '/items');

    expect(response.status).toBe(200);
    expect(response.body.items.slice(0, 4).map((item: any) => [item.id, item.size, item.price])).toEqual([
      [1, '90-S', 49800],
      [2, '100-M', 49800],
      [3, '110-L', 49800],
      [4, '-', 245000],
    ]);
    expect(Object.keys(response.body.items[0]).sort()).toEqual(
      ['id', 'name', 'price', 'size', 'stockQuantity', 'version'].sort(),
    );
  });

  test('when ids are given, then only those items come back', async () => {
    const response = await request(system, 'GET', '/items?ids=4,2');

    expect(response.status).toBe(200);
    expect(response.body.items.map((item: any) => item.id)).toEqual([2, 4]);
  });

  test('when ids is not a list of numbers, then 400 naming the query parameter', async () => {
    const response = await request(system, 'GET', '/items?ids=1,two');

    expectProblem(response, 400, 'VALIDATION_FAILED');
    expect(fieldPaths(response)).toEqual(['query.ids']);
  });
});

describe('GET /items/:id', () => {
  test('when the item exists, then 200 with it', async () => {
    const item = await anItem(system, { price: 12_300 });

    const response = await request(system, 'GET', `/items/${item.id}`);

    expect(response.status).toBe(200);
    expect(response.body).toEqual(item);
  });

  test('when the item does not exist, then 404 with the same problem document as ever', async () => {
    expectExactProblem(await request(system, 'GET', '/items/999999'), {
      status: 404,
      code: 'NOT_FOUND',
      title: 'Not found',
      detail: 'item 999999 does not exist',
    });
  });

  test('when the id is not a positive whole number, then 400 instead of a lookup', async () => {
    for (const id of ['abc', '0', '1.5', '99999999999']) {
      const response = await request(system, 'GET', `/items/${id}`);
      expectProblem(response, 400, 'VALIDATION_FAILED');
      expect(fieldPaths(response)).toEqual(['params.id']);
    }
  });
});

describe('POST /items', () => {
  test('when an admin creates an item, then 201 with its id and a Location', async () => {
    const body = newItem();

    const response = await request(system, 'POST', '/items', { token: admin.token, body });

    expect(response.status).toBe(201);
    expect(response.headers.get('location')).toBe(`/items/${response.body.id}`);
    expect(await system.services.items.getItem(response.body.id)).toMatchObject({ ...body, version: 0 });
  });

  test('when a customer creates an item, then 403', async () => {
    const response = await request(system, 'POST', '/items', { token: customer.token, body: newItem() });

    expectProblem(response, 403, 'FORBIDDEN');
  });

  test('when nobody is logged in, then 401', async () => {
    expectProblem(await request(system, 'POST', '/items', { body: newItem() }), 401, 'UNAUTHORIZED');
  });

  test('when the same name and size exist, then 409', async () => {
    const body = newItem();
    await request(system, 'POST', '/items', { token: admin.token, body });

    const again = await request(system, 'POST', '/items', { token: admin.token, body });

    expectProblem(again, 409, 'DUPLICATE');
  });

  test('when the price is a string and the stock negative, then 400 naming both fields', async () => {
    const response = await request(system, 'POST', '/items', {
      token: admin.token,
      body: { ...newItem(), price: '49800', stockQuantity: -1 },
    });

    expectProblem(response, 400, 'VALIDATION_FAILED');
    expect(fieldPaths(response).sort()).toEqual(['body.price', 'body.stockQuantity']);
  });
});

describe('PATCH /items/:id', () => {
  test('when an admin edits at the current version, then 200 with the item at the next version', async () => {
    const item = await anItem(system, { price: 10_000 });

    const response = await request(system, 'PATCH', `/items/${item.id}`, {
      token: admin.token,
      body: { version: item.version, price: 12_000, stockQuantity: 3 },
    });

    expect(response.status).toBe(200);
    expect(response.body).toEqual({ ...item, price: 12_000, stockQuantity: 3, version: item.version + 1 });
  });

  test('when two admins edit from the same version, then the second gets 409 and its change is not applied', async () => {
    const item = await anItem(system, { price: 10_000 });
    const first = await request(system, 'PATCH', `/items/${item.id}`, {
      token: admin.token,
      body: { version: item.version, price: 11_000 },
    });
    expect(first.status).toBe(200);

    const stale = await request(system, 'PATCH', `/items/${item.id}`, {
      token: admin.token,
      body: { version: item.version, price: 9_000 },
    });

    expectProblem(stale, 409, 'STALE_VERSION');
    expect((await system.services.items.getItem(item.id))!.price).toBe(11_000);
  });

  test('when the version is missing, then 400', async () => {
    const item = await anItem(system);

    const response = await request(system, 'PATCH', `/items/${item.id}`, { token: admin.token, body: { price: 1 } });

    expectProblem(response, 400, 'VALIDATION_FAILED');
    expect(fieldPaths(response)).toEqual(['body.version']);
  });

  test('when the item does not exist, then 404', async () => {
    const response = await request(system, 'PATCH', '/items/999999', { token: admin.token, body: { version: 0 } });

    expectProblem(response, 404, 'NOT_FOUND');
  });

  test('when a customer edits an item, then 403 and the item is unchanged', async () => {
    const item = await anItem(system);

    const response = await request(system, 'PATCH', `/items/${item.id}`, {
      token: customer.token,
      body: { version: item.version, price: 1 },
    });

    expectProblem(response, 403, 'FORBIDDEN');
    expect(await system.services.items.getItem(item.id)).toEqual(item);
  });
});

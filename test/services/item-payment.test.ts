/**
 * The item and payment services' rules against their real databases, called directly (no Temporal): written for
 * the mutants of services/item.ts and services/payment.ts that the other PostgreSQL-only tests left alive or never
 * reached (docs/testing.md, "Mutation testing").
 */
import { randomUUID } from 'node:crypto';
import { connectItemDb, connectPaymentDb } from '../../lib/databases';
import { ServiceError } from '../../lib/errors';
import { createItemService } from '../../services/item';

const db = { item: connectItemDb(), payment: connectPaymentDb() };
const items = createItemService(db.item);

afterAll(async () => {
  await Promise.all(Object.values(db).map((client) => client.$disconnect()));
});

async function rejection(promise: Promise<unknown>): Promise<Error> {
  try {
    await promise;
  } catch (error) {
    return error as Error;
  }
  throw new Error('expected a rejection');
}

const anItem = (stockQuantity = 5, price = 10_000) =>
  items.createItem({ name: `item-payment ${randomUUID().slice(0, 8)}`, size: 'S', price, stockQuantity });

describe('items', () => {
  test('when an item is required, then it comes back whole; a missing one is NOT_FOUND naming it', async () => {
    const item = await anItem(4, 7_000);
    expect(await items.requireItem(item.id)).toEqual({
      id: item.id,
      name: item.name,
      size: 'S',
      price: 7_000,
      stockQuantity: 4,
      version: item.version,
    });
    const missing = await rejection(items.requireItem(2_000_000_000));
    expect(missing).toBeInstanceOf(ServiceError);
    expect(missing).toMatchObject({ code: 'NOT_FOUND', message: 'item 2000000000 does not exist' });
  });
});

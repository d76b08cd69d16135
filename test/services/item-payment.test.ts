/**
 * The item and payment services' rules against their real databases, called directly (no Temporal): written for
 * the mutants of services/item.ts and services/payment.ts that the other PostgreSQL-only tests left alive or never
 * reached (docs/testing.md, "Mutation testing").
 */
import { randomUUID } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import pg from 'pg';
import { BusinessRuleError } from '../../domain/failure-reasons';
import { connectItemDb, connectPaymentDb } from '../../lib/databases';
import { OrderAlreadyUndoneError, ServiceError } from '../../lib/errors';
import { chargeKey, createCardGateway, ledgerEntries, type CardGateway } from '../../services/card-gateway';
import { createItemService } from '../../services/item';
import { createPaymentService } from '../../services/payment';
import { rejection, untilWaitingForLock } from '../support/services';

const db = { item: connectItemDb(), payment: connectPaymentDb() };
const items = createItemService(db.item);
const behaviour = { hangMs: 10, sleep: (ms: number) => sleep(ms) };
const gateway = createCardGateway(db.payment, behaviour);
const payments = createPaymentService(db.payment, behaviour, gateway);

afterAll(async () => {
  await Promise.all(Object.values(db).map((client) => client.$disconnect()));
});

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

  test('when a line cannot be reserved, then the reason and a message naming the item and the numbers come back, and nothing is taken', async () => {
    const item = await anItem(1, 10_000);
    const cases: [{ itemId: number; quantity: number; unitPrice: number }, string, string][] = [
      [{ itemId: 2_000_000_000, quantity: 1, unitPrice: 10_000 }, 'ITEM_NOT_FOUND', 'item 2000000000 does not exist'],
      [
        { itemId: item.id, quantity: 1, unitPrice: 9_000 },
        'PRICE_MISMATCH',
        `item ${item.id} costs 10000, the order says 9000`,
      ],
      [
        { itemId: item.id, quantity: 2, unitPrice: 10_000 },
        'OUT_OF_STOCK',
        `item ${item.id} has fewer than 2 in stock`,
      ],
    ];
    for (const [line, reason, message] of cases) {
      const orderId = randomUUID();
      const error = await rejection(items.reserveStock(orderId, [line]));
      expect(error).toBeInstanceOf(BusinessRuleError);
      expect(error).toMatchObject({ reason, message });
      expect(await items.reservationOf(orderId)).toBeNull();
    }
    expect(await items.getItem(item.id)).toMatchObject({ stockQuantity: 1, version: item.version });
  });

  test("when the order's price comes back while the reservation waits for the row, then it may take the last units", async () => {
    const item = await anItem(2, 9_000);
    const admin = new pg.Client({ connectionString: process.env.ITEM_DATABASE_URL });
    await admin.connect();
    try {
      await admin.query('BEGIN');
      await admin.query('UPDATE items SET price = 10000, version = version + 1 WHERE id = $1', [item.id]);
      const orderId = randomUUID();
      // The first decrement sees the old price and takes nothing; the lock then waits for the admin.
      const reservation = items.reserveStock(orderId, [{ itemId: item.id, quantity: 2, unitPrice: 10_000 }]).then(
        (value) => ({ value }),
        (error: unknown) => ({ error }),
      );
      await untilWaitingForLock(db.item, 'SELECT price, stock_quantity');
      await admin.query('COMMIT');

      // Exactly as many in stock as the line asks for is enough.
      expect(await reservation).toEqual({ value: { newlyReserved: true } });
      expect(await items.getItem(item.id)).toMatchObject({ price: 10_000, stockQuantity: 0 });
      expect((await items.reservationOf(orderId))?.lines).toEqual([
        expect.objectContaining({ itemId: item.id, quantity: 2 }),
      ]);
    } finally {
      await admin.end();
    }
  });

  test('when creating an item fails for another reason than its name and size, then it is not reported as DUPLICATE', async () => {
    const error = await rejection(
      items.createItem({ name: `negative ${randomUUID()}`, size: 'S', price: 1_000, stockQuantity: -1 }),
    );
    expect(error).not.toBeInstanceOf(ServiceError);
    expect(error.message).toContain('items_stock_quantity_non_negative');
  });

  test('when any line of an order has a quantity that is not a whole number >= 1, then the order is refused and nothing is reserved', async () => {
    const [first, second] = [await anItem(5), await anItem(5)];
    for (const quantity of [0, -1, 1.5]) {
      const orderId = randomUUID();
      const lines = [
        { itemId: first.id, quantity: 1, unitPrice: 10_000 },
        { itemId: second.id, quantity, unitPrice: 10_000 },
      ];
      const error = await rejection(items.reserveStock(orderId, lines));
      expect(error.message).toBe(`order ${orderId}: every quantity must be a whole number >= 1`);
      expect(await items.reservationOf(orderId)).toBeNull();
    }
    expect((await items.listItems([first.id, second.id])).map(({ stockQuantity }) => stockQuantity)).toEqual([5, 5]);
  });

  test('when an order has several failing lines, then the lines are taken in item id order and the first failure is the lowest id', async () => {
    // Item id order is the lock order that keeps concurrent multi-line orders from deadlocking.
    const item = await anItem(1);
    const error = await rejection(
      items.reserveStock(randomUUID(), [
        { itemId: 2_000_000_000, quantity: 1, unitPrice: 10_000 },
        { itemId: item.id, quantity: 2, unitPrice: 10_000 },
      ]),
    );
    expect(error).toMatchObject({ reason: 'OUT_OF_STOCK', message: `item ${item.id} has fewer than 2 in stock` });
  });

  test("when one order's stock is released, then only its lines come back and another order's reservation stays", async () => {
    const item = await anItem(5);
    const [kept, released] = [randomUUID(), randomUUID()];
    await items.reserveStock(kept, [{ itemId: item.id, quantity: 1, unitPrice: 10_000 }]);
    await items.reserveStock(released, [{ itemId: item.id, quantity: 2, unitPrice: 10_000 }]);

    expect(await items.releaseStock(released)).toEqual({ undone: true });

    expect((await items.getItem(item.id))!.stockQuantity).toBe(4);
    expect(await items.reservationOf(kept)).toMatchObject({ status: 'RESERVED', lines: [{ quantity: 1 }] });
    expect(await items.reservationOf(released)).toMatchObject({ status: 'RELEASED', lines: [{ quantity: 2 }] });
  });

  test('when a reservation comes after the release, then the refusal names the order', async () => {
    const orderId = randomUUID();
    await items.releaseStock(orderId);
    const error = await rejection(items.reserveStock(orderId, [{ itemId: 1, quantity: 1, unitPrice: 1 }]));
    expect(error).toBeInstanceOf(OrderAlreadyUndoneError);
    expect(error.message).toBe(
      `the stock reservation for order ${orderId} was already undone; refusing to apply it again`,
    );
  });
});

describe('payments', () => {
  const DECLINED_BY_ISSUER = 'the card was declined by the issuer';

  test("when a card is declined, then the charge fails PAYMENT_DECLINED with the gateway's reason, first time and on every retry", async () => {
    const orderId = randomUUID();
    for (let attempt = 0; attempt < 2; attempt++) {
      const error = await rejection(payments.chargePayment(orderId, 900, 'tok_declined'));
      expect(error).toBeInstanceOf(BusinessRuleError);
      expect(error).toMatchObject({ reason: 'PAYMENT_DECLINED', message: DECLINED_BY_ISSUER });
    }
    expect(await payments.paymentOf(orderId)).toEqual({ orderId, amount: 900, status: 'DECLINED' });
  });

  test('when a charge is retried after the worker died before reaching the gateway, then it charges the card of the recorded intent', async () => {
    const orderId = randomUUID();
    const dying: CardGateway = {
      ...gateway,
      capture: () => Promise.reject(new Error('worker died before the gateway call')),
    };
    await expect(
      createPaymentService(db.payment, behaviour, dying).chargePayment(orderId, 1_200, 'tok_declined'),
    ).rejects.toThrow('worker died');

    // The retry passes another card; the intent written first decides.
    const error = await rejection(payments.chargePayment(orderId, 1_200, 'tok_visa'));
    expect(error).toMatchObject({ reason: 'PAYMENT_DECLINED', message: DECLINED_BY_ISSUER });
    expect(await ledgerEntries(db.payment, { orderId })).toEqual([
      { idempotencyKey: chargeKey(orderId), orderId, amount: 1_200, status: 'DECLINED' },
    ]);
  });

  test("when one order's payment is refunded, then no other order's payment row changes", async () => {
    const [kept, refunded] = [randomUUID(), randomUUID()];
    await payments.chargePayment(kept, 3_000, 'tok_visa');
    await payments.chargePayment(refunded, 4_000, 'tok_visa');

    expect(await payments.refundPayment(refunded)).toEqual({ undone: true });

    expect(await payments.paymentOf(kept)).toEqual({ orderId: kept, amount: 3_000, status: 'CAPTURED' });
    expect(await payments.paymentOf(refunded)).toEqual({ orderId: refunded, amount: 4_000, status: 'REFUNDED' });
  });

  test('when the gateway already cancelled the key (a refund reached it before any capture), then the charge records VOIDED with nothing held and is refused', async () => {
    const orderId = randomUUID();
    const charging = createPaymentService(db.payment, behaviour, {
      ...gateway,
      // The provider got the cancellation between the intent and the capture, from outside this service.
      capture: async (request) => {
        await gateway.refund({ idempotencyKey: request.idempotencyKey });
        return gateway.capture(request);
      },
    });

    const error = await rejection(charging.chargePayment(orderId, 2_500, 'tok_visa'));

    expect(error).toBeInstanceOf(OrderAlreadyUndoneError);
    expect(error.message).toBe(`the payment for order ${orderId} was already undone; refusing to apply it again`);
    expect(await payments.paymentOf(orderId)).toEqual({ orderId, amount: 0, status: 'VOIDED' });
  });
});

/**
 * The order service (services/order.ts) called directly against its real PostgreSQL database, no gateway and no
 * Temporal: the views it returns, the line rules and abuse limits of createOrder (the open-order cap under its
 * advisory lock, idempotent replays), recordProgress's stale rules and history, the admin and reconciler reads,
 * the saga figures and the LISTEN/NOTIFY helper. Written for the mutants that the PostgreSQL-only tests of the
 * services' mutation run (docs/testing.md) did not reach.
 *
 * The mutation run keeps one database for all its test runs, so every test works on its own customers and
 * orders; the reads that span every order (admin lists, counts, the reconciler's query, the figures) run on a
 * database of their own, created empty for the test and dropped after it.
 */
import { randomInt, randomUUID } from 'node:crypto';
import { readFileSync, readdirSync } from 'node:fs';
import { createServer, type AddressInfo, type Socket } from 'node:net';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import pg from 'pg';
import {
  MAX_ORDER_TOTAL,
  type OrderLineInput,
  type OrderStatus,
  type StepStatus,
  type StepStatuses,
} from '../../domain/order';
import { databaseUrl } from '../../lib/config';
import { connectOrderDb, type OrderDb } from '../../lib/databases';
import { ServiceError } from '../../lib/errors';
import {
  ORDER_PROGRESS_CHANNEL,
  createOrderEvents,
  createOrderService,
  type NewOrder,
  type OrderProgress,
  type OrderService,
  type OrderView,
} from '../../services/order';
import { rejection, serviceError } from '../support/services';

const db = connectOrderDb();
const orders = createOrderService(db);
/** Plain pg sessions a test opens (a peer holding a lock, an admin); all closed after each test. */
const sessions: pg.Client[] = [];
/** Databases created for one test, dropped after it. */
const ownDatabases: { db: OrderDb; name: string }[] = [];

afterEach(async () => {
  await Promise.all(sessions.splice(0).map((session) => session.end().catch(() => undefined)));
  for (const own of ownDatabases.splice(0)) {
    await own.db.$disconnect();
    await withSession(databaseUrl('order'), (session) => session.query(`DROP DATABASE "${own.name}" WITH (FORCE)`));
  }
});

afterAll(async () => {
  await db.$disconnect();
});

const NOT_STARTED: StepStatuses = { items: 'NOT_STARTED', coupons: 'NOT_STARTED', payment: 'NOT_STARTED' };
const LINE_A: OrderLineInput = {
  itemId: 11,
  quantity: 2,
  unitPrice: 10_000,
  discountedUnitPrice: 9_000,
  userCouponIds: [],
};
const LINE_B: OrderLineInput = {
  itemId: 12,
  quantity: 1,
  unitPrice: 5_000,
  discountedUnitPrice: 4_000,
  userCouponIds: [7, 8],
};

/** A customer id no other test (nor an earlier run on the same database) uses. */
const aCustomer = () => randomInt(100_000_000, 2_000_000_000);

function newOrder(customerId: number, extra: Partial<NewOrder> = {}): NewOrder {
  const orderId = randomUUID();
  return { orderId, workflowId: `order-${orderId}`, customerId, lines: [LINE_A], ...extra };
}

function progress(
  orderId: string,
  seq: number,
  status: OrderStatus,
  extra: Partial<OrderProgress> = {},
): OrderProgress {
  return {
    orderId,
    seq,
    status,
    steps: { items: 'SUCCEEDED', coupons: 'SUCCEEDED', payment: 'RUNNING' },
    failureReason: null,
    failureDetail: null,
    ...extra,
  };
}

/** A write as a workflow run from before sequence numbers sends it: no seq at all. */
function withoutSeq(orderId: string, status: OrderStatus): OrderProgress {
  const { seq: _seq, ...legacy } = progress(orderId, 0, status);
  return legacy as OrderProgress;
}

async function created(service: OrderService, order: NewOrder): Promise<OrderView> {
  const result = await service.createOrder(order);
  expect(result.created).toBe(true);
  return result.order;
}

async function storedSeq(orderId: string, on: OrderDb = db): Promise<number> {
  const row = await on.order.findUniqueOrThrow({ where: { id: orderId }, select: { progressSeq: true } });
  return Number(row.progressSeq);
}

async function withSession<T>(url: string, use: (session: pg.Client) => Promise<T>): Promise<T> {
  const session = new pg.Client({ connectionString: url });
  await session.connect();
  try {
    return await use(session);
  } finally {
    await session.end();
  }
}

async function aSession(): Promise<pg.Client> {
  const session = new pg.Client({ connectionString: databaseUrl('order') });
  session.on('error', () => undefined);
  await session.connect();
  sessions.push(session);
  return session;
}

async function until(condition: () => boolean | Promise<boolean>, what: string, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(`not within ${timeoutMs} ms: ${what}`);
    await sleep(10);
  }
}

/**
 * An empty order database of the test's own, migrated with the committed migrations: for the reads that span
 * every order, whose exact answers (zero counts, the newest rows) no shared database can promise.
 */
async function ownOrderDatabase(): Promise<{ db: OrderDb; service: OrderService }> {
  const name = `order_test_${randomUUID().replace(/-/g, '').slice(0, 16)}`;
  await withSession(databaseUrl('order'), (session) => session.query(`CREATE DATABASE "${name}"`));
  const url = new URL(databaseUrl('order'));
  url.pathname = `/${name}`;
  const migrations = path.resolve(__dirname, '../../prisma/order/migrations');
  await withSession(url.toString(), async (session) => {
    for (const folder of readdirSync(migrations, { withFileTypes: true })
      .filter((entry) => entry.isDirectory())
      .map((entry) => entry.name)
      .sort()) {
      await session.query(readFileSync(path.join(migrations, folder, 'migration.sql'), 'utf8'));
    }
  });
  const own = connectOrderDb(url.toString());
  ownDatabases.push({ db: own, name });
  return { db: own, service: createOrderService(own) };
}

/** Sets what a test needs directly in the table: status, steps, failure reason, creation time. */
async function setRow(
  on: OrderDb,
  orderId: string,
  data: {
    status?: OrderStatus;
    failureReason?: string | null;
    createdAt?: Date;
    itemsStep?: StepStatus;
    couponsStep?: StepStatus;
    paymentStep?: StepStatus;
  },
): Promise<void> {
  await on.order.update({ where: { id: orderId }, data });
}

describe('createOrder and getOrder: the recorded order and its view', () => {
  test('when an order is created, then its view holds exactly its lines in order, total, steps, one PENDING entry and times', async () => {
    const customerId = aCustomer();
    const order = newOrder(customerId, { lines: [LINE_A, LINE_B] });
    const before = Date.now();
    const result = await orders.createOrder(order);
    const after = Date.now();

    expect(result).toStrictEqual({
      created: true,
      order: {
        orderId: order.orderId,
        status: 'PENDING',
        customerId,
        lines: [LINE_A, LINE_B],
        totalPrice: 2 * 9_000 + 4_000,
        steps: NOT_STARTED,
        history: [{ status: 'PENDING', at: result.order.createdAt }],
        workflowId: order.workflowId,
        createdAt: expect.stringMatching(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/),
      },
    });
    const createdAt = Date.parse(result.order.createdAt);
    expect(createdAt).toBeGreaterThanOrEqual(before - 1_000);
    expect(createdAt).toBeLessThanOrEqual(after + 1_000);
    expect(await orders.getOrder(order.orderId)).toStrictEqual(result.order);
    expect(await orders.listOrders(customerId)).toStrictEqual([result.order]);
  });

  test('when rows are stored out of their order, then the view still lists lines by line number and history by id', async () => {
    const order = newOrder(aCustomer(), { lines: [LINE_A, LINE_B] });
    await created(orders, order);
    await orders.recordProgress(progress(order.orderId, 1, 'FAILED', { failureDetail: 'first' }));
    await orders.recordProgress(progress(order.orderId, 2, 'COMPENSATION_FAILED', { failureDetail: 'second' }));
    // An update writes a new row version at the end of the table: a read without ORDER BY returns it last.
    await db.$executeRaw`UPDATE order_lines SET quantity = quantity WHERE order_id = ${order.orderId}::uuid AND line_number = 0`;
    await db.$executeRaw`UPDATE order_status_history SET detail = detail WHERE order_id = ${order.orderId}::uuid AND status = 'PENDING'`;

    const view = (await orders.getOrder(order.orderId))!;
    expect(view.lines).toStrictEqual([LINE_A, LINE_B]);
    expect(view.history.map(({ status, detail }) => [status, detail])).toStrictEqual([
      ['PENDING', undefined],
      ['FAILED', 'first'],
      ['COMPENSATION_FAILED', 'second'],
    ]);
  });

  test('when getOrder is asked for an id that is not a well-formed UUID, then it answers null without asking the database', async () => {
    const { orderId } = await created(orders, newOrder(aCustomer()));
    const groups = orderId.split('-');
    const malformed = [
      '',
      'not-a-uuid',
      `x${orderId}`,
      `${orderId}x`,
      `${orderId.slice(0, -1)}g`,
      // PostgreSQL reads these as the same UUID; the service's stricter guard does not.
      orderId.replace(/-/g, ''),
      `{${orderId}}`,
      // A hex digit more or fewer in any group.
      ...groups.map((_, index) => groups.map((group, at) => (at === index ? `${group}0` : group)).join('-')),
      ...groups.map((_, index) => groups.map((group, at) => (at === index ? group.slice(1) : group)).join('-')),
    ];
    for (const id of malformed) expect(await orders.getOrder(id)).toBeNull();
    expect((await orders.getOrder(orderId.toUpperCase()))?.orderId).toBe(orderId);
    expect(await orders.getOrder(randomUUID())).toBeNull();
  });

  test("when a customer's orders are listed, then only theirs come, newest first, ties by id descending, up to the limit", async () => {
    const customerId = aCustomer();
    const ids: string[] = [];
    for (let index = 0; index < 4; index += 1) ids.push((await created(orders, newOrder(customerId))).orderId);
    await created(orders, newOrder(customerId + 1));
    const [oldest, older, tieA, tieB] = ids as [string, string, string, string];
    await setRow(db, oldest, { createdAt: new Date('2030-01-01T00:00:00.000Z') });
    await setRow(db, older, { createdAt: new Date('2030-01-02T00:00:00.000Z') });
    const ties = [tieA, tieB].sort().reverse();
    // Written lower id first, so the stored order of the tied rows is the reverse of the order asked for.
    for (const id of [...ties].reverse()) await setRow(db, id, { createdAt: new Date('2030-01-03T00:00:00.000Z') });

    const listed = await orders.listOrders(customerId);
    expect(listed.map((order) => order.orderId)).toEqual([...ties, older, oldest]);
    expect(listed[2]).toStrictEqual(await orders.getOrder(older));
    expect((await orders.listOrders(customerId, 3)).map((order) => order.orderId)).toEqual([...ties, older]);
    expect(await orders.listOrders(aCustomer())).toEqual([]);
  });
});

describe('createOrder: line rules', () => {
  test('when lines break rules, then ORDER_LINE_RULES names every field with its code, the per-line unit cap last, and nothing is stored', async () => {
    const order = newOrder(aCustomer(), {
      lines: [
        { itemId: 1, quantity: 3, unitPrice: 100, discountedUnitPrice: 100, userCouponIds: [] },
        { itemId: 1, quantity: 2, unitPrice: 100, discountedUnitPrice: 100, userCouponIds: [5] },
      ],
    });
    const error = await serviceError(orders.createOrder(order, { maxUnitsPerLine: 2 }));
    expect(error.code).toBe('ORDER_LINE_RULES');
    expect(error.message).toBe(
      'item 1 appears on more than one line; a line that uses coupons must have quantity 1; at most 2 units per line',
    );
    expect(error.fields).toStrictEqual([
      { path: 'lines.1.itemId', message: 'DUPLICATE_ITEM: item 1 appears on more than one line' },
      { path: 'lines.1.quantity', message: 'COUPON_NEEDS_SINGLE_UNIT: a line that uses coupons must have quantity 1' },
      { path: 'lines.0.quantity', message: 'TOO_MANY_UNITS: at most 2 units per line' },
    ]);
    expect(await orders.getOrder(order.orderId)).toBeNull();
  });

  test('when a line has exactly the unit cap, then it passes; one more fails on that line only; without a cap any quantity passes', async () => {
    const customerId = aCustomer();
    const line = (itemId: number, quantity: number): OrderLineInput => ({
      itemId,
      quantity,
      unitPrice: 10,
      discountedUnitPrice: 10,
      userCouponIds: [],
    });
    await expect(
      orders.createOrder(newOrder(customerId, { lines: [line(1, 5), line(2, 1)] }), { maxUnitsPerLine: 5 }),
    ).resolves.toMatchObject({ created: true });
    const error = await serviceError(
      orders.createOrder(newOrder(customerId, { lines: [line(1, 5), line(2, 6)] }), { maxUnitsPerLine: 5 }),
    );
    expect(error).toMatchObject({ code: 'ORDER_LINE_RULES', message: 'at most 5 units per line' });
    expect(error.fields).toStrictEqual([
      { path: 'lines.1.quantity', message: 'TOO_MANY_UNITS: at most 5 units per line' },
    ]);
    await expect(orders.createOrder(newOrder(customerId, { lines: [line(1, 10_000)] }))).resolves.toMatchObject({
      created: true,
      order: { totalPrice: 100_000 },
    });
  });

  test('when the total exceeds the largest allowed by one, then ORDER_TOTAL_TOO_LARGE without fields; exactly the largest is recorded', async () => {
    const customerId = aCustomer();
    const priced = (discountedUnitPrice: number): OrderLineInput[] => [
      { itemId: 1, quantity: 1, unitPrice: discountedUnitPrice, discountedUnitPrice, userCouponIds: [] },
    ];
    const tooLarge = newOrder(customerId, { lines: priced(MAX_ORDER_TOTAL + 1) });
    const error = await serviceError(orders.createOrder(tooLarge));
    expect(error.code).toBe('ORDER_TOTAL_TOO_LARGE');
    expect(error.message).toBe(`an order's total may be at most ${MAX_ORDER_TOTAL}`);
    expect(error.fields).toBeUndefined();
    expect(await orders.getOrder(tooLarge.orderId)).toBeNull();
    expect((await created(orders, newOrder(customerId, { lines: priced(MAX_ORDER_TOTAL) }))).totalPrice).toBe(
      MAX_ORDER_TOTAL,
    );
  });
});

describe('createOrder: the open-order cap', () => {
  const cap = { maxOpenOrders: 3 };

  test('when a customer is one below the cap, then an order passes; at the cap it is TOO_MANY_OPEN_ORDERS until an order ends', async () => {
    const customerId = aCustomer();
    const first = await orders.createOrder(newOrder(customerId), cap);
    expect(first.created).toBe(true);
    // Orders created without limits count as well; FAILED and COMPENSATION_FAILED have not ended.
    const second = await created(orders, newOrder(customerId));
    await orders.recordProgress(progress(second.orderId, 1, 'FAILED'));
    expect((await orders.createOrder(newOrder(customerId), cap)).created).toBe(true);

    const refused = newOrder(customerId);
    const error = await serviceError(orders.createOrder(refused, cap));
    expect(error).toMatchObject({
      code: 'TOO_MANY_OPEN_ORDERS',
      message: 'at most 3 orders may be open at once; wait until one completes or is cancelled',
    });
    expect(error.fields).toBeUndefined();
    expect(await orders.getOrder(refused.orderId)).toBeNull();
    await orders.recordProgress(progress(second.orderId, 2, 'COMPENSATION_FAILED'));
    expect((await serviceError(orders.createOrder(newOrder(customerId), cap))).code).toBe('TOO_MANY_OPEN_ORDERS');

    // Another customer is not affected, nor is the same customer when no cap is asked for.
    expect((await orders.createOrder(newOrder(customerId + 1), cap)).created).toBe(true);
    expect((await orders.createOrder(newOrder(customerId))).created).toBe(true);
    expect(await orders.listOrders(customerId)).toHaveLength(4);

    // Four open now: a completed order still leaves three, a cancelled one more frees the slot.
    await orders.recordProgress(progress(first.order.orderId, 1, 'COMPLETED'));
    expect((await serviceError(orders.createOrder(newOrder(customerId), cap))).code).toBe('TOO_MANY_OPEN_ORDERS');
    await orders.recordProgress(progress(second.orderId, 3, 'CANCELLED'));
    expect((await orders.createOrder(newOrder(customerId), cap)).created).toBe(true);
    expect((await serviceError(orders.createOrder(newOrder(customerId), cap))).code).toBe('TOO_MANY_OPEN_ORDERS');
  });

  test('when a request is replayed at the cap, then the first order comes back; a different request with the key is a conflict', async () => {
    const customerId = aCustomer();
    const idempotencyKey = randomUUID();
    const first = await orders.createOrder(newOrder(customerId, { idempotencyKey, requestFingerprint: 'a' }), {
      maxOpenOrders: 1,
    });
    expect(first.created).toBe(true);

    expect(
      await orders.createOrder(newOrder(customerId, { idempotencyKey, requestFingerprint: 'a' }), { maxOpenOrders: 1 }),
    ).toStrictEqual({ created: false, order: first.order });
    for (const requestFingerprint of ['b', undefined]) {
      const conflict = await serviceError(
        orders.createOrder(newOrder(customerId, { idempotencyKey, requestFingerprint }), { maxOpenOrders: 1 }),
      );
      expect(conflict).toMatchObject({
        code: 'IDEMPOTENCY_CONFLICT',
        message: 'this Idempotency-Key was used for a different request',
      });
    }
    const otherKey = await serviceError(
      orders.createOrder(newOrder(customerId, { idempotencyKey: randomUUID(), requestFingerprint: 'a' }), {
        maxOpenOrders: 1,
      }),
    );
    expect(otherKey.code).toBe('TOO_MANY_OPEN_ORDERS');
    expect(await orders.listOrders(customerId)).toHaveLength(1);
  });

  test('when a key comes without a fingerprint, then the key alone names the request, with and without a cap', async () => {
    const customerId = aCustomer();
    for (const limits of [{}, { maxOpenOrders: 5 }]) {
      const idempotencyKey = randomUUID();
      const first = await orders.createOrder(newOrder(customerId, { idempotencyKey }), limits);
      expect(first.created).toBe(true);
      expect(await orders.createOrder(newOrder(customerId, { idempotencyKey }), limits)).toStrictEqual({
        created: false,
        order: first.order,
      });
      const conflict = await serviceError(
        orders.createOrder(newOrder(customerId, { idempotencyKey, requestFingerprint: 'x' }), limits),
      );
      expect(conflict.code).toBe('IDEMPOTENCY_CONFLICT');
    }
    expect(await orders.listOrders(customerId)).toHaveLength(2);
  });

  test('when a new key comes with an order id already taken, then the database refusal is not mistaken for a replay', async () => {
    const order = newOrder(aCustomer());
    await created(orders, order);
    const error = await rejection(orders.createOrder({ ...order, idempotencyKey: randomUUID() }));
    expect(error).not.toBeInstanceOf(ServiceError);
    expect((error as Error & { code?: string }).code).toBe('P2002');
    // Without a key there is nothing to replay either: the same refusal.
    const again = await rejection(orders.createOrder(order));
    expect((again as Error & { code?: string }).code).toBe('P2002');
  });

  test('when the lock cannot be had in time, then the create fails with the database error, even with a key already used', async () => {
    const impatient = connectOrderDb(databaseUrl('order'), { lockTimeoutMs: 200 });
    try {
      const service = createOrderService(impatient);
      const customerId = aCustomer();
      const idempotencyKey = randomUUID();
      const first = await service.createOrder(newOrder(customerId, { idempotencyKey }), cap);
      const peer = await aSession();
      await peer.query('SELECT pg_advisory_lock($1::int, $2::int)', [0x6f726472, customerId]);
      const error = await rejection(service.createOrder(newOrder(customerId, { idempotencyKey }), cap));
      expect(error).not.toBeInstanceOf(ServiceError);
      expect(String(error)).toMatch(/lock timeout/i);
      await peer.query('SELECT pg_advisory_unlock($1::int, $2::int)', [0x6f726472, customerId]);
      expect(await service.createOrder(newOrder(customerId, { idempotencyKey }), cap)).toStrictEqual({
        created: false,
        order: first.order,
      });
    } finally {
      await impatient.$disconnect();
    }
  });

  test('when several requests race for the last slot, then exactly one is recorded', async () => {
    const customerId = aCustomer();
    await created(orders, newOrder(customerId));
    const results = await Promise.allSettled(
      Array.from({ length: 6 }, () => orders.createOrder(newOrder(customerId), { maxOpenOrders: 2 })),
    );
    expect(results.filter((result) => result.status === 'fulfilled')).toHaveLength(1);
    for (const result of results) {
      if (result.status === 'rejected') expect((result.reason as ServiceError).code).toBe('TOO_MANY_OPEN_ORDERS');
    }
    expect(await orders.listOrders(customerId)).toHaveLength(2);
  });

  test('when the same request races with itself, then one order is created and the others are replays of it', async () => {
    for (const limits of [{}, { maxOpenOrders: 5 }]) {
      const customerId = aCustomer();
      const idempotencyKey = randomUUID();
      const results = await Promise.all(
        Array.from({ length: 4 }, () =>
          orders.createOrder(newOrder(customerId, { idempotencyKey, requestFingerprint: 'same' }), limits),
        ),
      );
      expect(results.filter((result) => result.created)).toHaveLength(1);
      const winner = results.find((result) => result.created)!.order;
      for (const result of results) expect(result.order).toStrictEqual(winner);
      expect(await orders.listOrders(customerId)).toHaveLength(1);
    }
  });

  test("when one customer's order creation holds the lock, then that customer's capped create waits and others do not", async () => {
    const [customerId, otherId] = [aCustomer(), aCustomer()];
    const peer = await aSession();
    // The key the service locks on: its lock space ("ordr") and the customer id.
    await peer.query('SELECT pg_advisory_lock($1::int, $2::int)', [0x6f726472, customerId]);

    let settled = false;
    const waiting = orders.createOrder(newOrder(customerId), cap).finally(() => (settled = true));
    await until(async () => {
      const { rows } = await peer.query(
        `SELECT 1 FROM pg_stat_activity WHERE datname = current_database() AND wait_event = 'advisory'
           AND position('pg_advisory_xact_lock' IN query) > 0`,
      );
      return rows.length > 0;
    }, 'a create waiting for the advisory lock');
    expect((await orders.createOrder(newOrder(otherId), cap)).created).toBe(true);
    expect((await orders.createOrder(newOrder(customerId))).created).toBe(true);
    expect(settled).toBe(false);

    await peer.query('SELECT pg_advisory_unlock($1::int, $2::int)', [0x6f726472, customerId]);
    expect((await waiting).created).toBe(true);
  });
});

describe('recordProgress', () => {
  test('when a write applies, then it stores status, steps, failure and seq; history grows only when the status changes', async () => {
    const order = newOrder(aCustomer());
    const view = await created(orders, order);
    const failedSteps: StepStatuses = { items: 'SUCCEEDED', coupons: 'FAILED', payment: 'NOT_STARTED' };

    expect(
      await orders.recordProgress(
        progress(order.orderId, 1, 'FAILED', {
          steps: failedSteps,
          failureReason: 'COUPON_EXPIRED',
          failureDetail: 'coupon 5 expired',
        }),
      ),
    ).toStrictEqual({ applied: true });
    const failed = (await orders.getOrder(order.orderId))!;
    expect(failed).toStrictEqual({
      ...view,
      status: 'FAILED',
      steps: failedSteps,
      failureReason: 'COUPON_EXPIRED',
      failureDetail: 'coupon 5 expired',
      history: [view.history[0], { status: 'FAILED', at: expect.any(String), detail: 'coupon 5 expired' }],
    });
    expect(failed.history[1]!.at >= failed.history[0]!.at).toBe(true);
    expect(await storedSeq(order.orderId)).toBe(1);

    // The same status again: the row changes, the history does not.
    const undoneSteps: StepStatuses = { items: 'COMPENSATED', coupons: 'FAILED', payment: 'NOT_STARTED' };
    await orders.recordProgress(
      progress(order.orderId, 2, 'FAILED', {
        steps: undoneSteps,
        failureReason: 'COUPON_EXPIRED',
        failureDetail: 'stock given back',
      }),
    );
    expect(await orders.getOrder(order.orderId)).toStrictEqual({
      ...failed,
      steps: undoneSteps,
      failureDetail: 'stock given back',
    });

    // A change without a failure clears reason and detail, and its history entry has no detail.
    const doneSteps: StepStatuses = { items: 'SUCCEEDED', coupons: 'SUCCEEDED', payment: 'SUCCEEDED' };
    await orders.recordProgress(progress(order.orderId, 3, 'COMPLETED', { steps: doneSteps }));
    expect(await orders.getOrder(order.orderId)).toStrictEqual({
      ...view,
      status: 'COMPLETED',
      steps: doneSteps,
      history: [...failed.history, { status: 'COMPLETED', at: expect.any(String) }],
    });
    expect(await storedSeq(order.orderId)).toBe(3);
  });

  test('when a write is not newer than the stored one, then it is stale: an equal seq too', async () => {
    const { orderId } = await created(orders, newOrder(aCustomer()));
    expect(await orders.recordProgress(progress(orderId, 5, 'FAILED'))).toStrictEqual({ applied: true });
    expect(await orders.recordProgress(progress(orderId, 5, 'COMPENSATION_FAILED'))).toStrictEqual({ applied: false });
    expect(await orders.recordProgress(progress(orderId, 4, 'PENDING'))).toStrictEqual({ applied: false });
    expect((await orders.getOrder(orderId))!.history.map((entry) => entry.status)).toEqual(['PENDING', 'FAILED']);
    expect(await storedSeq(orderId)).toBe(5);
    expect(await orders.recordProgress(progress(orderId, 6, 'COMPENSATION_FAILED'))).toStrictEqual({ applied: true });
    expect((await orders.getOrder(orderId))!.status).toBe('COMPENSATION_FAILED');
  });

  test('when an order has ended, then no newer write reopens it, but a newer final status applies', async () => {
    const { orderId } = await created(orders, newOrder(aCustomer()));
    expect(await orders.recordProgress(progress(orderId, 1, 'COMPLETED'))).toStrictEqual({ applied: true });
    expect(await orders.recordProgress(progress(orderId, 2, 'PENDING'))).toStrictEqual({ applied: false });
    expect(await orders.recordProgress(progress(orderId, 1_000_001, 'FAILED'))).toStrictEqual({ applied: false });
    expect(await storedSeq(orderId)).toBe(1);
    expect(await orders.recordProgress(progress(orderId, 3, 'CANCELLED'))).toStrictEqual({ applied: true });
    expect((await orders.getOrder(orderId))!.history.map((entry) => entry.status)).toEqual([
      'PENDING',
      'COMPLETED',
      'CANCELLED',
    ]);
  });

  test('when writes come without seq, then they apply until the order has ended and leave the stored seq alone', async () => {
    const { orderId } = await created(orders, newOrder(aCustomer()));
    expect(await orders.recordProgress(progress(orderId, 4, 'PENDING'))).toStrictEqual({ applied: true });
    expect(await orders.recordProgress(withoutSeq(orderId, 'FAILED'))).toStrictEqual({ applied: true });
    expect(await storedSeq(orderId)).toBe(4);
    expect(await orders.recordProgress(withoutSeq(orderId, 'COMPLETED'))).toStrictEqual({ applied: true });
    // Ended: neither another final status nor a reopening applies without seq.
    expect(await orders.recordProgress(withoutSeq(orderId, 'CANCELLED'))).toStrictEqual({ applied: false });
    expect(await orders.recordProgress(withoutSeq(orderId, 'PENDING'))).toStrictEqual({ applied: false });
    expect(await storedSeq(orderId)).toBe(4);
    expect((await orders.getOrder(orderId))!.history.map((entry) => entry.status)).toEqual([
      'PENDING',
      'FAILED',
      'COMPLETED',
    ]);
  });

  test('when the order does not exist, then the write fails naming it', async () => {
    const orderId = randomUUID();
    expect((await rejection(orders.recordProgress(progress(orderId, 1, 'FAILED')))).message).toBe(
      `order ${orderId} does not exist`,
    );
  });
});

describe('reads over every order (each on an empty database of its own)', () => {
  async function ordersIn(service: OrderService, count: number): Promise<string[]> {
    const ids: string[] = [];
    for (let index = 0; index < count; index += 1) ids.push((await created(service, newOrder(aCustomer()))).orderId);
    return ids;
  }

  test('listOrdersByStatus returns the orders in the statuses, newest first, ties by id descending, up to the limit', async () => {
    const own = await ownOrderDatabase();
    const [older, newer, tieA, tieB, pending, completed] = (await ordersIn(own.service, 6)) as [
      string,
      string,
      string,
      string,
      string,
      string,
    ];
    await setRow(own.db, older, { status: 'COMPENSATION_FAILED', createdAt: new Date('2030-01-01T00:00:00Z') });
    await setRow(own.db, newer, { status: 'COMPENSATION_FAILED', createdAt: new Date('2030-01-02T00:00:00Z') });
    // Written lower id first, so the stored order of the tied rows is the reverse of the order asked for.
    for (const id of [tieA, tieB].sort()) {
      await setRow(own.db, id, { status: 'FAILED', createdAt: new Date('2030-01-03T00:00:00Z') });
    }
    await setRow(own.db, pending, { createdAt: new Date('2030-01-04T00:00:00Z') });
    await setRow(own.db, completed, { status: 'COMPLETED', createdAt: new Date('2030-01-05T00:00:00Z') });
    const ties = [tieA, tieB].sort().reverse();

    const listed = await own.service.listOrdersByStatus(['COMPENSATION_FAILED', 'FAILED']);
    expect(listed.map((order) => order.orderId)).toEqual([...ties, newer, older]);
    expect(listed[2]).toStrictEqual(await own.service.getOrder(newer));
    expect((await own.service.listOrdersByStatus(['FAILED', 'COMPENSATION_FAILED'], 3)).map((o) => o.orderId)).toEqual([
      ...ties,
      newer,
    ]);
    expect((await own.service.listOrdersByStatus(['PENDING'])).map((order) => order.orderId)).toEqual([pending]);
    expect(await own.service.listOrdersByStatus([])).toEqual([]);
  });

  test('countOrdersByStatus names every status, 0 when none, and counts each exactly', async () => {
    const own = await ownOrderDatabase();
    const zero = { PENDING: 0, COMPLETED: 0, FAILED: 0, CANCELLED: 0, COMPENSATION_FAILED: 0 };
    expect(await own.service.countOrdersByStatus()).toStrictEqual(zero);

    const ids = await ordersIn(own.service, 10);
    const statusOf: OrderStatus[] = ['COMPLETED', 'COMPLETED', 'FAILED', 'FAILED', 'FAILED'];
    statusOf.push('COMPENSATION_FAILED', 'COMPENSATION_FAILED', 'COMPENSATION_FAILED', 'COMPENSATION_FAILED');
    for (const [index, status] of statusOf.entries()) await setRow(own.db, ids[index]!, { status });
    expect(await own.service.countOrdersByStatus()).toStrictEqual({
      ...zero,
      PENDING: 1,
      COMPLETED: 2,
      FAILED: 3,
      COMPENSATION_FAILED: 4,
    });

    await setRow(own.db, (await ordersIn(own.service, 1))[0]!, { status: 'CANCELLED' });
    expect(await own.service.countOrdersByStatus()).toStrictEqual({
      PENDING: 1,
      COMPLETED: 2,
      FAILED: 3,
      CANCELLED: 1,
      COMPENSATION_FAILED: 4,
    });
  });

  test('findUnfinishedOrders returns orders not ended and created before the time (not at it), oldest first, up to the limit', async () => {
    const own = await ownOrderDatabase();
    const ids = await ordersIn(own.service, 9);
    const [pending, failed, stuck, tieA, tieB, completed, cancelled, atCutoff, later] = ids as [
      string,
      string,
      string,
      string,
      string,
      string,
      string,
      string,
      string,
    ];
    const cutoff = new Date('2030-01-10T00:00:00.000Z');
    await setRow(own.db, pending, { createdAt: new Date('2030-01-01T00:00:00Z') });
    await setRow(own.db, failed, { createdAt: new Date('2030-01-02T00:00:00Z') });
    await setRow(own.db, stuck, { status: 'COMPENSATION_FAILED', createdAt: new Date('2030-01-03T00:00:00Z') });
    // Written higher id first, so the stored order of the tied rows is the reverse of the order asked for.
    for (const id of [tieA, tieB].sort().reverse()) {
      await setRow(own.db, id, { createdAt: new Date('2030-01-04T00:00:00Z') });
    }
    await setRow(own.db, completed, { status: 'COMPLETED', createdAt: new Date('2029-12-01T00:00:00Z') });
    await setRow(own.db, cancelled, { status: 'CANCELLED', createdAt: new Date('2029-12-02T00:00:00Z') });
    await setRow(own.db, atCutoff, { createdAt: cutoff });
    await setRow(own.db, later, { createdAt: new Date(cutoff.getTime() + 1) });
    const failedSteps: StepStatuses = { items: 'COMPENSATED', coupons: 'NOT_STARTED', payment: 'FAILED' };
    await own.service.recordProgress(progress(failed, 9, 'FAILED', { steps: failedSteps }));
    const ties = [tieA, tieB].sort();

    const found = await own.service.findUnfinishedOrders({ createdBefore: cutoff });
    expect(found.map((order) => order.orderId)).toEqual([pending, failed, stuck, ...ties]);
    expect(found[1]).toStrictEqual({
      orderId: failed,
      status: 'FAILED',
      steps: failedSteps,
      progressSeq: 9,
      createdAt: new Date('2030-01-02T00:00:00Z'),
      workflowId: `order-${failed}`,
    });
    expect(found[0]).toStrictEqual({
      orderId: pending,
      status: 'PENDING',
      steps: NOT_STARTED,
      progressSeq: 0,
      createdAt: new Date('2030-01-01T00:00:00Z'),
      workflowId: `order-${pending}`,
    });
    expect(
      (await own.service.findUnfinishedOrders({ createdBefore: cutoff, limit: 2 })).map((order) => order.orderId),
    ).toEqual([pending, failed]);
    expect(
      (await own.service.findUnfinishedOrders({ createdBefore: new Date(cutoff.getTime() + 1) })).map((o) => o.orderId),
    ).toEqual([pending, failed, stuck, ...ties, atCutoff]);
  });

  test('sagaFigures counts orders by status and reason, undone steps by step and state, and final durations in buckets', async () => {
    const own = await ownOrderDatabase();
    const [done2s, done7s, cancelledHalf, failed, stuck, pending, cancelledTwice] = (await ordersIn(
      own.service,
      7,
    )) as [string, string, string, string, string, string, string];
    const start = new Date('2030-01-01T00:00:00.000Z');
    const at = (seconds: number) => new Date(start.getTime() + seconds * 1_000);
    /** The order ends in `status` `seconds` after its creation; earlier history entries of other statuses do not count. */
    async function ended(orderId: string, status: OrderStatus, seconds: number[], failureReason: string | null = null) {
      await setRow(own.db, orderId, { status, failureReason, createdAt: start });
      await own.db.orderStatusChange.create({ data: { orderId, status: 'FAILED', at: at(0.25) } });
      for (const second of seconds)
        await own.db.orderStatusChange.create({ data: { orderId, status, at: at(second) } });
    }
    await ended(done2s, 'COMPLETED', [2]);
    await ended(done7s, 'COMPLETED', [7]);
    await ended(cancelledHalf, 'CANCELLED', [0.5], 'PAYMENT_DECLINED');
    await setRow(own.db, cancelledHalf, {
      itemsStep: 'COMPENSATED',
      couponsStep: 'COMPENSATED',
      paymentStep: 'FAILED',
    });
    // The first entry of the final status counts: an order cancelled, completed, then cancelled again.
    await ended(cancelledTwice, 'CANCELLED', [3, 50]);
    await setRow(own.db, cancelledTwice, { paymentStep: 'COMPENSATED' });
    await setRow(own.db, failed, { status: 'FAILED', failureReason: 'OUT_OF_STOCK', itemsStep: 'FAILED' });
    await setRow(own.db, stuck, {
      status: 'COMPENSATION_FAILED',
      failureReason: 'PAYMENT_DECLINED',
      itemsStep: 'COMPENSATION_FAILED',
      couponsStep: 'COMPENSATED',
    });
    expect(pending).toBeDefined();

    expect(await own.service.sagaFigures([1, 5, 10])).toStrictEqual({
      orders: [
        { status: 'CANCELLED', failureReason: 'PAYMENT_DECLINED', count: 1 },
        { status: 'CANCELLED', failureReason: null, count: 1 },
        { status: 'COMPENSATION_FAILED', failureReason: 'PAYMENT_DECLINED', count: 1 },
        { status: 'COMPLETED', failureReason: null, count: 2 },
        { status: 'FAILED', failureReason: 'OUT_OF_STOCK', count: 1 },
        { status: 'PENDING', failureReason: null, count: 1 },
      ],
      compensations: [
        { step: 'coupons', state: 'COMPENSATED', count: 2 },
        { step: 'items', state: 'COMPENSATED', count: 1 },
        { step: 'items', state: 'COMPENSATION_FAILED', count: 1 },
        { step: 'payment', state: 'COMPENSATED', count: 1 },
      ],
      durations: [
        { status: 'CANCELLED', bucketCounts: [1, 2, 2], sum: 3.5, count: 2 },
        { status: 'COMPLETED', bucketCounts: [0, 1, 2], sum: 9, count: 2 },
      ],
    });
    // Other bounds, other buckets from the same orders.
    expect((await own.service.sagaFigures([2, 3])).durations.map((d) => d.bucketCounts)).toEqual([
      [1, 2],
      [1, 1],
    ]);
  });
});

describe('createOrderEvents: LISTEN/NOTIFY on the progress channel', () => {
  /** The server sessions listening on the channel now. */
  async function listeners(): Promise<number[]> {
    const { rows } = await (
      await aSession()
    ).query<{ pid: number }>(`SELECT pid FROM pg_stat_activity WHERE datname = current_database() AND query = $1`, [
      `LISTEN ${ORDER_PROGRESS_CHANNEL}`,
    ]);
    return rows.map((row) => row.pid);
  }

  test('when progress is committed, then subscribers of that order hear it; a stale write, an unsubscribed one and a closed helper hear nothing', async () => {
    const earlier = new Set(await listeners());
    const errors: Error[] = [];
    const events = createOrderEvents(databaseUrl('order'), (error) => errors.push(error));
    try {
      const [a, b] = [newOrder(aCustomer()), newOrder(aCustomer())];
      const heard = { a: 0, b: 0, b2: 0 };
      // Subscribed before the connection is up: once it is, every subscriber is woken to re-read.
      const offA = events.subscribe(a.orderId, () => (heard.a += 1));
      events.subscribe(b.orderId, () => (heard.b += 1));
      await until(() => heard.a === 1 && heard.b === 1, 'the wake-up once connected');
      const [listener] = (await listeners()).filter((pid) => !earlier.has(pid));
      expect(listener).toBeDefined();
      await created(orders, a);
      await created(orders, b);
      expect(heard).toEqual({ a: 1, b: 1, b2: 0 }); // creating an order notifies nobody

      await orders.recordProgress(progress(a.orderId, 1, 'FAILED'));
      await until(() => heard.a === 2, 'the applied write of a');
      // Notifications arrive in commit order: once b's is heard, a stale write of a would have been heard too.
      expect(await orders.recordProgress(progress(a.orderId, 1, 'COMPENSATION_FAILED'))).toEqual({ applied: false });
      await orders.recordProgress(progress(b.orderId, 1, 'FAILED'));
      await until(() => heard.b === 2, 'the applied write of b');
      expect(heard).toEqual({ a: 2, b: 2, b2: 0 });

      // A second subscriber of b; an unsubscribed one hears nothing, also when unsubscribing twice.
      const offB2 = events.subscribe(b.orderId, () => (heard.b2 += 1));
      offA();
      offA();
      const laterA = events.subscribe(a.orderId, () => (heard.a += 10));
      offA();
      await orders.recordProgress(progress(a.orderId, 2, 'COMPENSATION_FAILED'));
      await orders.recordProgress(progress(b.orderId, 2, 'COMPENSATION_FAILED'));
      await until(() => heard.b === 3 && heard.b2 === 1, 'both subscribers of b');
      expect(heard).toEqual({ a: 12, b: 3, b2: 1 });
      laterA();
      offB2();
      await orders.recordProgress(progress(a.orderId, 3, 'FAILED'));
      await orders.recordProgress(progress(b.orderId, 3, 'FAILED'));
      await until(() => heard.b === 4, 'the remaining subscriber of b');
      expect(heard).toEqual({ a: 12, b: 4, b2: 1 });

      // The connection is lost: the error is reported, and once listening again every subscriber re-reads.
      await (await aSession()).query('SELECT pg_terminate_backend($1)', [listener]);
      await until(() => errors.length > 0 && heard.b === 5, 'the wake-up after reconnecting');
      expect(heard).toEqual({ a: 12, b: 5, b2: 1 });
      await orders.recordProgress(progress(b.orderId, 4, 'COMPENSATION_FAILED'));
      await until(() => heard.b === 6, 'a write heard on the new connection');

      const errorsBefore = errors.length;
      await events.close();
      expect((await listeners()).filter((pid) => !earlier.has(pid))).toEqual([]);
      await orders.recordProgress(progress(b.orderId, 5, 'FAILED'));
      await sleep(500);
      expect(heard.b).toBe(6);
      expect(errors).toHaveLength(errorsBefore);
    } finally {
      await events.close();
    }
  });

  test('when the database cannot be reached, then each attempt is reported and retried, waiting twice as long each time, until closed', async () => {
    const failedAt: number[] = [];
    const events = createOrderEvents('postgresql://postgres:postgres@127.0.0.1:1/order', () =>
      failedAt.push(Date.now()),
    );
    try {
      await until(() => failedAt.length >= 3, 'a third attempt');
      await events.close();
      const [first, second, third] = failedAt as [number, number, number];
      // 250 ms before the first retry, 500 ms before the second (a refused connection fails at once).
      expect(second - first).toBeGreaterThanOrEqual(240);
      expect(third - second).toBeGreaterThanOrEqual(490);
      expect(third - second).toBeLessThan(2_500);
      const attempts = failedAt.length;
      await sleep(1_200);
      expect(failedAt).toHaveLength(attempts);
    } finally {
      await events.close();
    }
  });

  test('when the helper is closed while an attempt hangs, then the attempt failing afterwards schedules no other', async () => {
    // A server that accepts connections and never answers: the attempt waits until the test drops it.
    const sockets: Socket[] = [];
    const server = createServer((socket) => sockets.push(socket));
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const { port } = server.address() as AddressInfo;
    const errors: Error[] = [];
    const events = createOrderEvents(`postgresql://postgres:postgres@127.0.0.1:${port}/order`, (error) =>
      errors.push(error),
    );
    try {
      await until(() => sockets.length === 1, 'the first attempt');
      await events.close();
      for (const socket of sockets) socket.destroy();
      await until(() => errors.length > 0, 'the failed attempt reported');
      await sleep(1_000);
      expect(sockets).toHaveLength(1);
    } finally {
      await events.close();
      for (const socket of sockets) socket.destroy();
      await new Promise((resolve) => server.close(resolve));
    }
  });

  test('when the helper is closed while it connects, then it stops listening and wakes nobody', async () => {
    const earlier = new Set(await listeners());
    const events = createOrderEvents(databaseUrl('order'));
    let heard = 0;
    events.subscribe(randomUUID(), () => (heard += 1));
    await events.close();
    await sleep(1_000);
    expect(heard).toBe(0);
    expect((await listeners()).filter((pid) => !earlier.has(pid))).toEqual([]);
  });
});

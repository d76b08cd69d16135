/**
 * The services' own rules against their real databases, called directly (no gateway, no Temporal): accounts and
 * passwords, coupon ownership and validity, admin edits of items and the order's idempotency key. Written for the
 * rules that mutation testing (docs/testing.md) found reached by no PostgreSQL-only test.
 */
import { randomUUID } from 'node:crypto';
import { BusinessRuleError } from '../../domain/failure-reasons';
import { connectCouponDb, connectItemDb, connectOrderDb, connectUserDb } from '../../lib/databases';
import { ServiceError } from '../../lib/errors';
import { DEFAULT_VALIDITY_DAYS, createCouponService } from '../../services/coupon';
import { createItemService } from '../../services/item';
import { createOrderService } from '../../services/order';
import { hashPassword, verifyPassword } from '../../services/passwords';
import { createUserService } from '../../services/user';
import { rejection, serviceError } from '../support/services';

const db = { user: connectUserDb(), coupon: connectCouponDb(), item: connectItemDb(), order: connectOrderDb() };
const users = createUserService(db.user);
const items = createItemService(db.item);
const orders = createOrderService(db.order);

afterAll(async () => {
  await Promise.all(Object.values(db).map((client) => client.$disconnect()));
});

const DAY_MS = 24 * 60 * 60 * 1000;
const unique = () => randomUUID().slice(0, 8);

async function ruleBroken(promise: Promise<unknown>): Promise<BusinessRuleError> {
  const error = await rejection(promise);
  expect(error).toBeInstanceOf(BusinessRuleError);
  return error as BusinessRuleError;
}

describe('passwords', () => {
  test('when a password is hashed, then the encoding names scrypt and its cost, and only that password verifies', async () => {
    const encoded = await hashPassword('correct horse');
    expect(encoded).toMatch(/^scrypt\$16384\$8\$5\$[A-Za-z0-9+/=]{24}\$[A-Za-z0-9+/=]{44}$/);
    expect(await verifyPassword('correct horse', encoded)).toBe(true);
    expect(await verifyPassword('correct horsE', encoded)).toBe(false);
    // A second hash of the same password has its own salt.
    expect(await hashPassword('correct horse')).not.toBe(encoded);
  });

  test('when the stored encoding is not a complete scrypt one, then no password verifies', async () => {
    const [, n, r, p, salt, hash] = (await hashPassword('pw')).split('$');
    for (const broken of [
      ['bcrypt', n, r, p, salt, hash],
      ['scrypt', '', r, p, salt, hash],
      ['scrypt', n, '', p, salt, hash],
      ['scrypt', n, r, '', salt, hash],
      ['scrypt', n, r, p, '', hash],
      ['scrypt', n, r, p, salt, ''],
      ['scrypt', n, r, p, salt],
      // A hash of another length never matches, whatever its first bytes.
      ['scrypt', n, r, p, salt, Buffer.from(hash!, 'base64').subarray(0, 16).toString('base64')],
    ]) {
      expect(await verifyPassword('pw', broken.join('$'))).toBe(false);
    }
  });
});

describe('accounts', () => {
  test('when a customer registers, then the email is stored in lower case, the role is CUSTOMER and no hash is returned', async () => {
    const email = `Rules-${unique()}@Example.com`;
    const user = await users.register({ email, password: 'pw-1', name: '김민수', address: '서울' });
    expect(user).toEqual({
      id: expect.any(Number),
      email: email.toLowerCase(),
      name: '김민수',
      address: '서울',
      role: 'CUSTOMER',
    });
    expect(await users.getUser(user.id)).toEqual(user);
    expect(await users.findByEmail(email.toUpperCase())).toEqual(user);
    expect(await users.getUser(user.id + 1_000_000)).toBeNull();
  });

  test('when an admin account is created, then it keeps the ADMIN role', async () => {
    const admin = await users.register({
      email: `admin-${unique()}@example.com`,
      password: 'pw',
      name: 'admin',
      address: '-',
      role: 'ADMIN',
    });
    expect(admin.role).toBe('ADMIN');
  });

  test('when an email is registered twice, in any case, then the second is DUPLICATE', async () => {
    const email = `twice-${unique()}@example.com`;
    await users.register({ email, password: 'pw', name: 'a', address: '-' });
    const error = await serviceError(
      users.register({ email: email.toUpperCase(), password: 'pw', name: 'b', address: '-' }),
    );
    expect(error.code).toBe('DUPLICATE');
    expect(error.message).toBe('an account with that email exists');
  });

  test('when credentials are checked, then only the right password logs in and a failure does not say which part was wrong', async () => {
    const email = `login-${unique()}@example.com`;
    const user = await users.register({ email, password: 'right', name: '이서연', address: '부산' });
    expect(await users.authenticate(email.toUpperCase(), 'right')).toEqual(user);
    const wrongPassword = await serviceError(users.authenticate(email, 'wrong'));
    const unknownEmail = await serviceError(users.authenticate(`nobody-${unique()}@example.com`, 'right'));
    for (const error of [wrongPassword, unknownEmail]) {
      expect(error.code).toBe('INVALID_CREDENTIALS');
      expect(error.message).toBe('wrong email or password');
    }
  });
});

describe('coupons', () => {
  const at = new Date('2030-06-15T12:00:00Z');
  const coupons = createCouponService(db.coupon, () => at);

  async function issued(ownerId: number, terms: { type: 'FIXED' | 'RATIO'; amount: number }, validity = {}) {
    const coupon = await coupons.createCoupon({
      name: `rules ${unique()}`,
      type: terms.type,
      ...(terms.type === 'FIXED' ? { discountAmount: terms.amount } : { discountPercent: terms.amount }),
      ...validity,
    });
    return { coupon, ...(await coupons.issueCoupon(coupon.id, ownerId)) };
  }

  test('when a coupon is created without dates, then it is valid from now for the default number of days', async () => {
    const { coupon } = await issued(1, { type: 'FIXED', amount: 1_000 });
    expect(coupon).toMatchObject({ type: 'FIXED', discountAmount: 1_000, discountPercent: null, validFrom: at });
    expect(coupon.validUntil.getTime() - at.getTime()).toBe(DEFAULT_VALIDITY_DAYS * DAY_MS);
    const { coupon: ratio } = await issued(1, { type: 'RATIO', amount: 15 });
    expect(ratio).toMatchObject({ type: 'RATIO', discountAmount: null, discountPercent: 15 });
    const listed = await coupons.listCoupons();
    // Exactly the coupon's terms, nothing of its bookkeeping, in id order.
    expect(listed.find(({ id }) => id === coupon.id)).toEqual(coupon);
    expect(listed.find(({ id }) => id === ratio.id)).toEqual(ratio);
    expect(listed.map(({ id }) => id)).toEqual(listed.map(({ id }) => id).sort((a, b) => a - b));
  });

  test('when a coupon is created with terms of both kinds, then it keeps only those of its type', async () => {
    const both = { discountAmount: 500, discountPercent: 10 };
    const fixed = await coupons.createCoupon({ name: `both ${unique()}`, type: 'FIXED', ...both });
    const ratio = await coupons.createCoupon({ name: `both ${unique()}`, type: 'RATIO', ...both });
    expect(fixed).toMatchObject({ discountAmount: 500, discountPercent: null });
    expect(ratio).toMatchObject({ discountAmount: null, discountPercent: 10 });
  });

  test('when a coupon would end before it starts, or at the same moment, then it is VALIDATION_FAILED', async () => {
    for (const validUntil of [at, new Date(at.getTime() - 1)]) {
      const error = await serviceError(
        coupons.createCoupon({ name: 'never valid', type: 'FIXED', discountAmount: 1, validFrom: at, validUntil }),
      );
      expect(error).toMatchObject({ code: 'VALIDATION_FAILED', message: 'validUntil must be after validFrom' });
    }
  });

  test('when a coupon that does not exist is issued, then it is NOT_FOUND', async () => {
    const error = await serviceError(coupons.issueCoupon(2_000_000_000, 1));
    expect(error).toMatchObject({ code: 'NOT_FOUND', message: 'coupon 2000000000 does not exist' });
  });

  test("when a customer's coupons are listed, then each shows its terms and whether an order used it", async () => {
    const ownerId = 900_000 + Math.floor(Math.random() * 90_000);
    const fixed = await issued(ownerId, { type: 'FIXED', amount: 3_000 });
    const ratio = await issued(ownerId, { type: 'RATIO', amount: 15 });
    const orderId = randomUUID();
    await coupons.redeemCoupons(orderId, ownerId, [
      { itemId: 1, quantity: 1, unitPrice: 10_000, discountedUnitPrice: 7_000, userCouponIds: [fixed.userCouponId] },
    ]);
    expect(await coupons.couponsOf(ownerId)).toEqual([
      {
        id: fixed.userCouponId,
        couponId: fixed.coupon.id,
        name: fixed.coupon.name,
        type: 'FIXED',
        discountAmount: 3_000,
        discountPercent: null,
        validFrom: fixed.coupon.validFrom,
        validUntil: fixed.coupon.validUntil,
        used: true,
        usedByOrderId: orderId,
      },
      expect.objectContaining({
        id: ratio.userCouponId,
        type: 'RATIO',
        discountPercent: 15,
        used: false,
        usedByOrderId: null,
      }),
    ]);
  });

  test('when an order lists an item on two lines, then redeeming its coupons leaves that rule to the item service', async () => {
    // The gateway and the item step reject a duplicate item; the coupon step checks only the coupon rules.
    const ownerId = 750_000 + Math.floor(Math.random() * 40_000);
    const fixed = await issued(ownerId, { type: 'FIXED', amount: 1_000 });
    const lines = [
      { itemId: 3, quantity: 1, unitPrice: 10_000, discountedUnitPrice: 9_000, userCouponIds: [fixed.userCouponId] },
      { itemId: 3, quantity: 1, unitPrice: 10_000, discountedUnitPrice: 10_000, userCouponIds: [] },
    ];
    expect(await coupons.redeemCoupons(randomUUID(), ownerId, lines)).toEqual({ userCouponIds: [fixed.userCouponId] });
  });

  test('when the client computed another discounted price, then redeeming fails DISCOUNT_MISMATCH with both prices', async () => {
    const ownerId = 760_000 + Math.floor(Math.random() * 40_000);
    const fixed = await issued(ownerId, { type: 'FIXED', amount: 1_000 });
    const line = {
      itemId: 1,
      quantity: 1,
      unitPrice: 10_000,
      discountedUnitPrice: 8_000,
      userCouponIds: [fixed.userCouponId],
    };
    const error = await ruleBroken(coupons.redeemCoupons(randomUUID(), ownerId, [line]));
    expect(error).toMatchObject({
      reason: 'DISCOUNT_MISMATCH',
      message: 'line 0: the discounted unit price is 9000, the order says 8000',
    });
    expect((await coupons.couponsOf(ownerId))[0]!.used).toBe(false);
  });

  test("when one order's coupons are restored, then another order's coupons stay used", async () => {
    const ownerId = 770_000 + Math.floor(Math.random() * 20_000);
    const [first, second] = [
      await issued(ownerId, { type: 'FIXED', amount: 100 }),
      await issued(ownerId, { type: 'FIXED', amount: 100 }),
    ];
    const [undone, kept] = [randomUUID(), randomUUID()];
    for (const [orderId, coupon] of [
      [undone, first],
      [kept, second],
    ] as const) {
      await coupons.redeemCoupons(orderId, ownerId, [
        { itemId: 1, quantity: 1, unitPrice: 1_000, discountedUnitPrice: 900, userCouponIds: [coupon.userCouponId] },
      ]);
    }
    expect(await coupons.restoreCoupons(undone)).toEqual({ undone: true });
    expect((await coupons.couponsOf(ownerId)).map(({ used, usedByOrderId }) => ({ used, usedByOrderId }))).toEqual([
      { used: false, usedByOrderId: null },
      { used: true, usedByOrderId: kept },
    ]);
  });

  test('when a price is quoted, then the coupons apply by the domain rules and nothing is redeemed', async () => {
    const ownerId = 800_000 + Math.floor(Math.random() * 90_000);
    const fixed = await issued(ownerId, { type: 'FIXED', amount: 3_000 });
    const ratio = await issued(ownerId, { type: 'RATIO', amount: 15 });
    expect(await coupons.quote(ownerId, 49_800, [])).toBe(49_800);
    expect(await coupons.quote(ownerId, 49_800, [ratio.userCouponId, fixed.userCouponId])).toBe(39_780);
    expect((await coupons.couponsOf(ownerId)).every((coupon) => !coupon.used)).toBe(true);
  });

  test('when a quote breaks a coupon rule, then it fails with that reason and a message naming the coupon', async () => {
    const ownerId = 700_000 + Math.floor(Math.random() * 90_000);
    const mine = await issued(ownerId, { type: 'FIXED', amount: 100 });
    const theirs = await issued(ownerId + 1, { type: 'FIXED', amount: 100 });
    const early = await issued(ownerId, { type: 'FIXED', amount: 100 }, { validFrom: new Date(at.getTime() + 1) });
    const late = await issued(
      ownerId,
      { type: 'FIXED', amount: 100 },
      { validFrom: new Date(at.getTime() - DAY_MS), validUntil: new Date(at.getTime() - 1) },
    );
    const used = await issued(ownerId, { type: 'FIXED', amount: 100 });
    await coupons.redeemCoupons(randomUUID(), ownerId, [
      { itemId: 1, quantity: 1, unitPrice: 1_000, discountedUnitPrice: 900, userCouponIds: [used.userCouponId] },
    ]);

    const cases: [number[], string, string][] = [
      // A quote reads only the customer's own coupons, so it cannot tell a missing coupon from someone else's.
      [[2_000_000_000], 'COUPON_NOT_FOUND', 'coupon 2000000000 is not one of yours'],
      [[theirs.userCouponId], 'COUPON_NOT_FOUND', `coupon ${theirs.userCouponId} is not one of yours`],
      [[used.userCouponId], 'COUPON_ALREADY_USED', `coupon ${used.userCouponId} was already used`],
      [[early.userCouponId], 'COUPON_EXPIRED', `coupon ${early.userCouponId} is valid from `],
      [[late.userCouponId], 'COUPON_EXPIRED', `coupon ${late.userCouponId} is valid from `],
      [
        [mine.userCouponId, mine.userCouponId],
        'COUPON_POLICY_VIOLATION',
        'line 0: a coupon is listed twice on one line',
      ],
    ];
    for (const [ids, reason, message] of cases) {
      const error = await ruleBroken(coupons.quote(ownerId, 1_000, ids));
      expect(error.reason).toBe(reason);
      expect(error.message.startsWith(message)).toBe(true);
    }
    // A coupon valid exactly at its first and last moment is usable then.
    const edge = await issued(
      ownerId,
      { type: 'FIXED', amount: 100 },
      { validFrom: at, validUntil: new Date(at.getTime() + 1) },
    );
    expect(await coupons.quote(ownerId, 1_000, [edge.userCouponId])).toBe(900);
    const lastMoment = await issued(
      ownerId,
      { type: 'FIXED', amount: 100 },
      { validFrom: new Date(at.getTime() - 1), validUntil: at },
    );
    expect(await coupons.quote(ownerId, 1_000, [lastMoment.userCouponId])).toBe(900);
  });
});

describe('items', () => {
  const anItem = () => items.createItem({ name: `rules item ${unique()}`, size: 'L', price: 12_000, stockQuantity: 3 });

  test('when an item with the same name and size is created again, then it is DUPLICATE and names them', async () => {
    const item = await anItem();
    const error = await serviceError(items.createItem({ name: item.name, size: 'L', price: 1, stockQuantity: 1 }));
    expect(error).toMatchObject({ code: 'DUPLICATE', message: `an item named "${item.name}" in size "L" exists` });
  });

  test('when items are listed by id, then only those come back, in id order; without ids, all of them', async () => {
    const [first, second, third] = [await anItem(), await anItem(), await anItem()];
    expect((await items.listItems([third.id, first.id])).map(({ id }) => id)).toEqual([first.id, third.id]);
    const all = (await items.listItems()).map(({ id }) => id);
    expect(all).toEqual(expect.arrayContaining([first.id, second.id, third.id]));
    expect(all).toEqual([...all].sort((a, b) => a - b));
  });

  test('when an admin edits an item, then only an edit at the current version applies, and it bumps the version', async () => {
    const item = await anItem();
    const edited = await items.updateItem(item.id, { version: item.version, price: 13_000 });
    expect(edited).toMatchObject({ id: item.id, price: 13_000, version: item.version + 1, stockQuantity: 3 });
    const stale = await serviceError(items.updateItem(item.id, { version: item.version, price: 14_000 }));
    expect(stale).toMatchObject({
      code: 'STALE_VERSION',
      message: `item ${item.id} changed since version ${item.version}; read it again`,
    });
    expect((await items.getItem(item.id))!.price).toBe(13_000);
    const missing = await serviceError(items.updateItem(2_000_000_000, { version: 0, price: 1 }));
    expect(missing).toMatchObject({ code: 'NOT_FOUND', message: 'item 2000000000 does not exist' });
  });

  test('when an edit would give an item the name and size of another, then it is DUPLICATE', async () => {
    const [taken, renamed] = [await anItem(), await anItem()];
    const error = await serviceError(items.updateItem(renamed.id, { version: renamed.version, name: taken.name }));
    expect(error).toMatchObject({ code: 'DUPLICATE', message: 'another item has that name and size' });
  });
});

describe('orders', () => {
  const line = { itemId: 1, quantity: 2, unitPrice: 10_000, discountedUnitPrice: 9_000, userCouponIds: [] };
  const newOrder = (customerId: number, extra: { idempotencyKey?: string; requestFingerprint?: string } = {}) => {
    const orderId = randomUUID();
    return { orderId, workflowId: `order-${orderId}`, customerId, lines: [line], ...extra };
  };

  test('when a request is repeated with its Idempotency-Key, then the first order comes back; a different request is a conflict', async () => {
    const customerId = 600_000 + Math.floor(Math.random() * 90_000);
    const idempotencyKey = randomUUID();
    const first = await orders.createOrder(newOrder(customerId, { idempotencyKey, requestFingerprint: 'a' }));
    expect(first).toMatchObject({ created: true, order: { status: 'PENDING', totalPrice: 18_000 } });
    const again = await orders.createOrder(newOrder(customerId, { idempotencyKey, requestFingerprint: 'a' }));
    expect(again).toEqual({ created: false, order: first.order });
    const conflict = await serviceError(
      orders.createOrder(newOrder(customerId, { idempotencyKey, requestFingerprint: 'b' })),
    );
    expect(conflict).toMatchObject({
      code: 'IDEMPOTENCY_CONFLICT',
      message: 'this Idempotency-Key was used for a different request',
    });
    // The same key from another customer is another order.
    expect(
      (await orders.createOrder(newOrder(customerId + 1, { idempotencyKey, requestFingerprint: 'b' }))).created,
    ).toBe(true);
  });

  test('when the same order id is created twice without a key, then the database refuses it', async () => {
    const order = newOrder(1);
    await orders.createOrder(order);
    await expect(orders.createOrder(order)).rejects.not.toBeInstanceOf(ServiceError);
  });

  test("when a customer's orders are listed, then they are theirs only, newest first, up to the limit", async () => {
    const customerId = 500_000 + Math.floor(Math.random() * 90_000);
    const created = [];
    for (let index = 0; index < 3; index += 1) created.push((await orders.createOrder(newOrder(customerId))).order);
    await orders.createOrder(newOrder(customerId + 1));
    const listed = await orders.listOrders(customerId);
    expect(listed.map(({ orderId }) => orderId).sort()).toEqual(created.map(({ orderId }) => orderId).sort());
    // Newest first; orders created in the same millisecond come by id, so the order never depends on chance.
    const newestFirst = [...listed].sort(
      (a, b) => b.createdAt.localeCompare(a.createdAt) || b.orderId.localeCompare(a.orderId),
    );
    expect(listed).toEqual(newestFirst);
    expect(listed[0]!.createdAt >= listed[2]!.createdAt).toBe(true);
    expect((await orders.listOrders(customerId, 2)).map(({ orderId }) => orderId)).toEqual(
      listed.slice(0, 2).map(({ orderId }) => orderId),
    );
  });
});

/** Coupons through the real gateway: the catalog, admin creation and issuing, the caller's coupons, quotes. */
import { aCouponFor, aUser, anItem, request, type TestUser } from '../support/fixtures';
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

const DAY_MS = 24 * 60 * 60 * 1000;

describe('GET /coupons', () => {
  test('when anyone lists coupons, then 200 with the seed coupons, each with only its own kind of discount', async () => {
    const response = await request(system, 'GET', '/coupons');

    expect(response.status).toBe(200);
    const [fixed, ratio] = response.body.coupons;
    expect(fixed).toEqual({
      id: expect.any(Number),
      name: '첫 가입 3,000원 할인 쿠폰',
      type: 'FIXED',
      discountAmount: 3000,
      validFrom: expect.any(String),
      validUntil: expect.any(String),
    });
    expect(ratio).toMatchObject({ type: 'RATIO', discountPercent: 15 });
    expect(ratio).not.toHaveProperty('discountAmount');
  });
});

describe('POST /coupons', () => {
  test('when an admin creates a FIXED coupon without a period, then 201 and it is valid for 30 days', async () => {
    const response = await request(system, 'POST', '/coupons', {
      token: admin.token,
      body: { name: '봄맞이 1,000원', type: 'FIXED', discountAmount: 1000 },
    });

    expect(response.status).toBe(201);
    const listed = (await request(system, 'GET', '/coupons')).body.coupons.find(
      (coupon: any) => coupon.id === response.body.id,
    );
    expect(listed).toMatchObject({ type: 'FIXED', discountAmount: 1000 });
    expect(Date.parse(listed.validUntil) - Date.parse(listed.validFrom)).toBe(30 * DAY_MS);
  });

  test('when an admin creates a RATIO coupon with a period, then 201 with that period', async () => {
    const validFrom = '2030-01-01T00:00:00.000Z';
    const validUntil = '2030-02-01T00:00:00.000Z';

    const response = await request(system, 'POST', '/coupons', {
      token: admin.token,
      body: { name: '새해 10%', type: 'RATIO', discountPercent: 10, validFrom, validUntil },
    });

    expect(response.status).toBe(201);
    const listed = (await request(system, 'GET', '/coupons')).body.coupons.find(
      (coupon: any) => coupon.id === response.body.id,
    );
    expect(listed).toMatchObject({ discountPercent: 10, validFrom, validUntil });
  });

  test('when the percent is outside 5..95 or a FIXED coupon carries a percent, then 400', async () => {
    const ratio = await request(system, 'POST', '/coupons', {
      token: admin.token,
      body: { name: 'too much', type: 'RATIO', discountPercent: 96 },
    });
    const mixed = await request(system, 'POST', '/coupons', {
      token: admin.token,
      body: { name: 'mixed', type: 'FIXED', discountAmount: 100, discountPercent: 10 },
    });

    expectProblem(ratio, 400, 'VALIDATION_FAILED');
    expect(fieldPaths(ratio)).toEqual(['body.discountPercent']);
    expectProblem(mixed, 400, 'VALIDATION_FAILED');
  });

  test('when a period bound is not an ISO date-time with a zone, then 400 naming it', async () => {
    const response = await request(system, 'POST', '/coupons', {
      token: admin.token,
      body: { name: 'vague', type: 'FIXED', discountAmount: 100, validFrom: null, validUntil: 'next month' },
    });

    expectProblem(response, 400, 'VALIDATION_FAILED');
    expect(fieldPaths(response).sort()).toEqual(['body.validFrom', 'body.validUntil']);
  });

  test('when the period ends before it starts, then 422', async () => {
    const response = await request(system, 'POST', '/coupons', {
      token: admin.token,
      body: {
        name: 'backwards',
        type: 'FIXED',
        discountAmount: 100,
        validFrom: '2030-02-01T00:00:00Z',
        validUntil: '2030-01-01T00:00:00Z',
      },
    });

    expectProblem(response, 422, 'VALIDATION_FAILED');
  });

  test('when a customer creates a coupon, then 403', async () => {
    const response = await request(system, 'POST', '/coupons', {
      token: customer.token,
      body: { name: 'free money', type: 'FIXED', discountAmount: 1000 },
    });

    expectProblem(response, 403, 'FORBIDDEN');
  });
});

describe('POST /coupons/:id/issue and GET /coupons/mine', () => {
  test('when an admin issues a coupon to a customer, then 201 and it shows unused in their coupons', async () => {
    const holder = await aUser(system);
    const created = await request(system, 'POST', '/coupons', {
      token: admin.token,
      body: { name: '감사 쿠폰', type: 'RATIO', discountPercent: 20 },
    });

    const issued = await request(system, 'POST', `/coupons/${created.body.id}/issue`, {
      token: admin.token,
      body: { userId: holder.id },
    });

    expect(issued.status).toBe(201);
    expect(issued.body).toEqual({ userCouponId: expect.any(Number) });
    const mine = await request(system, 'GET', '/coupons/mine', { token: holder.token });
    expect(mine.status).toBe(200);
    expect(mine.body.userCoupons).toEqual([
      {
        id: issued.body.userCouponId,
        couponId: created.body.id,
        name: '감사 쿠폰',
        type: 'RATIO',
        discountPercent: 20,
        validFrom: expect.any(String),
        validUntil: expect.any(String),
        used: false,
        usedByOrderId: null,
      },
    ]);
  });

  test('when the coupon or the user does not exist, then 404', async () => {
    const noCoupon = await request(system, 'POST', '/coupons/999999/issue', {
      token: admin.token,
      body: { userId: customer.id },
    });
    const noUser = await request(system, 'POST', '/coupons/1/issue', {
      token: admin.token,
      body: { userId: 999_999 },
    });

    const notFound = { status: 404, code: 'NOT_FOUND', title: 'Not found' };
    expectExactProblem(noCoupon, { ...notFound, detail: 'coupon 999999 does not exist' });
    expectExactProblem(noUser, { ...notFound, detail: 'user 999999 does not exist' });
  });

  test('when a customer issues a coupon to themselves, then 403', async () => {
    const response = await request(system, 'POST', '/coupons/1/issue', {
      token: customer.token,
      body: { userId: customer.id },
    });

    expectProblem(response, 403, 'FORBIDDEN');
  });

  test('when nobody is logged in, then GET /coupons/mine is 401', async () => {
    expectProblem(await request(system, 'GET', '/coupons/mine'), 401, 'UNAUTHORIZED');
  });
});

describe('POST /coupons/quote', () => {
  test('when a FIXED 3000 and a RATIO 15% coupon price a 49800 item, then 200 with 39780', async () => {
    const item = await anItem(system, { price: 49_800 });
    const fixed = await aCouponFor(system, customer.id, { type: 'FIXED', discountAmount: 3000 });
    const ratio = await aCouponFor(system, customer.id, { type: 'RATIO', discountPercent: 15 });

    const response = await request(system, 'POST', '/coupons/quote', {
      token: customer.token,
      body: { itemId: item.id, userCouponIds: [ratio, fixed] },
    });

    expect(response.status).toBe(200);
    expect(response.body).toEqual({ itemId: item.id, price: 49_800, discountedPrice: 39_780 });
  });

  test('when a FIXED coupon would take more than half the price, then 422 COUPON_POLICY_VIOLATION', async () => {
    const item = await anItem(system, { price: 10_000 });
    const fixed = await aCouponFor(system, customer.id, { type: 'FIXED', discountAmount: 6000 });

    const response = await request(system, 'POST', '/coupons/quote', {
      token: customer.token,
      body: { itemId: item.id, userCouponIds: [fixed] },
    });

    expectProblem(response, 422, 'COUPON_POLICY_VIOLATION');
  });

  test('when three coupons are used on one unit, then 422 COUPON_POLICY_VIOLATION', async () => {
    const item = await anItem(system, { price: 10_000 });
    const coupons = await Promise.all(
      [100, 200, 300].map((discountAmount) => aCouponFor(system, customer.id, { type: 'FIXED', discountAmount })),
    );

    const response = await request(system, 'POST', '/coupons/quote', {
      token: customer.token,
      body: { itemId: item.id, userCouponIds: coupons },
    });

    expectProblem(response, 422, 'COUPON_POLICY_VIOLATION');
  });

  test("when the coupon is someone else's, missing or expired, then 422 with that rule's code; someone else's reads as not found", async () => {
    const item = await anItem(system, { price: 10_000 });
    const other = await aUser(system);
    const othersCoupon = await aCouponFor(system, other.id, { type: 'FIXED', discountAmount: 100 });
    const expired = await aCouponFor(system, customer.id, {
      type: 'FIXED',
      discountAmount: 100,
      validFrom: new Date(Date.now() - 10 * DAY_MS),
      validUntil: new Date(Date.now() - DAY_MS),
    });

    const quote = (userCouponId: number) =>
      request(system, 'POST', '/coupons/quote', {
        token: customer.token,
        body: { itemId: item.id, userCouponIds: [userCouponId] },
      });

    // The quote reads only the caller's coupons, so it cannot tell that this one belongs to somebody.
    expectProblem(await quote(othersCoupon), 422, 'COUPON_NOT_FOUND');
    expectProblem(await quote(expired), 422, 'COUPON_EXPIRED');
    expectProblem(await quote(999_999), 422, 'COUPON_NOT_FOUND');
  });

  test('when an order holds the row lock of the coupon, then the quote still answers at once (it takes no locks)', async () => {
    const item = await anItem(system, { price: 10_000 });
    const fixed = await aCouponFor(system, customer.id, { type: 'FIXED', discountAmount: 1000 });

    // A redemption in progress holds the coupon's row lock; a locking quote would wait for it (5 s lock wait).
    const { response, elapsedMs } = await system.db.coupon.$transaction(
      async (tx) => {
        await tx.$queryRaw`SELECT id FROM user_coupons WHERE id = ${fixed} FOR UPDATE`;
        const started = Date.now();
        const answered = await request(system, 'POST', '/coupons/quote', {
          token: customer.token,
          body: { itemId: item.id, userCouponIds: [fixed] },
        });
        return { response: answered, elapsedMs: Date.now() - started };
      },
      { timeout: 15_000 },
    );

    expect(response.status).toBe(200);
    expect(response.body).toEqual({ itemId: item.id, price: 10_000, discountedPrice: 9_000 });
    expect(elapsedMs).toBeLessThan(2_000);
  });

  test('when the item does not exist, then 404', async () => {
    const response = await request(system, 'POST', '/coupons/quote', {
      token: customer.token,
      body: { itemId: 999_999, userCouponIds: [] },
    });

    expectExactProblem(response, {
      status: 404,
      code: 'NOT_FOUND',
      title: 'Not found',
      detail: 'item 999999 does not exist',
    });
  });

  test('when nobody is logged in, then 401', async () => {
    const response = await request(system, 'POST', '/coupons/quote', { body: { itemId: 1, userCouponIds: [] } });

    expectProblem(response, 401, 'UNAUTHORIZED');
  });
});

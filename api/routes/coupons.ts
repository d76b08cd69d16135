/** Coupons: the catalog of coupons, admin creation and issuing, the caller's coupons and price quotes. */
import { z } from 'zod';
import { MAX_DISCOUNT_PERCENT, MIN_DISCOUNT_PERCENT } from '../../domain/coupons';
import type { CouponService } from '../../services/coupon';
import type { ItemService } from '../../services/item';
import type { UserService } from '../../services/user';
import { IdParams, ProblemSchema, defineRoute, type RouteContext } from '../http';
import { CouponSchema, IdSchema, MoneySchema, UserCouponSchema } from './schemas';

/** An ISO 8601 date-time with a zone (`Z` or an offset), e.g. `2030-01-01T00:00:00Z`. */
const Timestamp = z.iso
  .datetime({ offset: true })
  .transform((value) => new Date(value))
  .openapi({ example: '2030-01-01T00:00:00Z' });

const NewCoupon = z
  .discriminatedUnion('type', [
    z
      .object({
        name: z.string().trim().min(1).max(200),
        type: z.literal('FIXED'),
        discountAmount: MoneySchema,
        validFrom: Timestamp.optional(),
        validUntil: Timestamp.optional(),
      })
      .strict(),
    z
      .object({
        name: z.string().trim().min(1).max(200),
        type: z.literal('RATIO'),
        discountPercent: z.number().int().min(MIN_DISCOUNT_PERCENT).max(MAX_DISCOUNT_PERCENT),
        validFrom: Timestamp.optional(),
        validUntil: Timestamp.optional(),
      })
      .strict(),
  ])
  .openapi('NewCoupon');
const Quote = z
  .object({ itemId: IdSchema, userCouponIds: z.array(IdSchema).max(10) })
  .strict()
  .openapi('QuoteRequest');

function withoutNulls<
  T extends { discountAmount: number | null; discountPercent: number | null; validFrom: Date; validUntil: Date },
>(coupon: T) {
  const { discountAmount, discountPercent, validFrom, validUntil, ...rest } = coupon;
  return {
    ...rest,
    ...(discountAmount !== null ? { discountAmount } : {}),
    ...(discountPercent !== null ? { discountPercent } : {}),
    validFrom: validFrom.toISOString(),
    validUntil: validUntil.toISOString(),
  };
}

export function couponRoutes(
  context: RouteContext,
  services: { coupons: CouponService; items: ItemService; users: UserService },
): void {
  const { coupons, items, users } = services;

  defineRoute(
    context,
    {
      method: 'get',
      path: '/coupons',
      summary: 'List coupon definitions',
      tag: 'coupons',
      access: 'public',
      responses: { 200: { description: 'Coupons', schema: z.object({ coupons: z.array(CouponSchema) }) } },
    },
    async (_request, res) => {
      res.json({ coupons: (await coupons.listCoupons()).map(withoutNulls) });
    },
  );

  defineRoute(
    context,
    {
      method: 'post',
      path: '/coupons',
      summary: 'Create a coupon (admin); valid for 30 days from now unless a period is given',
      tag: 'coupons',
      access: 'admin',
      body: NewCoupon,
      responses: {
        201: { description: 'Created', schema: z.object({ id: IdSchema }) },
        422: { description: 'Invalid period', schema: ProblemSchema },
      },
    },
    async ({ body }, res) => {
      const coupon = await coupons.createCoupon(body);
      res.status(201).json({ id: coupon.id });
    },
  );

  defineRoute(
    context,
    {
      method: 'post',
      path: '/coupons/:id/issue',
      summary: 'Issue a coupon to a user (admin)',
      tag: 'coupons',
      access: 'admin',
      params: IdParams,
      body: z.object({ userId: IdSchema }).strict(),
      responses: {
        201: { description: 'Issued', schema: z.object({ userCouponId: IdSchema }) },
        404: { description: 'No such coupon or user', schema: ProblemSchema },
      },
    },
    async ({ params, body }, res) => {
      await users.requireUser(body.userId);
      res.status(201).json(await coupons.issueCoupon(params.id, body.userId));
    },
  );

  defineRoute(
    context,
    {
      method: 'get',
      path: '/coupons/mine',
      summary: "The caller's coupons, used or not",
      tag: 'coupons',
      access: 'user',
      responses: { 200: { description: 'Coupons', schema: z.object({ userCoupons: z.array(UserCouponSchema) }) } },
    },
    async ({ user }, res) => {
      res.json({ userCoupons: (await coupons.couponsOf(user.id)).map(withoutNulls) });
    },
  );

  defineRoute(
    context,
    {
      method: 'post',
      path: '/coupons/quote',
      summary: 'Price one unit of an item with coupons, by the rules the order saga applies',
      tag: 'coupons',
      access: 'user',
      body: Quote,
      responses: {
        200: {
          description: 'Quote',
          schema: z.object({ itemId: IdSchema, price: MoneySchema, discountedPrice: MoneySchema }),
        },
        404: { description: 'No such item', schema: ProblemSchema },
        422: { description: 'A coupon rule is broken', schema: ProblemSchema },
      },
    },
    async ({ body, user }, res) => {
      const item = await items.requireItem(body.itemId);
      const discountedPrice = await coupons.quote(user.id, item.price, body.userCouponIds);
      res.json({ itemId: item.id, price: item.price, discountedPrice });
    },
  );
}

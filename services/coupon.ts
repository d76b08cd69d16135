/** Coupon service: coupon definitions, coupons issued to users and per-order redemptions. Sole owner of the coupon database. */
import { applyCoupons, type CouponTerms, type CouponType } from '../domain/coupons';
import { BusinessRuleError, FailureReason } from '../domain/failure-reasons';
import { findLineRuleViolations, type OrderLineInput } from '../domain/order';
import type { CouponDb } from '../lib/databases';
import { OrderAlreadyUndoneError, ServiceError, notFound } from '../lib/errors';

export const DEFAULT_VALIDITY_DAYS = 30;
const DAY_MS = 24 * 60 * 60 * 1000;

export interface Coupon {
  id: number;
  name: string;
  type: CouponType;
  discountAmount: number | null;
  discountPercent: number | null;
  validFrom: Date;
  validUntil: Date;
}

export interface NewCoupon {
  name: string;
  type: CouponType;
  discountAmount?: number;
  discountPercent?: number;
  validFrom?: Date;
  validUntil?: Date;
}

export interface UserCouponView {
  id: number;
  couponId: number;
  name: string;
  type: CouponType;
  discountAmount: number | null;
  discountPercent: number | null;
  validFrom: Date;
  validUntil: Date;
  used: boolean;
  usedByOrderId: string | null;
}

type CouponLine = Pick<OrderLineInput, 'itemId' | 'quantity' | 'unitPrice' | 'discountedUnitPrice' | 'userCouponIds'>;

const couponFields = {
  id: true,
  name: true,
  type: true,
  discountAmount: true,
  discountPercent: true,
  validFrom: true,
  validUntil: true,
} as const;

function termsOf(coupon: Pick<Coupon, 'type' | 'discountAmount' | 'discountPercent'>): CouponTerms {
  return coupon.type === 'FIXED'
    ? { type: 'FIXED', discountAmount: coupon.discountAmount ?? 0 }
    : { type: 'RATIO', discountPercent: coupon.discountPercent ?? 0 };
}

/** A coupon issued to a user, joined with its terms, as the usability checks read it. */
interface IssuedCouponRow {
  id: number;
  user_id: number;
  used_by_order_id: string | null;
  type: 'FIXED' | 'RATIO';
  discount_amount: number | null;
  discount_percent: number | null;
  valid_from: Date;
  valid_until: Date;
}

export function createCouponService(db: CouponDb, now: () => Date = () => new Date()) {
  /**
   * The rows of an order's coupons, locked: the lock serialises orders racing for the same coupon. Reads every
   * listed coupon, the customer's or not, so that a coupon of another customer is refused as COUPON_NOT_OWNED.
   */
  function lockedCoupons(tx: Pick<CouponDb, '$queryRaw'>, userCouponIds: number[]): Promise<IssuedCouponRow[]> {
    return tx.$queryRaw<IssuedCouponRow[]>`
      SELECT uc.id, uc.user_id, uc.used_by_order_id, c.type::text AS type, c.discount_amount, c.discount_percent,
             c.valid_from, c.valid_until
      FROM user_coupons uc JOIN coupons c ON c.id = uc.coupon_id
      WHERE uc.id = ANY(${userCouponIds}::int[])
      ORDER BY uc.id
      FOR UPDATE OF uc`;
  }

  /**
   * The customer's own coupons among the listed ones, without a lock: a quote changes nothing, so it must not
   * wait for (or hold up) an order redeeming the coupon, nor read or lock another customer's coupons.
   */
  function ownCoupons(customerId: number, userCouponIds: number[]): Promise<IssuedCouponRow[]> {
    return db.$queryRaw<IssuedCouponRow[]>`
      SELECT uc.id, uc.user_id, uc.used_by_order_id, c.type::text AS type, c.discount_amount, c.discount_percent,
             c.valid_from, c.valid_until
      FROM user_coupons uc JOIN coupons c ON c.id = uc.coupon_id
      WHERE uc.id = ANY(${userCouponIds}::int[]) AND uc.user_id = ${customerId}
      ORDER BY uc.id`;
  }

  /**
   * Checks that the customer may use these coupons now and returns their terms.
   * @param missing the sentence for a listed coupon without a row (the quote only reads the customer's own)
   */
  function usableCoupons(
    rows: IssuedCouponRow[],
    customerId: number,
    userCouponIds: number[],
    orderId: string | null,
    missing: (id: number) => string = (id) => `coupon ${id} does not exist`,
  ): Map<number, CouponTerms> {
    const byId = new Map(rows.map((row) => [row.id, row]));
    const at = now();
    const terms = new Map<number, CouponTerms>();
    for (const id of userCouponIds) {
      const row = byId.get(id);
      if (!row) throw new BusinessRuleError(FailureReason.COUPON_NOT_FOUND, missing(id));
      if (row.user_id !== customerId)
        throw new BusinessRuleError(FailureReason.COUPON_NOT_OWNED, `coupon ${id} belongs to another customer`);
      if (row.used_by_order_id !== null && row.used_by_order_id !== orderId) {
        throw new BusinessRuleError(FailureReason.COUPON_ALREADY_USED, `coupon ${id} was already used`);
      }
      if (at < row.valid_from || at > row.valid_until) {
        throw new BusinessRuleError(
          FailureReason.COUPON_EXPIRED,
          `coupon ${id} is valid from ${row.valid_from.toISOString()} until ${row.valid_until.toISOString()}`,
        );
      }
      terms.set(
        id,
        termsOf({ type: row.type, discountAmount: row.discount_amount, discountPercent: row.discount_percent }),
      );
    }
    return terms;
  }

  function checkLinePolicy(lines: CouponLine[]): void {
    const violation = findLineRuleViolations(lines.map((line) => ({ ...line }))).find(
      (found) => found.code !== 'DUPLICATE_ITEM',
    );
    if (violation)
      throw new BusinessRuleError(
        FailureReason.COUPON_POLICY_VIOLATION,
        `line ${violation.line}: ${violation.message}`,
      );
  }

  /** The server's discounted unit price for a line: the coupons applied to the item's price. */
  function discountedPrice(
    line: Pick<CouponLine, 'unitPrice' | 'userCouponIds'>,
    terms: Map<number, CouponTerms>,
  ): number {
    return applyCoupons(
      line.unitPrice,
      line.userCouponIds.map((id) => terms.get(id)!),
    );
  }

  return {
    async listCoupons(): Promise<Coupon[]> {
      return db.coupon.findMany({ select: couponFields, orderBy: { id: 'asc' } });
    },

    async createCoupon(coupon: NewCoupon): Promise<Coupon> {
      const validFrom = coupon.validFrom ?? now();
      const validUntil = coupon.validUntil ?? new Date(validFrom.getTime() + DEFAULT_VALIDITY_DAYS * DAY_MS);
      if (validUntil <= validFrom) throw new ServiceError('VALIDATION_FAILED', 'validUntil must be after validFrom');
      return db.coupon.create({
        data: {
          name: coupon.name,
          type: coupon.type,
          discountAmount: coupon.type === 'FIXED' ? (coupon.discountAmount ?? null) : null,
          discountPercent: coupon.type === 'RATIO' ? (coupon.discountPercent ?? null) : null,
          validFrom,
          validUntil,
        },
        select: couponFields,
      });
    },

    async issueCoupon(couponId: number, userId: number): Promise<{ userCouponId: number }> {
      const coupon = await db.coupon.count({ where: { id: couponId } });
      if (!coupon) throw notFound('coupon', couponId);
      const issued = await db.userCoupon.create({ data: { couponId, userId } });
      return { userCouponId: issued.id };
    },

    async couponsOf(userId: number): Promise<UserCouponView[]> {
      const issued = await db.userCoupon.findMany({
        where: { userId },
        include: { coupon: true },
        orderBy: { id: 'asc' },
      });
      return issued.map((userCoupon) => ({
        id: userCoupon.id,
        couponId: userCoupon.couponId,
        name: userCoupon.coupon.name,
        type: userCoupon.coupon.type,
        discountAmount: userCoupon.coupon.discountAmount,
        discountPercent: userCoupon.coupon.discountPercent,
        validFrom: userCoupon.coupon.validFrom,
        validUntil: userCoupon.coupon.validUntil,
        used: userCoupon.usedByOrderId !== null,
        usedByOrderId: userCoupon.usedByOrderId,
      }));
    },

    /**
     * Prices one unit with the customer's coupons, by the same rules the saga applies (nothing is redeemed). A
     * coupon that is not the customer's is answered as not found: the quote does not tell whose it is.
     */
    async quote(customerId: number, price: number, userCouponIds: number[]): Promise<number> {
      checkLinePolicy([{ itemId: 0, quantity: 1, unitPrice: price, discountedUnitPrice: price, userCouponIds }]);
      const rows = userCouponIds.length === 0 ? [] : await ownCoupons(customerId, userCouponIds);
      const terms = usableCoupons(rows, customerId, userCouponIds, null, (id) => `coupon ${id} is not one of yours`);
      return discountedPrice({ unitPrice: price, userCouponIds }, terms);
    },

    /**
     * Redeems every coupon of an order atomically, after checking each rule and recomputing each discounted
     * price. Idempotent per order; a coupon raced by two orders is won by exactly one of them.
     */
    async redeemCoupons(
      orderId: string,
      customerId: number,
      lines: CouponLine[],
    ): Promise<{ userCouponIds: number[] }> {
      const userCouponIds = lines.flatMap((line) => line.userCouponIds);
      return db.$transaction(async (tx) => {
        const inserted = await tx.$executeRaw`
          INSERT INTO coupon_redemptions (order_id, status, user_coupon_ids, created_at, updated_at)
          VALUES (${orderId}, 'REDEEMED', ${userCouponIds}::int[], now(), now()) ON CONFLICT (order_id) DO NOTHING`;
        if (inserted === 0) {
          const existing = await tx.couponRedemption.findUniqueOrThrow({ where: { orderId } });
          if (existing.status === 'REDEEMED') return { userCouponIds: existing.userCouponIds };
          throw new OrderAlreadyUndoneError(orderId, 'the coupon redemption');
        }
        checkLinePolicy(lines);
        const rows = userCouponIds.length === 0 ? [] : await lockedCoupons(tx, userCouponIds);
        const terms = usableCoupons(rows, customerId, userCouponIds, orderId);
        lines.forEach((line, index) => {
          const expected = discountedPrice(line, terms);
          if (expected !== line.discountedUnitPrice) {
            throw new BusinessRuleError(
              FailureReason.DISCOUNT_MISMATCH,
              `line ${index}: the discounted unit price is ${expected}, the order says ${line.discountedUnitPrice}`,
            );
          }
        });
        if (userCouponIds.length > 0) {
          const { count } = await tx.userCoupon.updateMany({
            where: { id: { in: userCouponIds }, usedByOrderId: null },
            data: { usedByOrderId: orderId, usedAt: now() },
          });
          if (count !== userCouponIds.length) {
            throw new BusinessRuleError(FailureReason.COUPON_ALREADY_USED, 'a coupon was taken by another order');
          }
        }
        return { userCouponIds };
      });
    },

    /** Returns exactly the coupons this order took, once; with nothing redeemed it leaves a RESTORED marker. */
    async restoreCoupons(orderId: string): Promise<{ undone: boolean }> {
      return db.$transaction(async (tx) => {
        const inserted = await tx.$executeRaw`
          INSERT INTO coupon_redemptions (order_id, status, user_coupon_ids, created_at, updated_at)
          VALUES (${orderId}, 'RESTORED', '{}'::int[], now(), now()) ON CONFLICT (order_id) DO NOTHING`;
        if (inserted === 1) return { undone: false };
        const [redemption] = await tx.$queryRaw<{ status: string }[]>`
          SELECT status::text FROM coupon_redemptions WHERE order_id = ${orderId} FOR UPDATE`;
        if (redemption?.status !== 'REDEEMED') return { undone: false };
        await tx.userCoupon.updateMany({
          where: { usedByOrderId: orderId },
          data: { usedByOrderId: null, usedAt: null },
        });
        await tx.couponRedemption.update({ where: { orderId }, data: { status: 'RESTORED' } });
        return { undone: true };
      });
    },

    async redemptionOf(orderId: string) {
      return db.couponRedemption.findUnique({ where: { orderId } });
    },
  };
}

export type CouponService = ReturnType<typeof createCouponService>;

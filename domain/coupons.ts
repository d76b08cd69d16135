/**
 * Coupon arithmetic: the one place that turns a price and a set of coupons into a discounted price.
 * Used by the coupon service when it redeems coupons in the saga and by the gateway's quote endpoint.
 */
import { BusinessRuleError, FailureReason } from './failure-reasons';

/** FIXED takes an amount off, RATIO a percentage. */
export const COUPON_TYPES = ['FIXED', 'RATIO'] as const;
export type CouponType = (typeof COUPON_TYPES)[number];

export type CouponTerms = { type: 'FIXED'; discountAmount: number } | { type: 'RATIO'; discountPercent: number };

export const MAX_COUPONS_PER_LINE = 2;
export const MIN_DISCOUNT_PERCENT = 5;
export const MAX_DISCOUNT_PERCENT = 95;

function policyViolation(message: string): BusinessRuleError {
  return new BusinessRuleError(FailureReason.COUPON_POLICY_VIOLATION, message);
}

/**
 * Applies coupons to one unit price: FIXED coupons first (each may take at most half of the running
 * price), then RATIO coupons (truncated to whole won), whatever order they are listed in.
 * Throws a COUPON_POLICY_VIOLATION BusinessRuleError when a rule is broken.
 */
export function applyCoupons(unitPrice: number, coupons: readonly CouponTerms[]): number {
  if (!Number.isSafeInteger(unitPrice) || unitPrice < 0) throw policyViolation('price must be a whole amount >= 0');
  if (coupons.length > MAX_COUPONS_PER_LINE) {
    throw policyViolation(`at most ${MAX_COUPONS_PER_LINE} coupons may be used on one line`);
  }
  const fixed = coupons.filter((coupon) => coupon.type === 'FIXED');
  const ratio = coupons.filter((coupon) => coupon.type === 'RATIO');
  let running = unitPrice;
  for (const coupon of fixed) {
    if (!Number.isSafeInteger(coupon.discountAmount) || coupon.discountAmount < 0) {
      throw policyViolation('a fixed discount must be a whole amount >= 0');
    }
    if (Math.floor(running / 2) < coupon.discountAmount) {
      throw policyViolation(`a fixed coupon of ${coupon.discountAmount} may take at most half of ${running}`);
    }
    running -= coupon.discountAmount;
  }
  for (const coupon of ratio) {
    const percent = coupon.discountPercent;
    if (!Number.isInteger(percent) || percent < MIN_DISCOUNT_PERCENT || percent > MAX_DISCOUNT_PERCENT) {
      throw policyViolation(`a ratio discount must be ${MIN_DISCOUNT_PERCENT}..${MAX_DISCOUNT_PERCENT}%`);
    }
    running = Math.trunc((running * (100 - percent)) / 100);
  }
  return Math.max(running, 0);
}

/** Coupon activities (task queue `coupons`): redeem an order's coupons, and restore them on undo. */
import type { OrderLineInput } from '../domain/order';
import type { CouponService } from '../services/coupon';
import { asActivity, asUndo } from './temporal-failures';

export interface RedeemCouponsInput {
  orderId: string;
  customerId: number;
  lines: OrderLineInput[];
}

export function createCouponActivities({ coupons }: { coupons: CouponService }) {
  return {
    /** Checks every coupon rule, recomputes each discounted price and redeems all coupons atomically, once per order. */
    async redeemCoupons({ orderId, customerId, lines }: RedeemCouponsInput): Promise<{ userCouponIds: number[] }> {
      return asActivity(() => coupons.redeemCoupons(orderId, customerId, lines));
    },

    /** Undo of redeemCoupons: gives back exactly the coupons the order took; harmless when it took none. */
    async restoreCoupons({ orderId }: { orderId: string }): Promise<{ undone: boolean }> {
      return asUndo(() => coupons.restoreCoupons(orderId));
    },
  };
}

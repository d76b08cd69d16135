/** A fresh customer with two items and two coupons of their own, so each scenario has its own stock and coupons. */
import { aCouponFor, aUser, anItem } from '../../support/fixtures';
import type { TestSystem } from '../../support/system';
import type { PlacedOrder } from './expected-state';
import type { LineRequest } from './orders';

export const SHIRT_PRICE = 10_000;
export const COAT_PRICE = 20_000;
/** 10000 with FIXED 1000 then RATIO 10%: (10000 - 1000) * 90 / 100 (docs/domain.md worked example). */
export const SHIRT_WITH_BOTH_COUPONS = 8_100;

export async function aShop(system: TestSystem, { shirtStock = 5, coatStock = 5 } = {}) {
  const [customer, shirt, coat] = await Promise.all([
    aUser(system),
    anItem(system, { price: SHIRT_PRICE, stockQuantity: shirtStock }),
    anItem(system, { price: COAT_PRICE, stockQuantity: coatStock }),
  ]);
  const fixed = await aCouponFor(system, customer.id, { type: 'FIXED', discountAmount: 1_000 });
  const ratio = await aCouponFor(system, customer.id, { type: 'RATIO', discountPercent: 10 });

  /** One shirt with both coupons (RATIO listed first: FIXED must still apply first) and two coats. */
  function standardLines(overrides: { shirt?: Partial<LineRequest>; coat?: Partial<LineRequest> } = {}): LineRequest[] {
    return [
      {
        itemId: shirt.id,
        quantity: 1,
        unitPrice: SHIRT_PRICE,
        discountedUnitPrice: SHIRT_WITH_BOTH_COUPONS,
        userCouponIds: [ratio, fixed],
        ...overrides.shirt,
      },
      { itemId: coat.id, quantity: 2, unitPrice: COAT_PRICE, ...overrides.coat },
    ];
  }

  const standardTotal = SHIRT_WITH_BOTH_COUPONS + 2 * COAT_PRICE;

  /**
   * What the expected-state builders need to know of an order of this shop: by default the standard order (one
   * shirt with both coupons, two coats); `changes` describes another order of the same items.
   */
  function placed(orderId: string, changes: Partial<Omit<PlacedOrder, 'orderId' | 'initialStock'>> = {}): PlacedOrder {
    return {
      orderId,
      lines: { [shirt.id]: 1, [coat.id]: 2 },
      initialStock: { [shirt.id]: shirtStock, [coat.id]: coatStock },
      redeemed: [ratio, fixed],
      watchedCoupons: [fixed, ratio],
      total: standardTotal,
      ...changes,
    };
  }

  return {
    customer,
    shirt,
    coat,
    fixed,
    ratio,
    standardLines,
    placed,
    /** What databasesState needs to look at for this shop. */
    scope: { itemIds: [shirt.id, coat.id], userCouponIds: [fixed, ratio] },
    standardTotal,
  };
}

export type Shop = Awaited<ReturnType<typeof aShop>>;

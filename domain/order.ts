/** Order shapes and rules that need no I/O: line structure, totals, saga states. */
import { MAX_COUPONS_PER_LINE } from './coupons';

export interface OrderLineInput {
  itemId: number;
  quantity: number;
  /** The price the client saw; the item service rejects the order when it differs from the current price. */
  unitPrice: number;
  /** The price after coupons the client computed; the coupon service recomputes it and rejects a mismatch. */
  discountedUnitPrice: number;
  userCouponIds: number[];
}

export const ORDER_STATUSES = ['PENDING', 'COMPLETED', 'FAILED', 'CANCELLED', 'COMPENSATION_FAILED'] as const;
export type OrderStatus = (typeof ORDER_STATUSES)[number];

export const STEP_NAMES = ['items', 'coupons', 'payment'] as const;
export type StepName = (typeof STEP_NAMES)[number];

/** What a saga step shows: never run, running, took effect, refused, given back, or its undo stuck. */
export const STEP_STATUSES = [
  'NOT_STARTED',
  'RUNNING',
  'SUCCEEDED',
  'FAILED',
  'COMPENSATED',
  'COMPENSATION_FAILED',
] as const;
export type StepStatus = (typeof STEP_STATUSES)[number];
export type StepStatuses = Record<StepName, StepStatus>;

/**
 * Progress writes are numbered: the order's saga from 1, the reconciler's cleanup from here, so a cleanup's writes
 * are always newer than anything the saga it replaces wrote (the order database ignores a write older than its own).
 */
export const CLEANUP_FIRST_SEQ = 1_000_000;

/** An order in one of these statuses has ended; nothing changes it any more. */
export const TERMINAL_STATUSES = ['COMPLETED', 'CANCELLED'] as const satisfies readonly OrderStatus[];
export type TerminalStatus = (typeof TERMINAL_STATUSES)[number];

export function isTerminal(status: OrderStatus): status is TerminalStatus {
  return (TERMINAL_STATUSES as readonly OrderStatus[]).includes(status);
}

/**
 * What a step shows once its undo has finished. `COMPENSATED` only for a step that took effect: the undo
 * gave something back, or the step had succeeded (an earlier undo attempt whose answer was lost gave it back).
 * A step that never ran stays NOT_STARTED; one that was attempted without effect is FAILED.
 */
export function stepAfterUndo(before: StepStatus, undone: boolean): StepStatus {
  if (undone) return 'COMPENSATED';
  switch (before) {
    case 'SUCCEEDED':
    case 'COMPENSATED':
    case 'COMPENSATION_FAILED':
      return 'COMPENSATED';
    case 'NOT_STARTED':
      return 'NOT_STARTED';
    default:
      return 'FAILED';
  }
}

export interface LineRuleViolation {
  line: number;
  field: string;
  code: 'DUPLICATE_ITEM' | 'TOO_MANY_COUPONS' | 'COUPON_NEEDS_SINGLE_UNIT' | 'COUPON_ON_SEVERAL_LINES';
  message: string;
}

/**
 * The line rules of an order that need no data: each item once, at most two coupons per line, coupons only
 * on single-unit lines, each coupon on one line only. Empty when the lines are acceptable.
 */
export function findLineRuleViolations(lines: readonly OrderLineInput[]): LineRuleViolation[] {
  const violations: LineRuleViolation[] = [];
  const seenItems = new Set<number>();
  const seenCoupons = new Set<number>();
  lines.forEach((line, index) => {
    if (seenItems.has(line.itemId)) {
      violations.push({
        line: index,
        field: 'itemId',
        code: 'DUPLICATE_ITEM',
        message: `item ${line.itemId} appears on more than one line`,
      });
    }
    seenItems.add(line.itemId);
    if (line.userCouponIds.length > MAX_COUPONS_PER_LINE) {
      violations.push({
        line: index,
        field: 'userCouponIds',
        code: 'TOO_MANY_COUPONS',
        message: `at most ${MAX_COUPONS_PER_LINE} coupons per line`,
      });
    }
    if (line.userCouponIds.length > 0 && line.quantity !== 1) {
      violations.push({
        line: index,
        field: 'quantity',
        code: 'COUPON_NEEDS_SINGLE_UNIT',
        message: 'a line that uses coupons must have quantity 1',
      });
    }
    for (const couponId of new Set(line.userCouponIds)) {
      if (seenCoupons.has(couponId)) {
        violations.push({
          line: index,
          field: 'userCouponIds',
          code: 'COUPON_ON_SEVERAL_LINES',
          message: `coupon ${couponId} is used more than once`,
        });
      }
      seenCoupons.add(couponId);
    }
    if (new Set(line.userCouponIds).size !== line.userCouponIds.length) {
      violations.push({
        line: index,
        field: 'userCouponIds',
        code: 'COUPON_ON_SEVERAL_LINES',
        message: 'a coupon is listed twice on one line',
      });
    }
  });
  return violations;
}

/** What the customer pays: the sum of discounted unit prices times quantities. */
export function orderTotal(lines: readonly Pick<OrderLineInput, 'quantity' | 'discountedUnitPrice'>[]): number {
  return lines.reduce((sum, line) => sum + line.discountedUnitPrice * line.quantity, 0);
}

/**
 * The largest order total accepted (1,000,000,000 won, the API's largest amount of money). The order, payment
 * and card gateway tables keep amounts in 32-bit integer columns (at most 2,147,483,647), so a larger total is
 * refused before anything is recorded, instead of failing as an internal error halfway.
 */
export const MAX_ORDER_TOTAL = 1_000_000_000;

/** Whether an order with these lines may be placed as far as its total goes. */
export function isOrderTotalAllowed(
  lines: readonly Pick<OrderLineInput, 'quantity' | 'discountedUnitPrice'>[],
): boolean {
  return orderTotal(lines) <= MAX_ORDER_TOTAL;
}

/** Why an order failed: the `failureReason` codes of the order life cycle, shared by every layer. */
export const FailureReason = {
  ITEM_NOT_FOUND: 'ITEM_NOT_FOUND',
  PRICE_MISMATCH: 'PRICE_MISMATCH',
  OUT_OF_STOCK: 'OUT_OF_STOCK',
  COUPON_NOT_FOUND: 'COUPON_NOT_FOUND',
  COUPON_NOT_OWNED: 'COUPON_NOT_OWNED',
  COUPON_ALREADY_USED: 'COUPON_ALREADY_USED',
  COUPON_EXPIRED: 'COUPON_EXPIRED',
  COUPON_POLICY_VIOLATION: 'COUPON_POLICY_VIOLATION',
  DISCOUNT_MISMATCH: 'DISCOUNT_MISMATCH',
  PAYMENT_DECLINED: 'PAYMENT_DECLINED',
  PAYMENT_TIMEOUT: 'PAYMENT_TIMEOUT',
  CANCELLED_BY_CUSTOMER: 'CANCELLED_BY_CUSTOMER',
} as const;

export type FailureReason = (typeof FailureReason)[keyof typeof FailureReason];

/**
 * Set when a step's activity could not finish within its bound for a reason that is not a business
 * rejection (a worker down too long, a bug in an activity). Not one of the customer-facing codes of the
 * contract, which has no code for it; the detail says which step.
 */
export const SERVICE_UNAVAILABLE = 'SERVICE_UNAVAILABLE';

/**
 * Set when the order's workflow itself was cancelled through Temporal (an operator's action in the Web UI or
 * CLI, not the customer's cancel). Like SERVICE_UNAVAILABLE, outside the contract's customer-facing codes.
 */
export const CANCELLED_BY_OPERATOR = 'CANCELLED_BY_OPERATOR';

/**
 * Set by the reconciler on an order whose workflow ended (terminated, timed out, reset away, or never started)
 * before the order did: it undid every step that may have taken effect and cancelled the order.
 */
export const RECONCILED = 'RECONCILED';

/** Every `failureReason` an order can carry: the contract's codes and the three outside it. */
export const OrderFailureReason = {
  ...FailureReason,
  SERVICE_UNAVAILABLE,
  CANCELLED_BY_OPERATOR,
  RECONCILED,
} as const;

export type OrderFailureReason = (typeof OrderFailureReason)[keyof typeof OrderFailureReason];

const failureReasons = new Set<string>(Object.values(FailureReason));

export function isFailureReason(value: unknown): value is FailureReason {
  return typeof value === 'string' && failureReasons.has(value);
}

/** A business rule broken by an order; activities turn it into a non-retryable failure of that type. */
export class BusinessRuleError extends Error {
  constructor(
    readonly reason: FailureReason,
    message: string,
  ) {
    super(message);
    this.name = 'BusinessRuleError';
  }
}

/**
 * The services' error model. A service that refuses a request throws a ServiceError with one of these codes; the
 * gateway alone decides what a code means over HTTP (api/problem.ts). A saga step's business rejection is a
 * BusinessRuleError (domain/failure-reasons.ts) instead, because its code is also the order's `failureReason`.
 */

/** Every code a ServiceError can carry; each one is thrown somewhere and listed in the README's error table. */
export const SERVICE_ERROR_CODES = [
  'NOT_FOUND',
  'DUPLICATE',
  'STALE_VERSION',
  'INVALID_CREDENTIALS',
  'IDEMPOTENCY_CONFLICT',
  'ORDER_LINE_RULES',
  'ORDER_TOTAL_TOO_LARGE',
  'TOO_MANY_OPEN_ORDERS',
  'TEST_CARD_NOT_ALLOWED',
  'ORDER_NOT_CANCELLABLE',
  'ORDER_NOT_STUCK',
  'VALIDATION_FAILED',
  'SERVICE_UNAVAILABLE',
] as const;

export type ServiceErrorCode = (typeof SERVICE_ERROR_CODES)[number];

/** One offending field of the operation's input, e.g. `lines.1.itemId`. */
export interface InputFieldError {
  path: string;
  message: string;
}

export class ServiceError extends Error {
  constructor(
    readonly code: ServiceErrorCode,
    message: string,
    /** The fields at fault, when the refusal is about the input's shape (ORDER_LINE_RULES). */
    readonly fields?: readonly InputFieldError[],
  ) {
    super(message);
    this.name = 'ServiceError';
  }
}

/** What a lookup can miss; the kind opens the message, so "not found" reads the same everywhere. */
export type Findable = 'item' | 'coupon' | 'user' | 'order';

/** The one spelling of "no such thing": NOT_FOUND with `<kind> <id> does not exist`. */
export function notFound(kind: Findable, id: number | string): ServiceError {
  return new ServiceError('NOT_FOUND', `${kind} ${id} does not exist`);
}

/**
 * A step ran for an order whose undo already ran (a late retry of a timed-out attempt). The undo left a
 * marker, so the step refuses to take effect instead of leaking stock, a coupon or a charge.
 */
export class OrderAlreadyUndoneError extends Error {
  constructor(orderId: string, what: string) {
    super(`${what} for order ${orderId} was already undone; refusing to apply it again`);
    this.name = 'OrderAlreadyUndoneError';
  }
}

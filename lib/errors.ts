/** Errors the services raise for the gateway to map to HTTP; saga rejections use BusinessRuleError instead. */
export type ServiceErrorCode =
  | 'NOT_FOUND'
  | 'DUPLICATE'
  | 'STALE_VERSION'
  | 'INVALID_CREDENTIALS'
  | 'IDEMPOTENCY_CONFLICT'
  | 'ORDER_NOT_CANCELLABLE'
  | 'ORDER_NOT_STUCK'
  | 'VALIDATION_FAILED'
  | 'SERVICE_UNAVAILABLE';

export class ServiceError extends Error {
  constructor(
    readonly code: ServiceErrorCode,
    message: string,
  ) {
    super(message);
    this.name = 'ServiceError';
  }
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

/** Payment terms shared by the payment service and the workflow that checks its answers. */

const CHARGE_KEY_PREFIX = 'charge-';

/** The idempotency key of an order's charge: every attempt for the order, retried or replayed, uses it. */
export function chargeKey(orderId: string): string {
  return `${CHARGE_KEY_PREFIX}${orderId}`;
}

/** The order a charge key was derived from; the ledger keeps it so that checks can join ledger and orders. */
export function orderIdOfChargeKey(idempotencyKey: string): string {
  if (!idempotencyKey.startsWith(CHARGE_KEY_PREFIX) || idempotencyKey.length === CHARGE_KEY_PREFIX.length) {
    throw new Error(`"${idempotencyKey}" is not a charge key made by chargeKey(orderId)`);
  }
  return idempotencyKey.slice(CHARGE_KEY_PREFIX.length);
}

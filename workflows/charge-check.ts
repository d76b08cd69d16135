/**
 * The workflow's check of the charge answer. Anything that reaches the Temporal server can poll the `payments`
 * task queue, so the answer of chargePayment is untrusted input: an order completes only when the answer says
 * the order's own charge was captured for exactly the order total. Anything else is a failed payment, and the
 * saga's refund undo (idempotent) gives back whatever a real capture behind that answer may have taken.
 */
import { log } from '@temporalio/workflow';
import { FailureReason } from '../domain/failure-reasons';
import { chargeKey } from '../domain/payment';
import { StepFailure } from './step-failure';

/** Patch id of the change that verifies the charge answer before the order completes (docs/versioning.md). */
export const VERIFY_CHARGE_PATCH = 'verify-charge';

/** The only charge status that lets an order complete. */
export const CAPTURED = 'CAPTURED';

/** What the customer reads when the answer did not prove the charge; the answer itself goes to the log only. */
export const UNCONFIRMED_CHARGE_DETAIL = 'the payment could not be confirmed';

/** What the charge must show for this order. */
export interface ExpectedCharge {
  orderId: string;
  amount: number;
}

/** The first way the answer differs from a captured charge of the expected amount for this order, or null. */
export function chargeMismatch(answer: unknown, expected: ExpectedCharge): string | null {
  if (typeof answer !== 'object' || answer === null) return 'the answer is not an object';
  const { status, amount, orderId, idempotencyKey } = answer as Record<string, unknown>;
  if (status !== CAPTURED) return `status is ${JSON.stringify(status)}, not ${CAPTURED}`;
  if (amount !== expected.amount) return `amount is ${JSON.stringify(amount)}, not the order total ${expected.amount}`;
  // Optional, so that a payment service that does not name them is judged by status and amount alone.
  if (orderId !== undefined && orderId !== expected.orderId) return `order id is ${JSON.stringify(orderId)}`;
  const key = chargeKey(expected.orderId);
  if (idempotencyKey !== undefined && idempotencyKey !== key) {
    return `idempotency key is ${JSON.stringify(idempotencyKey)}, not ${key}`;
  }
  return null;
}

/** Throws a PAYMENT_DECLINED step failure unless the answer proves the order's charge. */
export function verifyCharge(answer: unknown, expected: ExpectedCharge): void {
  const mismatch = chargeMismatch(answer, expected);
  if (mismatch === null) return;
  // Not a decline the gateway gave: a bug or a rogue worker on the payments queue, which operators must hear of.
  log.error('charge answer rejected; the order fails and its charge is refunded', {
    orderId: expected.orderId,
    mismatch,
  });
  throw new StepFailure(
    'payment',
    FailureReason.PAYMENT_DECLINED,
    UNCONFIRMED_CHARGE_DETAIL,
    `the charge answer was not accepted: ${mismatch}`,
  );
}

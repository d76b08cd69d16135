/** Payment activities (task queue `payments`): charge the order total, and refund it on undo. */
import { Context } from '@temporalio/activity';
import { chargeKey } from '../domain/payment';
import type { PaymentService, PaymentStatus } from '../services/payment';
import { asActivity, asUndo } from './temporal-failures';

/** How often a charge waiting on the card gateway heartbeats; well under any sensible heartbeat timeout. */
export const GATEWAY_WAIT_HEARTBEAT_MS = 1_000;

/**
 * The card gateway's `sleep` for activities: waits in short steps and heartbeats between them. A cancel only
 * reaches an activity through a heartbeat answer, so without them a hanging charge would hold its worker slot
 * until its own timeout; with them a heartbeat timeout also notices a worker that died mid-wait. The sleep
 * itself is the activity context's, so it stops when the activity is cancelled or times out.
 */
export async function sleepWhileHeartbeating(ms: number): Promise<void> {
  const context = Context.current();
  const until = Date.now() + ms;
  for (let left = ms; left > 0; left = until - Date.now()) {
    context.heartbeat();
    await context.sleep(Math.min(left, GATEWAY_WAIT_HEARTBEAT_MS));
  }
}

export interface ChargePaymentInput {
  orderId: string;
  amount: number;
  cardToken: string;
}

/**
 * What a charge answers. The workflow completes the order only when this names the order, its charge key, the
 * CAPTURED status and exactly the order total (workflows/charge-check.ts), so every field is stated, not implied.
 */
export interface ChargeAnswer {
  orderId: string;
  idempotencyKey: string;
  status: PaymentStatus;
  amount: number;
}

export function createPaymentActivities({ payments }: { payments: PaymentService }) {
  return {
    /** Charges the card once per order; a decline is final, a hanging gateway is bounded by the saga's timeouts. */
    async chargePayment({ orderId, amount, cardToken }: ChargePaymentInput): Promise<ChargeAnswer> {
      const payment = await asActivity(() => payments.chargePayment(orderId, amount, cardToken));
      return {
        orderId: payment.orderId,
        idempotencyKey: chargeKey(payment.orderId),
        status: payment.status,
        amount: payment.amount,
      };
    },

    /** Undo of chargePayment: refunds the charge once; harmless when there was none. */
    async refundPayment({ orderId }: { orderId: string }): Promise<{ undone: boolean }> {
      return asUndo(() => payments.refundPayment(orderId));
    },
  };
}

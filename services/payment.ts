/**
 * Payment service: one payment per order, charged through the card gateway (services/card-gateway.ts). The only
 * code touching the `payments` table.
 *
 * The payment row is written as a PENDING intent before the gateway is called, and every gateway call uses the
 * order's idempotency key, so a worker that dies anywhere in between leaves something to finish: a retried charge
 * gets the gateway's recorded outcome instead of a second capture, and a refund finds the intent to cancel.
 */
import { BusinessRuleError, FailureReason } from '../domain/failure-reasons';
import type { PaymentDb } from '../lib/databases';
import { OrderAlreadyUndoneError } from '../lib/errors';
import {
  chargeKey,
  createCardGateway,
  type CaptureOutcome,
  type CardGateway,
  type CardGatewayBehaviour,
} from './card-gateway';

export type { CardGatewayBehaviour } from './card-gateway';

export type PaymentStatus = 'PENDING' | 'CAPTURED' | 'DECLINED' | 'REFUNDED' | 'VOIDED';

export interface Payment {
  orderId: string;
  amount: number;
  status: PaymentStatus;
}

interface PaymentRecord extends Payment {
  cardToken: string | null;
  declineReason: string | null;
}

/** What the service can still do about an order's charge once its row has left PENDING. */
function settledCharge(payment: PaymentRecord): Payment {
  if (payment.status === 'CAPTURED') return { orderId: payment.orderId, amount: payment.amount, status: 'CAPTURED' };
  if (payment.status === 'DECLINED') {
    throw new BusinessRuleError(FailureReason.PAYMENT_DECLINED, payment.declineReason ?? 'the card was declined');
  }
  throw new OrderAlreadyUndoneError(payment.orderId, 'the payment');
}

/** The row a gateway answer moves a PENDING payment to. */
function rowAfter(outcome: CaptureOutcome): { status: Exclude<PaymentStatus, 'PENDING'>; declineReason?: string } {
  if (outcome.status === 'DECLINED') return { status: 'DECLINED', declineReason: outcome.reason };
  return { status: outcome.status };
}

/**
 * @param gateway the card gateway; tests pass a wrapped one to delay or reorder its answers.
 */
export function createPaymentService(
  db: PaymentDb,
  behaviour: CardGatewayBehaviour,
  gateway: CardGateway = createCardGateway(db, behaviour),
) {
  const recordOf = (orderId: string): Promise<PaymentRecord> =>
    db.payment.findUniqueOrThrow({
      where: { orderId },
      select: { orderId: true, amount: true, status: true, cardToken: true, declineReason: true },
    });

  /** Writes the payment intent unless the order already has a row (an earlier attempt, or the undo's marker). */
  async function writeIntent(orderId: string, amount: number, cardToken: string): Promise<PaymentRecord> {
    await db.$executeRaw`
      INSERT INTO payments (order_id, amount, status, card_token, created_at, updated_at)
      VALUES (${orderId}, ${amount}, 'PENDING', ${cardToken}, now(), now())
      ON CONFLICT (order_id) DO NOTHING`;
    return recordOf(orderId);
  }

  /**
   * Asks the gateway to refund the order's charge; with no charge yet that leaves its tombstone. When money
   * did come back, a VOIDED row (the intent was cancelled before the capture was known) becomes REFUNDED with
   * the refunded amount, so the payment row tells the truth.
   */
  async function refundAtGateway(orderId: string): Promise<boolean> {
    const { refunded, amount } = await gateway.refund({ idempotencyKey: chargeKey(orderId) });
    if (refunded) {
      await db.payment.updateMany({ where: { orderId, status: 'VOIDED' }, data: { status: 'REFUNDED', amount } });
    }
    return refunded;
  }

  /**
   * Moves the intent to what the gateway answered, only if it is still PENDING. If the undo got there first,
   * a capture landed after its undo: it is refunded and the charge refused.
   */
  async function recordAnswer(intent: PaymentRecord, outcome: CaptureOutcome): Promise<Payment> {
    const { orderId } = intent;
    const next = rowAfter(outcome);
    const { count } = await db.payment.updateMany({
      where: { orderId, status: 'PENDING' },
      data: next.status === 'VOIDED' ? { status: 'VOIDED', amount: 0 } : next,
    });
    const payment =
      count === 1 ? { ...intent, ...next, declineReason: next.declineReason ?? null } : await recordOf(orderId);
    if (outcome.status === 'CAPTURED' && (payment.status === 'VOIDED' || payment.status === 'REFUNDED')) {
      await refundAtGateway(orderId);
    }
    return settledCharge(payment);
  }

  return {
    /**
     * Charges an order once: a repeated call returns the first outcome (the gateway replays it for the order's
     * key); a call after a refund or void is refused without reaching the gateway.
     */
    async chargePayment(orderId: string, amount: number, cardToken: string): Promise<Payment> {
      const intent = await writeIntent(orderId, amount, cardToken);
      if (intent.status !== 'PENDING') return settledCharge(intent);
      const outcome = await gateway.capture({
        idempotencyKey: chargeKey(orderId),
        amount: intent.amount,
        cardToken: intent.cardToken ?? cardToken,
      });
      return recordAnswer(intent, outcome);
    },

    /**
     * Undoes the order's charge once: a captured payment is refunded, an intent still waiting for the gateway is
     * voided, and with no row a VOIDED marker refuses a late charge. The gateway is asked to refund every time,
     * so a retry after a crash between the row change and the gateway call still reaches it.
     */
    async refundPayment(orderId: string): Promise<{ undone: boolean }> {
      const marker = await db.$executeRaw`
        INSERT INTO payments (order_id, amount, status, created_at, updated_at)
        VALUES (${orderId}, 0, 'VOIDED', now(), now()) ON CONFLICT (order_id) DO NOTHING`;
      // One statement, so the row lock orders it with a concurrent charge's PENDING -> CAPTURED update.
      const changed =
        marker === 1
          ? []
          : await db.$queryRaw<{ status: PaymentStatus }[]>`
              UPDATE payments
              SET status = (CASE status WHEN 'CAPTURED' THEN 'REFUNDED' ELSE 'VOIDED' END)::"PaymentStatus",
                  amount = CASE status WHEN 'CAPTURED' THEN amount ELSE 0 END,
                  updated_at = now()
              WHERE order_id = ${orderId} AND status IN ('CAPTURED', 'PENDING')
              RETURNING status::text AS status`;
      const refunded = await refundAtGateway(orderId);
      return { undone: changed[0]?.status === 'REFUNDED' || refunded };
    },

    async paymentOf(orderId: string): Promise<Payment | null> {
      return db.payment.findUnique({ where: { orderId }, select: { orderId: true, amount: true, status: true } });
    },
  };
}

export type PaymentService = ReturnType<typeof createPaymentService>;

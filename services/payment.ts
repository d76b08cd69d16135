/** Payment service: a simulated card gateway, one payment per order. The only code touching the payment database. */
import { BusinessRuleError, FailureReason } from '../domain/failures';
import type { PaymentDb } from '../lib/databases';
import { OrderAlreadyUndoneError } from '../lib/errors';

export const TestCardToken = {
  approve: 'tok_visa',
  decline: 'tok_declined',
  hang: 'tok_timeout',
} as const;

export interface CardGatewayBehaviour {
  /** How long `tok_timeout` hangs; the saga's payment timeout must be shorter. */
  hangMs: number;
  /** Sleeps for the given time; activities pass one that stops when the activity is cancelled. */
  sleep: (ms: number) => Promise<void>;
}

export interface Payment {
  orderId: string;
  amount: number;
  status: 'CAPTURED' | 'DECLINED' | 'REFUNDED' | 'VOIDED';
}

export function createPaymentService(db: PaymentDb, gateway: CardGatewayBehaviour) {
  async function authorize(cardToken: string): Promise<string | null> {
    if (cardToken === TestCardToken.hang) {
      await gateway.sleep(gateway.hangMs);
      throw new Error('the card gateway did not answer');
    }
    if (cardToken === TestCardToken.approve) return null;
    if (cardToken === TestCardToken.decline) return 'the card was declined by the issuer';
    return `unknown card token "${cardToken}"`;
  }

  return {
    /** Charges an order once: a repeated call returns the first outcome; a call after a refund or void is refused. */
    async chargePayment(orderId: string, amount: number, cardToken: string): Promise<Payment> {
      const existing = await db.payment.findUnique({ where: { orderId } });
      if (!existing) {
        const declineReason = await authorize(cardToken);
        const status = declineReason ? 'DECLINED' : 'CAPTURED';
        const inserted = await db.$executeRaw`
          INSERT INTO payments (order_id, amount, status, card_token, decline_reason, created_at, updated_at)
          VALUES (${orderId}, ${amount}, ${status}::"PaymentStatus", ${cardToken}, ${declineReason}, now(), now())
          ON CONFLICT (order_id) DO NOTHING`;
        if (inserted === 1) {
          if (declineReason) throw new BusinessRuleError(FailureReason.PAYMENT_DECLINED, declineReason);
          return { orderId, amount, status: 'CAPTURED' };
        }
      }
      const payment = existing ?? (await db.payment.findUniqueOrThrow({ where: { orderId } }));
      if (payment.status === 'CAPTURED') return { orderId, amount: payment.amount, status: payment.status };
      if (payment.status === 'DECLINED') {
        throw new BusinessRuleError(FailureReason.PAYMENT_DECLINED, payment.declineReason ?? 'the card was declined');
      }
      throw new OrderAlreadyUndoneError(orderId, 'the payment');
    },

    /** Refunds a captured charge once; with no charge it leaves a VOIDED marker so a late charge is refused. */
    async refundPayment(orderId: string): Promise<{ undone: boolean }> {
      const inserted = await db.$executeRaw`
        INSERT INTO payments (order_id, amount, status, created_at, updated_at)
        VALUES (${orderId}, 0, 'VOIDED', now(), now()) ON CONFLICT (order_id) DO NOTHING`;
      if (inserted === 1) return { undone: false };
      const { count } = await db.payment.updateMany({
        where: { orderId, status: 'CAPTURED' },
        data: { status: 'REFUNDED' },
      });
      return { undone: count === 1 };
    },

    async paymentOf(orderId: string): Promise<Payment | null> {
      return db.payment.findUnique({ where: { orderId }, select: { orderId: true, amount: true, status: true } });
    },
  };
}

export type PaymentService = ReturnType<typeof createPaymentService>;

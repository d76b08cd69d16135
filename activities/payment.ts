/** Payment activities (task queue `payments`): charge the order total, and refund it on undo. */
import type { PaymentService } from '../services/payment';
import { asActivity, asUndo } from './failures';

export interface ChargePaymentInput {
  orderId: string;
  amount: number;
  cardToken: string;
}

export function createPaymentActivities({ payments }: { payments: PaymentService }) {
  return {
    /** Charges the card once per order; a decline is final, a hanging gateway is bounded by the saga's timeouts. */
    async chargePayment({ orderId, amount, cardToken }: ChargePaymentInput): Promise<{ status: string }> {
      const payment = await asActivity(() => payments.chargePayment(orderId, amount, cardToken));
      return { status: payment.status };
    },

    /** Undo of chargePayment: refunds the charge once; harmless when there was none. */
    async refundPayment({ orderId }: { orderId: string }): Promise<{ undone: boolean }> {
      return asUndo(() => payments.refundPayment(orderId));
    },
  };
}

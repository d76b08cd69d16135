/**
 * cleanUpOrder: the reconciler's saga for an order whose placeOrder workflow ended (terminated, timed out, reset
 * away) or never started while the order had not ended. It runs under the order's own workflow id, undoes every
 * step that may have taken effect with the same idempotent undos, and ends the order CANCELLED with RECONCILED.
 */
import { RECONCILED } from '../domain/failure-reasons';
import { couponUndo, itemUndo, paymentUndo } from './activity-options';
import { CLEANUP_FIRST_SEQ } from '../domain/order';
import type { CleanUpOrderInput, PlaceOrderResult } from './definitions';
import { OrderSaga } from './saga';
import { StepFailure } from './step-failure';

export async function cleanUpOrder(input: CleanUpOrderInput): Promise<PlaceOrderResult> {
  const { orderId } = input;
  const saga = new OrderSaga({
    orderId,
    customerId: input.customerId,
    total: input.total,
    status: input.status,
    steps: input.steps,
    firstSeq: input.firstSeq ?? CLEANUP_FIRST_SEQ,
    ...(input.compensationRetryInterval ? { compensationRetryInterval: input.compensationRetryInterval } : {}),
  });
  saga.listen();
  // In the saga's order, so that they run in reverse: refund, restore coupons, release stock.
  saga.willUndo('items', () => itemUndo.releaseStock({ orderId }));
  saga.willUndo('coupons', () => couponUndo.restoreCoupons({ orderId }));
  saga.willUndo('payment', () => paymentUndo.refundPayment({ orderId }));
  const earlier = input.failureReason ? ` (it had failed with ${input.failureReason})` : '';
  return saga.undoAll(
    new StepFailure(
      'saga',
      RECONCILED,
      `${input.why}${earlier}; the reconciler undid every step that may have taken effect`,
    ),
  );
}

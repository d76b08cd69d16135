/**
 * placeOrder: the order-placement saga. Reserves stock and redeems coupons in parallel, charges the card,
 * completes the order; on any failure or a customer cancel it undoes, in reverse, every step that may have
 * taken effect, and never reports an undo it could not finish. The mechanics live in ./saga.ts.
 *
 * Editing note: two replay tests rewrite this file's source on purpose (test/replay/*-loader.js): one swaps the
 * two parallel steps, the other drops the running-steps guard. Keep both shapes (they fail loudly otherwise).
 */
import { log, patched, setCurrentDetails } from '@temporalio/workflow';
import { isFailureReason } from '../domain/failure-reasons';
import { orderTotal, type StepName } from '../domain/order';
import { couponUndo, coupons, itemUndo, items, paymentUndo, payments } from './activity-options';
import type { PlaceOrderInput, PlaceOrderResult } from './definitions';
import { VERIFY_CHARGE_PATCH, verifyCharge } from './charge-check';
import { OrderSaga } from './saga';
import type { StepFailure } from './step-failure';

/** Patch id of the change that records steps as RUNNING before they start (see recordRunning). */
export const RECORD_RUNNING_STEPS_PATCH = 'record-running-steps';

/** Patch id of the change that honours a cancel accepted while the charge was being announced, before charging. */
export const CANCEL_BEFORE_CHARGE_PATCH = 'cancel-before-charge';

export { VERIFY_CHARGE_PATCH };

export {
  PAYMENT_TIMEOUTS,
  RECORD_OPTIONS,
  STEP_RETRY_POLICY,
  STEP_TIMEOUTS,
  UNDO_RETRY_POLICY,
  UNDO_TIMEOUTS,
} from './activity-options';

/** Places one order; the workflow id is derived from the order id (see orderWorkflowId). */
export async function placeOrder(input: PlaceOrderInput): Promise<PlaceOrderResult> {
  const { orderId, customerId, lines } = input;
  const total = orderTotal(lines);
  const saga = new OrderSaga({
    orderId,
    customerId,
    total,
    ...(input.compensationRetryInterval ? { compensationRetryInterval: input.compensationRetryInterval } : {}),
  });
  saga.listen();

  /**
   * Versioned change (docs/versioning.md): record steps as RUNNING before they start, so the order's API shows
   * which step it waits on. Executions started before the change have no marker and replay without the records.
   */
  async function recordRunning(...steps: StepName[]): Promise<void> {
    if (!patched(RECORD_RUNNING_STEPS_PATCH)) return;
    for (const step of steps) saga.setStep(step, 'RUNNING');
    await saga.record();
  }

  try {
    await saga.record('PENDING');
    saga.stopIfCancelled();

    setCurrentDetails('Reserving stock and redeeming coupons');
    saga.willUndo('items', () => itemUndo.releaseStock({ orderId }));
    saga.willUndo('coupons', () => couponUndo.restoreCoupons({ orderId }));
    await recordRunning('items', 'coupons');
    const settled = await Promise.allSettled([
      saga.runStep('items', () => items.reserveStock({ orderId, lines })),
      saga.runStep('coupons', () => coupons.redeemCoupons({ orderId, customerId, lines })),
    ]);
    const failures = settled.flatMap((outcome) =>
      outcome.status === 'rejected' ? [outcome.reason as StepFailure] : [],
    );
    // A business rejection says more to the customer than the other step's outage.
    const failure = failures.find((found) => isFailureReason(found.reason)) ?? failures[0];
    if (failure) throw failure;
    await saga.record();
    saga.stopIfCancelled();

    setCurrentDetails(`Charging ${total}`);
    saga.willUndo('payment', () => paymentUndo.refundPayment({ orderId }));
    await recordRunning('payment');
    if (patched(CANCEL_BEFORE_CHARGE_PATCH) && saga.state.cancelRequested) {
      // Accepted while the charge was being announced: the card is never charged.
      saga.setStep('payment', 'NOT_STARTED');
      saga.stopIfCancelled();
    }
    await saga.runStep('payment', async () => {
      const charge = await payments.chargePayment({ orderId, amount: total, cardToken: input.paymentToken });
      // Versioned change: the answer must prove the charge; executions charged before it completed unchecked.
      if (patched(VERIFY_CHARGE_PATCH)) verifyCharge(charge, { orderId, amount: total });
      return charge;
    });
    saga.stopIfCancelled();

    const result = await saga.complete();
    log.info('order completed', { orderId, total });
    return result;
  } catch (error) {
    return saga.undoAll(error);
  }
}

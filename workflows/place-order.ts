/**
 * placeOrder: the order-placement saga. Reserves stock and redeems coupons in parallel, charges the card,
 * completes the order; on any failure or a customer cancel it undoes, in reverse, every step that may have
 * taken effect, and never reports an undo it could not finish.
 */
import {
  ActivityFailure,
  ApplicationFailure,
  CancellationScope,
  TimeoutFailure,
  condition,
  isCancellation,
  log,
  patched,
  proxyActivities,
  setCurrentDetails,
  setHandler,
  upsertSearchAttributes,
  type ActivityOptions,
} from '@temporalio/workflow';
import { RetryState } from '@temporalio/common';
import type { createCouponActivities } from '../activities/coupon';
import type { createItemActivities } from '../activities/item';
import type { createOrderActivities } from '../activities/order';
import type { createPaymentActivities } from '../activities/payment';
import {
  CANCELLED_BY_OPERATOR,
  FailureReason,
  SERVICE_UNAVAILABLE,
  isFailureReason,
  type OrderFailureReason,
} from '../domain/failures';
import { orderTotal, type OrderStatus, type StepName, type StepStatus } from '../domain/order';
import {
  OrderSearchAttributes,
  TaskQueue,
  cancelOrder,
  getSagaState,
  retryCompensation,
  type PlaceOrderInput,
  type PlaceOrderResult,
  type SagaState,
} from './definitions';

/** Patch id of the change that records steps as RUNNING before they start (see recordRunning). */
export const RECORD_RUNNING_STEPS_PATCH = 'record-running-steps';

/** Every business rejection is final: retrying cannot change the answer. */
const BUSINESS_FAILURES = Object.values(FailureReason);

/** Item reservation and coupon redemption: quick database work, retried on infrastructure faults within a bound. */
export const STEP_TIMEOUTS = {
  startToCloseTimeout: '10s',
  scheduleToCloseTimeout: '30s',
} satisfies ActivityOptions;

/** The card gateway may hang (tok_timeout): each attempt is cut at 5 s and the whole charge at 15 s. */
export const PAYMENT_TIMEOUTS = {
  startToCloseTimeout: '5s',
  scheduleToCloseTimeout: '15s',
} satisfies ActivityOptions;

export const STEP_RETRY_POLICY = {
  initialInterval: '500ms',
  backoffCoefficient: 2,
  maximumInterval: '5s',
  nonRetryableErrorTypes: BUSINESS_FAILURES,
} satisfies ActivityOptions['retry'];

/** An undo is retried with backoff within this bound; past it the order waits for an operator. */
export const UNDO_TIMEOUTS = {
  startToCloseTimeout: '10s',
  scheduleToCloseTimeout: '30s',
} satisfies ActivityOptions;

export const UNDO_RETRY_POLICY = {
  initialInterval: '1s',
  backoffCoefficient: 2,
  maximumInterval: '10s',
  maximumAttempts: 4,
} satisfies ActivityOptions['retry'];

/** Recording progress in the order database must eventually succeed: retried without a bound. */
export const RECORD_OPTIONS = {
  taskQueue: TaskQueue.orders,
  summary: 'Record the order state',
  startToCloseTimeout: '10s',
  retry: { initialInterval: '1s', maximumInterval: '10s' },
} satisfies ActivityOptions;

type ItemActivities = ReturnType<typeof createItemActivities>;
type CouponActivities = ReturnType<typeof createCouponActivities>;
type PaymentActivities = ReturnType<typeof createPaymentActivities>;
type OrderActivities = ReturnType<typeof createOrderActivities>;

function stepOptions(taskQueue: string, summary: string, timeouts: ActivityOptions = STEP_TIMEOUTS): ActivityOptions {
  return { taskQueue, summary, ...timeouts, retry: STEP_RETRY_POLICY };
}

function undoOptions(taskQueue: string, summary: string): ActivityOptions {
  return { taskQueue, summary, ...UNDO_TIMEOUTS, retry: UNDO_RETRY_POLICY };
}

const items = proxyActivities<ItemActivities>(stepOptions(TaskQueue.items, 'Reserve stock'));
const coupons = proxyActivities<CouponActivities>(stepOptions(TaskQueue.coupons, 'Redeem coupons'));
const payments = proxyActivities<PaymentActivities>(
  stepOptions(TaskQueue.payments, 'Charge the card', PAYMENT_TIMEOUTS),
);
const itemUndo = proxyActivities<ItemActivities>(undoOptions(TaskQueue.items, 'Undo: release stock'));
const couponUndo = proxyActivities<CouponActivities>(undoOptions(TaskQueue.coupons, 'Undo: restore coupons'));
const paymentUndo = proxyActivities<PaymentActivities>(undoOptions(TaskQueue.payments, 'Undo: refund the charge'));
const orders = proxyActivities<OrderActivities>(RECORD_OPTIONS);

/** A step failed for a business reason, or could not finish within its bound. */
class StepFailure extends Error {
  constructor(
    readonly step: StepName | 'saga',
    readonly reason: OrderFailureReason,
    readonly detail: string,
  ) {
    super(`${step}: ${reason}: ${detail}`);
  }
}

interface Undo {
  step: StepName;
  run: () => Promise<{ undone: boolean }>;
}

/** Places one order; the workflow id is derived from the order id (see orderWorkflowId). */
export async function placeOrder(input: PlaceOrderInput): Promise<PlaceOrderResult> {
  const total = orderTotal(input.lines);
  const state: SagaState = {
    orderId: input.orderId,
    status: 'PENDING',
    steps: { items: 'NOT_STARTED', coupons: 'NOT_STARTED', payment: 'NOT_STARTED' },
    failureReason: null,
    failureDetail: null,
    compensationError: null,
    cancelRequested: false,
    compensated: [],
  };
  let completing = false;
  let retryRequested = false;

  setHandler(getSagaState, () => state);
  setHandler(
    cancelOrder,
    () => {
      state.cancelRequested = true;
      return { accepted: true } as const;
    },
    {
      validator: () => {
        if (state.status !== 'PENDING' || completing) {
          throw new Error(
            `order ${input.orderId} can no longer be cancelled: it is ${completing ? 'completing' : state.status}`,
          );
        }
      },
    },
  );
  setHandler(
    retryCompensation,
    () => {
      retryRequested = true;
      return { accepted: true } as const;
    },
    {
      validator: () => {
        if (state.status !== 'COMPENSATION_FAILED') {
          throw new Error(`order ${input.orderId} is ${state.status}, not COMPENSATION_FAILED`);
        }
      },
    },
  );

  const undos: Undo[] = [];
  // TEMPORARY (data-guards branch, until the lead's workflow change): numbers the progress writes 1, 2, 3…
  let progressSeq = 0;

  async function record(status?: OrderStatus): Promise<void> {
    if (status) state.status = status;
    upsertSearchAttributes([
      { key: OrderSearchAttributes.status, value: state.status },
      { key: OrderSearchAttributes.customerId, value: String(input.customerId) },
      { key: OrderSearchAttributes.total, value: total },
      { key: OrderSearchAttributes.failureReason, value: state.failureReason },
    ]);
    await orders.recordOrderProgress({
      orderId: input.orderId,
      status: state.status,
      steps: { ...state.steps },
      failureReason: state.failureReason,
      failureDetail: state.compensationError ?? state.failureDetail,
      seq: ++progressSeq,
    });
  }

  function setStep(step: StepName, status: StepStatus): void {
    state.steps[step] = status;
  }

  /**
   * Versioned change (docs/versioning.md): record steps as RUNNING before they start, so the order's API shows
   * which step it waits on. Executions started before the change have no marker and replay without the records.
   */
  async function recordRunning(...steps: StepName[]): Promise<void> {
    if (!patched(RECORD_RUNNING_STEPS_PATCH)) return;
    for (const step of steps) setStep(step, 'RUNNING');
    await record();
  }

  /** A cancel the customer was told was accepted (202) names the outcome, even if a step failed meanwhile. */
  function customerCancelFirst(failure: StepFailure): StepFailure {
    if (!state.cancelRequested || failure.reason === FailureReason.CANCELLED_BY_CUSTOMER) return failure;
    return new StepFailure(
      failure.step,
      FailureReason.CANCELLED_BY_CUSTOMER,
      `the customer cancelled the order; meanwhile ${failure.step} failed: ${failure.reason}: ${failure.detail}`,
    );
  }

  function stopIfCancelled(): void {
    if (state.cancelRequested) {
      throw new StepFailure('saga', FailureReason.CANCELLED_BY_CUSTOMER, 'the customer cancelled the order');
    }
  }

  async function runStep<T>(step: StepName, action: () => Promise<T>): Promise<T> {
    setStep(step, 'RUNNING');
    try {
      const result = await action();
      setStep(step, 'SUCCEEDED');
      return result;
    } catch (error) {
      setStep(step, 'FAILED');
      throw toStepFailure(step, error);
    }
  }

  try {
    await record('PENDING');
    stopIfCancelled();

    setCurrentDetails('Reserving stock and redeeming coupons');
    // Each undo is registered before its step runs: a step that committed but timed out is undone too.
    undos.push({ step: 'items', run: () => itemUndo.releaseStock({ orderId: input.orderId }) });
    undos.push({ step: 'coupons', run: () => couponUndo.restoreCoupons({ orderId: input.orderId }) });
    await recordRunning('items', 'coupons');
    const settled = await Promise.allSettled([
      runStep('items', () => items.reserveStock({ orderId: input.orderId, lines: input.lines })),
      runStep('coupons', () =>
        coupons.redeemCoupons({ orderId: input.orderId, customerId: input.customerId, lines: input.lines }),
      ),
    ]);
    const failures = settled.flatMap((outcome) =>
      outcome.status === 'rejected' ? [outcome.reason as StepFailure] : [],
    );
    // A business rejection says more to the customer than the other step's outage.
    const failure = failures.find((found) => isFailureReason(found.reason)) ?? failures[0];
    if (failure) throw failure;
    await record();
    stopIfCancelled();

    setCurrentDetails(`Charging ${total}`);
    undos.push({ step: 'payment', run: () => paymentUndo.refundPayment({ orderId: input.orderId }) });
    await recordRunning('payment');
    await runStep('payment', () =>
      payments.chargePayment({ orderId: input.orderId, amount: total, cardToken: input.paymentToken }),
    );
    stopIfCancelled();
    completing = true;

    setCurrentDetails('Completed');
    // Once completing, a cancel of the workflow itself must not interrupt the recording of a paid order.
    await CancellationScope.nonCancellable(() => record('COMPLETED'));
    log.info('order completed', { orderId: input.orderId, total });
    return { status: 'COMPLETED', failureReason: null };
  } catch (error) {
    const failure = customerCancelFirst(toStepFailure('saga', error));
    state.failureReason = failure.reason;
    state.failureDetail = failure.detail;
    log.warn('order failed; undoing its steps', {
      orderId: input.orderId,
      reason: failure.reason,
      detail: failure.detail,
    });
    setCurrentDetails(`Failed (${failure.reason}); undoing`);
    // Non-cancellable as a whole: when the workflow itself is cancelled (Temporal UI, CLI), the order must still
    // be recorded FAILED, undone and recorded CANCELLED, not left PENDING with its stock, coupons and charge.
    await CancellationScope.nonCancellable(async () => {
      await record('FAILED');
      await compensate();
      setCurrentDetails(`Cancelled (${failure.reason})`);
      await record('CANCELLED');
    });
    return { status: 'CANCELLED', failureReason: failure.reason };
  }

  /** Runs the registered undos in reverse; an undo that cannot finish waits for an operator, then runs again. */
  async function compensate(): Promise<void> {
    for (const undo of [...undos].reverse()) {
      const stepFailed = state.steps[undo.step] === 'FAILED';
      for (;;) {
        try {
          const { undone } = await undo.run();
          // A failed step with nothing to undo stays FAILED, also when its undo needed an operator's retry.
          setStep(undo.step, undone || !stepFailed ? 'COMPENSATED' : 'FAILED');
          state.compensated.push(undo.step);
          break;
        } catch (error) {
          setStep(undo.step, 'COMPENSATION_FAILED');
          state.compensationError = `undo of ${undo.step} failed: ${describe(error)}`;
          log.error('undo failed; waiting for an operator to retry', { orderId: input.orderId, step: undo.step });
          setCurrentDetails(`Undo of ${undo.step} failed; waiting for the retryCompensation update`);
          // Cleared before recording: a retry accepted while the status is being recorded must not be lost.
          retryRequested = false;
          await record('COMPENSATION_FAILED');
          await condition(() => retryRequested);
          state.compensationError = null;
          setCurrentDetails(`Retrying the undo of ${undo.step}`);
          await record('FAILED');
        }
      }
    }
  }
}

function toStepFailure(step: StepName | 'saga', error: unknown): StepFailure {
  if (error instanceof StepFailure) return error;
  if (isCancellation(error)) {
    return new StepFailure(step, CANCELLED_BY_OPERATOR, 'the order workflow was cancelled through Temporal');
  }
  const cause = error instanceof ActivityFailure ? error.cause : error;
  if (cause instanceof ApplicationFailure && isFailureReason(cause.type)) {
    return new StepFailure(step, cause.type, cause.message);
  }
  // The charge ran out of its bound: an attempt timed out, or every attempt failed until the bound was spent.
  const boundSpent = error instanceof ActivityFailure && error.retryState === RetryState.TIMEOUT;
  if (step === 'payment' && (cause instanceof TimeoutFailure || boundSpent)) {
    return new StepFailure(
      step,
      FailureReason.PAYMENT_TIMEOUT,
      `the card gateway did not answer in time (${describe(error)})`,
    );
  }
  return new StepFailure(step, SERVICE_UNAVAILABLE, `${step} step did not finish: ${describe(error)}`);
}

function describe(error: unknown): string {
  const cause = error instanceof ActivityFailure && error.cause ? error.cause : undefined;
  // An ApplicationFailure's type is the original error's name (TypeError, ...), which says more than its class.
  if (cause instanceof ApplicationFailure) return `${cause.type ?? cause.name}: ${cause.message}`;
  if (cause) return `${cause.name}: ${cause.message}`;
  return error instanceof Error ? error.message : String(error);
}

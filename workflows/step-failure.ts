/**
 * Why a saga step failed, in the order's own terms: a business rejection, a spent bound, or a cancellation.
 *
 * A failure carries two texts. `detail` is recorded as the order's `failureDetail`, which the customer reads, so
 * for an infrastructure fault it only names the service that was unavailable; `internal` is the raw error (host
 * names, paths, stack-ish messages) and goes to the worker's log only.
 */
import { ActivityFailure, ApplicationFailure, TimeoutFailure, isCancellation } from '@temporalio/workflow';
import { RetryState } from '@temporalio/common';
import {
  CANCELLED_BY_OPERATOR,
  FailureReason,
  SERVICE_UNAVAILABLE,
  isFailureReason,
  type OrderFailureReason,
} from '../domain/failure-reasons';
import type { StepName } from '../domain/order';

/** The service behind each step, as the customer-facing detail names it. */
const SERVICE_OF_STEP: Record<StepName, string> = {
  items: 'the item service',
  coupons: 'the coupon service',
  payment: 'the payment service',
};

/** A step failed for a business reason, or could not finish within its bound. */
export class StepFailure extends Error {
  /**
   * @param detail what the customer may read: a business rule's own message or a generic sentence
   * @param internal the raw cause for the worker's log; defaults to `detail` when there is nothing more to say
   */
  constructor(
    readonly step: StepName | 'saga',
    readonly reason: OrderFailureReason,
    readonly detail: string,
    readonly internal: string = detail,
  ) {
    super(`${step}: ${reason}: ${detail}`);
  }
}

/** The customer-facing sentence for a step that could not finish because its service was unreachable or broken. */
export function unavailableDetail(step: StepName | 'saga'): string {
  if (step === 'saga') return 'the order could not be processed';
  return `the ${step} step did not finish: ${SERVICE_OF_STEP[step]} was unavailable`;
}

/** The customer-facing sentence for an undo that waits for a retry; the cause stays in the log and the saga query. */
export function undoFailedDetail(step: StepName): string {
  return `undo of ${step} failed: ${SERVICE_OF_STEP[step]} could not undo it yet; it is retried`;
}

export function toStepFailure(step: StepName | 'saga', error: unknown): StepFailure {
  if (error instanceof StepFailure) return error;
  if (isCancellation(error)) {
    return new StepFailure(step, CANCELLED_BY_OPERATOR, 'the order workflow was cancelled through Temporal');
  }
  const cause = error instanceof ActivityFailure ? error.cause : error;
  // A business rejection's message is written by the service for the customer (which coupon, which item).
  if (cause instanceof ApplicationFailure && isFailureReason(cause.type)) {
    return new StepFailure(step, cause.type, cause.message);
  }
  // The charge ran out of its bound: an attempt timed out, or every attempt failed until the bound was spent.
  const boundSpent = error instanceof ActivityFailure && error.retryState === RetryState.TIMEOUT;
  if (step === 'payment' && (cause instanceof TimeoutFailure || boundSpent)) {
    return new StepFailure(
      step,
      FailureReason.PAYMENT_TIMEOUT,
      'the card gateway did not answer in time',
      describe(error),
    );
  }
  return new StepFailure(step, SERVICE_UNAVAILABLE, unavailableDetail(step), describe(error));
}

/** The raw text of an error, for logs and the operator's saga query only (it may name hosts, paths, SQL). */
export function describe(error: unknown): string {
  const cause = error instanceof ActivityFailure && error.cause ? error.cause : undefined;
  // An ApplicationFailure's type is the original error's name (TypeError, ...), which says more than its class.
  if (cause instanceof ApplicationFailure) return `${cause.type ?? cause.name}: ${cause.message}`;
  if (cause) return `${cause.name}: ${cause.message}`;
  return error instanceof Error ? error.message : String(error);
}

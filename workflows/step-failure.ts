/** Why a saga step failed, in the order's own terms: a business rejection, a spent bound, or a cancellation. */
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

/** A step failed for a business reason, or could not finish within its bound. */
export class StepFailure extends Error {
  constructor(
    readonly step: StepName | 'saga',
    readonly reason: OrderFailureReason,
    readonly detail: string,
  ) {
    super(`${step}: ${reason}: ${detail}`);
  }
}

export function toStepFailure(step: StepName | 'saga', error: unknown): StepFailure {
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

export function describe(error: unknown): string {
  const cause = error instanceof ActivityFailure && error.cause ? error.cause : undefined;
  // An ApplicationFailure's type is the original error's name (TypeError, ...), which says more than its class.
  if (cause instanceof ApplicationFailure) return `${cause.type ?? cause.name}: ${cause.message}`;
  if (cause) return `${cause.name}: ${cause.message}`;
  return error instanceof Error ? error.message : String(error);
}

/**
 * How the workflow turns a step's error into the order's failure (workflows/step-failure.ts): which reason the
 * order records, what the customer reads in `failureDetail`, and what only the log and the operator see. The
 * errors are built as the SDK hands them to a workflow, so each branch is checked without running one; the
 * workflow tests (place-order.fast.test.ts) show the same texts arriving on real orders.
 */
import {
  ActivityFailure,
  ApplicationFailure,
  CancelledFailure,
  RetryState,
  TimeoutFailure,
  TimeoutType,
} from '@temporalio/common';
import { CANCELLED_BY_OPERATOR, FailureReason, SERVICE_UNAVAILABLE } from '../../domain/failure-reasons';
import {
  StepFailure,
  describe as describeError,
  toStepFailure,
  undoFailedDetail,
  unavailableDetail,
} from '../../workflows/step-failure';

/** An activity's failure as the workflow receives it: the activity's own error is the cause. */
function activityFailure(
  cause: Error | undefined,
  retryState: RetryState = RetryState.NON_RETRYABLE_FAILURE,
): ActivityFailure {
  return new ActivityFailure('Activity task failed', 'chargePayment', '7', retryState, 'worker@host', cause);
}

/** An activity error that is not a business rejection, as the SDK wraps a thrown TypeError. */
const crash = ApplicationFailure.create({
  type: 'TypeError',
  message: "Cannot read properties of undefined (reading 'id')",
});

describe('the customer-facing texts', () => {
  test('each step names its own service when it was unavailable, and the saga names none', () => {
    expect(unavailableDetail('items')).toBe('the items step did not finish: the item service was unavailable');
    expect(unavailableDetail('coupons')).toBe('the coupons step did not finish: the coupon service was unavailable');
    expect(unavailableDetail('payment')).toBe('the payment step did not finish: the payment service was unavailable');
    expect(unavailableDetail('saga')).toBe('the order could not be processed');
  });

  test('an undo that waits for a retry names the service that could not undo yet', () => {
    expect(undoFailedDetail('coupons')).toBe(
      'undo of coupons failed: the coupon service could not undo it yet; it is retried',
    );
  });

  test('a StepFailure says its step, reason and detail, and keeps the detail as its internal text by default', () => {
    const failure = new StepFailure('items', FailureReason.OUT_OF_STOCK, '노트북 is out of stock');

    expect(failure.message).toBe('items: OUT_OF_STOCK: 노트북 is out of stock');
    expect(failure.internal).toBe('노트북 is out of stock');
  });
});

describe('toStepFailure', () => {
  test('a business rejection keeps its own reason and the message the service wrote for the customer', () => {
    const rejection = ApplicationFailure.nonRetryable('coupon 3 is already used', FailureReason.COUPON_ALREADY_USED);

    const failure = toStepFailure('coupons', activityFailure(rejection));

    expect(failure).toMatchObject({
      step: 'coupons',
      reason: FailureReason.COUPON_ALREADY_USED,
      detail: 'coupon 3 is already used',
    });
  });

  test('a StepFailure passes through unchanged', () => {
    const original = new StepFailure('payment', FailureReason.PAYMENT_DECLINED, 'card declined');

    expect(toStepFailure('saga', original)).toBe(original);
  });

  test('a cancellation of the workflow is the operator’s, not the customer’s', () => {
    const failure = toStepFailure('items', new CancelledFailure('cancelled'));

    expect(failure).toMatchObject({
      step: 'items',
      reason: CANCELLED_BY_OPERATOR,
      detail: 'the order workflow was cancelled through Temporal',
    });
  });

  test('a charge whose attempt timed out is PAYMENT_TIMEOUT; the raw cause stays internal', () => {
    const timedOut = activityFailure(new TimeoutFailure('activity timeout', undefined, TimeoutType.START_TO_CLOSE));

    const failure = toStepFailure('payment', timedOut);

    expect(failure).toMatchObject({
      reason: FailureReason.PAYMENT_TIMEOUT,
      detail: 'the card gateway did not answer in time',
      internal: 'TimeoutFailure: activity timeout',
    });
  });

  test('a charge whose attempts all failed until its bound was spent is PAYMENT_TIMEOUT too', () => {
    const failure = toStepFailure('payment', activityFailure(crash, RetryState.TIMEOUT));

    expect(failure.reason).toBe(FailureReason.PAYMENT_TIMEOUT);
  });

  test('a charge that failed for good before its bound is SERVICE_UNAVAILABLE, not a timeout', () => {
    const failure = toStepFailure('payment', activityFailure(crash, RetryState.MAXIMUM_ATTEMPTS_REACHED));

    expect(failure).toMatchObject({
      reason: SERVICE_UNAVAILABLE,
      detail: 'the payment step did not finish: the payment service was unavailable',
    });
  });

  test('a timeout of another step is SERVICE_UNAVAILABLE: only the card gateway has a timeout reason', () => {
    const timedOut = activityFailure(new TimeoutFailure('activity timeout', undefined, TimeoutType.START_TO_CLOSE));

    expect(toStepFailure('items', timedOut).reason).toBe(SERVICE_UNAVAILABLE);
    expect(toStepFailure('coupons', activityFailure(crash, RetryState.TIMEOUT)).reason).toBe(SERVICE_UNAVAILABLE);
  });

  test('a crash tells the customer only which service failed, and keeps the raw error for the log', () => {
    const failure = toStepFailure('items', activityFailure(crash));

    expect(failure).toMatchObject({
      reason: SERVICE_UNAVAILABLE,
      detail: 'the items step did not finish: the item service was unavailable',
      internal: "TypeError: Cannot read properties of undefined (reading 'id')",
    });
  });
});

describe('describe, the raw text for logs and the operator', () => {
  test('an activity failure is described by its cause: an ApplicationFailure by its type, else by its name', () => {
    expect(describeError(activityFailure(crash))).toBe("TypeError: Cannot read properties of undefined (reading 'id')");
    const untyped = ApplicationFailure.create({ message: 'no type' });
    expect(describeError(activityFailure(untyped))).toBe('ApplicationFailure: no type');
    expect(describeError(activityFailure(new RangeError('too far')))).toBe('RangeError: too far');
  });

  test('an activity failure without a cause, another error or a thrown value is described by its own text', () => {
    expect(describeError(activityFailure(undefined))).toBe('Activity task failed');
    expect(describeError(new Error('plain'))).toBe('plain');
    // Only an activity failure is described by its cause; another error's own cause stays out.
    expect(describeError(new Error('outer', { cause: new RangeError('inner') }))).toBe('outer');
    expect(describeError('a string')).toBe('a string');
  });
});

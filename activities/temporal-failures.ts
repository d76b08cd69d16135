/** Turns service errors into Temporal failures: business rejections are final, everything else is retried. */
import { ApplicationFailure } from '@temporalio/common';
import { BusinessRuleError } from '../domain/failure-reasons';
import { OrderAlreadyUndoneError } from '../lib/errors';
import { isNonTransient } from '../lib/transient';

export const ORDER_ALREADY_UNDONE = 'ORDER_ALREADY_UNDONE';

/** The failure type of an undo that no retry can cure; the order then waits for an operator or the retry timer. */
export const UNDO_REFUSED = 'UNDO_REFUSED';

export async function asActivity<T>(work: () => Promise<T>): Promise<T> {
  try {
    return await work();
  } catch (error) {
    if (error instanceof BusinessRuleError) throw ApplicationFailure.nonRetryable(error.message, error.reason);
    if (error instanceof OrderAlreadyUndoneError)
      throw ApplicationFailure.nonRetryable(error.message, ORDER_ALREADY_UNDONE);
    throw error;
  }
}

/**
 * Runs an undo. A transient fault (a database or network outage, a timeout, a lock or serialization conflict) is
 * thrown as it is, for the activity's unbounded retries; a fault no retry can cure (a bug, a refused query) becomes
 * a non-retryable UNDO_REFUSED failure. An unknown fault counts as transient: retrying an undo is always safe,
 * while giving it up leaves stock, coupons or a charge taken.
 */
export async function asUndo<T>(work: () => Promise<T>): Promise<T> {
  try {
    return await work();
  } catch (error) {
    if (isNonTransient(error)) {
      const { name, message } = error as Error;
      throw ApplicationFailure.create({ type: UNDO_REFUSED, message: `${name}: ${message}`, nonRetryable: true });
    }
    throw error;
  }
}

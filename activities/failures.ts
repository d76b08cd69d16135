/** Turns service errors into Temporal failures: business rejections are final, everything else is retried. */
import { ApplicationFailure } from '@temporalio/common';
import { BusinessRuleError } from '../domain/failures';
import { OrderAlreadyUndoneError } from '../lib/errors';

export const ORDER_ALREADY_UNDONE = 'ORDER_ALREADY_UNDONE';

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

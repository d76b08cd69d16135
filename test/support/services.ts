/** Helpers of the tests that call the services directly against their real databases (no gateway, no Temporal). */
import { setTimeout as sleep } from 'node:timers/promises';
import { ServiceError } from '../../lib/errors';

/** The error the promise rejects with; fails when it resolves. */
export async function rejection(promise: Promise<unknown>): Promise<Error> {
  try {
    await promise;
  } catch (error) {
    return error as Error;
  }
  throw new Error('expected a rejection');
}

/** The ServiceError the promise rejects with; fails on any other outcome. */
export async function serviceError(promise: Promise<unknown>): Promise<ServiceError> {
  const error = await rejection(promise);
  expect(error).toBeInstanceOf(ServiceError);
  return error as ServiceError;
}

/** A database client that can run raw SQL (any service's PrismaClient). */
interface RawQueries {
  $queryRaw<T = unknown>(query: TemplateStringsArray, ...values: unknown[]): PromiseLike<T>;
}

/**
 * Waits until some session of the client's database waits for a lock in a statement that contains the text. Asked
 * outside any transaction: a transaction sees one snapshot of pg_stat_activity for its whole length.
 */
export async function untilWaitingForLock(db: RawQueries, statement: string): Promise<void> {
  const deadline = Date.now() + 10_000;
  while (Date.now() < deadline) {
    const waiting = await db.$queryRaw<unknown[]>`
      SELECT 1 FROM pg_stat_activity
      WHERE datname = current_database() AND wait_event_type = 'Lock' AND position(${statement} IN query) > 0`;
    if (waiting.length) return;
    await sleep(20);
  }
  throw new Error(`no session started waiting for a lock in "${statement}"`);
}

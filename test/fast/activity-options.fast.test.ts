/**
 * The bounds the README states, read from the options the workflow really uses: undos have no bound at all, so
 * they outlast an outage of any length (10 minutes and more) with no operator; steps are bounded.
 */
import { msToNumber } from '@temporalio/common/lib/time';
import { DEFAULT_UPDATE_TIMEOUT_MS } from '../../api/saga-client';
import {
  LOCAL_RECORD_OPTIONS,
  NON_TRANSIENT_UNDO_FAILURES,
  PAYMENT_TIMEOUTS,
  STEP_TIMEOUTS,
  UNDO_RETRY_POLICY,
  UNDO_TIMEOUTS,
} from '../../workflows/activity-options';

test('when an undo keeps failing transiently, then nothing in its options ever gives up: no attempt limit, no overall timeout', () => {
  expect(UNDO_RETRY_POLICY).not.toHaveProperty('maximumAttempts');
  expect(UNDO_TIMEOUTS).not.toHaveProperty('scheduleToCloseTimeout');
  expect(UNDO_TIMEOUTS).not.toHaveProperty('scheduleToStartTimeout');
  // Capped backoff: over a 10-minute outage an undo is tried again at least every 30 s.
  expect(UNDO_RETRY_POLICY.maximumInterval).toBe('30s');
  // Only failures a retry cannot cure stop the retries.
  expect(NON_TRANSIENT_UNDO_FAILURES).toEqual([
    'TypeError',
    'ReferenceError',
    'RangeError',
    'SyntaxError',
    'UNDO_REFUSED',
  ]);
});

test('when a step attempt is lost with a killed worker, then it is retried within 5 s, inside a bounded step', () => {
  expect(STEP_TIMEOUTS).toEqual({ startToCloseTimeout: '5s', scheduleToCloseTimeout: '30s' });
  expect(PAYMENT_TIMEOUTS).toEqual({
    startToCloseTimeout: '5s',
    scheduleToCloseTimeout: '20s',
    heartbeatTimeout: '3s',
  });
});

test('when a local progress write hangs or fails, then it holds the workflow task for one attempt at most, shorter than the cancel bound', () => {
  // An attempt ends within 2 s, well inside the gateway's 5 s update bound, leaving time to take the update up.
  expect(msToNumber(LOCAL_RECORD_OPTIONS.startToCloseTimeout)).toBeLessThanOrEqual(DEFAULT_UPDATE_TIMEOUT_MS / 2);
  // Even the first retry backs off on a workflow timer (which ends the workflow task), not inside the task.
  expect(msToNumber(LOCAL_RECORD_OPTIONS.localRetryThreshold)).toBeLessThan(
    msToNumber(LOCAL_RECORD_OPTIONS.retry.initialInterval),
  );
  // Unbounded, like every progress write: no attempt limit, no overall timeout.
  expect(LOCAL_RECORD_OPTIONS.retry).not.toHaveProperty('maximumAttempts');
  expect(LOCAL_RECORD_OPTIONS).not.toHaveProperty('scheduleToCloseTimeout');
});

/**
 * The bounds the README states, read from the options the workflow really uses: undos have no bound at all, so
 * they outlast an outage of any length (10 minutes and more) with no operator; steps are bounded.
 */
import {
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

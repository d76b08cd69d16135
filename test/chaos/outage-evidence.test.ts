/**
 * When the chaos soak may blame an order's failure on its outages (scripts/chaos/outage-evidence.ts): only when
 * the failed step saw at least two kills of what it needs. A checker that excused every failure would hide a
 * single crash failing an order, the very thing the soak is there to catch.
 */
import type { KillRecord } from '../../scripts/chaos/killer';
import {
  CHAINED_KILLS,
  RESTART_SLACK_MS,
  dependenciesOf,
  isChainedOutage,
  killsDuring,
  outageEvidence,
  outageReport,
  type FailedStep,
} from '../../scripts/chaos/outage-evidence';
import type { ProcessName } from '../../scripts/chaos/stack';
import { TaskQueue } from '../../workflows/definitions';

const T0 = Date.parse('2026-12-07T07:20:00.000Z');

/** A charge scheduled at T0 that ran out of its 20 s bound. */
const CHARGE: FailedStep = {
  activity: 'chargePayment',
  taskQueue: TaskQueue.payments,
  scheduledAt: T0,
  endedAt: T0 + 20_000,
};

function kill(name: ProcessName, offsetMs: number): KillRecord {
  return { at: new Date(T0 + offsetMs).toISOString(), sinceStartMs: 60_000 + offsetMs, name, pid: 1000 + offsetMs };
}

test('a step depends on Temporal, PostgreSQL and its own worker only', () => {
  expect(dependenciesOf(TaskQueue.payments)).toEqual(['temporal', 'postgres', 'payment-worker']);
  expect(dependenciesOf(TaskQueue.items)).toEqual(['temporal', 'postgres', 'item-worker']);
  expect(dependenciesOf(TaskQueue.coupons)).toEqual(['temporal', 'postgres', 'coupon-worker']);
});

test("the kills a step saw: its dependencies', from the restart slack before it was scheduled until it ended", () => {
  const kills = [
    kill('postgres', -RESTART_SLACK_MS - 1), // back before the step began
    kill('temporal', -RESTART_SLACK_MS), // may still be restarting when the step is scheduled
    kill('gateway', 5_000), // not on the step's path
    kill('item-worker', 6_000), // another step's worker
    kill('order-worker', 7_000), // runs the workflow, not the charge
    kill('payment-worker', 20_000),
    kill('postgres', 20_001), // after the step ended
  ];
  expect(killsDuring(CHARGE, kills).map((found) => found.name)).toEqual(['temporal', 'payment-worker']);
});

test('chained outages: at least two kills of its dependencies; one or none is a single outage, which fails the run', () => {
  expect(CHAINED_KILLS).toBe(2);
  expect(isChainedOutage(outageEvidence([CHARGE], [kill('payment-worker', 3_000)]))).toBe(false);
  expect(isChainedOutage(outageEvidence([CHARGE], []))).toBe(false);
  expect(isChainedOutage(outageEvidence([CHARGE], [kill('postgres', 1_000), kill('payment-worker', 9_000)]))).toBe(
    true,
  );
  // No failed step in the history: nothing to blame, so no excuse.
  expect(outageEvidence([], [kill('postgres', 1_000), kill('temporal', 2_000)])).toBeNull();
  expect(isChainedOutage(null)).toBe(false);
});

test('of several failed steps, the one that saw the most kills is the evidence', () => {
  const reserve: FailedStep = {
    activity: 'reserveStock',
    taskQueue: TaskQueue.items,
    scheduledAt: T0,
    endedAt: T0 + 30_000,
  };
  const kills = [kill('item-worker', 2_000), kill('payment-worker', 4_000), kill('payment-worker', 12_000)];
  expect(outageEvidence([reserve, CHARGE], kills)?.step.activity).toBe('chargePayment');
});

test('the report names the step, its duration and the kills it saw', () => {
  const report = outageReport(
    { id: 'order-1', failureReason: 'PAYMENT_TIMEOUT' },
    [CHARGE],
    [kill('postgres', 1_000), kill('payment-worker', 9_500)],
  );
  expect(report).toEqual({
    orderId: 'order-1',
    outcome: 'CANCELLED/PAYMENT_TIMEOUT',
    step: 'chargePayment',
    stepSeconds: 20,
    dependencyKills: ['postgres +61.0 s', 'payment-worker +69.5 s'],
    chained: true,
  });
});

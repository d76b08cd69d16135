/**
 * Which outages an order's failure may be blamed on. A step is bounded (30 s, the charge 20 s) and retried within
 * its bound, so one crash of a process the step needs never fails an order: the process is back in seconds. The
 * killer, though, strikes every few seconds, and a step can meet several crashes of what it needs in a row (the
 * database, then Temporal, then its worker), whose outages and retry backoffs together outlast its bound. Such an
 * order ends by its bound, correctly, and is undone; the invariants still check everything it touched.
 *
 * So an order failed by an outage is a violation unless its failed step saw at least two kills of the processes
 * that step depends on, between shortly before it was scheduled and its end (read from the workflow's history).
 * A single kill, or none, that failed an order still fails the run.
 */
import { Client, Connection } from '@temporalio/client';
import { payloadDataConverter, type PayloadKeys } from '../../lib/payload-codec';
import { TaskQueue, orderWorkflowId } from '../../workflows/definitions';
import type { KillRecord } from './killer';
import type { ProcessName } from './stack';

/** A process killed this long before a step was scheduled may still be down (restarting) when the step runs. */
export const RESTART_SLACK_MS = 10_000;

/** Kills of a step's dependencies in its window from which on its failure counts as caused by chained outages. */
export const CHAINED_KILLS = 2;

/** The processes a saga step's activity needs besides its own worker: Temporal and the service databases. */
const SHARED_DEPENDENCIES: ProcessName[] = ['temporal', 'postgres'];

const WORKER_OF_QUEUE: Partial<Record<string, ProcessName>> = {
  [TaskQueue.items]: 'item-worker',
  [TaskQueue.coupons]: 'coupon-worker',
  [TaskQueue.payments]: 'payment-worker',
};

/** A step activity that ended without success: when it was scheduled, when it ended, on which queue. */
export interface FailedStep {
  activity: string;
  taskQueue: string;
  scheduledAt: number;
  endedAt: number;
}

export interface OutageEvidence {
  step: FailedStep;
  /** Kills of the step's dependencies from RESTART_SLACK_MS before it was scheduled until it ended. */
  dependencyKills: KillRecord[];
}

export function dependenciesOf(taskQueue: string): ProcessName[] {
  const worker = WORKER_OF_QUEUE[taskQueue];
  return worker ? [...SHARED_DEPENDENCIES, worker] : SHARED_DEPENDENCIES;
}

/** The kills a failed step may have suffered: its dependencies', inside its window (widened by the slack). */
export function killsDuring(step: FailedStep, kills: readonly KillRecord[]): KillRecord[] {
  const dependencies = new Set(dependenciesOf(step.taskQueue));
  return kills.filter((kill) => {
    const at = Date.parse(kill.at);
    return dependencies.has(kill.name) && at >= step.scheduledAt - RESTART_SLACK_MS && at <= step.endedAt;
  });
}

/** The failed step with the most dependency kills, if the order had any failed step. */
export function outageEvidence(steps: readonly FailedStep[], kills: readonly KillRecord[]): OutageEvidence | null {
  let best: OutageEvidence | null = null;
  for (const step of steps) {
    const dependencyKills = killsDuring(step, kills);
    if (!best || dependencyKills.length > best.dependencyKills.length) best = { step, dependencyKills };
  }
  return best;
}

export function isChainedOutage(evidence: OutageEvidence | null): boolean {
  return evidence !== null && evidence.dependencyKills.length >= CHAINED_KILLS;
}

/** An order that ended by a step's bound or an unavailable service, and the kills its failed step saw. */
export interface OutageReport {
  orderId: string;
  outcome: string;
  /** The failed step's activity, or null when the history showed none. */
  step: string | null;
  stepSeconds: number | null;
  /** `name +seconds since the workload started` of each dependency kill in the step's window. */
  dependencyKills: string[];
  chained: boolean;
}

export function outageReport(
  order: { id: string; failureReason: string | null },
  steps: readonly FailedStep[],
  kills: readonly KillRecord[],
): OutageReport {
  const evidence = outageEvidence(steps, kills);
  return {
    orderId: order.id,
    outcome: `CANCELLED/${order.failureReason}`,
    step: evidence?.step.activity ?? null,
    stepSeconds: evidence ? Math.round((evidence.step.endedAt - evidence.step.scheduledAt) / 100) / 10 : null,
    dependencyKills:
      evidence?.dependencyKills.map((kill) => `${kill.name} +${(kill.sinceStartMs / 1000).toFixed(1)} s`) ?? [],
    chained: isChainedOutage(evidence),
  };
}

const STEP_ACTIVITIES = new Set(['reserveStock', 'redeemCoupons', 'chargePayment']);

/** The step activities of each order's workflow that timed out or failed, from its history. */
export async function readFailedSteps(
  address: string,
  payloadKeys: PayloadKeys,
  orderIds: readonly string[],
): Promise<Map<string, FailedStep[]>> {
  const found = new Map<string, FailedStep[]>();
  if (orderIds.length === 0) return found;
  const connection = await Connection.connect({ address, connectTimeout: 3_000 });
  try {
    const client = new Client({ connection, dataConverter: payloadDataConverter(payloadKeys) });
    for (const orderId of orderIds) {
      const history = await client.workflow.getHandle(orderWorkflowId(orderId)).fetchHistory();
      const scheduled = new Map<string, { activity: string; taskQueue: string; at: number }>();
      const failed: FailedStep[] = [];
      for (const event of history.events ?? []) {
        const at = event.eventTime ? Number(event.eventTime.seconds) * 1000 + (event.eventTime.nanos ?? 0) / 1e6 : 0;
        const attributes = event.activityTaskScheduledEventAttributes;
        if (attributes && STEP_ACTIVITIES.has(attributes.activityType?.name ?? '')) {
          scheduled.set(String(event.eventId), {
            activity: attributes.activityType!.name!,
            taskQueue: attributes.taskQueue?.name ?? '',
            at,
          });
        }
        const ended = event.activityTaskTimedOutEventAttributes ?? event.activityTaskFailedEventAttributes;
        const step = ended ? scheduled.get(String(ended.scheduledEventId)) : undefined;
        if (step)
          failed.push({ activity: step.activity, taskQueue: step.taskQueue, scheduledAt: step.at, endedAt: at });
      }
      found.set(orderId, failed);
    }
    return found;
  } finally {
    await connection.close();
  }
}

/**
 * The reconciler's Temporal Schedule: every interval it runs the reconcileOrders sweep on the `orders` task
 * queue. Created (or brought to the configured interval) when the order worker starts; visible under Schedules
 * in the Web UI, where an operator can also pause it or trigger a sweep at once.
 */
import { ScheduleAlreadyRunning, ScheduleOverlapPolicy, type Client } from '@temporalio/client';
import { RECONCILER_SCHEDULE_ID, TaskQueue } from '../workflows/definitions';
import type { reconcileOrders } from '../workflows/reconcile-orders';

export async function ensureReconcilerSchedule(client: Client, everyMs: number): Promise<void> {
  const spec = { intervals: [{ every: everyMs }] };
  try {
    await client.schedule.create({
      scheduleId: RECONCILER_SCHEDULE_ID,
      spec,
      action: {
        type: 'startWorkflow',
        workflowType: 'reconcileOrders' satisfies (typeof reconcileOrders)['name'],
        taskQueue: TaskQueue.orders,
        workflowId: 'order-reconciler-sweep',
        workflowExecutionTimeout: '5 minutes',
      },
      policies: { overlap: ScheduleOverlapPolicy.SKIP, catchupWindow: '1 minute' },
      state: { note: 'Cleans up orders whose workflow ended before the order did (see README, Operator actions)' },
    });
  } catch (error) {
    if (!(error instanceof ScheduleAlreadyRunning)) throw error;
    await client.schedule.getHandle(RECONCILER_SCHEDULE_ID).update((previous) => ({ ...previous, spec }));
  }
}

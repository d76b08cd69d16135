/**
 * Order activities (task queue `orders`): record the saga's progress in the order database, and the reconciler's
 * sweep for orders whose workflow ended before them.
 */
import { Context } from '@temporalio/activity';
import type { Duration } from '@temporalio/common';
import {
  WorkflowExecutionAlreadyStartedError,
  WorkflowIdConflictPolicy,
  WorkflowIdReusePolicy,
  WorkflowNotFoundError,
  type Client,
} from '@temporalio/client';
import { CLEANUP_FIRST_SEQ, isTerminal } from '../domain/order';
import type { OrderProgress, OrderService, OrderView, ProgressResult } from '../services/order';
import { TaskQueue, orderWorkflowId, type CleanUpOrderInput } from '../workflows/definitions';

export interface ReconcilerSettings {
  /** An order younger than this is left alone: its gateway may still be starting its workflow. */
  graceMs: number;
  /** At most this many orders per sweep. */
  batchSize: number;
  compensationRetryInterval?: Duration;
}

/** Room above the stored sequence number for writes of the ended execution still in flight when it was read. */
const SEQ_MARGIN = 1000;

export const DEFAULT_RECONCILER_SETTINGS: ReconcilerSettings = { graceMs: 60_000, batchSize: 100 };

export function createOrderActivities({
  orders,
  reconciler = DEFAULT_RECONCILER_SETTINGS,
}: {
  orders: OrderService;
  reconciler?: ReconcilerSettings;
}) {
  return {
    /** Stores status, step states and failure of an order; a write older than the stored one changes nothing. */
    async recordOrderProgress(progress: OrderProgress): Promise<ProgressResult> {
      return orders.recordProgress(progress);
    },

    /**
     * Finds orders that have not ended although their workflow has (terminated, timed out, reset away) or was
     * never started, and starts a cleanUpOrder under the order's own workflow id for each. Temporal refuses a
     * second execution with a running one's id, so a cleanup never races the order's saga.
     */
    async reconcileOrphanedOrders(): Promise<{ examined: number; cleanedUp: string[] }> {
      const { client } = Context.current();
      const candidates = await orders.findUnfinishedOrders({
        createdBefore: new Date(Date.now() - reconciler.graceMs),
        limit: reconciler.batchSize,
      });
      const cleanedUp: string[] = [];
      for (const order of candidates) {
        Context.current().heartbeat(order.orderId);
        const why = await whyOrphaned(client, order.orderId);
        if (!why) continue;
        // The workflow may have recorded the end between the listing and the description.
        const current = await orders.getOrder(order.orderId);
        if (!current || isTerminal(current.status)) continue;
        // Above whatever was written before: the saga's numbers, or those of an earlier cleanup that was stopped.
        const firstSeq = Math.max(CLEANUP_FIRST_SEQ, order.progressSeq + SEQ_MARGIN);
        if (await startCleanup(client, current, why, firstSeq, reconciler)) {
          cleanedUp.push(order.orderId);
        }
      }
      return { examined: candidates.length, cleanedUp };
    },
  };
}

/** Why the order's workflow can no longer end the order, or undefined while one is running. */
async function whyOrphaned(client: Client, orderId: string): Promise<string | undefined> {
  try {
    const description = await client.workflow.getHandle(orderWorkflowId(orderId)).describe();
    if (description.status.name === 'RUNNING') return undefined;
    return `its workflow ${description.type} ended as ${description.status.name} before the order did`;
  } catch (error) {
    if (error instanceof WorkflowNotFoundError) return 'it has no workflow (its start failed or was lost)';
    throw error;
  }
}

async function startCleanup(
  client: Client,
  order: OrderView,
  why: string,
  firstSeq: number,
  settings: ReconcilerSettings,
): Promise<boolean> {
  const input: CleanUpOrderInput = {
    orderId: order.orderId,
    customerId: order.customerId,
    total: order.totalPrice,
    status: order.status,
    steps: order.steps,
    failureReason: order.failureReason ?? null,
    why,
    firstSeq,
    ...(settings.compensationRetryInterval ? { compensationRetryInterval: settings.compensationRetryInterval } : {}),
  };
  try {
    await client.workflow.start('cleanUpOrder', {
      taskQueue: TaskQueue.orders,
      workflowId: orderWorkflowId(order.orderId),
      args: [input],
      // Only when no execution with the order's id runs: never beside the order's own saga.
      workflowIdReusePolicy: WorkflowIdReusePolicy.ALLOW_DUPLICATE,
      workflowIdConflictPolicy: WorkflowIdConflictPolicy.FAIL,
      staticSummary: `Reconcile order ${order.orderId}: ${why}`,
    });
    return true;
  } catch (error) {
    if (error instanceof WorkflowExecutionAlreadyStartedError) return false;
    throw error;
  }
}

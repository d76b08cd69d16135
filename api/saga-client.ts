/** The gateway's side of the order saga: starts placeOrder workflows and sends them updates through the Temporal client. */
import {
  WorkflowIdConflictPolicy,
  WorkflowExecutionAlreadyStartedError,
  WorkflowIdReusePolicy,
  WorkflowNotFoundError,
  WorkflowUpdateFailedError,
  type Client,
} from '@temporalio/client';
import { orderTotal } from '../domain/order';
import {
  OrderSearchAttributes,
  TaskQueue,
  cancelOrder,
  orderWorkflowId,
  type PlaceOrderInput,
} from '../workflows/definitions';
import type { placeOrder } from '../workflows/place-order';

export interface SagaClient {
  workflowId(orderId: string): string;
  /** Starts the order's workflow; a second call for the same order attaches to it, running or ended. */
  start(input: PlaceOrderInput): Promise<void>;
  /** Asks the workflow to cancel; false when it refuses (already completing or ended). */
  cancel(orderId: string): Promise<boolean>;
  uiUrl(orderId: string): string;
}

export function createSagaClient(client: Client, uiBaseUrl: string): SagaClient {
  const namespace = client.options.namespace;
  const startWorkflow = (input: PlaceOrderInput, total: number) =>
    client.workflow.start<typeof placeOrder>('placeOrder', {
      taskQueue: TaskQueue.orders,
      workflowId: orderWorkflowId(input.orderId),
      args: [input],
      workflowIdReusePolicy: WorkflowIdReusePolicy.REJECT_DUPLICATE,
      workflowIdConflictPolicy: WorkflowIdConflictPolicy.USE_EXISTING,
      staticSummary: `Order ${input.orderId}: ${input.lines.length} line(s), total ${total}`,
      staticDetails: [
        `customer: ${input.customerId}`,
        `total: ${total}`,
        `card: ${input.paymentToken}`,
        ...input.lines.map(
          (line, index) =>
            `line ${index + 1}: item ${line.itemId} x ${line.quantity} at ${line.unitPrice} -> ${line.discountedUnitPrice}` +
            (line.userCouponIds.length ? ` (coupons ${line.userCouponIds.join(', ')})` : ''),
        ),
      ].join('\n'),
      typedSearchAttributes: [
        { key: OrderSearchAttributes.status, value: 'PENDING' },
        { key: OrderSearchAttributes.customerId, value: String(input.customerId) },
        { key: OrderSearchAttributes.total, value: total },
      ],
    });

  return {
    workflowId: orderWorkflowId,

    async start(input) {
      const total = orderTotal(input.lines);
      try {
        await startWorkflow(input, total);
      } catch (error) {
        // The order's workflow already ran to its end: there is nothing to start.
        if (error instanceof WorkflowExecutionAlreadyStartedError) return;
        throw error;
      }
    },

    async cancel(orderId) {
      try {
        await client.workflow.getHandle(orderWorkflowId(orderId)).executeUpdate(cancelOrder);
        return true;
      } catch (error) {
        if (error instanceof WorkflowUpdateFailedError || error instanceof WorkflowNotFoundError) return false;
        // An update sent to a closed workflow fails with a NOT_FOUND-like service error.
        if ((error as { code?: number }).code === 5) return false;
        throw error;
      }
    },

    uiUrl(orderId) {
      return `${uiBaseUrl}/namespaces/${encodeURIComponent(namespace)}/workflows/${encodeURIComponent(orderWorkflowId(orderId))}`;
    },
  };
}

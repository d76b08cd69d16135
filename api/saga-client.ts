/** The gateway's side of the order saga: starts placeOrder workflows and sends them updates through the Temporal client. */
import {
  WorkflowIdConflictPolicy,
  WorkflowExecutionAlreadyStartedError,
  WorkflowIdReusePolicy,
  WorkflowNotFoundError,
  WorkflowUpdateFailedError,
  type Client,
} from '@temporalio/client';
import type { Duration } from '@temporalio/common';
import { maskCardToken } from '../domain/card-tokens';
import { orderTotal } from '../domain/order';
import { ServiceError } from '../lib/errors';
import {
  OrderSearchAttributes,
  TaskQueue,
  cancelOrder,
  orderWorkflowId,
  retryCompensation,
  type PlaceOrderInput,
} from '../workflows/definitions';
import type { placeOrder } from '../workflows/place-order';

export interface SagaClient {
  workflowId(orderId: string): string;
  /** Starts the order's workflow; a second call for the same order attaches to it, running or ended. */
  start(input: PlaceOrderInput): Promise<void>;
  /** Asks the workflow to cancel; false when it refuses (already completing or ended). */
  cancel(orderId: string): Promise<boolean>;
  /** Asks an order waiting in COMPENSATION_FAILED to retry its undos now; false when it is not waiting. */
  retryCompensation(orderId: string): Promise<boolean>;
  uiUrl(orderId: string): string;
}

export interface SagaClientOptions {
  /** How long starting a workflow may take before the gateway answers 503 (the order is then reconciled). */
  startTimeoutMs?: number;
  /** How long a cancel or retry may wait for the order's workflow to accept it before the gateway answers 503. */
  updateTimeoutMs?: number;
  /** Passed to every new placeOrder: how often a failed undo retries by itself. */
  compensationRetryInterval?: Duration;
}

export const DEFAULT_START_TIMEOUT_MS = 10_000;
export const DEFAULT_UPDATE_TIMEOUT_MS = 5_000;

/** gRPC status codes that mean "Temporal (or the order's worker) did not answer in time". */
const UNAVAILABLE_CODES = new Set([4 /* DEADLINE_EXCEEDED */, 14 /* UNAVAILABLE */, 1 /* CANCELLED */]);

function unavailable(error: unknown, what: string): never {
  const code = (error as { code?: unknown }).code ?? (error as { cause?: { code?: unknown } }).cause?.code;
  if (typeof code === 'number' && UNAVAILABLE_CODES.has(code)) {
    throw new ServiceError('SERVICE_UNAVAILABLE', `${what} did not answer in time; try again`);
  }
  throw error;
}

export function createSagaClient(client: Client, uiBaseUrl: string, options: SagaClientOptions = {}): SagaClient {
  const namespace = client.options.namespace;
  const startTimeoutMs = options.startTimeoutMs ?? DEFAULT_START_TIMEOUT_MS;
  const updateTimeoutMs = options.updateTimeoutMs ?? DEFAULT_UPDATE_TIMEOUT_MS;

  /** Sends an update to the order's workflow within the bound: true when accepted, false when refused or closed. */
  async function update(orderId: string, definition: typeof cancelOrder): Promise<boolean> {
    try {
      await client.withDeadline(Date.now() + updateTimeoutMs, () =>
        client.workflow.getHandle(orderWorkflowId(orderId)).executeUpdate(definition),
      );
      return true;
    } catch (error) {
      if (error instanceof WorkflowUpdateFailedError || error instanceof WorkflowNotFoundError) return false;
      // An update sent to a closed workflow fails with a NOT_FOUND-like service error.
      if ((error as { code?: number }).code === 5) return false;
      return unavailable(error, 'the order service');
    }
  }
  const startWorkflow = (input: PlaceOrderInput, total: number) =>
    client.workflow.start<typeof placeOrder>('placeOrder', {
      taskQueue: TaskQueue.orders,
      workflowId: orderWorkflowId(input.orderId),
      args: [
        options.compensationRetryInterval
          ? { ...input, compensationRetryInterval: options.compensationRetryInterval }
          : input,
      ],
      workflowIdReusePolicy: WorkflowIdReusePolicy.REJECT_DUPLICATE,
      workflowIdConflictPolicy: WorkflowIdConflictPolicy.USE_EXISTING,
      // Summary, details and search attributes are stored as they are, unencrypted (the payload codec only sees
      // payloads): nothing secret goes in, and the card token only masked.
      staticSummary: `Order ${input.orderId}: ${input.lines.length} line(s), total ${total}`,
      staticDetails: [
        `customer: ${input.customerId}`,
        `total: ${total}`,
        `card: ${maskCardToken(input.paymentToken)}`,
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
        await client.withDeadline(Date.now() + startTimeoutMs, () => startWorkflow(input, total));
      } catch (error) {
        // The order's workflow already ran to its end (or the reconciler's cleanup took its id): nothing to start.
        if (error instanceof WorkflowExecutionAlreadyStartedError) return;
        unavailable(error, 'Temporal');
      }
    },

    cancel: (orderId) => update(orderId, cancelOrder),
    retryCompensation: (orderId) => update(orderId, retryCompensation),

    uiUrl(orderId) {
      return `${uiBaseUrl}/namespaces/${encodeURIComponent(namespace)}/workflows/${encodeURIComponent(orderWorkflowId(orderId))}`;
    },
  };
}

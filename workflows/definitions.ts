/**
 * The public surface of the order workflow, shared by the workflow itself and its clients (gateway, tests,
 * scripts): task queues, workflow ids, search attributes, queries and updates.
 */
import { defineSearchAttributeKey, SearchAttributeType, type Duration } from '@temporalio/common';
import { defineQuery, defineUpdate } from '@temporalio/workflow';
import type { OrderFailureReason } from '../domain/failure-reasons';
import type { OrderLineInput, OrderStatus, StepStatuses, TerminalStatus } from '../domain/order';

export const TaskQueue = {
  orders: 'orders',
  items: 'items',
  coupons: 'coupons',
  payments: 'payments',
} as const;

/**
 * One workflow id per order, for placeOrder and for the reconciler's cleanUpOrder alike: Temporal never runs two
 * executions with one id at once, so a cleanup can never race the order's own saga.
 */
export function orderWorkflowId(orderId: string): string {
  return `order-${orderId}`;
}

/** The schedule that runs the reconcileOrders sweep (visible under Schedules in the Web UI). */
export const RECONCILER_SCHEDULE_ID = 'order-reconciler';

/** Custom search attributes; every Temporal server the project starts registers them (see scripts/lib/temporal). */
export const OrderSearchAttributes = {
  status: defineSearchAttributeKey('OrderStatus', SearchAttributeType.KEYWORD),
  customerId: defineSearchAttributeKey('CustomerId', SearchAttributeType.KEYWORD),
  total: defineSearchAttributeKey('OrderTotal', SearchAttributeType.INT),
  failureReason: defineSearchAttributeKey('FailureReason', SearchAttributeType.KEYWORD),
} as const;

export interface PlaceOrderInput {
  orderId: string;
  customerId: number;
  lines: OrderLineInput[];
  /** Simulated card token: tok_visa approves, tok_declined is declined, tok_timeout hangs. */
  paymentToken: string;
  /** How often an undo that failed for a non-transient reason is retried by itself (default 10 minutes). */
  compensationRetryInterval?: Duration;
}

/** The reconciler's cleanup of an order whose placeOrder workflow ended (or never started) before the order did. */
export interface CleanUpOrderInput {
  orderId: string;
  customerId: number;
  total: number;
  /** The order as the order database holds it. */
  status: OrderStatus;
  steps: StepStatuses;
  failureReason: string | null;
  /** Why the order is being cleaned up, e.g. "its workflow was TERMINATED". */
  why: string;
  /** The first progress sequence number to write: above anything written before (by the saga or an earlier cleanup). */
  firstSeq?: number;
  compensationRetryInterval?: Duration;
}

export interface SagaState {
  orderId: string;
  status: OrderStatus;
  steps: StepStatuses;
  failureReason: OrderFailureReason | null;
  failureDetail: string | null;
  /** Set while an undo step could not finish and waits for an operator. */
  compensationError: string | null;
  cancelRequested: boolean;
  /** The undo steps that ran, in the order they ran. */
  compensated: string[];
}

export interface PlaceOrderResult {
  status: TerminalStatus;
  failureReason: OrderFailureReason | null;
}

export const getSagaState = defineQuery<SagaState>('getSagaState');

/** Customer cancel: accepted while the order is still PENDING and not completing; rejected otherwise. */
export const cancelOrder = defineUpdate<{ accepted: true }>('cancelOrder');

/** Operator action: retry the undo steps of an order in COMPENSATION_FAILED. */
export const retryCompensation = defineUpdate<{ accepted: true }>('retryCompensation');

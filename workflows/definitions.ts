/**
 * The public surface of the order workflow, shared by the workflow itself and its clients (gateway, tests,
 * scripts): task queues, workflow ids, search attributes, queries and updates.
 */
import { defineSearchAttributeKey, SearchAttributeType } from '@temporalio/common';
import { defineQuery, defineUpdate } from '@temporalio/workflow';
import type { OrderFailureReason } from '../domain/failures';
import type { OrderLineInput, OrderStatus, StepStatuses } from '../domain/order';

export const TaskQueue = {
  orders: 'orders',
  items: 'items',
  coupons: 'coupons',
  payments: 'payments',
} as const;

export function orderWorkflowId(orderId: string): string {
  return `order-${orderId}`;
}

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
  status: 'COMPLETED' | 'CANCELLED';
  failureReason: OrderFailureReason | null;
}

export const getSagaState = defineQuery<SagaState>('getSagaState');

/** Customer cancel: accepted while the order is still PENDING and not completing; rejected otherwise. */
export const cancelOrder = defineUpdate<{ accepted: true }>('cancelOrder');

/** Operator action: retry the undo steps of an order in COMPENSATION_FAILED. */
export const retryCompensation = defineUpdate<{ accepted: true }>('retryCompensation');

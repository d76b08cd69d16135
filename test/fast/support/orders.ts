/** Starting orders on the fast tier and reading back what their fakes saw. */
import { randomUUID } from 'node:crypto';
import type { WorkflowHandle } from '@temporalio/client';
import { ApplicationFailure } from '@temporalio/common';
import { decodeUserMetadata, loadDataConverter } from '@temporalio/common/lib/internal-non-workflow';
import { setTimeout as sleep } from 'node:timers/promises';
import { TestCardToken } from '../../../domain/card-tokens';
import type { FailureReason } from '../../../domain/failure-reasons';
import type { OrderLineInput } from '../../../domain/order';
import { TaskQueue, orderWorkflowId, type PlaceOrderInput } from '../../../workflows/definitions';
import type { placeOrder } from '../../../workflows/place-order';
import { testDataConverter } from '../../support/payload-keys';
import type { FastEnvironment } from './environment';
import type { FakeServices, SagaActivityName, Script } from './fake-services';

/** Two lines, one with a coupon: 1 × 9 000 (8 000 after the coupon) + 2 × 5 000 = 18 000. */
export const LINES: OrderLineInput[] = [
  { itemId: 1, quantity: 1, unitPrice: 9_000, discountedUnitPrice: 8_000, userCouponIds: [7] },
  { itemId: 2, quantity: 2, unitPrice: 5_000, discountedUnitPrice: 5_000, userCouponIds: [] },
];
export const TOTAL = 18_000;

/** A business rejection as the real activities throw it (activities/temporal-failures.ts asActivity). */
export function rejected(reason: FailureReason): never {
  throw ApplicationFailure.nonRetryable(`simulated ${reason}`, reason);
}

/**
 * A service that never answers, as the step sees it: every attempt ends without an answer, until the step's bound
 * is spent. The attempt fails at once instead of hanging, because the test server does not skip time while an
 * activity task is outstanding: a hanging fake would cost its real timeouts (3 to 5 s per attempt).
 */
export function noAnswer(service: string): never {
  throw ApplicationFailure.retryable(`no answer from ${service}`, 'NoAnswer');
}

/** Starts placeOrder for a new order whose activities answer as `script` says. */
export async function startOrder(
  env: FastEnvironment,
  fakes: FakeServices,
  script: Script = {},
  input: Partial<PlaceOrderInput> = {},
) {
  const orderId = randomUUID();
  fakes.script(orderId, script);
  const handle = await env.client.workflow.start<typeof placeOrder>('placeOrder', {
    taskQueue: TaskQueue.orders,
    workflowId: orderWorkflowId(orderId),
    args: [{ orderId, customerId: 42, lines: LINES, paymentToken: TestCardToken.approve, ...input }],
  });
  return { orderId, handle };
}

/**
 * The activities that ran for an order, with the two parallel steps (stock, coupons) in a fixed order, since
 * either may start first.
 */
export function ran(fakes: FakeServices, orderId: string): SagaActivityName[] {
  const calls = fakes.calls(orderId);
  const parallel: SagaActivityName[] = ['reserveStock', 'redeemCoupons'];
  const head = calls.slice(0, 2);
  if (head.length === 2 && parallel.every((name) => head.includes(name))) return [...parallel, ...calls.slice(2)];
  return calls;
}

/** The statuses the order service was told, repeated writes of one status shown once. */
export function statusHistory(fakes: FakeServices, orderId: string): string[] {
  return fakes
    .progress(orderId)
    .map((write) => write.status)
    .filter((status, index, all) => index === 0 || all[index - 1] !== status);
}

/** The sequence numbers of the order's progress writes, in the order they were received. */
export function seqs(fakes: FakeServices, orderId: string): number[] {
  return fakes.progress(orderId).map((write) => write.seq);
}

/** first, first + 1, … : one number per write, none skipped or repeated. */
export function consecutiveFrom(first: number, count: number): number[] {
  return Array.from({ length: count }, (_, index) => first + index);
}

/** Polls (in wall time) until `check` holds; for moments a test must wait for without skipping server time. */
export async function until(check: () => boolean | Promise<boolean>, what: string, timeoutMs = 5_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting until ${what}`);
    await sleep(20);
  }
}

/**
 * Each activity in a workflow's history as the Web UI labels it, "activity type: summary" ("local" for a local
 * activity), once each, sorted.
 */
export async function activityLabels(handle: WorkflowHandle): Promise<string[]> {
  const converter = loadDataConverter(testDataConverter);
  const labels = new Set<string>();
  for (const event of (await handle.fetchHistory()).events ?? []) {
    const scheduled = event.activityTaskScheduledEventAttributes?.activityType?.name;
    const local = event.markerRecordedEventAttributes?.markerName === 'core_local_activity' ? 'local' : undefined;
    const { staticSummary } = await decodeUserMetadata(converter, event.userMetadata);
    if (scheduled ?? local) labels.add(`${scheduled ?? local}: ${staticSummary}`);
  }
  return [...labels].sort();
}

/** The server's time between the start and the end of a workflow (skipped time included). */
export async function serverDurationMs(handle: WorkflowHandle): Promise<number> {
  const { startTime, closeTime } = await handle.describe();
  if (!closeTime) throw new Error('the workflow has not ended');
  return closeTime.getTime() - startTime.getTime();
}

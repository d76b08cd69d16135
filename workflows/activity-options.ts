/**
 * How long each saga step may take and how it is retried; the bounds the README states come from here.
 *
 * A step attempt is cut short (start-to-close) so that an attempt lost with a killed worker is retried within
 * seconds; the step as a whole is bounded (schedule-to-close) so that an order never waits forever for a
 * service that stays down. Undos are never bounded: they retry with capped backoff until they succeed, and only
 * a non-transient failure (a bug, a refusal) makes an order wait for an operator.
 */
import {
  proxyActivities,
  proxyLocalActivities,
  type ActivityOptions,
  type LocalActivityOptions,
} from '@temporalio/workflow';
import type { createCouponActivities } from '../activities/coupon';
import type { UNDO_REFUSED as UndoRefused } from '../activities/temporal-failures';
import type { createItemActivities } from '../activities/item';
import type { createOrderActivities } from '../activities/order';
import type { createPaymentActivities } from '../activities/payment';
import { FailureReason } from '../domain/failure-reasons';
import { TaskQueue } from './definitions';

/** Every business rejection is final: retrying cannot change the answer. */
const BUSINESS_FAILURES = Object.values(FailureReason);

/** Failures no retry can cure: programming errors thrown by an activity, and undos the service refuses. */
export const NON_TRANSIENT_UNDO_FAILURES = [
  'TypeError',
  'ReferenceError',
  'RangeError',
  'SyntaxError',
  'UNDO_REFUSED' satisfies typeof UndoRefused,
];

/** Item reservation and coupon redemption: quick database work, retried on infrastructure faults within a bound. */
export const STEP_TIMEOUTS = {
  startToCloseTimeout: '5s',
  scheduleToCloseTimeout: '30s',
} satisfies ActivityOptions;

/**
 * The card gateway may hang (tok_timeout): each attempt is cut at 5 s and the whole charge at 20 s. The charge
 * heartbeats while it waits, so a cancel reaches it, and a killed payment worker is noticed, within 3 s.
 */
export const PAYMENT_TIMEOUTS = {
  startToCloseTimeout: '5s',
  scheduleToCloseTimeout: '20s',
  heartbeatTimeout: '3s',
} satisfies ActivityOptions;

export const STEP_RETRY_POLICY = {
  initialInterval: '500ms',
  backoffCoefficient: 2,
  maximumInterval: '5s',
  nonRetryableErrorTypes: BUSINESS_FAILURES,
} satisfies ActivityOptions['retry'];

/** An undo attempt is cut at 10 s; the undo itself has no bound. */
export const UNDO_TIMEOUTS = {
  startToCloseTimeout: '10s',
} satisfies ActivityOptions;

/** Undos retry without a limit through any outage, backing off to one attempt every 30 s. */
export const UNDO_RETRY_POLICY = {
  initialInterval: '1s',
  backoffCoefficient: 2,
  maximumInterval: '30s',
  nonRetryableErrorTypes: NON_TRANSIENT_UNDO_FAILURES,
} satisfies ActivityOptions['retry'];

/** An order whose undo failed for a non-transient reason retries it by itself this often (and on an operator's retry). */
export const DEFAULT_COMPENSATION_RETRY_INTERVAL = '10 minutes';

/** Recording progress in the order database must eventually succeed: retried without a bound. */
export const RECORD_OPTIONS = {
  taskQueue: TaskQueue.orders,
  summary: 'Record the order state',
  startToCloseTimeout: '5s',
  retry: { initialInterval: '1s', maximumInterval: '10s' },
} satisfies ActivityOptions;

/**
 * Recording progress as a local activity: the order worker owns the order database and runs the workflow, so the
 * write runs in the worker beside the workflow instead of a server round trip per write (patch
 * `local-progress-records`, workflows/saga.ts). Retried without a bound, like RECORD_OPTIONS, but every attempt
 * is cut at 2 s and every retry waits on a workflow timer (its first backoff, 1 s, is already above
 * localRetryThreshold): a local activity holds the workflow task open while it runs, and an update (the
 * customer's cancel) is taken up only once that task ends. So a slow or unreachable order database holds the
 * workflow task for one attempt at most, and a cancel sent meanwhile is accepted within about 2 s, inside the
 * gateway's 5 s bound (api/saga-client.ts). A write that succeeds at once issues no timer; only a failing write
 * adds one StartTimer command per retry.
 */
export const LOCAL_RECORD_OPTIONS = {
  summary: 'Record the order state (local)',
  startToCloseTimeout: '2s',
  localRetryThreshold: '500ms',
  retry: { initialInterval: '1s', maximumInterval: '10s' },
} satisfies LocalActivityOptions;

/** The reconciler's sweep: one query of the order database plus one Temporal call per unfinished order. */
export const RECONCILE_OPTIONS = {
  taskQueue: TaskQueue.orders,
  summary: 'Find orders whose workflow ended before them',
  startToCloseTimeout: '1 minute',
  retry: { initialInterval: '1s', maximumInterval: '10s', maximumAttempts: 3 },
} satisfies ActivityOptions;

type ItemActivities = ReturnType<typeof createItemActivities>;
type CouponActivities = ReturnType<typeof createCouponActivities>;
type PaymentActivities = ReturnType<typeof createPaymentActivities>;
type OrderActivities = ReturnType<typeof createOrderActivities>;

function stepOptions(taskQueue: string, summary: string, timeouts: ActivityOptions = STEP_TIMEOUTS): ActivityOptions {
  return { taskQueue, summary, ...timeouts, retry: STEP_RETRY_POLICY };
}

function undoOptions(taskQueue: string, summary: string): ActivityOptions {
  return { taskQueue, summary, ...UNDO_TIMEOUTS, retry: UNDO_RETRY_POLICY };
}

export const items = proxyActivities<ItemActivities>(stepOptions(TaskQueue.items, 'Reserve stock'));
export const coupons = proxyActivities<CouponActivities>(stepOptions(TaskQueue.coupons, 'Redeem coupons'));
export const payments = proxyActivities<PaymentActivities>(
  stepOptions(TaskQueue.payments, 'Charge the card', PAYMENT_TIMEOUTS),
);
export const itemUndo = proxyActivities<ItemActivities>(undoOptions(TaskQueue.items, 'Undo: release stock'));
export const couponUndo = proxyActivities<CouponActivities>(undoOptions(TaskQueue.coupons, 'Undo: restore coupons'));
export const paymentUndo = proxyActivities<PaymentActivities>(
  undoOptions(TaskQueue.payments, 'Undo: refund the charge'),
);
export const orders = proxyActivities<OrderActivities>(RECORD_OPTIONS);
export const localOrders = proxyLocalActivities<OrderActivities>(LOCAL_RECORD_OPTIONS);
export const reconciler = proxyActivities<OrderActivities>(RECONCILE_OPTIONS);

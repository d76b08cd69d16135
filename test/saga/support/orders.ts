/** Placing orders through the gateway and reading what every service's database and the workflow say about them. */
import { getSagaState, orderWorkflowId, type SagaState } from '../../../workflows/definitions';
import { request, type TestUser } from '../../support/fixtures';
import type { TestSystem } from '../../support/system';

export interface LineRequest {
  itemId: number;
  quantity: number;
  unitPrice: number;
  discountedUnitPrice?: number;
  userCouponIds?: number[];
}

/** POST /orders as the user; expects 202 PENDING and returns the order id. */
export async function submitOrder(
  system: TestSystem,
  user: TestUser,
  lines: LineRequest[],
  cardToken = 'tok_visa',
): Promise<string> {
  const response = await request(system, 'POST', '/orders', {
    token: user.token,
    body: { lines, payment: { token: cardToken } },
  });
  if (response.status !== 202) throw new Error(`POST /orders: ${response.status} ${JSON.stringify(response.body)}`);
  expect(response.body.status).toBe('PENDING');
  return response.body.orderId;
}

export const UNDO_ACTIVITIES = ['refundPayment', 'restoreCoupons', 'releaseStock'];

/** The item, coupon and payment activities the workflow scheduled, in order (retries are one entry). */
export async function scheduledActivities(system: TestSystem, orderId: string): Promise<string[]> {
  const history = await system.client.workflow.getHandle(orderWorkflowId(orderId)).fetchHistory();
  return (history.events ?? [])
    .flatMap((event) => event.activityTaskScheduledEventAttributes?.activityType?.name ?? [])
    .filter((name) => name !== 'recordOrderProgress');
}

/** Milliseconds on the server's clock of a history event. */
function eventMillis(event: { eventTime?: { seconds?: unknown; nanos?: number | null } | null }): number {
  return Number(event.eventTime?.seconds ?? 0) * 1000 + (event.eventTime?.nanos ?? 0) / 1e6;
}

/**
 * How long the server let an activity run before it timed out, from its history: the ActivityTaskScheduled event
 * to its ActivityTaskTimedOut event. Both times are the server's own, so a loaded test machine does not stretch
 * them the way a wall-clock measurement in the test would.
 */
export async function activityTimeoutAfterMs(system: TestSystem, orderId: string, activity: string): Promise<number> {
  const history = await system.client.workflow.getHandle(orderWorkflowId(orderId)).fetchHistory();
  const events = history.events ?? [];
  const scheduled = events.find((event) => event.activityTaskScheduledEventAttributes?.activityType?.name === activity);
  if (!scheduled) throw new Error(`${activity} was never scheduled for order ${orderId}`);
  const timedOut = events.find(
    (event) => String(event.activityTaskTimedOutEventAttributes?.scheduledEventId ?? '') === String(scheduled.eventId),
  );
  if (!timedOut) throw new Error(`${activity} of order ${orderId} did not time out`);
  return eventMillis(timedOut) - eventMillis(scheduled);
}

/** The undo activities the workflow scheduled, in the order it scheduled them. */
export async function undoOrder(system: TestSystem, orderId: string): Promise<string[]> {
  return (await scheduledActivities(system, orderId)).filter((name) => UNDO_ACTIVITIES.includes(name));
}

export async function sagaState(system: TestSystem, orderId: string): Promise<SagaState> {
  return system.client.workflow.getHandle(orderWorkflowId(orderId)).query(getSagaState);
}

/** Waits for the workflow to end and returns its result. */
export async function workflowResult(system: TestSystem, orderId: string): Promise<unknown> {
  return system.client.workflow.getHandle(orderWorkflowId(orderId)).result();
}

/**
 * One order as every service's database holds it: order status, steps, reason and history (order db), stock
 * of the given items and the order's reservation (item db), the given coupons and the order's redemption
 * (coupon db), and the order's payment (payment db).
 */
export async function databasesState(
  system: TestSystem,
  orderId: string,
  { itemIds = [], userCouponIds = [] }: { itemIds?: number[]; userCouponIds?: number[] },
) {
  const [order, items, reservation, userCoupons, redemption, payment] = await Promise.all([
    system.services.orders.getOrder(orderId),
    system.db.item.item.findMany({ where: { id: { in: itemIds } }, orderBy: { id: 'asc' } }),
    system.db.item.stockReservation.findUnique({ where: { orderId }, include: { lines: true } }),
    system.db.coupon.userCoupon.findMany({ where: { id: { in: userCouponIds } }, orderBy: { id: 'asc' } }),
    system.db.coupon.couponRedemption.findUnique({ where: { orderId } }),
    system.db.payment.payment.findUnique({ where: { orderId } }),
  ]);
  if (!order) throw new Error(`order ${orderId} is not in the order database`);
  return {
    order: {
      status: order.status,
      failureReason: order.failureReason ?? null,
      steps: order.steps,
      history: order.history.map((change) => change.status),
    },
    stock: Object.fromEntries(items.map((item) => [item.id, item.stockQuantity])),
    reservation: reservation && {
      status: reservation.status,
      lines: Object.fromEntries(reservation.lines.map(({ itemId, quantity }) => [itemId, quantity])),
    },
    coupons: Object.fromEntries(
      userCoupons.map((coupon) => [coupon.id, { usedByOrderId: coupon.usedByOrderId, used: coupon.usedAt !== null }]),
    ),
    redemption: redemption && { status: redemption.status, userCouponIds: redemption.userCouponIds },
    payment: payment && { status: payment.status, amount: payment.amount },
  };
}

/** A coupon as the coupon db should hold it when nobody uses it. */
export const UNUSED = { usedByOrderId: null, used: false };

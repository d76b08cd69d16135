/** Order service: orders, their lines, saga step states and status history. Sole owner of the order database. */
import pg from 'pg';
import type { OrderFailureReason } from '../domain/failure-reasons';
import {
  CLEANUP_FIRST_SEQ,
  ORDER_STATUSES,
  TERMINAL_STATUSES,
  findLineRuleViolations,
  isOrderTotalAllowed,
  MAX_ORDER_TOTAL,
  isTerminal,
  orderTotal,
  type OrderLineInput,
  type OrderStatus,
  type StepStatuses,
} from '../domain/order';
import type { OrderDb } from '../lib/databases';
import { isUniqueViolation } from '../lib/databases';
import { ServiceError, type InputFieldError } from '../lib/errors';

export interface OrderView {
  orderId: string;
  status: OrderStatus;
  customerId: number;
  lines: OrderLineInput[];
  totalPrice: number;
  failureReason?: string;
  failureDetail?: string;
  steps: StepStatuses;
  history: { status: OrderStatus; at: string; detail?: string }[];
  workflowId: string;
  createdAt: string;
}

export interface NewOrder {
  orderId: string;
  workflowId: string;
  customerId: number;
  lines: OrderLineInput[];
  idempotencyKey?: string;
  /** A hash of the request body, to tell a replay of the same request from a different one with the same key. */
  requestFingerprint?: string;
}

export interface OrderProgress {
  orderId: string;
  status: OrderStatus;
  steps: StepStatuses;
  failureReason: OrderFailureReason | null;
  failureDetail: string | null;
  /**
   * Orders the writes of one order: the workflow numbers its writes 1, 2, 3…, a reconciler uses numbers from
   * RECONCILER_MIN_PROGRESS_SEQ up. A write that is not newer than the stored one changes nothing, so a late
   * retry of an old write can never overwrite a newer state. Required; only runs of the workflow code from
   * before sequence numbers existed still send writes without it, and recordProgress copes with those.
   */
  seq: number;
}

/** Whether a progress write took effect, or was ignored as stale (not newer than what is stored, or after the end). */
export interface ProgressResult {
  applied: boolean;
}

/** Sequence numbers from here up are the reconciler's: always newer than anything the workflow writes. */
export const RECONCILER_MIN_PROGRESS_SEQ = CLEANUP_FIRST_SEQ;

/** What the reconciler needs to know about an order that has not ended. */
export interface UnfinishedOrder {
  orderId: string;
  status: OrderStatus;
  steps: StepStatuses;
  progressSeq: number;
  createdAt: Date;
  workflowId: string;
}

const orderInclude = {
  lines: { orderBy: { lineNumber: 'asc' } },
  history: { orderBy: { id: 'asc' } },
} as const;

type StoredOrder = NonNullable<Awaited<ReturnType<OrderDb['order']['findUnique']>>> & {
  lines: {
    itemId: number;
    quantity: number;
    unitPrice: number;
    discountedUnitPrice: number;
    userCouponIds: number[];
  }[];
  history: { status: OrderStatus; at: Date; detail: string | null }[];
};

function toView(order: StoredOrder): OrderView {
  return {
    orderId: order.id,
    status: order.status,
    customerId: order.customerId,
    lines: order.lines.map(({ itemId, quantity, unitPrice, discountedUnitPrice, userCouponIds }) => ({
      itemId,
      quantity,
      unitPrice,
      discountedUnitPrice,
      userCouponIds,
    })),
    totalPrice: order.totalPrice,
    ...(order.failureReason ? { failureReason: order.failureReason } : {}),
    ...(order.failureDetail ? { failureDetail: order.failureDetail } : {}),
    steps: { items: order.itemsStep, coupons: order.couponsStep, payment: order.paymentStep },
    history: order.history.map(({ status, at, detail }) => ({
      status,
      at: at.toISOString(),
      ...(detail ? { detail } : {}),
    })),
    workflowId: order.workflowId,
    createdAt: order.createdAt.toISOString(),
  };
}

/** A value the type requires but an older caller may still leave out. */
function isMissing(value: unknown): value is undefined {
  return value === undefined;
}

/** True when a progress write must change nothing: it is not newer than the stored state, or undoes an end. */
function isStale(progress: OrderProgress, current: { status: OrderStatus; seq: bigint }): boolean {
  if (isTerminal(current.status) && !isTerminal(progress.status)) return true;
  // A workflow run in flight across the deploy that introduced seq still sends writes without one.
  if (isMissing(progress.seq)) return isTerminal(current.status);
  return BigInt(progress.seq) <= current.seq;
}

/** Abuse limits of one customer, set by the gateway's configuration; a limit left out is not applied. */
export interface OrderLimits {
  /** Orders of the customer that have not ended (not COMPLETED or CANCELLED), this one not counted. */
  maxOpenOrders?: number;
  maxUnitsPerLine?: number;
}

/** A broken line rule: the field at fault, the rule's code and why. */
interface LineFault {
  path: string;
  code: string;
  message: string;
}

/** The lines whose quantity exceeds the per-line cap: a customer cannot hold a whole stock with one line. */
function unitFaults(lines: readonly OrderLineInput[], maxUnitsPerLine: number | undefined): LineFault[] {
  if (maxUnitsPerLine === undefined) return [];
  return lines.flatMap((line, index) =>
    line.quantity > maxUnitsPerLine
      ? [
          {
            path: `lines.${index}.quantity`,
            code: 'TOO_MANY_UNITS',
            message: `at most ${maxUnitsPerLine} units per line`,
          },
        ]
      : [],
  );
}

/** Refuses lines that break an order rule needing no data (each item once, coupon limits, units), naming each field. */
function checkLineRules(lines: readonly OrderLineInput[], maxUnitsPerLine?: number): void {
  const faults: LineFault[] = [
    ...findLineRuleViolations(lines).map((v) => ({
      path: `lines.${v.line}.${v.field}`,
      code: v.code,
      message: v.message,
    })),
    ...unitFaults(lines, maxUnitsPerLine),
  ];
  if (faults.length > 0) {
    const fields: InputFieldError[] = faults.map((f) => ({ path: f.path, message: `${f.code}: ${f.message}` }));
    throw new ServiceError('ORDER_LINE_RULES', faults.map((f) => f.message).join('; '), fields);
  }
  // The order's amounts are 32-bit columns (and the charge's amount); a larger total is refused, not a 500.
  if (!isOrderTotalAllowed(lines)) {
    throw new ServiceError('ORDER_TOTAL_TOO_LARGE', `an order's total may be at most ${MAX_ORDER_TOTAL}`);
  }
}

/**
 * First key of the advisory lock that serialises one customer's order creation (the second key is the customer
 * id). A constant of its own, so the lock cannot collide with another use of advisory locks in this database.
 */
const OPEN_ORDERS_LOCK_SPACE = 0x6f726472; // "ordr"

/** The order an idempotency key already names, or IDEMPOTENCY_CONFLICT when the request differs. */
function replayOf(existing: StoredOrder, order: NewOrder): { order: OrderView; created: false } {
  if (existing.requestFingerprint !== (order.requestFingerprint ?? null)) {
    throw new ServiceError('IDEMPOTENCY_CONFLICT', 'this Idempotency-Key was used for a different request');
  }
  return { order: toView(existing), created: false };
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

export function createOrderService(db: OrderDb) {
  async function getOrder(orderId: string): Promise<OrderView | null> {
    if (!UUID.test(orderId)) return null;
    const order = await db.order.findUnique({ where: { id: orderId }, include: orderInclude });
    return order ? toView(order) : null;
  }

  return {
    getOrder,

    /**
     * Records a new PENDING order, unless its lines break a rule (ORDER_LINE_RULES, including more units on a
     * line than `limits.maxUnitsPerLine`) or the customer already has `limits.maxOpenOrders` orders that have not
     * ended (TOO_MANY_OPEN_ORDERS). With an idempotency key already used by this customer it returns that order
     * instead (`created: false`), even at the cap, or fails with IDEMPOTENCY_CONFLICT when the request differs.
     *
     * The count and the insert run in one transaction under an advisory lock on the customer, so two concurrent
     * requests cannot both take the last slot; other customers' orders do not wait for the lock.
     */
    async createOrder(order: NewOrder, limits: OrderLimits = {}): Promise<{ order: OrderView; created: boolean }> {
      checkLineRules(order.lines, limits.maxUnitsPerLine);
      const byKey = (tx: Pick<OrderDb, 'order'>, idempotencyKey: string) =>
        tx.order.findUnique({
          where: { customerId_idempotencyKey: { customerId: order.customerId, idempotencyKey } },
          include: orderInclude,
        });
      try {
        return await db.$transaction(async (tx) => {
          if (limits.maxOpenOrders !== undefined) {
            await tx.$executeRaw`SELECT pg_advisory_xact_lock(${OPEN_ORDERS_LOCK_SPACE}::int, ${order.customerId}::int)`;
            // A replay is no new order: it is answered even when the customer is at the cap.
            const existing = order.idempotencyKey ? await byKey(tx, order.idempotencyKey) : null;
            if (existing) return replayOf(existing, order);
            const open = await tx.order.count({
              where: { customerId: order.customerId, status: { notIn: [...TERMINAL_STATUSES] } },
            });
            if (open >= limits.maxOpenOrders) {
              throw new ServiceError(
                'TOO_MANY_OPEN_ORDERS',
                `at most ${limits.maxOpenOrders} orders may be open at once; wait until one completes or is cancelled`,
              );
            }
          }
          const created = await tx.order.create({
            data: {
              id: order.orderId,
              workflowId: order.workflowId,
              customerId: order.customerId,
              totalPrice: orderTotal(order.lines),
              idempotencyKey: order.idempotencyKey ?? null,
              requestFingerprint: order.requestFingerprint ?? null,
              lines: { create: order.lines.map((line, lineNumber) => ({ lineNumber, ...line })) },
              history: { create: [{ status: 'PENDING' }] },
            },
            include: orderInclude,
          });
          return { order: toView(created), created: true };
        });
      } catch (error) {
        if (!isUniqueViolation(error) || !order.idempotencyKey) throw error;
        const existing = await byKey(db, order.idempotencyKey);
        if (!existing) throw error;
        return replayOf(existing, order);
      }
    },

    /**
     * Stores the saga's progress unless it is stale; a status change is appended to the history with its
     * timestamp. Stale means: its seq is not above the stored one, or it would move a final order (COMPLETED,
     * CANCELLED) back to a non-final status. A write without seq (from a workflow run older than sequence
     * numbers) applies unless the order has already ended.
     */
    async recordProgress(progress: OrderProgress): Promise<ProgressResult> {
      return db.$transaction(async (tx) => {
        const [current] = await tx.$queryRaw<{ status: OrderStatus; seq: bigint }[]>`
          SELECT status::text AS status, progress_seq AS seq FROM orders WHERE id = ${progress.orderId}::uuid FOR UPDATE`;
        if (!current) throw new Error(`order ${progress.orderId} does not exist`);
        if (isStale(progress, current)) return { applied: false };
        await tx.order.update({
          where: { id: progress.orderId },
          data: {
            status: progress.status,
            itemsStep: progress.steps.items,
            couponsStep: progress.steps.coupons,
            paymentStep: progress.steps.payment,
            failureReason: progress.failureReason,
            failureDetail: progress.failureDetail,
            ...(isMissing(progress.seq) ? {} : { progressSeq: progress.seq }),
          },
        });
        if (current.status !== progress.status) {
          await tx.orderStatusChange.create({
            data: { orderId: progress.orderId, status: progress.status, detail: progress.failureDetail },
          });
        }
        // Delivered on commit only: a waiting gateway re-reads the order when the change is visible.
        await tx.$executeRaw`SELECT pg_notify(${ORDER_PROGRESS_CHANNEL}, ${progress.orderId})`;
        return { applied: true };
      });
    },

    /** Orders in any of the statuses, newest first (for admins). */
    async listOrdersByStatus(statuses: OrderStatus[], limit = 100): Promise<OrderView[]> {
      const orders = await db.order.findMany({
        where: { status: { in: statuses } },
        include: orderInclude,
        orderBy: [{ createdAt: 'desc' }, { id: 'desc' }],
        take: limit,
      });
      return orders.map(toView);
    },

    /** How many orders are in each status, every status named (0 when none); one grouped index scan. */
    async countOrdersByStatus(): Promise<Record<OrderStatus, number>> {
      const groups = await db.order.groupBy({ by: ['status'], _count: { _all: true } });
      const counts = Object.fromEntries(ORDER_STATUSES.map((status) => [status, 0])) as Record<OrderStatus, number>;
      for (const group of groups) counts[group.status] = group._count._all;
      return counts;
    },

    /** Orders that have not ended (neither COMPLETED nor CANCELLED) and were created before the time, oldest first. */
    async findUnfinishedOrders({
      createdBefore,
      limit = 100,
    }: {
      createdBefore: Date;
      limit?: number;
    }): Promise<UnfinishedOrder[]> {
      const orders = await db.order.findMany({
        where: { status: { notIn: [...TERMINAL_STATUSES] }, createdAt: { lt: createdBefore } },
        select: {
          id: true,
          status: true,
          itemsStep: true,
          couponsStep: true,
          paymentStep: true,
          progressSeq: true,
          createdAt: true,
          workflowId: true,
        },
        orderBy: [{ createdAt: 'asc' }, { id: 'asc' }],
        take: limit,
      });
      return orders.map((order) => ({
        orderId: order.id,
        status: order.status,
        steps: { items: order.itemsStep, coupons: order.couponsStep, payment: order.paymentStep },
        progressSeq: Number(order.progressSeq),
        createdAt: order.createdAt,
        workflowId: order.workflowId,
      }));
    },

    async listOrders(customerId: number, limit = 100): Promise<OrderView[]> {
      const orders = await db.order.findMany({
        where: { customerId },
        include: orderInclude,
        orderBy: [{ createdAt: 'desc' }, { id: 'desc' }],
        take: limit,
      });
      return orders.map(toView);
    },
  };
}

export type OrderService = ReturnType<typeof createOrderService>;

/** The PostgreSQL NOTIFY channel on which every applied progress write names its order id. */
export const ORDER_PROGRESS_CHANNEL = 'order_progress';

/** How long the listener waits before connecting again after it lost its connection (doubling up to 5 s). */
const RECONNECT_DELAYS_MS = { first: 250, max: 5_000 };

/**
 * Tells subscribers that an order's progress changed. One LISTEN connection per process serves every waiter, so
 * a waiting client costs a map entry instead of a query per poll. A notification is only a hint to re-read: when
 * the connection drops (notifications may be lost meanwhile), every subscriber is woken once it is back.
 */
export interface OrderEvents {
  /** Calls `changed` after each applied progress write of the order; returns the unsubscribe function. */
  subscribe(orderId: string, changed: () => void): () => void;
  close(): Promise<void>;
}

export function createOrderEvents(connectionString: string, onError: (error: Error) => void = () => {}): OrderEvents {
  const subscribers = new Map<string, Set<() => void>>();
  let client: pg.Client | null = null;
  let closed = false;
  let delayMs = RECONNECT_DELAYS_MS.first;
  let retryTimer: NodeJS.Timeout | null = null;

  function notify(orderId: string): void {
    for (const changed of subscribers.get(orderId) ?? []) changed();
  }

  function wakeEveryone(): void {
    for (const orderId of subscribers.keys()) notify(orderId);
  }

  function scheduleReconnect(): void {
    if (closed || retryTimer) return;
    retryTimer = setTimeout(() => {
      retryTimer = null;
      void connect();
    }, delayMs);
    delayMs = Math.min(delayMs * 2, RECONNECT_DELAYS_MS.max);
  }

  async function connect(): Promise<void> {
    const next = new pg.Client({ connectionString, keepAlive: true });
    next.on('notification', (message) => {
      if (message.channel === ORDER_PROGRESS_CHANNEL && message.payload) notify(message.payload);
    });
    next.on('error', (error) => {
      onError(error);
      if (client === next) client = null;
      void next.end().catch(() => {});
      scheduleReconnect();
    });
    try {
      await next.connect();
      await next.query(`LISTEN ${ORDER_PROGRESS_CHANNEL}`);
    } catch (error) {
      onError(error as Error);
      void next.end().catch(() => {});
      scheduleReconnect();
      return;
    }
    if (closed) {
      await next.end();
      return;
    }
    client = next;
    delayMs = RECONNECT_DELAYS_MS.first;
    // Writes made while no connection listened were not heard: every waiter re-reads.
    wakeEveryone();
  }

  void connect();

  return {
    subscribe(orderId, changed) {
      let set = subscribers.get(orderId);
      if (!set) subscribers.set(orderId, (set = new Set()));
      set.add(changed);
      return () => {
        set.delete(changed);
        if (set.size === 0 && subscribers.get(orderId) === set) subscribers.delete(orderId);
      };
    },
    async close() {
      closed = true;
      if (retryTimer) clearTimeout(retryTimer);
      const current = client;
      client = null;
      if (current) await current.end();
    },
  };
}

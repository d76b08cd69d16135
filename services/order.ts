/** Order service: orders, their lines, saga step states and status history. Sole owner of the order database. */
import type { OrderFailureReason } from '../domain/failures';
import { orderTotal, type OrderLineInput, type OrderStatus, type StepStatuses } from '../domain/order';
import type { OrderDb } from '../lib/databases';
import { isUniqueViolation } from '../lib/databases';
import { ServiceError } from '../lib/errors';

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
     * Records a new PENDING order. With an idempotency key already used by this customer it returns that
     * order instead (`created: false`), or fails with IDEMPOTENCY_CONFLICT when the request differs.
     */
    async createOrder(order: NewOrder): Promise<{ order: OrderView; created: boolean }> {
      try {
        const created = await db.order.create({
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
      } catch (error) {
        if (!isUniqueViolation(error) || !order.idempotencyKey) throw error;
        const existing = await db.order.findUnique({
          where: { customerId_idempotencyKey: { customerId: order.customerId, idempotencyKey: order.idempotencyKey } },
          include: orderInclude,
        });
        if (!existing) throw error;
        if (existing.requestFingerprint !== (order.requestFingerprint ?? null)) {
          throw new ServiceError('IDEMPOTENCY_CONFLICT', 'this Idempotency-Key was used for a different request');
        }
        return { order: toView(existing), created: false };
      }
    },

    /** Stores the saga's progress; a status change is appended to the history with its timestamp. */
    async recordProgress(progress: OrderProgress): Promise<void> {
      await db.$transaction(async (tx) => {
        const [current] = await tx.$queryRaw<{ status: OrderStatus; failure_detail: string | null }[]>`
          SELECT status::text AS status, failure_detail FROM orders WHERE id = ${progress.orderId}::uuid FOR UPDATE`;
        if (!current) throw new Error(`order ${progress.orderId} does not exist`);
        await tx.order.update({
          where: { id: progress.orderId },
          data: {
            status: progress.status,
            itemsStep: progress.steps.items,
            couponsStep: progress.steps.coupons,
            paymentStep: progress.steps.payment,
            failureReason: progress.failureReason,
            failureDetail: progress.failureDetail,
          },
        });
        if (current.status !== progress.status) {
          await tx.orderStatusChange.create({
            data: { orderId: progress.orderId, status: progress.status, detail: progress.failureDetail },
          });
        }
      });
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

/**
 * Operator actions over HTTP (admins only): list orders by status and count them, and retry the undo steps of an
 * order that waits for an operator. No Temporal CLI needed; the operator console (`/console`) uses these.
 */
import { z } from 'zod';
import { ORDER_STATUSES, type OrderStatus } from '../../domain/order';
import type { OrderService } from '../../services/order';
import { ServiceError, notFound } from '../../lib/errors';
import { ProblemSchema, defineRoute, type RouteContext } from '../http';
import type { SagaClient } from '../saga-client';
import { OrderSchema, OrderStatusSchema } from './schemas';

const OrderIdParams = z.object({ id: z.uuid() });
const StatusQuery = z.object({
  status: z
    .string()
    .regex(new RegExp(`^(${ORDER_STATUSES.join('|')})(,(${ORDER_STATUSES.join('|')}))*$`), 'comma-separated statuses')
    .transform((list) => list.split(',') as OrderStatus[])
    .optional()
    .openapi({ description: 'Comma-separated order statuses; default COMPENSATION_FAILED (stuck orders)' }),
});

export function adminRoutes(context: RouteContext, orders: OrderService, saga: SagaClient): void {
  defineRoute(
    context,
    {
      method: 'get',
      path: '/admin/orders',
      summary: 'Orders by status, newest first; by default the stuck ones (COMPENSATION_FAILED) with their reason',
      tag: 'admin',
      access: 'admin',
      query: StatusQuery,
      responses: {
        200: { description: 'Orders', schema: z.object({ orders: z.array(OrderSchema) }) },
        403: { description: 'Not an admin', schema: ProblemSchema },
      },
    },
    async ({ query }, res) => {
      res.json({ orders: await orders.listOrdersByStatus(query.status ?? ['COMPENSATION_FAILED']) });
    },
  );

  defineRoute(
    context,
    {
      method: 'get',
      path: '/admin/orders/counts',
      summary: 'How many orders are in each status (the operator console refreshes it, at most once a second)',
      tag: 'admin',
      access: 'admin',
      responses: {
        200: {
          description: 'Counts by status; every status is present',
          schema: z.object({ counts: z.record(OrderStatusSchema, z.number().int().min(0)) }),
        },
        403: { description: 'Not an admin', schema: ProblemSchema },
      },
    },
    async (_request, res) => {
      res.json({ counts: await orders.countOrdersByStatus() });
    },
  );

  defineRoute(
    context,
    {
      method: 'post',
      path: '/admin/orders/:id/retry-compensation',
      summary: 'Retry now the undo steps of an order waiting in COMPENSATION_FAILED',
      tag: 'admin',
      access: 'admin',
      params: OrderIdParams,
      responses: {
        202: {
          description: 'Retry accepted; the order continues its undo',
          schema: z.object({ orderId: z.uuid(), status: OrderStatusSchema }),
        },
        403: { description: 'Not an admin', schema: ProblemSchema },
        404: { description: 'No such order', schema: ProblemSchema },
        409: { description: 'The order is not waiting for an operator', schema: ProblemSchema },
        503: { description: 'The order service did not answer in time', schema: ProblemSchema },
      },
    },
    async ({ params }, res) => {
      const order = await orders.getOrder(params.id);
      if (!order) throw notFound('order', params.id);
      const accepted = order.status === 'COMPENSATION_FAILED' && (await saga.retryCompensation(order.orderId));
      if (!accepted) {
        throw new ServiceError('ORDER_NOT_STUCK', `order ${order.orderId} is ${order.status}, not COMPENSATION_FAILED`);
      }
      res.status(202).json({ orderId: order.orderId, status: order.status });
    },
  );
}

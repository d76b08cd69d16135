/** Orders: place an order (starts the saga), read one or all of the caller's orders, cancel one. */
import { createHash, randomUUID } from 'node:crypto';
import type { Response } from 'express';
import { z } from 'zod';
import type { RequestHandler } from 'express';
import { DEFAULT_CARD_TOKEN, TestCardToken } from '../../domain/card-tokens';
import { MAX_ORDER_TOTAL, type OrderLineInput } from '../../domain/order';
import { ServiceError, notFound } from '../../lib/errors';
import { isTerminal } from '../../domain/order';
import type { OrderEvents, OrderService, OrderView } from '../../services/order';
import type { AuthenticatedUser } from '../auth';
import type { OrderLimits } from '../config';
import { ProblemSchema, defineRoute, type RouteContext } from '../http';
import { HttpProblem } from '../problem';
import { MAX_WAIT_SECONDS, clientGone, orderTag, preferredWait, streamOrder, waitForOrder } from '../order-waiting';
import type { SagaClient } from '../saga-client';
import { OrderSchema, OrderStatusSchema, PlaceOrderRequestSchema } from './schemas';

const OrderIdParams = z.object({ id: z.uuid() });
const IdempotencyHeaders = z.object({
  'idempotency-key': z
    .string()
    .min(1)
    .max(200)
    .optional()
    .openapi({ description: 'Same key and body return the same order' }),
});
const Accepted = z
  .object({
    orderId: z.uuid(),
    status: OrderStatusSchema,
    links: z.object({ self: z.string(), temporalUi: z.string() }),
  })
  .openapi('OrderAccepted');

/** The order if the user may read it (its customer or an admin); anyone else is told it does not exist. */
function visibleTo(order: OrderView | null, user: AuthenticatedUser, orderId: string): OrderView {
  if (!order || (order.customerId !== user.id && user.role !== 'ADMIN')) throw notFound('order', orderId);
  return order;
}

/**
 * Refuses, where hanging test cards are not allowed (production), the card token that makes the simulated gateway
 * hang: each such order would hold its stock and a payment worker slot for the whole payment bound.
 */
function checkCardToken(token: string, limits: OrderLimits | undefined): void {
  if (limits && !limits.allowHangingTestCards && token === TestCardToken.hang) {
    throw new ServiceError('TEST_CARD_NOT_ALLOWED', `the test card ${token} is not accepted in production`);
  }
}

export interface OrderRouteOptions {
  /** The caps of one customer; none when left out. */
  limits?: OrderLimits;
  /** POST /orders per customer, run once the caller is known. */
  rateLimiter?: RequestHandler;
  /** Order progress notifications, for waiting requests; without them a waiter re-reads every 500 ms. */
  events?: OrderEvents;
}

const WaitQuery = z.object({
  wait: z.coerce
    .number()
    .int()
    .min(0)
    .max(MAX_WAIT_SECONDS)
    .optional()
    .openapi({
      description:
        `Long poll: answer when the order's status or a step changes, when it has ended, or after this many ` +
        `seconds (at most ${MAX_WAIT_SECONDS}). With If-None-Match (the ETag of an earlier read), a change since ` +
        `that read answers at once.`,
    }),
});
const PreferHeaders = z.object({
  prefer: z
    .string()
    .optional()
    .openapi({
      description: `\`wait=N\`: answer 201 with the ended order if it ends within N seconds (at most ${MAX_WAIT_SECONDS}), else 202`,
    }),
});

export function orderRoutes(
  context: RouteContext,
  orders: OrderService,
  saga: SagaClient,
  { limits, rateLimiter, events }: OrderRouteOptions = {},
): void {
  const accepted = (order: OrderView) => ({
    orderId: order.orderId,
    status: order.status,
    links: { self: `/orders/${order.orderId}`, temporalUi: saga.uiUrl(order.orderId) },
  });

  /**
   * Answers a placed order: 202 with its links as before, or, with `Prefer: wait=N`, 201 with the order once it
   * has ended within N seconds (202 if it has not). Preference-Applied says the wait was honoured.
   */
  async function answerPlaced(order: OrderView, prefer: string | undefined, res: Response): Promise<void> {
    const waitSeconds = preferredWait(prefer);
    res.location(`/orders/${order.orderId}`);
    if (waitSeconds === undefined) {
      res.status(202).json(accepted(order));
      return;
    }
    res.set('Preference-Applied', `wait=${waitSeconds}`);
    const ended = await waitForOrder(
      orders,
      events,
      order.orderId,
      (read) => read !== null && isTerminal(read.status),
      waitSeconds * 1000,
      clientGone(res),
    );
    if (ended && isTerminal(ended.status)) res.status(201).set('ETag', orderTag(ended)).json(ended);
    else res.status(202).json(accepted(ended ?? order));
  }

  /** The order once its progress differs from `sinceTag`, it has ended, or the wait is over. */
  async function waitForChange(order: OrderView, sinceTag: string, seconds: number, res: Response) {
    if (orderTag(order) !== sinceTag || isTerminal(order.status)) return order;
    const read = await waitForOrder(
      orders,
      events,
      order.orderId,
      (next) => next === null || orderTag(next) !== sinceTag || isTerminal(next.status),
      seconds * 1000,
      clientGone(res),
    );
    return read ?? order;
  }

  defineRoute(
    context,
    {
      method: 'post',
      path: '/orders',
      summary: 'Place an order: checks the lines, records it PENDING and starts the placeOrder saga',
      tag: 'orders',
      access: 'user',
      body: PlaceOrderRequestSchema,
      headers: IdempotencyHeaders.extend(PreferHeaders.shape),
      before: rateLimiter ? [rateLimiter] : [],
      responses: {
        201: { description: 'Ended within the `Prefer: wait` time: the final order', schema: OrderSchema },
        202: { description: 'Accepted; follow links.self for the outcome', schema: Accepted },
        400: { description: 'Malformed request', schema: ProblemSchema },
        409: { description: 'Idempotency-Key reused with a different body', schema: ProblemSchema },
        422: {
          description: `The lines break an order rule (including too many units on a line), the total exceeds ${MAX_ORDER_TOTAL} (ORDER_TOTAL_TOO_LARGE), or a hanging test card in production (TEST_CARD_NOT_ALLOWED)`,
          schema: ProblemSchema,
        },
        429: {
          description: 'Too many orders open at once (TOO_MANY_OPEN_ORDERS) or placed too fast (TOO_MANY_REQUESTS)',
          schema: ProblemSchema,
        },
      },
    },
    async ({ body, user, raw }, res) => {
      const headers = IdempotencyHeaders.safeParse({ 'idempotency-key': raw.get('idempotency-key') });
      if (!headers.success) {
        throw new HttpProblem('VALIDATION_FAILED', 'Idempotency-Key must be 1..200 characters');
      }
      const lines: OrderLineInput[] = body.lines.map((line) => ({
        itemId: line.itemId,
        quantity: line.quantity,
        unitPrice: line.unitPrice,
        discountedUnitPrice: line.discountedUnitPrice ?? line.unitPrice,
        userCouponIds: line.userCouponIds ?? [],
      }));
      const paymentToken = body.payment?.token ?? DEFAULT_CARD_TOKEN;
      checkCardToken(paymentToken, limits);
      const orderId = randomUUID();
      const idempotencyKey = headers.data['idempotency-key'];
      const { order, created } = await orders.createOrder(
        {
          orderId,
          workflowId: saga.workflowId(orderId),
          customerId: user.id,
          lines,
          ...(idempotencyKey
            ? {
                idempotencyKey,
                requestFingerprint: createHash('sha256').update(JSON.stringify({ lines, paymentToken })).digest('hex'),
              }
            : {}),
        },
        { maxOpenOrders: limits?.maxOpenOrders, maxUnitsPerLine: limits?.maxUnitsPerLine },
      );
      // A replayed key attaches to the order's workflow; should an earlier attempt have stopped between
      // recording the order and starting it, the replay starts it.
      if (created || order.status === 'PENDING') {
        await saga.start({ orderId: order.orderId, customerId: order.customerId, lines: order.lines, paymentToken });
      }
      await answerPlaced(order, raw.get('prefer'), res);
    },
  );

  defineRoute(
    context,
    {
      method: 'get',
      path: '/orders',
      summary: "The caller's orders, newest first",
      tag: 'orders',
      access: 'user',
      responses: { 200: { description: 'Orders', schema: z.object({ orders: z.array(OrderSchema) }) } },
    },
    async ({ user }, res) => {
      res.json({ orders: await orders.listOrders(user.id) });
    },
  );

  defineRoute(
    context,
    {
      method: 'get',
      path: '/orders/:id',
      summary: 'One order with its status, per-step state, failure reason and history (owner or admin)',
      tag: 'orders',
      access: 'user',
      params: OrderIdParams,
      query: WaitQuery,
      responses: {
        200: { description: 'Order (ETag: a tag of its progress, for If-None-Match with wait)', schema: OrderSchema },
        304: { description: 'Unchanged since the If-None-Match tag (after the wait, or the order has ended)' },
        404: { description: 'Not found', schema: ProblemSchema },
      },
    },
    async ({ params, query, user, raw }, res) => {
      const order = visibleTo(await orders.getOrder(params.id), user, params.id);
      const known = raw.get('if-none-match');
      const answer = query.wait ? await waitForChange(order, known ?? orderTag(order), query.wait, res) : order;
      const tag = orderTag(answer);
      res.set('ETag', tag);
      // The client already has this state (its tag came back unchanged after the wait): nothing to send.
      if (known === tag) res.status(304).end();
      else res.json(answer);
    },
  );

  defineRoute(
    context,
    {
      method: 'get',
      path: '/orders/:id/events',
      summary:
        'Server-sent events of one order (owner or admin): `event: order` with the order now and after each ' +
        'status or step change; the stream ends when the order has ended',
      tag: 'orders',
      access: 'user',
      params: OrderIdParams,
      responses: {
        200: { description: 'text/event-stream of `order` events (data: the order as JSON, id: its ETag)' },
        404: { description: 'Not found', schema: ProblemSchema },
      },
    },
    async ({ params, user }, res) => {
      const order = visibleTo(await orders.getOrder(params.id), user, params.id);
      await streamOrder(res, orders, events, order, (next) => visibleTo(next, user, params.id));
    },
  );

  defineRoute(
    context,
    {
      method: 'post',
      path: '/orders/:id/cancel',
      summary: 'Cancel an order that has not completed (owner); the saga undoes what took effect',
      tag: 'orders',
      access: 'user',
      params: OrderIdParams,
      responses: {
        202: { description: 'Cancel accepted', schema: Accepted },
        404: { description: 'Not found', schema: ProblemSchema },
        409: { description: 'Completed or already ended', schema: ProblemSchema },
      },
    },
    async ({ params, user }, res) => {
      const order = await orders.getOrder(params.id);
      if (!order || order.customerId !== user.id) throw notFound('order', params.id);
      const cancellable = order.status === 'PENDING' && (await saga.cancel(order.orderId));
      if (!cancellable) {
        throw new ServiceError(
          'ORDER_NOT_CANCELLABLE',
          `order ${order.orderId} is ${order.status === 'PENDING' ? 'completing' : order.status}`,
        );
      }
      res.status(202).json(accepted(order));
    },
  );
}

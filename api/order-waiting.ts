/**
 * Waiting for an order without polling: a long poll (`GET /orders/:id?wait=N`), `Prefer: wait=N` on
 * `POST /orders` and the server-sent event stream `GET /orders/:id/events` all wait here. A waiter subscribes to
 * the order's progress notifications (PostgreSQL LISTEN/NOTIFY, one connection per gateway, see OrderEvents) and
 * reads the order again only when a write of that order committed, instead of reading it on every client poll.
 */
import { createHash } from 'node:crypto';
import type { Response } from 'express';
import { isTerminal } from '../domain/order';
import type { OrderEvents, OrderService, OrderView } from '../services/order';

/** The longest a single wait may last (long poll, Prefer: wait); longer requests are cut to it. */
export const MAX_WAIT_SECONDS = 30;

/** Without a notification channel (tests, tools), a waiter re-reads the order this often instead. */
const FALLBACK_REREAD_MS = 500;

/** How often an idle event stream sends a comment, so that proxies and clients see the connection alive. */
const STREAM_KEEPALIVE_MS = 15_000;

/** A tag of what a client sees of an order's progress (status, steps, failure, history); the ETag of a read. */
export function orderTag(order: OrderView): string {
  const seen = [order.status, order.steps, order.failureReason ?? null, order.history.length];
  return `"${createHash('sha1').update(JSON.stringify(seen)).digest('base64url').slice(0, 16)}"`;
}

/** Reads the order again after each change notification until `done` holds or the time is up; the last read. */
export async function waitForOrder(
  orders: OrderService,
  events: OrderEvents | undefined,
  orderId: string,
  done: (order: OrderView | null) => boolean,
  timeoutMs: number,
  abort?: AbortSignal,
): Promise<OrderView | null> {
  let changed = false;
  let wake: () => void = () => {};
  const onChange = () => {
    changed = true;
    wake();
  };
  // Subscribed before the first read: a write committed between the read and the wait is not missed.
  const unsubscribe = events?.subscribe(orderId, onChange) ?? (() => {});
  const onAbort = () => wake();
  abort?.addEventListener('abort', onAbort);
  const deadline = Date.now() + timeoutMs;
  try {
    for (;;) {
      changed = false;
      const order = await orders.getOrder(orderId);
      const left = deadline - Date.now();
      if (done(order) || left <= 0 || abort?.aborted) return order;
      if (changed) continue;
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, events ? left : Math.min(left, FALLBACK_REREAD_MS));
        wake = () => {
          clearTimeout(timer);
          resolve();
        };
      });
      wake = () => {};
    }
  } finally {
    unsubscribe();
    abort?.removeEventListener('abort', onAbort);
  }
}

/** An AbortSignal that fires when the client goes away before its answer. */
export function clientGone(res: Response): AbortSignal {
  const controller = new AbortController();
  res.on('close', () => controller.abort());
  return controller.signal;
}

/**
 * The seconds of a `Prefer: wait=N` header (RFC 7240), cut to MAX_WAIT_SECONDS; undefined without one.
 */
export function preferredWait(prefer: string | undefined): number | undefined {
  const match = /(?:^|[,;\s])wait\s*=\s*"?(\d{1,6})"?/i.exec(prefer ?? '');
  return match ? Math.min(Number(match[1]), MAX_WAIT_SECONDS) : undefined;
}

/**
 * Streams the order as server-sent events: `event: order` with the order as JSON and its tag as the event id,
 * first at once, then after each change, until it ends (COMPLETED or CANCELLED) or the client goes away.
 * `visible` re-checks access on every read (an order never changes its customer, but the check is cheap).
 */
export async function streamOrder(
  res: Response,
  orders: OrderService,
  events: OrderEvents | undefined,
  first: OrderView,
  visible: (order: OrderView | null) => OrderView,
): Promise<void> {
  const gone = clientGone(res);
  res.status(200).set({
    'Content-Type': 'text/event-stream',
    'Cache-Control': 'no-cache, no-transform',
    Connection: 'keep-alive',
    'X-Accel-Buffering': 'no',
  });
  res.flushHeaders();
  const keepAlive = setInterval(() => res.write(': keep-alive\n\n'), STREAM_KEEPALIVE_MS);
  try {
    let order = first;
    let tag = orderTag(order);
    res.write(`id: ${tag}\nevent: order\ndata: ${JSON.stringify(order)}\n\n`);
    while (!isTerminal(order.status) && !gone.aborted) {
      const sentTag = tag;
      const next = await waitForOrder(
        orders,
        events,
        order.orderId,
        (read) => read === null || orderTag(read) !== sentTag,
        STREAM_KEEPALIVE_MS,
        gone,
      );
      if (gone.aborted) break;
      order = visible(next);
      tag = orderTag(order);
      if (tag !== sentTag) res.write(`id: ${tag}\nevent: order\ndata: ${JSON.stringify(order)}\n\n`);
    }
  } finally {
    clearInterval(keepAlive);
    res.end();
  }
}

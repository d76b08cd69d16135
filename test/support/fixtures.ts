/** Builders for test data, created through the services' own modules, and an HTTP helper for the gateway. */
import { randomUUID } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { TERMINAL_STATUSES } from '../../domain/order';
import type { OrderView } from '../../services/order';
import type { Role } from '../../services/user';
import type { TestSystem } from './system';

export interface HttpResponse<T = any> {
  status: number;
  headers: Headers;
  body: T;
}

export async function request<T = any>(
  system: Pick<TestSystem, 'baseUrl'>,
  method: string,
  path: string,
  options: { token?: string; body?: unknown; rawBody?: string; headers?: Record<string, string> } = {},
): Promise<HttpResponse<T>> {
  const headers: Record<string, string> = { ...options.headers };
  if (options.token) headers.authorization = `Bearer ${options.token}`;
  if (options.body !== undefined || options.rawBody !== undefined) headers['content-type'] ??= 'application/json';
  const response = await fetch(`${system.baseUrl}${path}`, {
    method,
    headers,
    body: options.rawBody ?? (options.body === undefined ? undefined : JSON.stringify(options.body)),
  });
  const text = await response.text();
  let body: unknown = text;
  try {
    body = text ? JSON.parse(text) : undefined;
  } catch {
    // not JSON: keep the text
  }
  return { status: response.status, headers: response.headers, body: body as T };
}

export interface TestUser {
  id: number;
  email: string;
  password: string;
  token: string;
}

/** A fresh account (CUSTOMER unless told) and a token for it, obtained through the real login endpoint. */
export async function aUser(system: TestSystem, role: Role = 'CUSTOMER'): Promise<TestUser> {
  const email = `user-${randomUUID()}@example.com`;
  const password = 'correct horse battery';
  const user = await system.services.users.register({ email, password, name: '테스트', address: '서울', role });
  const login = await request(system, 'POST', '/users/login', { body: { email, password } });
  if (login.status !== 200) throw new Error(`login failed: ${login.status} ${JSON.stringify(login.body)}`);
  return { id: user.id, email, password, token: login.body.accessToken };
}

/** A fresh item with its own name, so tests never share stock. */
export async function anItem(system: TestSystem, overrides: { price?: number; stockQuantity?: number } = {}) {
  return system.services.items.createItem({
    name: `test item ${randomUUID()}`,
    size: 'M',
    price: overrides.price ?? 10_000,
    stockQuantity: overrides.stockQuantity ?? 10,
  });
}

/** A coupon definition issued to a user; returns the userCouponId. */
export async function aCouponFor(
  system: TestSystem,
  userId: number,
  terms:
    | { type: 'FIXED'; discountAmount: number; validFrom?: Date; validUntil?: Date }
    | { type: 'RATIO'; discountPercent: number; validFrom?: Date; validUntil?: Date },
): Promise<number> {
  const coupon = await system.services.coupons.createCoupon({ name: `test coupon ${randomUUID()}`, ...terms });
  const { userCouponId } = await system.services.coupons.issueCoupon(coupon.id, userId);
  return userCouponId;
}

/** The statuses an order ends in (domain/order.ts). */
export const FINAL_STATUSES: readonly string[] = TERMINAL_STATUSES;

/** The longest single long poll of waitForOrder: a lost change notification costs at most this much. */
const LONG_POLL_SECONDS = 10;

/**
 * Waits until the order reaches one of the statuses (default: a final one), as a client should: a read, then long
 * polls (`GET /orders/:id?wait=N` with the last ETag), each answered when the order's progress changes. Scenarios
 * that run side by side then cost the gateway a wait each, not a read every 100 ms.
 */
export async function waitForOrder(
  system: TestSystem,
  token: string,
  orderId: string,
  statuses: readonly string[] = FINAL_STATUSES,
  timeoutMs = 60_000,
): Promise<OrderView> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  let tag: string | null = null;
  while (Date.now() < deadline) {
    const seconds = Math.min(LONG_POLL_SECONDS, Math.ceil((deadline - Date.now()) / 1000));
    const asked = Date.now();
    const response: HttpResponse<OrderView> = await request<OrderView>(
      system,
      'GET',
      `/orders/${orderId}${tag ? `?wait=${seconds}` : ''}`,
      { token, headers: tag ? { 'if-none-match': tag } : {} },
    );
    if (response.status === 304) {
      // Unchanged at once: the order has ended in another status and will not change; do not spin until the deadline.
      if (Date.now() - asked < 200) await sleep(200);
      continue;
    }
    last = response.body;
    if (response.status !== 200) {
      tag = null;
      await sleep(100);
      continue;
    }
    if (statuses.includes(response.body.status)) return response.body;
    tag = response.headers.get('etag');
  }
  throw new Error(
    `order ${orderId} did not reach ${statuses.join('/')} within ${timeoutMs} ms; last: ${JSON.stringify(last)}`,
  );
}

/**
 * `POST /orders/:id/cancel` as a client should send it, for tests about what a cancel does rather than how fast it
 * is confirmed: a 503 means the order's workflow did not confirm within the gateway's 5 s bound (a loaded machine)
 * and the cancel may or may not have been taken, so the client asks again, at most three times in all. Fails unless
 * the cancel was taken: 202, or 409 after an unanswered attempt (the first one was taken after all).
 */
export async function cancelAccepted(system: TestSystem, token: string, orderId: string): Promise<void> {
  const unanswered: number[] = [];
  for (;;) {
    const response = await request(system, 'POST', `/orders/${orderId}/cancel`, { token });
    if (response.status === 202 || (response.status === 409 && unanswered.length > 0)) return;
    if (response.status !== 503 || unanswered.length === 2) {
      throw new Error(
        `cancel of ${orderId} not taken: ${response.status} ${JSON.stringify(response.body)} after ${unanswered.length} unanswered attempt(s)`,
      );
    }
    unanswered.push(response.status);
  }
}

/** Waits until the condition holds (polled every 50 ms), or fails after the timeout. */
export async function eventually(condition: () => boolean | Promise<boolean>, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(`condition not met within ${timeoutMs} ms`);
    await sleep(50);
  }
}

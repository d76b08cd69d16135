/**
 * The benchmark's client of a running gateway, over HTTP only: it logs in, creates its own item through the admin
 * API, places orders and waits for each to end as a real client does (`Prefer: wait`, then long polls with
 * `If-None-Match`), never by polling.
 */
import { performance } from 'node:perf_hooks';

export interface GatewayResponse<T = unknown> {
  status: number;
  headers: Headers;
  body: T;
}

/** The longest wait the gateway honours (api/order-waiting.ts MAX_WAIT_SECONDS): the benchmark's wait. */
const MAX_WAIT_SECONDS = 30;
const TERMINAL = new Set(['COMPLETED', 'CANCELLED']);

export class BenchError extends Error {}

/** What the gateway's per-customer limits look like when they stop the benchmark, and how to lift them. */
export const LIMITS_HINT =
  'the gateway limits one customer (README, Abuse limits); start the stack for the benchmark with ' +
  'ORDER_RATE_LIMIT=1000000 ORDER_MAX_OPEN_PER_CUSTOMER=64 (more than --clients)';

export interface PlacedOrder {
  orderId: string;
  status: string;
  failureReason?: string | null;
  /** POST sent → terminal status received, in ms. */
  ms: number;
  /** HTTP requests this order took (1 when it ended within the POST's wait). */
  requests: number;
}

export class GatewayClient {
  constructor(
    readonly baseUrl: string,
    /** Seconds of each wait (`Prefer: wait`, `?wait=`). */
    private readonly waitSeconds = MAX_WAIT_SECONDS,
  ) {}

  async request<T = any>(
    method: string,
    path: string,
    options: { token?: string; body?: unknown; headers?: Record<string, string> } = {},
  ): Promise<GatewayResponse<T>> {
    const headers: Record<string, string> = { ...options.headers };
    if (options.token) headers.authorization = `Bearer ${options.token}`;
    if (options.body !== undefined) headers['content-type'] = 'application/json';
    const response = await fetch(`${this.baseUrl}${path}`, {
      method,
      headers,
      body: options.body === undefined ? undefined : JSON.stringify(options.body),
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

  /** Throws unless the gateway answers its health check with 200. */
  async checkHealth(): Promise<void> {
    const health = await this.request('GET', '/health').catch((error: unknown) => {
      throw new BenchError(
        `no gateway answers at ${this.baseUrl} (${(error as Error).message}); start the stack first`,
      );
    });
    if (health.status !== 200) {
      throw new BenchError(
        `the gateway at ${this.baseUrl} is not healthy: ${health.status} ${JSON.stringify(health.body)}`,
      );
    }
  }

  async login(email: string, password: string): Promise<string> {
    const login = await this.request<{ accessToken: string }>('POST', '/users/login', { body: { email, password } });
    if (login.status !== 200) {
      throw new BenchError(`login of ${email} failed: ${login.status} ${JSON.stringify(login.body)}`);
    }
    return login.body.accessToken;
  }

  /** A new item of the benchmark's own (admin API); its id. */
  async createItem(adminToken: string, item: { name: string; price: number; stockQuantity: number }): Promise<number> {
    const created = await this.request<{ id: number }>('POST', '/items', {
      token: adminToken,
      body: { ...item, size: '-' },
    });
    if (created.status !== 201) {
      throw new BenchError(`creating the benchmark's item failed: ${created.status} ${JSON.stringify(created.body)}`);
    }
    return created.body.id;
  }

  async stockOf(itemId: number): Promise<number> {
    const item = await this.request<{ stockQuantity: number }>('GET', `/items/${itemId}`);
    if (item.status !== 200) throw new BenchError(`reading item ${itemId} failed: ${item.status}`);
    return item.body.stockQuantity;
  }

  /**
   * Places a one-unit order and waits until it has ended: `Prefer: wait=30` on the POST (201 with the final order
   * when it ends in time), else long polls `GET /orders/:id?wait=30` with the last ETag until it has ended.
   */
  async placeAndWait(token: string, itemId: number, unitPrice: number): Promise<PlacedOrder> {
    const started = performance.now();
    const placed = await this.request<any>('POST', '/orders', {
      token,
      body: { lines: [{ itemId, quantity: 1, unitPrice }] },
      headers: { prefer: `wait=${this.waitSeconds}` },
    });
    if (placed.status === 429) {
      throw new BenchError(`POST /orders answered 429 ${placed.body?.code}: ${LIMITS_HINT}`);
    }
    if (placed.status !== 201 && placed.status !== 202) {
      throw new BenchError(`POST /orders answered ${placed.status}: ${JSON.stringify(placed.body)}`);
    }
    let order = placed.body as { orderId: string; status: string; failureReason?: string | null };
    let etag = placed.headers.get('etag');
    let requests = 1;
    while (!TERMINAL.has(order.status)) {
      const read = await this.request<any>('GET', `/orders/${order.orderId}?wait=${this.waitSeconds}`, {
        token,
        headers: etag ? { 'if-none-match': etag } : {},
      });
      requests += 1;
      if (read.status === 304) continue;
      if (read.status !== 200) throw new BenchError(`GET /orders/${order.orderId} answered ${read.status}`);
      order = read.body;
      etag = read.headers.get('etag');
    }
    return {
      orderId: order.orderId,
      status: order.status,
      failureReason: order.failureReason ?? null,
      ms: performance.now() - started,
      requests,
    };
  }
}

/**
 * Observing the real processes from outside (README, "Observing it"): the gateway and the four workers run as OS
 * processes on the shared PostgreSQL and Temporal, at LOG_LEVEL=debug. The tests read only what those processes
 * show: their standard output (JSON lines), their health endpoints, their Prometheus metrics, their exit.
 */
import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { Client, Connection } from '@temporalio/client';
import pg from 'pg';
import { databaseUrl } from '../../lib/config';
import { WORKER_SERVICES } from '../../lib/services';
import { connectDatabase, createService } from '../../lib/wiring';
import { RECONCILER_SCHEDULE_ID, orderWorkflowId } from '../../workflows/definitions';
import { FINAL_STATUSES, request } from '../support/fixtures';
import { jsonLines, sampleValue, scrape, startStack, type ProcessName, type Stack } from './support/stack';

let stack: Stack;
const itemDb = connectDatabase('item');
const orderDb = connectDatabase('order');
const items = createService('item', itemDb);

interface Customer {
  email: string;
  password: string;
  token: string;
}

let customer: Customer;

beforeAll(async () => {
  // A row lock of the drain tests makes reserveStock wait; it must wait for the test, not fail after 5 s.
  stack = await startStack({ DB_LOCK_TIMEOUT_MS: '60000' });
  const email = `observe-${randomUUID()}@example.com`;
  const password = `pw-${randomUUID()}`;
  const gateway = { baseUrl: stack.gatewayUrl };
  const signUp = await request(gateway, 'POST', '/users', {
    body: { email, password, name: 'Observer', address: 'Seoul' },
  });
  expect(signUp.status).toBe(201);
  const login = await request(gateway, 'POST', '/users/login', { body: { email, password } });
  expect(login.status).toBe(200);
  customer = { email, password, token: login.body.accessToken };
}, 240_000);

afterAll(async () => {
  await stack?.stop();
  await Promise.all([itemDb.$disconnect(), orderDb.$disconnect()]);
  // The order worker created the reconciler's schedule on the shared Temporal server; later files start clean.
  const connection = await Connection.connect({ address: process.env.TEMPORAL_ADDRESS! });
  try {
    await new Client({ connection }).schedule
      .getHandle(RECONCILER_SCHEDULE_ID)
      .delete()
      .catch(() => undefined);
  } finally {
    await connection.close();
  }
});

async function anItem(stockQuantity = 10) {
  return items.createItem({ name: `observe item ${randomUUID()}`, size: 'M', price: 1_000, stockQuantity });
}

async function placeOrder(itemId: number, cardToken: string, requestId: string): Promise<string> {
  const response = await request({ baseUrl: stack.gatewayUrl }, 'POST', '/orders', {
    token: customer.token,
    headers: { 'x-request-id': requestId },
    body: { lines: [{ itemId, quantity: 1, unitPrice: 1_000 }], payment: { token: cardToken } },
  });
  if (response.status !== 202) throw new Error(`POST /orders: ${response.status} ${JSON.stringify(response.body)}`);
  expect(response.headers.get('x-request-id')).toBe(requestId);
  return response.body.orderId;
}

async function finalStatus(orderId: string, timeoutMs = 60_000): Promise<{ status: string; failureReason?: string }> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const response = await request({ baseUrl: stack.gatewayUrl }, 'GET', `/orders/${orderId}`, {
      token: customer.token,
    });
    if (FINAL_STATUSES.includes(response.body?.status)) return response.body;
    if (Date.now() > deadline) throw new Error(`order ${orderId} did not end: ${JSON.stringify(response.body)}`);
    await sleep(200);
  }
}

function lines(name: ProcessName): Record<string, any>[] {
  return jsonLines(stack.processes[name].stdout());
}

async function get(url: string): Promise<{ status: number; type: string | null; body: any }> {
  const response = await fetch(url);
  const text = await response.text();
  return { status: response.status, type: response.headers.get('content-type'), body: text ? JSON.parse(text) : null };
}

describe('health', () => {
  test.each(WORKER_SERVICES)(
    'when the %s worker polls its task queue, then /health/live and /health/ready answer 200 and anything else 404 problem+json',
    async (worker) => {
      const base = `http://127.0.0.1:${stack.processes[worker].port}`;

      expect(await get(`${base}/health/live`)).toMatchObject({ status: 200, body: { status: 'ok' } });
      expect(await get(`${base}/health/ready`)).toMatchObject({
        status: 200,
        body: { status: 'ok', state: 'RUNNING' },
      });
      const unknown = await get(`${base}/health`);
      expect(unknown).toMatchObject({ status: 404, body: { code: 'ROUTE_NOT_FOUND', status: 404 } });
      expect(unknown.type).toMatch(/^application\/problem\+json/);
      const post = await fetch(`${base}/health/ready`, { method: 'POST' });
      expect(post.status).toBe(404);
    },
  );

  test('when the gateway runs, then /health/live answers without asking dependencies and /health/ready and /health check them', async () => {
    const live = await get(`${stack.gatewayUrl}/health/live`);
    const ready = await get(`${stack.gatewayUrl}/health/ready`);
    const health = await get(`${stack.gatewayUrl}/health`);

    expect(live).toMatchObject({ status: 200, body: { status: 'ok' } });
    expect(live.body.checks).toBeUndefined();
    expect(ready).toMatchObject({ status: 200, body: { status: 'ok', checks: { temporal: 'ok', orderDb: 'ok' } } });
    expect(health).toMatchObject({ status: 200, body: ready.body });
  });
});

describe('logs and metrics of placed orders', () => {
  const requestId = `observe-${randomUUID()}`;
  const declinedToken = `tok_observe${randomUUID().replace(/-/g, '')}`;
  let completedId: string;
  let declinedId: string;
  let gatewayBefore: string;
  let gatewayAfter: string;

  beforeAll(async () => {
    const item = await anItem();
    gatewayBefore = await scrape(stack.processes.gateway.metricsPort);
    completedId = await placeOrder(item.id, 'tok_visa', requestId);
    declinedId = await placeOrder(item.id, declinedToken, `${requestId}-declined`);
    expect(await finalStatus(completedId)).toMatchObject({ status: 'COMPLETED' });
    expect(await finalStatus(declinedId)).toMatchObject({ status: 'CANCELLED', failureReason: 'PAYMENT_DECLINED' });
    // Workflow log lines reach the logger once their workflow task completes; give the last ones a moment.
    await sleep(500);
    gatewayAfter = await scrape(stack.processes.gateway.metricsPort);
  }, 120_000);

  test('when the processes log, then every line of their standard output is one JSON object naming the process', () => {
    for (const name of ['gateway', ...WORKER_SERVICES] as ProcessName[]) {
      const parsed = lines(name);
      expect(parsed.length).toBeGreaterThan(0);
      const service = name === 'gateway' ? 'gateway' : `${name}-worker`;
      expect(parsed.filter((line) => line.service !== service)).toEqual([]);
    }
  });

  test('when an order is placed with X-Request-Id, then its workflow and activity lines carry the request id, order id, workflow id, run id, activity type and attempt', () => {
    const workflowId = orderWorkflowId(completedId);
    const gatewayLine = lines('gateway').find((line) => line.requestId === requestId && line.req?.path === '/orders');
    expect(gatewayLine).toMatchObject({ req: { method: 'POST' }, res: { statusCode: 202 } });

    const workflowLine = lines('order').find(
      (line) => line.sdkComponent === 'workflow' && line.msg === 'order completed' && line.orderId === completedId,
    );
    expect(workflowLine).toMatchObject({
      workflowId,
      requestId,
      workflowType: 'placeOrder',
      runId: expect.any(String),
    });
    const runId = workflowLine!.runId;

    const activityLines: [ProcessName, string][] = [
      ['item', 'reserveStock'],
      ['coupon', 'redeemCoupons'],
      ['payment', 'chargePayment'],
      ['order', 'recordOrderProgress'],
    ];
    for (const [worker, activityType] of activityLines) {
      const finished = lines(worker).find(
        (line) =>
          line.msg === 'activity finished' && line.activityType === activityType && line.orderId === completedId,
      );
      expect({ worker, line: finished }).toEqual({
        worker,
        line: expect.objectContaining({
          requestId,
          orderId: completedId,
          workflowId,
          runId,
          activityType,
          attempt: 1,
          durationMs: expect.any(Number),
        }),
      });
      expect(finished).not.toHaveProperty('taskToken');
    }
  });

  test('when orders are placed with card tokens after a password login, then no log line holds a token, the password, the access token or the JWT secret', () => {
    // At debug level the activities log their input, the charge's card token among it. (The declined order's
    // failure detail names its card masked; the logger's scrub of any token in free text is in the fast tier.)
    const chargeInput = lines('payment').find(
      (line) => line.msg === 'activity input' && line.activityType === 'chargePayment' && line.orderId === completedId,
    );
    expect(chargeInput?.input?.[0]).toMatchObject({ orderId: completedId, cardToken: '[redacted]' });
    const output = Object.values(stack.processes)
      .map((running) => running.stdout() + running.stderr())
      .join('\n');

    for (const secret of ['tok_visa', declinedToken, customer.password, customer.token, stack.jwtSecret]) {
      expect({ secret, found: output.includes(secret) }).toEqual({ secret, found: false });
    }
  });

  test('when orders ended, then the gateway metrics count them by outcome, their undos by step and their duration, and the HTTP requests', async () => {
    const delta = (name: string, labels: Record<string, string> = {}) =>
      (sampleValue(gatewayAfter, name, labels) ?? 0) - (sampleValue(gatewayBefore, name, labels) ?? 0);

    expect(delta('saga_orders', { status: 'COMPLETED', failure_reason: 'none' })).toBe(1);
    expect(delta('saga_orders', { status: 'CANCELLED', failure_reason: 'PAYMENT_DECLINED' })).toBe(1);
    expect(delta('saga_compensations', { step: 'items', state: 'COMPENSATED' })).toBe(1);
    expect(delta('saga_compensations', { step: 'payment', state: 'COMPENSATED' })).toBe(0);
    expect(delta('saga_order_duration_seconds_count', { status: 'COMPLETED' })).toBe(1);
    expect(delta('saga_order_duration_seconds_count', { status: 'CANCELLED' })).toBe(1);
    expect(delta('saga_order_duration_seconds_sum', { status: 'COMPLETED' })).toBeGreaterThan(0);
    // Both ended within the hour: counted in that bucket, and not below the smallest (no saga takes 0 s).
    expect(delta('saga_order_duration_seconds_bucket', { status: 'COMPLETED', le: '3600' })).toBe(1);
    expect(delta('http_request_duration_seconds_count', { method: 'POST', route: '/orders', status: '202' })).toBe(2);
    expect(sampleValue(gatewayAfter, 'saga_metrics_up')).toBe(1);

    const [counted] = await orderDb.$queryRaw<{ waiting: number }[]>`
      SELECT count(*)::int AS waiting FROM orders WHERE status = 'COMPENSATION_FAILED'`;
    expect(sampleValue(gatewayAfter, 'saga_orders_waiting_for_operator')).toBe(counted?.waiting);
  });

  test("when orders ran, then each worker's metrics port serves the Temporal SDK's metrics of its tasks", async () => {
    const order = await scrape(stack.processes.order.metricsPort);
    const item = await scrape(stack.processes.item.metricsPort);
    const payment = await scrape(stack.processes.payment.metricsPort);

    expect(
      sampleValue(order, 'temporal_workflow_completed_total', { workflow_type: 'placeOrder', task_queue: 'orders' }),
    ).toBeGreaterThanOrEqual(1);
    expect(
      sampleValue(item, 'temporal_activity_execution_latency_seconds_count', { activity_type: 'reserveStock' }),
    ).toBeGreaterThanOrEqual(1);
    expect(
      sampleValue(payment, 'temporal_activity_execution_latency_seconds_count', { activity_type: 'chargePayment' }),
    ).toBeGreaterThanOrEqual(2);
    expect(
      sampleValue(item, 'temporal_activity_execution_latency_seconds_count', { activity_type: 'chargePayment' }),
    ).toBe(undefined);
  });

  test('when the Grafana dashboard queries a metric, then the gateway or a worker serves it', async () => {
    const served = (
      await Promise.all(
        (['gateway', ...WORKER_SERVICES] as ProcessName[]).map((name) => scrape(stack.processes[name].metricsPort)),
      )
    ).join('\n');
    const dashboard = JSON.parse(
      readFileSync(path.join(__dirname, '..', '..', 'deploy', 'grafana', 'dashboards', 'order-saga.json'), 'utf8'),
    ) as { panels: { targets?: { expr: string }[] }[] };
    const queried = new Set(
      dashboard.panels
        .flatMap((panel) => panel.targets ?? [])
        .flatMap((target) => [...target.expr.matchAll(/\b(?:saga|http|temporal)_\w+/g)].map(([name]) => name)),
    );
    // The SDK exports a counter from its first increment on: no workflow of these tests failed (the saga ends a
    // failed order CANCELLED, it does not fail its workflow).
    const notYetCounted = new Set(['temporal_workflow_failed_total']);

    expect(queried.size).toBeGreaterThanOrEqual(12);
    const missing = [...queried].filter(
      (name) => !notYetCounted.has(name) && !new RegExp(`^${name}[{ ]`, 'm').test(served),
    );
    expect(missing).toEqual([]);
  });
});

describe('drain on SIGTERM', () => {
  /** Holds the item's row lock in a transaction of its own, so reserveStock of an order for it waits. */
  async function lockItem(itemId: number): Promise<{ release(): Promise<void> }> {
    const client = new pg.Client({ connectionString: databaseUrl('item') });
    await client.connect();
    await client.query('BEGIN');
    await client.query('SELECT id FROM items WHERE id = $1 FOR UPDATE', [itemId]);
    return {
      async release() {
        await client.query('COMMIT');
        await client.end();
      },
    };
  }

  async function reserveStockStarted(orderId: string): Promise<void> {
    const deadline = Date.now() + 30_000;
    while (
      !lines('item').some(
        (line) => line.msg === 'activity input' && line.activityType === 'reserveStock' && line.orderId === orderId,
      )
    ) {
      if (Date.now() > deadline) throw new Error(`reserveStock of ${orderId} did not start`);
      await sleep(50);
    }
  }

  test('when a worker gets SIGTERM with an activity in flight, then it is not ready at once, finishes the activity and exits 0', async () => {
    const item = await anItem();
    const lock = await lockItem(item.id);
    let released = false;
    try {
      const orderId = await placeOrder(item.id, 'tok_visa', `drain-${randomUUID()}`);
      await reserveStockStarted(orderId);
      const worker = stack.processes.item;
      const base = `http://127.0.0.1:${worker.port}`;

      worker.child.kill('SIGTERM');
      // The signal reaches the process's handler after whatever it is doing; a probe may be answered before it.
      let ready = await get(`${base}/health/ready`);
      for (const deadline = Date.now() + 5_000; ready.status === 200 && Date.now() < deadline;) {
        await sleep(50);
        ready = await get(`${base}/health/ready`);
      }
      expect(ready).toMatchObject({ status: 503, body: { status: 'unavailable' } });
      expect(ready.body.state).not.toBe('RUNNING');
      expect(await get(`${base}/health/live`)).toMatchObject({ status: 200 });
      await sleep(1_000);
      expect(worker.child.exitCode).toBe(null); // still draining: the activity waits for the lock

      await lock.release();
      released = true;
      const [code] = await worker.exited;

      expect(code).toBe(0);
      const itemLines = lines('item');
      const finished = itemLines.findIndex(
        (line) => line.msg === 'activity finished' && line.activityType === 'reserveStock' && line.orderId === orderId,
      );
      const stopped = itemLines.findIndex((line) => line.msg === 'item worker stopped');
      expect(finished).toBeGreaterThanOrEqual(0);
      expect(itemLines[finished]).toMatchObject({ attempt: 1 });
      expect(stopped).toBeGreaterThan(finished);
      expect(await finalStatus(orderId)).toMatchObject({ status: 'COMPLETED' });
    } finally {
      if (!released) await lock.release();
    }
  }, 90_000);

  test('when an activity outlasts the grace time, then the worker cancels it and exits within the grace time and its margin', async () => {
    await stack.start('item', { WORKER_SHUTDOWN_GRACE_SECONDS: '1' });
    const item = await anItem();
    const lock = await lockItem(item.id);
    let released = false;
    try {
      const orderId = await placeOrder(item.id, 'tok_visa', `cut-${randomUUID()}`);
      await reserveStockStarted(orderId);
      const worker = stack.processes.item;
      const signalled = Date.now();

      worker.child.kill('SIGTERM');
      const [code] = await worker.exited;
      const tookMs = Date.now() - signalled;

      // The activity waits in a database statement and cannot give up: the worker gives up on it instead.
      expect(code).toBe(1);
      expect(tookMs).toBeGreaterThanOrEqual(1_000 + 3_000 - 250);
      expect(tookMs).toBeLessThan(1_000 + 3_000 + 5_000);
      expect(lines('item').some((line) => line.msg === 'item worker did not stop within 4000 ms; exiting')).toBe(true);
      await lock.release();
      released = true;

      // Temporal retries the cut attempt on the next item worker; the order goes on.
      await stack.start('item');
      expect(await finalStatus(orderId, 90_000)).toMatchObject({ status: 'COMPLETED' });
      expect(
        lines('item').find(
          (line) =>
            line.msg === 'activity finished' && line.activityType === 'reserveStock' && line.orderId === orderId,
        ),
      ).toMatchObject({ attempt: 2 });
    } finally {
      if (!released) await lock.release();
    }
  }, 180_000);
});

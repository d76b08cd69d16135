/**
 * Tracing across real processes: the gateway and the four workers run as their own OS processes (the entry files
 * npm start runs) on the shared Temporal and PostgreSQL, with OTEL_EXPORTER_OTLP_ENDPOINT pointing at an OTLP/HTTP
 * receiver inside this test. One order's trace must hold spans from every one of them: the HTTP request and the
 * workflow start (gateway), each step's activity (its service's worker, the order worker's progress records) and
 * the SQL statements inside those activities.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { createServer, type Server } from 'node:http';
import path from 'node:path';
import { Client, Connection } from '@temporalio/client';
import { RECONCILER_SCHEDULE_ID } from '../../workflows/definitions';
import { freePort } from '../support/ports';
import { TEST_PAYLOAD_KEYS, testDataConverter } from '../support/payload-keys';
import { waitFor, waitForAsync } from '../supervisor/os-processes';

const ROOT = path.resolve(__dirname, '..', '..');
const PROCESSES = ['order-worker', 'item-worker', 'coupon-worker', 'payment-worker', 'gateway'] as const;

interface ReceivedSpan {
  service: string;
  traceId: string;
  spanId: string;
  parentSpanId: string;
  name: string;
  attributes: Record<string, unknown>;
}

interface OtlpValue {
  stringValue?: string;
  intValue?: string | number;
}
interface OtlpExport {
  resourceSpans?: {
    resource?: { attributes?: { key: string; value: OtlpValue }[] };
    scopeSpans?: {
      spans?: {
        traceId: string;
        spanId: string;
        parentSpanId?: string;
        name: string;
        attributes?: { key: string; value: OtlpValue }[];
      }[];
    }[];
  }[];
}

const spans: ReceivedSpan[] = [];
let receiver: Server;
let receiverUrl: string;
const children: { name: string; child: ChildProcess; output: string[] }[] = [];
let gateway: string;

const attributes = (list: { key: string; value: OtlpValue }[] = []) =>
  Object.fromEntries(list.map(({ key, value }) => [key, value.stringValue ?? value.intValue]));

/** An OTLP/HTTP collector reduced to what the test reads: JSON exports of spans, kept in `spans`. */
async function startReceiver(): Promise<void> {
  receiver = createServer((req, res) => {
    let body = '';
    req.on('data', (chunk: Buffer) => (body += chunk.toString()));
    req.on('end', () => {
      if (req.url === '/v1/traces' && req.headers['content-type']?.includes('application/json')) {
        for (const resourceSpans of (JSON.parse(body) as OtlpExport).resourceSpans ?? []) {
          const service = String(attributes(resourceSpans.resource?.attributes)['service.name']);
          for (const scope of resourceSpans.scopeSpans ?? []) {
            for (const span of scope.spans ?? []) {
              spans.push({
                service,
                traceId: span.traceId,
                spanId: span.spanId,
                parentSpanId: span.parentSpanId ?? '',
                name: span.name,
                attributes: attributes(span.attributes),
              });
            }
          }
        }
      }
      res.writeHead(200, { 'content-type': 'application/json' }).end('{}');
    });
  });
  const port = await freePort();
  await new Promise<void>((resolve) => receiver.listen(port, '127.0.0.1', resolve));
  receiverUrl = `http://127.0.0.1:${port}`;
}

function keysVariable(): string {
  return [...TEST_PAYLOAD_KEYS.keys].map(([id, key]) => `${id}:${key.toString('base64')}`).join(',');
}

function startProcess(name: (typeof PROCESSES)[number], env: NodeJS.ProcessEnv): void {
  const entry = name === 'gateway' ? 'api/server.ts' : `workers/${name.replace('-worker', '')}.ts`;
  const child = spawn(process.execPath, ['--import', 'tsx', path.join(ROOT, entry)], {
    cwd: ROOT,
    env,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const output: string[] = [];
  child.stdout!.on('data', (chunk: Buffer) => output.push(chunk.toString()));
  child.stderr!.on('data', (chunk: Buffer) => output.push(chunk.toString()));
  children.push({ name, child, output });
}

async function call(method: string, url: string, body?: unknown, token?: string) {
  const response = await fetch(`${gateway}${url}`, {
    method,
    headers: {
      'content-type': 'application/json',
      ...(token ? { authorization: `Bearer ${token}` } : {}),
    },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  return { status: response.status, body: (await response.json()) as Record<string, any> };
}

async function login(email: string, password: string): Promise<string> {
  const answer = await call('POST', '/users/login', { email, password });
  if (answer.status !== 200) throw new Error(`login of ${email}: ${answer.status}`);
  return answer.body.accessToken as string;
}

beforeAll(async () => {
  await startReceiver();
  const port = await freePort();
  gateway = `http://127.0.0.1:${port}`;
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    PORT: String(port),
    JWT_SECRET: 'a-secret-for-the-tracing-test-that-is-long-enough',
    PAYLOAD_ENCRYPTION_KEYS: keysVariable(),
    PAYLOAD_ENCRYPTION_KEY_ID: TEST_PAYLOAD_KEYS.currentKeyId,
    WORKFLOW_BUNDLE_PATH: process.env.TEST_WORKFLOW_BUNDLE,
    OTEL_EXPORTER_OTLP_ENDPOINT: receiverUrl,
    // The order worker schedules the reconciler; it must not sweep the other test files' orders.
    RECONCILE_INTERVAL_SECONDS: '86400',
    LOG_LEVEL: 'warn',
  };
  for (const name of PROCESSES) startProcess(name, env);
  const ready = (name: string, line: RegExp) =>
    waitFor(
      `${name} to start`,
      () =>
        children
          .find((c) => c.name === name)!
          .output.join('')
          .match(line),
      120_000,
    );
  await Promise.all(
    PROCESSES.filter((name) => name !== 'gateway').map((name) => ready(name, /worker polling task queue/)),
  );
  await waitForAsync(
    'the gateway to answer',
    () =>
      fetch(`${gateway}/health`).then(
        (res) => res.ok,
        () => false,
      ),
    120_000,
  );
}, 240_000);

afterAll(async () => {
  for (const { child } of children) child.kill('SIGTERM');
  await Promise.all(children.map(({ child }) => (child.exitCode === null ? once(child, 'exit') : undefined)));
  await new Promise<void>((resolve) => receiver?.close(() => resolve()));
  const connection = await Connection.connect({ address: process.env.TEMPORAL_ADDRESS! });
  await new Client({ connection, dataConverter: testDataConverter }).schedule
    .getHandle(RECONCILER_SCHEDULE_ID)
    .delete()
    .catch(() => undefined);
  await connection.close();
}, 60_000);

test('when an order is placed, then its one trace holds spans of the gateway, the order worker and each service worker, down to SQL', async () => {
  const admin = await login('admin@example.com', 'admin-password-1234');
  // A customer of its own: the seeded one may hold open orders of other tests on this database (429 at five).
  const account = {
    email: `traced-${Date.now()}@example.com`,
    name: 'traced',
    address: '서울 동작구',
    password: 'a long enough password',
  };
  expect((await call('POST', '/users', account)).status).toBe(201);
  const customer = await login(account.email, account.password);
  const item = await call('POST', '/items', { name: 'traced', size: 'M', price: 1000, stockQuantity: 5 }, admin);
  expect(item.status).toBe(201);
  const placed = await call(
    'POST',
    '/orders',
    { lines: [{ itemId: item.body.id, quantity: 1, unitPrice: 1000 }], payment: { token: 'tok_visa' } },
    customer,
  );
  expect(placed.status).toBe(202);
  const orderId = placed.body.orderId as string;
  await waitForAsync(
    `order ${orderId} to complete`,
    async () => (await call('GET', `/orders/${orderId}`, undefined, customer)).body.status === 'COMPLETED',
    60_000,
  );

  const start = await waitFor(
    "the gateway's start of the order's workflow",
    () => spans.find((span) => span.name === 'StartWorkflow:placeOrder' && span.service === 'gateway'),
    15_000,
  );
  const trace = () => spans.filter((span) => span.traceId === start.traceId);
  const expected = ['reserveStock', 'redeemCoupons', 'chargePayment', 'recordOrderProgress'].map(
    (activity) => `RunActivity:${activity}`,
  );
  // Each process flushes its spans within a second or two of ending them.
  await waitFor(
    'every activity span of the order',
    () => expected.every((name) => trace().some((span) => span.name === name)),
    20_000,
  ).catch(() => undefined);
  const ofTrace = trace();
  const byService = (service: string) => ofTrace.filter((span) => span.service === service).map((span) => span.name);

  // The root is the HTTP request; the workflow start is its child.
  const root = ofTrace.find((span) => span.name === 'POST /orders');
  expect(root).toMatchObject({ service: 'gateway', parentSpanId: '' });
  expect(start.parentSpanId).not.toBe('');
  expect(byService('gateway')).toEqual(expect.arrayContaining(['POST /orders', 'StartWorkflow:placeOrder']));
  expect(byService('item-worker')).toContain('RunActivity:reserveStock');
  expect(byService('coupon-worker')).toContain('RunActivity:redeemCoupons');
  expect(byService('payment-worker')).toContain('RunActivity:chargePayment');
  expect(byService('order-worker')).toContain('RunActivity:recordOrderProgress');
  // The SQL of each activity is inside it, in its own worker; no statement carries the card token.
  for (const [service, activity] of [
    ['item-worker', 'RunActivity:reserveStock'],
    ['payment-worker', 'RunActivity:chargePayment'],
    ['order-worker', 'RunActivity:recordOrderProgress'],
  ] as const) {
    const activitySpans = new Set(
      ofTrace.filter((span) => span.service === service && span.name === activity).map((span) => span.spanId),
    );
    const sql = ofTrace.filter(
      (span) => span.attributes['db.system'] === 'postgresql' && activitySpans.has(span.parentSpanId),
    );
    expect({ service, statements: sql.length > 0 }).toEqual({ service, statements: true });
  }
  expect(JSON.stringify(ofTrace)).not.toContain('tok_visa');
});

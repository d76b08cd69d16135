/**
 * The chaos workload: customers placing a seeded mix of orders through the HTTP gateway only, as real clients
 * do, with bounded concurrency. Set-up (customers, items with known stock, coupons) also goes through the API,
 * as the seed admin. Every call survives the gateway being killed: see http.ts.
 */
import { randomUUID } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import { SEED_ADMIN } from '../lib/seed';
import { GatewayUnavailableError, type Answer, type GatewayClient } from './http';
import type { CancelAnswer, ClientOrder, OrderKind } from './invariants';
import type { Random } from './random';

/** Set-up calls run before any kill, but a slow start-up of some dependency is still waited for. */
const SETUP_DEADLINE_MS = 60_000;
/** How long POST /orders (and a cancel) is retried while the gateway or its dependencies are down. */
const PLACE_DEADLINE_MS = 90_000;
const POLL_EVERY_MS = 500;
/** Where polling stops: the order ended, or waits for an operator (which no one will be). */
const FINAL_STATUSES = new Set(['COMPLETED', 'CANCELLED', 'COMPENSATION_FAILED']);

/** How often each kind appears in the mix (out of their sum). */
const KIND_WEIGHTS: Record<OrderKind, number> = {
  success: 2,
  coupons: 2,
  multiUnit: 2,
  declined: 1,
  hangingCard: 1,
  customerCancel: 2,
  outOfStock: 1,
};

const BULK_ITEMS = [
  { price: 12_000, stockQuantity: 10_000 },
  { price: 23_500, stockQuantity: 10_000 },
  { price: 34_900, stockQuantity: 10_000 },
];
const COUPON_ITEM = { price: 20_000, stockQuantity: 10_000 };
/** Every out-of-stock order asks for one unit more than this, so none of them can ever complete. */
const SCARCE_ITEM = { price: 15_000, stockQuantity: 2 };
const FIXED_COUPON = { type: 'FIXED', discountAmount: 2_000 } as const;
const RATIO_COUPON = { type: 'RATIO', discountPercent: 10 } as const;
const CARD = { approves: 'tok_visa', declined: 'tok_declined', hangs: 'tok_timeout' } as const;

type ItemRole = { role: 'bulk'; index: number } | { role: 'coupon' } | { role: 'scarce' };

/** One order of the plan, before set-up gave the items their ids. */
export interface PlannedOrder {
  kind: OrderKind;
  customer: number;
  card: string;
  lines: { item: ItemRole; quantity: number }[];
}

/** A seeded mix of `count` orders spread over `customers` customers, in a seeded order. */
export function planOrders(count: number, customers: number, random: Random): PlannedOrder[] {
  const bag = Object.entries(KIND_WEIGHTS).flatMap(([kind, weight]) =>
    Array<OrderKind>(weight).fill(kind as OrderKind),
  );
  const kinds: OrderKind[] = [];
  while (kinds.length < count) kinds.push(...random.shuffle(bag));
  return kinds.slice(0, count).map((kind, index) => planOne(kind, index % customers, random));
}

function planOne(kind: OrderKind, customer: number, random: Random): PlannedOrder {
  const oneBulkUnit = [
    { item: { role: 'bulk', index: random.int(0, BULK_ITEMS.length - 1) } as ItemRole, quantity: 1 },
  ];
  switch (kind) {
    case 'success':
    case 'customerCancel':
      return { kind, customer, card: CARD.approves, lines: oneBulkUnit };
    case 'declined':
      return { kind, customer, card: CARD.declined, lines: oneBulkUnit };
    case 'hangingCard':
      return { kind, customer, card: CARD.hangs, lines: oneBulkUnit };
    case 'coupons':
      return { kind, customer, card: CARD.approves, lines: [{ item: { role: 'coupon' }, quantity: 1 }] };
    case 'outOfStock':
      return {
        kind,
        customer,
        card: CARD.approves,
        lines: [{ item: { role: 'scarce' }, quantity: SCARCE_ITEM.stockQuantity + 1 }],
      };
    case 'multiUnit': {
      const [first, second] = random.shuffle(BULK_ITEMS.map((_, index) => index));
      const indexes = random.next() < 0.5 ? [first!] : [first!, second!];
      return {
        kind,
        customer,
        card: CARD.approves,
        lines: indexes.map((index) => ({ item: { role: 'bulk', index }, quantity: random.int(2, 3) })),
      };
    }
  }
}

interface Customer {
  id: number;
  token: string;
}

interface CreatedItem {
  id: number;
  price: number;
}

/** What set-up created: the ids the plan's roles map to, and the data the checks need. */
export interface WorkloadSetup {
  customers: Customer[];
  bulk: CreatedItem[];
  coupon: CreatedItem;
  scarce: CreatedItem;
  /** The coupon item's price after one FIXED and one RATIO coupon, as the gateway quotes it. */
  couponPrice: number;
  /** The user coupons of each coupons order, by its index in the plan. */
  couponsByOrder: Map<number, number[]>;
  initialStock: Map<number, number>;
}

function expectStatus<T>(answer: Answer<T>, status: number, what: string): T {
  if (answer.status !== status) throw new Error(`${what}: HTTP ${answer.status} ${JSON.stringify(answer.body)}`);
  return answer.body;
}

async function login(client: GatewayClient, email: string, password: string): Promise<string> {
  const answer = await client.call<{ accessToken: string }>('POST', '/users/login', {
    body: { email, password },
    deadlineMs: SETUP_DEADLINE_MS,
  });
  return expectStatus(answer, 200, `login of ${email}`).accessToken;
}

async function createCustomer(client: GatewayClient, runId: string, index: number): Promise<Customer> {
  const email = `chaos-${runId}-${index}@example.com`;
  const password = `chaos password ${runId}`;
  const created = await client.call<{ id: number }>('POST', '/users', {
    body: { email, password, name: `카오스 고객 ${index + 1}`, address: '서울 어딘가' },
    deadlineMs: SETUP_DEADLINE_MS,
  });
  // A retried sign-up whose first answer was lost finds its own account: 409, then log in as usual.
  if (created.status !== 201 && created.status !== 409) expectStatus(created, 201, `sign-up of ${email}`);
  const token = await login(client, email, password);
  const me = await client.call<{ id: number }>('GET', '/users/me', { token, deadlineMs: SETUP_DEADLINE_MS });
  return { id: expectStatus(me, 200, 'GET /users/me').id, token };
}

async function createItem(
  client: GatewayClient,
  admin: string,
  name: string,
  item: { price: number; stockQuantity: number },
): Promise<CreatedItem> {
  const created = await client.call<{ id: number }>('POST', '/items', {
    token: admin,
    body: { name, size: 'M', ...item },
    deadlineMs: SETUP_DEADLINE_MS,
  });
  return { id: expectStatus(created, 201, `POST /items ${name}`).id, price: item.price };
}

async function createCoupon(client: GatewayClient, admin: string, name: string, terms: object): Promise<number> {
  const created = await client.call<{ id: number }>('POST', '/coupons', {
    token: admin,
    body: { name, ...terms },
    deadlineMs: SETUP_DEADLINE_MS,
  });
  return expectStatus(created, 201, `POST /coupons ${name}`).id;
}

async function issueCoupon(client: GatewayClient, admin: string, couponId: number, userId: number): Promise<number> {
  const issued = await client.call<{ userCouponId: number }>('POST', `/coupons/${couponId}/issue`, {
    token: admin,
    body: { userId },
    deadlineMs: SETUP_DEADLINE_MS,
  });
  return expectStatus(issued, 201, `issue coupon ${couponId}`).userCouponId;
}

/** Creates, through the API, everything the plan needs. Runs before any kill. */
export async function setUpWorkload(
  client: GatewayClient,
  plan: PlannedOrder[],
  customerCount: number,
): Promise<WorkloadSetup> {
  const runId = randomUUID().slice(0, 8);
  const admin = await login(client, SEED_ADMIN.email, SEED_ADMIN.password);
  const customers: Customer[] = [];
  for (let index = 0; index < customerCount; index += 1) customers.push(await createCustomer(client, runId, index));
  const bulk: CreatedItem[] = [];
  for (const [index, item] of BULK_ITEMS.entries()) {
    bulk.push(await createItem(client, admin, `카오스 ${runId} 벌크 ${index + 1}`, item));
  }
  const coupon = await createItem(client, admin, `카오스 ${runId} 쿠폰 상품`, COUPON_ITEM);
  const scarce = await createItem(client, admin, `카오스 ${runId} 한정 상품`, SCARCE_ITEM);
  const fixedId = await createCoupon(client, admin, `카오스 ${runId} 2,000원 할인`, FIXED_COUPON);
  const ratioId = await createCoupon(client, admin, `카오스 ${runId} 10% 할인`, RATIO_COUPON);

  const couponsByOrder = new Map<number, number[]>();
  for (const [index, order] of plan.entries()) {
    if (order.kind !== 'coupons') continue;
    const userId = customers[order.customer]!.id;
    couponsByOrder.set(index, [
      await issueCoupon(client, admin, fixedId, userId),
      await issueCoupon(client, admin, ratioId, userId),
    ]);
  }
  let couponPrice = COUPON_ITEM.price;
  const [firstCouponOrder, firstCoupons] = [...couponsByOrder][0] ?? [];
  if (firstCouponOrder !== undefined && firstCoupons) {
    const quote = await client.call<{ discountedPrice: number }>('POST', '/coupons/quote', {
      token: customers[plan[firstCouponOrder]!.customer]!.token,
      body: { itemId: coupon.id, userCouponIds: firstCoupons },
      deadlineMs: SETUP_DEADLINE_MS,
    });
    couponPrice = expectStatus(quote, 200, 'POST /coupons/quote').discountedPrice;
  }
  const initialStock = new Map<number, number>([
    ...bulk.map((item, index): [number, number] => [item.id, BULK_ITEMS[index]!.stockQuantity]),
    [coupon.id, COUPON_ITEM.stockQuantity],
    [scarce.id, SCARCE_ITEM.stockQuantity],
  ]);
  return { customers, bulk, coupon, scarce, couponPrice, couponsByOrder, initialStock };
}

/** The POST /orders body of a planned order, with the ids and prices set-up produced. */
export function orderBody(order: PlannedOrder, index: number, setup: WorkloadSetup): object {
  const itemOf = (role: ItemRole): CreatedItem =>
    role.role === 'bulk' ? setup.bulk[role.index]! : role.role === 'coupon' ? setup.coupon : setup.scarce;
  const coupons = setup.couponsByOrder.get(index);
  return {
    lines: order.lines.map((line) => {
      const item = itemOf(line.item);
      return {
        itemId: item.id,
        quantity: line.quantity,
        unitPrice: item.price,
        ...(coupons ? { discountedUnitPrice: setup.couponPrice, userCouponIds: coupons } : {}),
      };
    }),
    payment: { token: order.card },
  };
}

/** One order's run as the client saw it. */
export interface OrderRun extends ClientOrder {
  /** The last status the client read; a final one unless polling ran out of time. */
  lastStatus: string | null;
  /** From the first POST attempt to the read that saw the order final. */
  latencyMs: number | null;
}

export interface WorkloadOptions {
  client: GatewayClient;
  plan: PlannedOrder[];
  setup: WorkloadSetup;
  concurrency: number;
  settleTimeoutMs: number;
  /** Called once every order was placed (or given up on): the moment to stop killing. */
  onAllPlaced: () => void;
  stop: AbortSignal;
  log: (line: string) => void;
}

async function placeOrder(
  options: WorkloadOptions,
  index: number,
  key: string,
): Promise<{ orderId: string | null; problem?: string }> {
  const { plan, setup, client } = options;
  const order = plan[index]!;
  try {
    const answer = await client.call<{ orderId: string }>('POST', '/orders', {
      token: setup.customers[order.customer]!.token,
      headers: { 'Idempotency-Key': key },
      body: orderBody(order, index, setup),
      deadlineMs: PLACE_DEADLINE_MS,
    });
    if (answer.status === 202) return { orderId: answer.body.orderId };
    return { orderId: null, problem: `HTTP ${answer.status} ${JSON.stringify(answer.body)}` };
  } catch (error) {
    if (error instanceof GatewayUnavailableError) return { orderId: null, problem: error.message };
    throw error;
  }
}

async function cancelOrder(options: WorkloadOptions, token: string, orderId: string): Promise<CancelAnswer> {
  try {
    const answer = await options.client.call('POST', `/orders/${orderId}/cancel`, {
      token,
      deadlineMs: PLACE_DEADLINE_MS,
    });
    if (answer.status === 202) return 'accepted';
    if (answer.status === 409) return answer.uncertain ? 'ambiguous' : 'rejected';
    options.log(`cancel of ${orderId}: unexpected HTTP ${answer.status} ${JSON.stringify(answer.body)}`);
    return 'ambiguous';
  } catch (error) {
    if (error instanceof GatewayUnavailableError) return 'ambiguous';
    throw error;
  }
}

/** Reads the order every POLL_EVERY_MS until it is final or `deadline()` passed; returns the last status read. */
async function followOrder(
  options: WorkloadOptions,
  token: string,
  orderId: string,
  deadline: () => number,
): Promise<string | null> {
  let status: string | null = null;
  while (Date.now() < deadline()) {
    try {
      const answer = await options.client.call<{ status: string }>('GET', `/orders/${orderId}`, {
        token,
        deadlineMs: Math.max(1, deadline() - Date.now()),
      });
      if (answer.status !== 200) {
        options.log(`GET /orders/${orderId}: HTTP ${answer.status}`);
        return status;
      }
      status = answer.body.status;
      if (FINAL_STATUSES.has(status)) return status;
    } catch (error) {
      if (!(error instanceof GatewayUnavailableError)) throw error;
    }
    await sleep(POLL_EVERY_MS, undefined, { signal: options.stop });
  }
  return status;
}

/**
 * Runs the plan with at most `concurrency` orders in flight (placed and not yet final); resolves with every
 * order's run once each is final or out of time. An order is followed at most `settleTimeoutMs` from its
 * placement, and no longer than `settleTimeoutMs` after the last placement.
 */
export async function runWorkload(options: WorkloadOptions): Promise<OrderRun[]> {
  const runs: OrderRun[] = [];
  let next = 0;
  let placed = 0;
  let settleDeadline = Number.POSITIVE_INFINITY;

  async function runOne(index: number): Promise<OrderRun> {
    const planned = options.plan[index]!;
    const token = options.setup.customers[planned.customer]!.token;
    const key = `chaos-${randomUUID()}`;
    const started = performance.now();
    const { orderId, problem } = await placeOrder(options, index, key);
    placed += 1;
    if (placed === options.plan.length) {
      settleDeadline = Date.now() + options.settleTimeoutMs;
      options.onAllPlaced();
    }
    const run: OrderRun = {
      kind: planned.kind,
      idempotencyKey: key,
      orderId,
      lastStatus: null,
      latencyMs: null,
      ...(problem ? { problem } : {}),
    };
    if (!orderId) {
      options.log(`order ${index + 1} (${planned.kind}) was never accepted: ${problem}`);
      return run;
    }
    if (planned.kind === 'customerCancel') run.cancel = await cancelOrder(options, token, orderId);
    const ownDeadline = Date.now() + options.settleTimeoutMs;
    run.lastStatus = await followOrder(options, token, orderId, () => Math.min(ownDeadline, settleDeadline));
    if (run.lastStatus && FINAL_STATUSES.has(run.lastStatus)) run.latencyMs = performance.now() - started;
    return run;
  }

  async function lane(): Promise<void> {
    while (next < options.plan.length) {
      const index = next;
      next += 1;
      runs[index] = await runOne(index);
    }
  }
  await Promise.all(Array.from({ length: Math.min(options.concurrency, options.plan.length) }, lane));
  return runs;
}

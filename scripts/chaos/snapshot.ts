/**
 * Reads the state the invariants are checked on, straight from the source: each service database with plain
 * `pg` (not the services' own modules, whose reads could hide what the tables hold) and Temporal's visibility.
 * A process may still be coming back from the last kill, so every read is retried until a deadline.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { Client, Connection } from '@temporalio/client';
import { payloadDataConverter, type PayloadKeys } from '../../lib/payload-codec';
import pg from 'pg';
import type { ServiceName } from '../../lib/config';
import { orderWorkflowId } from '../../workflows/definitions';
import type {
  ChargeRecord,
  ChargeSource,
  ItemRecord,
  OrderRecord,
  ReservationRecord,
  SystemState,
  UserCouponRecord,
  WorkflowRecord,
} from './invariants';

const RETRY_EVERY_MS = 1_000;
const ORDER_WORKFLOW_TYPES = new Set(['placeOrder']);

async function withRetry<T>(what: string, deadline: number, read: () => Promise<T>): Promise<T> {
  for (;;) {
    try {
      return await read();
    } catch (error) {
      if (Date.now() >= deadline) {
        throw new Error(`${what}: ${error instanceof Error ? error.message : String(error)}`, { cause: error });
      }
      await sleep(RETRY_EVERY_MS);
    }
  }
}

async function query<R extends pg.QueryResultRow>(url: string, sql: string): Promise<R[]> {
  const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: 3_000, query_timeout: 10_000 });
  await client.connect();
  try {
    return (await client.query<R>(sql)).rows;
  } finally {
    await client.end().catch(() => undefined);
  }
}

async function readOrders(url: string): Promise<OrderRecord[]> {
  const orders = await query<{ id: string; status: string; failure_reason: string | null; total_price: number }>(
    url,
    'SELECT id, status, failure_reason, total_price FROM orders',
  );
  const lines = await query<{
    order_id: string;
    item_id: number;
    quantity: number;
    discounted_unit_price: number;
    user_coupon_ids: number[];
  }>(url, 'SELECT order_id, item_id, quantity, discounted_unit_price, user_coupon_ids FROM order_lines');
  const byOrder = new Map<string, OrderRecord['lines']>();
  for (const line of lines) {
    byOrder.set(line.order_id, [
      ...(byOrder.get(line.order_id) ?? []),
      {
        itemId: line.item_id,
        quantity: line.quantity,
        discountedUnitPrice: line.discounted_unit_price,
        userCouponIds: line.user_coupon_ids,
      },
    ]);
  }
  return orders.map((order) => ({
    id: order.id,
    status: order.status,
    failureReason: order.failure_reason,
    totalPrice: order.total_price,
    lines: byOrder.get(order.id) ?? [],
  }));
}

async function readItems(url: string): Promise<{ items: ItemRecord[]; reservations: ReservationRecord[] }> {
  const items = await query<{ id: number; stock_quantity: number }>(url, 'SELECT id, stock_quantity FROM items');
  const reservations = await query<{ order_id: string; status: string }>(
    url,
    'SELECT order_id, status FROM stock_reservations',
  );
  return {
    items: items.map((item) => ({ id: item.id, stock: item.stock_quantity })),
    reservations: reservations.map((row) => ({ orderId: row.order_id, status: row.status })),
  };
}

async function readUserCoupons(url: string): Promise<UserCouponRecord[]> {
  const rows = await query<{ id: number; used_by_order_id: string | null }>(
    url,
    'SELECT id, used_by_order_id FROM user_coupons',
  );
  return rows.map((row) => ({ id: row.id, usedByOrderId: row.used_by_order_id }));
}

/** The card gateway's ledger of charges when the payment service has one; its payment rows otherwise. */
async function readCharges(url: string): Promise<{ charges: ChargeRecord[]; chargeSource: ChargeSource }> {
  const [ledger] = await query<{ table: string | null }>(
    url,
    "SELECT to_regclass('public.card_gateway_charges')::text AS table",
  );
  const chargeSource: ChargeSource = ledger?.table ? 'card_gateway_charges' : 'payments';
  const rows = await query<{ order_id: string; amount: number; status: string }>(
    url,
    `SELECT order_id, amount, status FROM ${chargeSource}`,
  );
  return {
    chargeSource,
    charges: rows.map((row) => ({ orderId: row.order_id, amount: row.amount, status: row.status })),
  };
}

function isScheduled(info: { raw: { searchAttributes?: { indexedFields?: Record<string, unknown> | null } | null } }) {
  return Boolean(info.raw.searchAttributes?.indexedFields?.TemporalScheduledById);
}

/** Workflows still running (scheduled housekeeping aside) and order workflows that did not close Completed. */
async function readWorkflows(
  address: string,
  payloadKeys: PayloadKeys,
): Promise<{ openWorkflows: WorkflowRecord[]; unsuccessfulWorkflows: WorkflowRecord[] }> {
  const connection = await Connection.connect({ address, connectTimeout: 3_000 });
  try {
    const client = new Client({ connection, dataConverter: payloadDataConverter(payloadKeys) });
    const openWorkflows: WorkflowRecord[] = [];
    const unsuccessfulWorkflows: WorkflowRecord[] = [];
    for await (const info of client.workflow.list()) {
      const record = { workflowId: info.workflowId, type: info.type, status: info.status.name };
      if (record.status === 'RUNNING' && !isScheduled(info)) openWorkflows.push(record);
      else if (ORDER_WORKFLOW_TYPES.has(record.type) && record.status !== 'RUNNING' && record.status !== 'COMPLETED') {
        unsuccessfulWorkflows.push(record);
      }
    }
    return { openWorkflows, unsuccessfulWorkflows };
  } finally {
    await connection.close();
  }
}

export interface SnapshotSource {
  databaseUrl(service: ServiceName): string;
  temporalAddress: string;
  payloadKeys: PayloadKeys;
}

/** The whole state, each part retried until `deadline` (epoch ms) while its process may be restarting. */
export async function readSystemState(source: SnapshotSource, deadline: number): Promise<SystemState> {
  const [orders, items, userCoupons, charges, workflows] = await Promise.all([
    withRetry('order database', deadline, () => readOrders(source.databaseUrl('order'))),
    withRetry('item database', deadline, () => readItems(source.databaseUrl('item'))),
    withRetry('coupon database', deadline, () => readUserCoupons(source.databaseUrl('coupon'))),
    withRetry('payment database', deadline, () => readCharges(source.databaseUrl('payment'))),
    withRetry('Temporal', deadline, () => readWorkflows(source.temporalAddress, source.payloadKeys)),
  ]);
  return { orders, ...items, userCoupons, ...charges, ...workflows };
}

/**
 * True once nothing is left to happen: every order ended or waits for an operator (who will not come), and no
 * order workflow runs but those waiting ones.
 */
export function isQuiet(state: SystemState): boolean {
  const waiting = new Set(
    state.orders.filter((o) => o.status === 'COMPENSATION_FAILED').map((o) => orderWorkflowId(o.id)),
  );
  return (
    state.orders.every((order) => ['COMPLETED', 'CANCELLED', 'COMPENSATION_FAILED'].includes(order.status)) &&
    state.openWorkflows.every(
      (workflow) => !ORDER_WORKFLOW_TYPES.has(workflow.type) || waiting.has(workflow.workflowId),
    )
  );
}

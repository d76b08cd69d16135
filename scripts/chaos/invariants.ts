/**
 * The chaos soak's verdict: pure checks of what the client saw against what every service database and Temporal
 * hold once the system has settled. Pure on purpose, so a unit test can feed it a fabricated broken state and
 * prove that each check can fail; reading the state is scripts/chaos/snapshot.ts's job.
 */

/** The kinds of order the workload places; each has the outcomes it may end with (see expectedOutcomes). */
export const ORDER_KINDS = [
  'success',
  'coupons',
  'multiUnit',
  'declined',
  'hangingCard',
  'customerCancel',
  'outOfStock',
] as const;
export type OrderKind = (typeof ORDER_KINDS)[number];

/** What the customer's cancel got: 202, 409, or a lost answer somewhere on the way (either may have happened). */
export type CancelAnswer = 'accepted' | 'rejected' | 'ambiguous';

/** One order as the client saw it. */
export interface ClientOrder {
  kind: OrderKind;
  idempotencyKey: string;
  /** Null when POST /orders never got a 202 before its deadline. */
  orderId: string | null;
  /** Only for customerCancel orders. */
  cancel?: CancelAnswer;
  /** Why POST /orders was given up on, when it was. */
  problem?: string;
}

export interface OrderLineRecord {
  itemId: number;
  quantity: number;
  discountedUnitPrice: number;
  userCouponIds: number[];
}

export interface OrderRecord {
  id: string;
  status: string;
  failureReason: string | null;
  totalPrice: number;
  lines: OrderLineRecord[];
}

export interface ItemRecord {
  id: number;
  stock: number;
}

export interface ReservationRecord {
  orderId: string;
  status: string;
}

export interface UserCouponRecord {
  id: number;
  usedByOrderId: string | null;
}

export interface ChargeRecord {
  orderId: string;
  amount: number;
  /** CAPTURED, DECLINED, REFUNDED or VOIDED. */
  status: string;
}

export interface WorkflowRecord {
  workflowId: string;
  type: string;
  status: string;
}

/** Where the charges were read from: the card gateway's ledger when it exists, else the payment rows. */
export type ChargeSource = 'card_gateway_charges' | 'payments';

/** Everything the checks look at, read after the system settled. */
export interface SystemState {
  orders: OrderRecord[];
  items: ItemRecord[];
  reservations: ReservationRecord[];
  userCoupons: UserCouponRecord[];
  charges: ChargeRecord[];
  chargeSource: ChargeSource;
  /** Order workflows still running (scheduled housekeeping is left out by the reader). */
  openWorkflows: WorkflowRecord[];
  /** Order workflows that closed other than Completed (failed, terminated, timed out, cancelled). */
  unsuccessfulWorkflows: WorkflowRecord[];
}

/** What the run set up: the stock of every item the tool created, and what the client saw. */
export interface Expectations {
  initialStock: ReadonlyMap<number, number>;
  clientOrders: ClientOrder[];
  /**
   * An order failed by an outage (SERVICE_UNAVAILABLE, or PAYMENT_TIMEOUT for a card that does not hang) is a
   * violation unless this is set: an outage shorter than a step's bound must not fail an order.
   */
  allowOutageFailures?: boolean;
  /**
   * Orders whose failed step saw several kills of the processes it needs (scripts/chaos/outage-evidence.ts): their
   * outages together may outlast the step's bound, so failing by an outage is a right ending for them.
   */
  chainedOutages?: ReadonlySet<string>;
}

export const VIOLATION_CODES = [
  'ORDER_NOT_ACCEPTED',
  'ACCEPTED_ORDER_MISSING',
  'ORDER_NOT_TERMINAL',
  'COMPENSATION_FAILED',
  'WORKFLOW_OPEN',
  'WORKFLOW_UNSUCCESSFUL',
  'UNEXPECTED_OUTCOME',
  'FAILED_BY_OUTAGE',
  'STOCK_NEGATIVE',
  'STOCK_NOT_CONSERVED',
  'RESERVATION_MISMATCH',
  'COUPON_MISUSED',
  'COUPON_NOT_USED',
  'CHARGE_NOT_UNDONE',
  'CHARGE_MISSING',
  'CHARGE_DUPLICATED',
  'CHARGE_AMOUNT_MISMATCH',
] as const;
export type ViolationCode = (typeof VIOLATION_CODES)[number];

export interface Violation {
  code: ViolationCode;
  detail: string;
  orderId?: string;
}

/**
 * How an order the client placed ended, judged by its kind: one of its expected outcomes, a failure caused by
 * an outage (a violation unless allowed), or something else (a violation).
 */
export type Verdict =
  'expected' | 'outage' | 'chainedOutage' | 'unexpected' | 'notTerminal' | 'missing' | 'notAccepted';

export interface JudgedOrder {
  kind: OrderKind;
  orderId: string | null;
  /** COMPLETED, CANCELLED/<failureReason>, or the status of an order that did not end. */
  outcome: string;
  verdict: Verdict;
}

export interface CheckResult {
  violations: Violation[];
  judged: JudgedOrder[];
  /** Orders in the database that no client saw a 202 for (a lost answer whose retry never came). */
  unclaimedOrders: number;
}

const TERMINAL = new Set(['COMPLETED', 'CANCELLED']);
const COMPLETED = 'COMPLETED';
const CANCELLED_BY_CUSTOMER = 'CANCELLED/CANCELLED_BY_CUSTOMER';

/** An order's end as one string, the unit the expected outcomes are written in. */
export function outcomeOf(order: Pick<OrderRecord, 'status' | 'failureReason'>): string {
  return order.status === 'CANCELLED' ? `CANCELLED/${order.failureReason ?? 'UNKNOWN'}` : order.status;
}

/**
 * The outcomes an order of a kind may end with when nothing went wrong. A customer's cancel decides between
 * its two endings by its answer; when the answer was lost, either ending is right.
 */
export function expectedOutcomes(kind: OrderKind, cancel?: CancelAnswer): string[] {
  switch (kind) {
    case 'success':
    case 'coupons':
    case 'multiUnit':
      return [COMPLETED];
    case 'declined':
      return ['CANCELLED/PAYMENT_DECLINED'];
    case 'hangingCard':
      return ['CANCELLED/PAYMENT_TIMEOUT'];
    case 'outOfStock':
      return ['CANCELLED/OUT_OF_STOCK'];
    case 'customerCancel':
      if (cancel === 'accepted') return [CANCELLED_BY_CUSTOMER];
      if (cancel === 'rejected') return [COMPLETED];
      return [CANCELLED_BY_CUSTOMER, COMPLETED];
  }
}

/**
 * Endings that say a step could not finish because a process was down: allowed under chaos, but counted. A
 * PAYMENT_TIMEOUT is an outage only for a card that does not hang.
 */
export function isOutageOutcome(kind: OrderKind, outcome: string): boolean {
  if (outcome === 'CANCELLED/SERVICE_UNAVAILABLE') return true;
  return outcome === 'CANCELLED/PAYMENT_TIMEOUT' && kind !== 'hangingCard';
}

function judgeClientOrder(
  client: ClientOrder,
  byId: ReadonlyMap<string, OrderRecord>,
  chainedOutages: ReadonlySet<string>,
): JudgedOrder {
  const base = { kind: client.kind, orderId: client.orderId };
  if (client.orderId === null) return { ...base, outcome: 'NOT_ACCEPTED', verdict: 'notAccepted' };
  const order = byId.get(client.orderId);
  if (!order) return { ...base, outcome: 'MISSING', verdict: 'missing' };
  const outcome = outcomeOf(order);
  if (!TERMINAL.has(order.status)) return { ...base, outcome, verdict: 'notTerminal' };
  if (expectedOutcomes(client.kind, client.cancel).includes(outcome)) return { ...base, outcome, verdict: 'expected' };
  if (isOutageOutcome(client.kind, outcome)) {
    return { ...base, outcome, verdict: chainedOutages.has(client.orderId) ? 'chainedOutage' : 'outage' };
  }
  return { ...base, outcome, verdict: 'unexpected' };
}

function clientViolations(judged: JudgedOrder[], clients: ClientOrder[], allowOutageFailures: boolean): Violation[] {
  const violations: Violation[] = [];
  judged.forEach((order, index) => {
    const key = clients[index]!.idempotencyKey;
    if (order.verdict === 'outage' && !allowOutageFailures) {
      violations.push({
        code: 'FAILED_BY_OUTAGE',
        orderId: order.orderId!,
        detail: `${order.kind} order ended ${order.outcome}: a process outage failed it`,
      });
    }
    if (order.verdict === 'notAccepted') {
      violations.push({
        code: 'ORDER_NOT_ACCEPTED',
        detail: `${order.kind} order (Idempotency-Key ${key}) never got a 202: ${clients[index]!.problem ?? 'no answer'}`,
      });
    } else if (order.verdict === 'missing') {
      violations.push({
        code: 'ACCEPTED_ORDER_MISSING',
        orderId: order.orderId!,
        detail: `${order.kind} order got a 202 but is not in the order database`,
      });
    } else if (order.verdict === 'unexpected') {
      const cancel = clients[index]!.cancel;
      violations.push({
        code: 'UNEXPECTED_OUTCOME',
        orderId: order.orderId!,
        detail:
          `${order.kind} order ended ${order.outcome}; expected ${expectedOutcomes(order.kind, cancel).join(' or ')}` +
          (cancel ? ` (cancel ${cancel})` : ''),
      });
    }
  });
  return violations;
}

/** Every order must have ended, and COMPENSATION_FAILED (an undo that gave up) is never right. */
function terminalViolations(orders: OrderRecord[]): Violation[] {
  return orders
    .filter((order) => !TERMINAL.has(order.status))
    .map((order) =>
      order.status === 'COMPENSATION_FAILED'
        ? {
            code: 'COMPENSATION_FAILED',
            orderId: order.id,
            detail: `an undo gave up (${order.failureReason ?? 'no reason'}) and the order waits for an operator`,
          }
        : { code: 'ORDER_NOT_TERMINAL', orderId: order.id, detail: `order is still ${order.status}` },
    );
}

function workflowViolations(state: SystemState): Violation[] {
  return [
    ...state.openWorkflows.map((workflow): Violation => ({
      code: 'WORKFLOW_OPEN',
      detail: `${workflow.type} ${workflow.workflowId} is still ${workflow.status}`,
    })),
    ...state.unsuccessfulWorkflows.map((workflow): Violation => ({
      code: 'WORKFLOW_UNSUCCESSFUL',
      detail: `${workflow.type} ${workflow.workflowId} closed ${workflow.status}`,
    })),
  ];
}

/** Stock never negative, and each created item's stock is its initial stock less what COMPLETED orders took. */
function stockViolations(state: SystemState, initialStock: ReadonlyMap<number, number>): Violation[] {
  const violations: Violation[] = [];
  const taken = new Map<number, number>();
  for (const order of state.orders.filter((candidate) => candidate.status === COMPLETED)) {
    for (const line of order.lines) taken.set(line.itemId, (taken.get(line.itemId) ?? 0) + line.quantity);
  }
  const stockById = new Map(state.items.map((item) => [item.id, item.stock]));
  for (const item of state.items.filter((candidate) => candidate.stock < 0)) {
    violations.push({ code: 'STOCK_NEGATIVE', detail: `item ${item.id} has stock ${item.stock}` });
  }
  for (const [itemId, initial] of initialStock) {
    const current = stockById.get(itemId);
    const expected = initial - (taken.get(itemId) ?? 0);
    if (current !== expected) {
      violations.push({
        code: 'STOCK_NOT_CONSERVED',
        detail: `item ${itemId}: initial ${initial} - completed ${taken.get(itemId) ?? 0} = ${expected}, but stock is ${current ?? 'missing'}`,
      });
    }
  }
  return violations;
}

/** A reservation still RESERVED belongs to a COMPLETED order, and every COMPLETED order holds one. */
function reservationViolations(state: SystemState, byId: ReadonlyMap<string, OrderRecord>): Violation[] {
  const violations: Violation[] = [];
  const reserved = new Set(state.reservations.filter((r) => r.status === 'RESERVED').map((r) => r.orderId));
  for (const orderId of reserved) {
    const order = byId.get(orderId);
    if (order?.status !== COMPLETED) {
      violations.push({
        code: 'RESERVATION_MISMATCH',
        orderId,
        detail: `stock is still RESERVED for an order that is ${order ? outcomeOf(order) : 'unknown'}`,
      });
    }
  }
  for (const order of state.orders.filter((candidate) => candidate.status === COMPLETED)) {
    if (!reserved.has(order.id)) {
      violations.push({ code: 'RESERVATION_MISMATCH', orderId: order.id, detail: 'COMPLETED order holds no stock' });
    }
  }
  return violations;
}

/** A used coupon was used by a COMPLETED order, and each COMPLETED order's coupons are used by it. */
function couponViolations(state: SystemState, byId: ReadonlyMap<string, OrderRecord>): Violation[] {
  const violations: Violation[] = [];
  const couponById = new Map(state.userCoupons.map((coupon) => [coupon.id, coupon]));
  for (const coupon of state.userCoupons.filter((candidate) => candidate.usedByOrderId !== null)) {
    const order = byId.get(coupon.usedByOrderId!);
    if (order?.status !== COMPLETED) {
      violations.push({
        code: 'COUPON_MISUSED',
        orderId: coupon.usedByOrderId!,
        detail: `user coupon ${coupon.id} is used by an order that is ${order ? outcomeOf(order) : 'unknown'}`,
      });
    }
  }
  for (const order of state.orders.filter((candidate) => candidate.status === COMPLETED)) {
    for (const couponId of order.lines.flatMap((line) => line.userCouponIds)) {
      const usedBy = couponById.get(couponId)?.usedByOrderId;
      if (usedBy !== order.id) {
        violations.push({
          code: 'COUPON_NOT_USED',
          orderId: order.id,
          detail: `COMPLETED order's user coupon ${couponId} is used by ${usedBy ?? 'nobody'}`,
        });
      }
    }
  }
  return violations;
}

/** Every CAPTURED charge belongs to a COMPLETED order, which has exactly one, of its total. */
function chargeViolations(state: SystemState, byId: ReadonlyMap<string, OrderRecord>): Violation[] {
  const violations: Violation[] = [];
  const captured = state.charges.filter((charge) => charge.status === 'CAPTURED');
  for (const charge of captured) {
    const order = byId.get(charge.orderId);
    if (order?.status !== COMPLETED) {
      violations.push({
        code: 'CHARGE_NOT_UNDONE',
        orderId: charge.orderId,
        detail: `a CAPTURED charge of ${charge.amount} is neither refunded nor of a COMPLETED order (order ${order ? outcomeOf(order) : 'unknown'})`,
      });
    }
  }
  for (const order of state.orders.filter((candidate) => candidate.status === COMPLETED)) {
    const charges = captured.filter((charge) => charge.orderId === order.id);
    if (charges.length === 0) {
      violations.push({ code: 'CHARGE_MISSING', orderId: order.id, detail: 'COMPLETED order has no CAPTURED charge' });
    } else if (charges.length > 1) {
      violations.push({
        code: 'CHARGE_DUPLICATED',
        orderId: order.id,
        detail: `COMPLETED order has ${charges.length} CAPTURED charges (${charges.map((c) => c.amount).join(', ')})`,
      });
    }
    for (const charge of charges.filter((candidate) => candidate.amount !== order.totalPrice)) {
      violations.push({
        code: 'CHARGE_AMOUNT_MISMATCH',
        orderId: order.id,
        detail: `CAPTURED ${charge.amount}, but the order's total is ${order.totalPrice}`,
      });
    }
  }
  return violations;
}

/** Runs every check; an empty violations list means every order ended right. */
export function checkInvariants(state: SystemState, expectations: Expectations): CheckResult {
  const byId = new Map(state.orders.map((order) => [order.id, order]));
  const chainedOutages = expectations.chainedOutages ?? new Set<string>();
  const judged = expectations.clientOrders.map((client) => judgeClientOrder(client, byId, chainedOutages));
  const claimed = new Set(expectations.clientOrders.map((client) => client.orderId));
  return {
    judged,
    unclaimedOrders: state.orders.filter((order) => !claimed.has(order.id)).length,
    violations: [
      ...clientViolations(judged, expectations.clientOrders, expectations.allowOutageFailures ?? false),
      ...terminalViolations(state.orders),
      ...workflowViolations(state),
      ...stockViolations(state, expectations.initialStock),
      ...reservationViolations(state, byId),
      ...couponViolations(state, byId),
      ...chargeViolations(state, byId),
    ],
  };
}

/**
 * The chaos soak's invariant checker on fabricated states: a consistent one passes, and each kind of broken one
 * (negative stock, a charge kept for a cancelled order, an order left PENDING, ...) is caught. Without this, a
 * checker that never fails would make every chaos run look green.
 */
import {
  checkInvariants,
  expectedOutcomes,
  isOutageOutcome,
  type ClientOrder,
  type Expectations,
  type SystemState,
  type ViolationCode,
} from '../../scripts/chaos/invariants';

const SHIRT = 101;
const SCARCE = 102;
const COMPLETED_ID = '00000000-0000-4000-8000-000000000001';
const DECLINED_ID = '00000000-0000-4000-8000-000000000002';
const CANCELLED_ID = '00000000-0000-4000-8000-000000000003';
const OUT_OF_STOCK_ID = '00000000-0000-4000-8000-000000000004';

/** A settled run that ended right: one completed coupon order, a declined card, a customer cancel, no stock. */
function consistentState(): SystemState {
  return {
    orders: [
      {
        id: COMPLETED_ID,
        status: 'COMPLETED',
        failureReason: null,
        totalPrice: 2 * 9000,
        lines: [{ itemId: SHIRT, quantity: 2, discountedUnitPrice: 9000, userCouponIds: [7] }],
      },
      {
        id: DECLINED_ID,
        status: 'CANCELLED',
        failureReason: 'PAYMENT_DECLINED',
        totalPrice: 10000,
        lines: [{ itemId: SHIRT, quantity: 1, discountedUnitPrice: 10000, userCouponIds: [8] }],
      },
      {
        id: CANCELLED_ID,
        status: 'CANCELLED',
        failureReason: 'CANCELLED_BY_CUSTOMER',
        totalPrice: 10000,
        lines: [{ itemId: SHIRT, quantity: 1, discountedUnitPrice: 10000, userCouponIds: [] }],
      },
      {
        id: OUT_OF_STOCK_ID,
        status: 'CANCELLED',
        failureReason: 'OUT_OF_STOCK',
        totalPrice: 30000,
        lines: [{ itemId: SCARCE, quantity: 3, discountedUnitPrice: 10000, userCouponIds: [] }],
      },
    ],
    items: [
      { id: SHIRT, stock: 98 },
      { id: SCARCE, stock: 2 },
    ],
    reservations: [
      { orderId: COMPLETED_ID, status: 'RESERVED' },
      { orderId: DECLINED_ID, status: 'RELEASED' },
      { orderId: CANCELLED_ID, status: 'RELEASED' },
    ],
    userCoupons: [
      { id: 7, usedByOrderId: COMPLETED_ID },
      { id: 8, usedByOrderId: null },
    ],
    charges: [
      { orderId: COMPLETED_ID, amount: 18000, status: 'CAPTURED' },
      { orderId: DECLINED_ID, amount: 10000, status: 'DECLINED' },
      { orderId: CANCELLED_ID, amount: 10000, status: 'REFUNDED' },
    ],
    chargeSource: 'card_gateway_charges',
    openWorkflows: [],
    unsuccessfulWorkflows: [],
  };
}

function expectations(clientOrders?: ClientOrder[]): Expectations {
  return {
    initialStock: new Map([
      [SHIRT, 100],
      [SCARCE, 2],
    ]),
    clientOrders: clientOrders ?? [
      { kind: 'coupons', idempotencyKey: 'k1', orderId: COMPLETED_ID },
      { kind: 'declined', idempotencyKey: 'k2', orderId: DECLINED_ID },
      { kind: 'customerCancel', idempotencyKey: 'k3', orderId: CANCELLED_ID, cancel: 'accepted' },
      { kind: 'outOfStock', idempotencyKey: 'k4', orderId: OUT_OF_STOCK_ID },
    ],
  };
}

function codesOf(state: SystemState, expected = expectations()): ViolationCode[] {
  return checkInvariants(state, expected).violations.map((violation) => violation.code);
}

function orderOf(state: SystemState, id: string) {
  return state.orders.find((order) => order.id === id)!;
}

describe('chaos invariant checker', () => {
  it('finds nothing wrong in a consistent state and judges every order as expected', () => {
    const result = checkInvariants(consistentState(), expectations());
    expect(result.violations).toEqual([]);
    expect(result.judged.map((order) => order.verdict)).toEqual(['expected', 'expected', 'expected', 'expected']);
    expect(result.unclaimedOrders).toBe(0);
  });

  it('catches a negative stock, which also breaks conservation', () => {
    const state = consistentState();
    state.items[0]!.stock = -1;
    expect(codesOf(state)).toEqual(['STOCK_NEGATIVE', 'STOCK_NOT_CONSERVED']);
  });

  it('catches stock that was not given back by a cancelled order', () => {
    const state = consistentState();
    state.items[0]!.stock = 97;
    state.reservations[2]!.status = 'RESERVED';
    expect(codesOf(state)).toEqual(['STOCK_NOT_CONSERVED', 'RESERVATION_MISMATCH']);
  });

  it('catches a captured charge of a cancelled order', () => {
    const state = consistentState();
    state.charges[2]!.status = 'CAPTURED';
    const { violations } = checkInvariants(state, expectations());
    expect(violations).toEqual([expect.objectContaining({ code: 'CHARGE_NOT_UNDONE', orderId: CANCELLED_ID })]);
  });

  it('catches a completed order charged twice, not at all, or for another amount', () => {
    const twice = consistentState();
    twice.charges.push({ orderId: COMPLETED_ID, amount: 18000, status: 'CAPTURED' });
    expect(codesOf(twice)).toEqual(['CHARGE_DUPLICATED']);

    const never = consistentState();
    never.charges[0]!.status = 'REFUNDED';
    expect(codesOf(never)).toEqual(['CHARGE_MISSING']);

    const wrong = consistentState();
    wrong.charges[0]!.amount = 20000;
    expect(codesOf(wrong)).toEqual(['CHARGE_AMOUNT_MISMATCH']);
  });

  it('catches an order left PENDING and its still running workflow', () => {
    const state = consistentState();
    orderOf(state, CANCELLED_ID).status = 'PENDING';
    orderOf(state, CANCELLED_ID).failureReason = null;
    state.openWorkflows.push({ workflowId: `order-${CANCELLED_ID}`, type: 'placeOrder', status: 'RUNNING' });
    const result = checkInvariants(state, expectations());
    expect(result.violations.map((violation) => violation.code)).toEqual(['ORDER_NOT_TERMINAL', 'WORKFLOW_OPEN']);
    expect(result.judged[2]).toEqual(expect.objectContaining({ outcome: 'PENDING', verdict: 'notTerminal' }));
  });

  it('counts COMPENSATION_FAILED as a violation, and a workflow that closed other than Completed', () => {
    const state = consistentState();
    orderOf(state, DECLINED_ID).status = 'COMPENSATION_FAILED';
    state.unsuccessfulWorkflows.push({ workflowId: `order-${DECLINED_ID}`, type: 'placeOrder', status: 'TERMINATED' });
    expect(codesOf(state)).toEqual(['COMPENSATION_FAILED', 'WORKFLOW_UNSUCCESSFUL']);
  });

  it('catches a coupon kept by a cancelled order and a completed order whose coupon is free', () => {
    const kept = consistentState();
    kept.userCoupons[1]!.usedByOrderId = DECLINED_ID;
    expect(codesOf(kept)).toEqual(['COUPON_MISUSED']);

    const free = consistentState();
    free.userCoupons[0]!.usedByOrderId = null;
    expect(codesOf(free)).toEqual(['COUPON_NOT_USED']);
  });

  it('catches an outcome outside the kind, an accepted order that is missing, and one never accepted', () => {
    const result = checkInvariants(
      consistentState(),
      expectations([
        { kind: 'success', idempotencyKey: 'k1', orderId: OUT_OF_STOCK_ID },
        { kind: 'customerCancel', idempotencyKey: 'k2', orderId: CANCELLED_ID, cancel: 'rejected' },
        { kind: 'success', idempotencyKey: 'k3', orderId: '00000000-0000-4000-8000-00000000dead' },
        { kind: 'success', idempotencyKey: 'k4', orderId: null, problem: 'HTTP 503' },
      ]),
    );
    expect(result.violations.map((violation) => violation.code)).toEqual([
      'UNEXPECTED_OUTCOME',
      'UNEXPECTED_OUTCOME',
      'ACCEPTED_ORDER_MISSING',
      'ORDER_NOT_ACCEPTED',
    ]);
    expect(result.unclaimedOrders).toBe(2);
  });

  it('catches an order failed by an outage, and only counts it when outage failures are allowed', () => {
    const state = consistentState();
    orderOf(state, CANCELLED_ID).failureReason = 'SERVICE_UNAVAILABLE';
    orderOf(state, DECLINED_ID).failureReason = 'PAYMENT_TIMEOUT';
    const strict = checkInvariants(state, expectations());
    expect(strict.violations.map((violation) => violation.code)).toEqual(['FAILED_BY_OUTAGE', 'FAILED_BY_OUTAGE']);
    const allowed = checkInvariants(state, { ...expectations(), allowOutageFailures: true });
    expect(allowed.violations).toEqual([]);
    expect(allowed.judged.map((order) => order.verdict)).toEqual(['expected', 'outage', 'outage', 'expected']);
  });

  it('excuses an order failed by chained outages of its step, and only that one', () => {
    const state = consistentState();
    orderOf(state, CANCELLED_ID).failureReason = 'SERVICE_UNAVAILABLE';
    orderOf(state, DECLINED_ID).failureReason = 'PAYMENT_TIMEOUT';
    const result = checkInvariants(state, { ...expectations(), chainedOutages: new Set([DECLINED_ID]) });
    expect(result.violations.map((violation) => [violation.code, violation.orderId])).toEqual([
      ['FAILED_BY_OUTAGE', CANCELLED_ID],
    ]);
    expect(result.judged.map((order) => order.verdict)).toEqual(['expected', 'chainedOutage', 'outage', 'expected']);
  });

  it('knows the endings of each kind', () => {
    expect(expectedOutcomes('customerCancel', 'ambiguous')).toEqual(['CANCELLED/CANCELLED_BY_CUSTOMER', 'COMPLETED']);
    expect(expectedOutcomes('hangingCard')).toEqual(['CANCELLED/PAYMENT_TIMEOUT']);
    expect(isOutageOutcome('hangingCard', 'CANCELLED/PAYMENT_TIMEOUT')).toBe(false);
    expect(isOutageOutcome('success', 'CANCELLED/PAYMENT_TIMEOUT')).toBe(true);
    expect(isOutageOutcome('success', 'CANCELLED/CANCELLED_BY_OPERATOR')).toBe(false);
  });
});

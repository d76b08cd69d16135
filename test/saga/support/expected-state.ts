/**
 * Builders for what every service's database should hold about one order once its saga has ended, in the shape
 * `databasesState` reads. A test starts from the usual outcome (`completed`, or `undone`: everything the order
 * took was given back) and names only what its path changes; the comparison stays the full state (`toEqual`).
 */
import type { OrderStatus, StepStatuses } from '../../../domain/order';
import type { TestSystem } from '../../support/system';
import { UNUSED, databasesState } from './orders';

/** A coupon row as databasesState reads it. */
export interface CouponState {
  usedByOrderId: string | null;
  used: boolean;
}

export const CANCELLED_HISTORY: OrderStatus[] = ['PENDING', 'FAILED', 'CANCELLED'];
export const COMPLETED_HISTORY: OrderStatus[] = ['PENDING', 'COMPLETED'];

/** What a test knows about an order it placed: enough to say what every database should hold about it. */
export interface PlacedOrder {
  orderId: string;
  /** Units per item id, as the order's lines ask for them. */
  lines: Record<number, number>;
  /** Each item's stock before the order. */
  initialStock: Record<number, number>;
  /** The coupons the order redeems, in the order its lines list them (the redemption keeps that order). */
  redeemed: number[];
  /** Further coupons whose rows the test looks at (they are expected unused unless a test says otherwise). */
  watchedCoupons?: number[];
  /** What the order charges. */
  total: number;
}

type State = Awaited<ReturnType<typeof databasesState>>;

export class ExpectedState {
  private constructor(
    readonly order: PlacedOrder,
    private readonly state: State,
  ) {}

  /** Every step took effect: stock taken, coupons used by the order, the total captured. */
  static completed(order: PlacedOrder): ExpectedState {
    return new ExpectedState(order, {
      order: {
        status: 'COMPLETED',
        failureReason: null,
        steps: { items: 'SUCCEEDED', coupons: 'SUCCEEDED', payment: 'SUCCEEDED' },
        history: COMPLETED_HISTORY,
      },
      stock: mapItems(order.initialStock, (itemId, stock) => stock - (order.lines[itemId] ?? 0)),
      reservation: { status: 'RESERVED', lines: { ...order.lines } },
      coupons: couponRows(order, (id) =>
        order.redeemed.includes(id) ? { usedByOrderId: order.orderId, used: true } : UNUSED,
      ),
      redemption: { status: 'REDEEMED', userCouponIds: [...order.redeemed] },
      payment: { status: 'CAPTURED', amount: order.total },
    });
  }

  /**
   * The order failed for `reason` after stock and coupons were taken, before any charge, and both were given back:
   * the starting point of every undone order, which the methods below adjust to the step that failed.
   */
  static undone(order: PlacedOrder, reason: string): ExpectedState {
    return new ExpectedState(order, {
      order: {
        status: 'CANCELLED',
        failureReason: reason,
        steps: { items: 'COMPENSATED', coupons: 'COMPENSATED', payment: 'NOT_STARTED' },
        history: CANCELLED_HISTORY,
      },
      stock: { ...order.initialStock },
      reservation: { status: 'RELEASED', lines: { ...order.lines } },
      coupons: couponRows(order, () => UNUSED),
      redemption: { status: 'RESTORED', userCouponIds: [...order.redeemed] },
      payment: null,
    });
  }

  /** The stock step took nothing (rejected, rolled back whole, or never ran): its undo left a marker without lines. */
  stockNotTaken(): this {
    this.steps({ items: 'FAILED' });
    this.state.reservation = { status: 'RELEASED', lines: {} };
    return this;
  }

  /** The coupon step redeemed nothing: its undo left a marker without coupons. */
  couponsNotRedeemed(): this {
    this.steps({ coupons: 'FAILED' });
    this.state.redemption = { status: 'RESTORED', userCouponIds: [] };
    return this;
  }

  /** The card was declined: the payment row says so, and the undo had nothing to refund. */
  chargeDeclined(): this {
    this.steps({ payment: 'FAILED' });
    this.state.payment = { status: 'DECLINED', amount: this.order.total };
    return this;
  }

  /** No charge went through: the refund left its VOIDED marker, which refuses a charge that answers late. */
  chargeVoided(): this {
    this.steps({ payment: 'FAILED' });
    this.state.payment = { status: 'VOIDED', amount: 0 };
    return this;
  }

  /** The card was charged and the undo refunded it. */
  chargeRefunded(): this {
    this.steps({ payment: 'COMPENSATED' });
    this.state.payment = { status: 'REFUNDED', amount: this.order.total };
    return this;
  }

  /**
   * The order waits for an operator or the retry timer: an undo failed for a non-transient reason, and the undos
   * after it in reverse order have not run yet (start from the state before the undo began, e.g. `completed`).
   */
  waitingForOperator(reason: string): this {
    this.state.order.status = 'COMPENSATION_FAILED';
    this.state.order.failureReason = reason;
    this.state.order.history = ['PENDING', 'FAILED', 'COMPENSATION_FAILED'];
    return this;
  }

  /** Step states other than the path's usual ones. */
  steps(steps: Partial<StepStatuses>): this {
    this.state.order.steps = { ...this.state.order.steps, ...steps };
    return this;
  }

  /** The order's status history, when it went through more than the usual statuses. */
  history(...statuses: OrderStatus[]): this {
    this.state.order.history = statuses;
    return this;
  }

  /** Coupon rows other than the path's usual ones (also watches coupons the order does not name). */
  coupons(rows: Record<number, CouponState>): this {
    this.state.coupons = { ...this.state.coupons, ...rows };
    return this;
  }

  /** Stock other than the path's usual (e.g. other orders took some of the same items). */
  stock(stock: Record<number, number>): this {
    this.state.stock = { ...this.state.stock, ...stock };
    return this;
  }

  /** The item and coupon rows databasesState must read for this expectation. */
  get scope(): { itemIds: number[]; userCouponIds: number[] } {
    return {
      itemIds: Object.keys(this.state.stock).map(Number),
      userCouponIds: Object.keys(this.state.coupons).map(Number),
    };
  }

  /** The whole expected state, for `toEqual`. */
  get value(): State {
    return structuredClone(this.state);
  }
}

/** Reads the order from every database and compares the whole state with the expectation. */
export async function expectDatabases(system: TestSystem, expected: ExpectedState): Promise<void> {
  expect(await databasesState(system, expected.order.orderId, expected.scope)).toEqual(expected.value);
}

function mapItems(
  stock: Record<number, number>,
  change: (itemId: number, stock: number) => number,
): Record<number, number> {
  return Object.fromEntries(Object.entries(stock).map(([itemId, units]) => [itemId, change(Number(itemId), units)]));
}

function couponRows(order: PlacedOrder, row: (id: number) => CouponState): Record<number, CouponState> {
  const ids = [...new Set([...order.redeemed, ...(order.watchedCoupons ?? [])])];
  return Object.fromEntries(ids.map((id) => [id, row(id)]));
}

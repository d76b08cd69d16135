/**
 * Per-customer fault injection for the real workers: every item, coupon and payment activity is wrapped, and a
 * fault registered for a customer applies only to that customer's orders, so scenarios can run side by side.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import type { OrderService } from '../../../services/order';
import type { TestSystemOptions } from '../../support/system';

export type ActivityName =
  'reserveStock' | 'releaseStock' | 'redeemCoupons' | 'restoreCoupons' | 'chargePayment' | 'refundPayment';

/** Runs instead of the activity; `real` runs the real one. */
export type Fault = (input: { orderId: string }, real: () => Promise<unknown>) => Promise<unknown>;

type Activities = Record<string, (...args: any[]) => Promise<unknown>>;

export class FaultInjector {
  private readonly faults = new Map<number, Map<string, Fault>>();
  private readonly customerOfOrder = new Map<string, number>();
  private orders: OrderService | undefined;

  /** The overrides to pass to startTestSystem; call `use(system.services.orders)` once it is up. */
  overrides(): NonNullable<TestSystemOptions['activityOverrides']> {
    const wrap = (real: object): Activities =>
      Object.fromEntries(
        Object.entries(real as Activities).map(([name, activity]) => [
          name,
          async (input: { orderId: string }) => {
            const fault = await this.faultFor(name, input.orderId);
            return fault ? fault(input, () => activity(input)) : activity(input);
          },
        ]),
      );
    return { item: wrap, coupon: wrap, payment: wrap };
  }

  use(orders: OrderService): void {
    this.orders = orders;
  }

  inject(customerId: number, activity: ActivityName, fault: Fault): void {
    const forCustomer = this.faults.get(customerId) ?? new Map<string, Fault>();
    forCustomer.set(activity, fault);
    this.faults.set(customerId, forCustomer);
  }

  private async faultFor(activity: string, orderId: string): Promise<Fault | undefined> {
    if (this.faults.size === 0 || !this.orders) return undefined;
    let customerId = this.customerOfOrder.get(orderId);
    if (customerId === undefined) {
      const order = await this.orders.getOrder(orderId);
      if (!order) return undefined;
      customerId = order.customerId;
      this.customerOfOrder.set(orderId, customerId);
    }
    return this.faults.get(customerId)?.get(activity);
  }
}

/** A fault that holds the activity until released; `entered` resolves when the activity first starts. */
export function held(): { fault: Fault; entered: Promise<void>; release: () => void } {
  let release!: () => void;
  let enter!: () => void;
  const released = new Promise<void>((resolve) => (release = resolve));
  const entered = new Promise<void>((resolve) => (enter = resolve));
  return {
    fault: async (_input, real) => {
      enter();
      await released;
      return real();
    },
    entered,
    release,
  };
}

/** What the real activity did when a fault let it run: returned a value or threw an error. */
export type Outcome = { returned: unknown } | { threw: unknown };

/**
 * Wraps a fault so a test can await what the real activity did once the fault let it run (the first attempt
 * that ran it), instead of sleeping and hoping it has happened.
 */
export function observed(fault: Fault): { fault: Fault; outcome: Promise<Outcome> } {
  let report!: (outcome: Outcome) => void;
  const outcome = new Promise<Outcome>((resolve) => (report = resolve));
  return {
    fault: (input, real) =>
      fault(input, async () => {
        try {
          const returned = await real();
          report({ returned });
          return returned;
        } catch (error) {
          report({ threw: error });
          throw error;
        }
      }),
    outcome,
  };
}

/** A fault that fails every attempt while `switch.broken` is true, like a database that is unreachable. */
export function brokenWhile(control: { broken: boolean; attempts: number }, message: string): Fault {
  return async (_input, real) => {
    control.attempts += 1;
    if (control.broken) throw new Error(message);
    return real();
  };
}

/** A fault that is a bug while `control.broken` is true: every attempt throws a TypeError (not transient). */
export function buggyWhile(control: { broken: boolean; attempts: number }): Fault {
  return async (_input, real) => {
    control.attempts += 1;
    if (control.broken) throw new TypeError("Cannot read properties of undefined (reading 'refundId')");
    return real();
  };
}

/** A fault where the activity takes effect but its answer never reaches the workflow (every attempt). */
export function answerLost(): Fault {
  return async (_input, real) => {
    await real();
    throw new Error('connection lost before the answer was sent');
  };
}

/** A fault that is a bug in the activity: it always throws a TypeError. */
export function typeErrorBug(): Fault {
  return async () => {
    const notAnItem = undefined as unknown as { price: number };
    return notAnItem.price;
  };
}

export function delayed(ms: number): Fault {
  return async (_input, real) => {
    await sleep(ms);
    return real();
  };
}

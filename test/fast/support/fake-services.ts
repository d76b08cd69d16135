/**
 * Fake activities for the fast tier: plain functions with the real activities' signatures, registered on the real
 * task queues. Each order gets a script (how its activities answer) and a log (what ran, in order), so a test
 * states a saga path in a few lines and checks exactly which steps and undos ran.
 */
import { Context } from '@temporalio/activity';
import type { Headers } from '@temporalio/common';
import type { ActivityInterceptorsFactory, InjectedSinkFunction, InjectedSinks } from '@temporalio/worker';
import type { createCouponActivities } from '../../../activities/coupon';
import type { createItemActivities } from '../../../activities/item';
import type { createOrderActivities } from '../../../activities/order';
import type { ChargeAnswer, ChargePaymentInput, createPaymentActivities } from '../../../activities/payment';
import { chargeKey } from '../../../domain/payment';
import { orderIdOfArgs } from '../../../lib/log-context';
import type { OrderProgress } from '../../../services/order';
import { TaskQueue } from '../../../workflows/definitions';

type ItemActivities = ReturnType<typeof createItemActivities>;
type CouponActivities = ReturnType<typeof createCouponActivities>;
type PaymentActivities = ReturnType<typeof createPaymentActivities>;
type OrderActivities = ReturnType<typeof createOrderActivities>;
type SagaActivities = ItemActivities &
  CouponActivities &
  PaymentActivities &
  Pick<OrderActivities, 'recordOrderProgress'>;

export type SagaActivityName = keyof SagaActivities;

/** How one activity of one order answers; `attempt` counts from 1, as Temporal does. */
export type Fake<K extends SagaActivityName> = (
  input: Parameters<SagaActivities[K]>[0],
  attempt: number,
) => ReturnType<SagaActivities[K]>;

/** The answers of an order's activities that differ from a smooth run. */
export type Script = { [K in SagaActivityName]?: Fake<K> };

/** The answer of a real payment worker that captured the charge it was asked for. */
export function captured({ orderId, amount }: ChargePaymentInput): ChargeAnswer {
  return { orderId, idempotencyKey: chargeKey(orderId), status: 'CAPTURED', amount };
}

/** A smooth run: every step takes effect and every undo gives something back. */
const SMOOTH: { [K in SagaActivityName]: Fake<K> } = {
  reserveStock: () => Promise.resolve({ newlyReserved: true }),
  releaseStock: () => Promise.resolve({ undone: true }),
  redeemCoupons: () => Promise.resolve({ userCouponIds: [] }),
  restoreCoupons: () => Promise.resolve({ undone: true }),
  chargePayment: (input) => Promise.resolve(captured(input)),
  refundPayment: () => Promise.resolve({ undone: true }),
  recordOrderProgress: () => Promise.resolve({ applied: true }),
};

/** The gates no test has opened yet: a test that fails before it opens its gate leaves an activity waiting. */
const closedGates = new Set<Gate>();

/**
 * Opens every gate still closed, so that the activities held at them end and their workers can shut down (a worker
 * waits for its running activities; a held one would keep the test file from ending).
 */
export function openEveryGate(): void {
  for (const gate of closedGates) gate.open();
}

/** A promise the test opens later, e.g. to hold an activity until a cancel has been accepted. */
export class Gate {
  private openGate!: () => void;
  private reachedGate!: () => void;
  private readonly opened = new Promise<void>((resolve) => (this.openGate = resolve));
  /** Resolves when an activity first waits at the gate. */
  readonly reached = new Promise<void>((resolve) => (this.reachedGate = resolve));

  constructor() {
    closedGates.add(this);
  }

  async pass(): Promise<void> {
    this.reachedGate();
    await this.opened;
  }

  open(): void {
    closedGates.delete(this);
    this.openGate();
  }
}

/** One line a workflow logged. */
export interface WorkflowLogEntry {
  level: 'trace' | 'debug' | 'info' | 'warn' | 'error';
  message: string;
  attributes: Record<string, unknown>;
}

type WorkflowLogFunction = (message: string, attributes?: Record<string, unknown>) => void;

/**
 * The sink behind `log` of @temporalio/workflow. A worker may not name it by its own name (`__temporal_logger`,
 * reserved), but still takes it under its older name, `defaultWorkerLogger`, which the worker maps to it.
 */
interface WorkflowLoggerSinks {
  [name: string]: Record<string, WorkflowLogFunction>;
  defaultWorkerLogger: Record<WorkflowLogEntry['level'], WorkflowLogFunction>;
}

export class FakeServices {
  private readonly scripts = new Map<string, Script>();
  private readonly logs = new Map<string, SagaActivityName[]>();
  private readonly records = new Map<string, OrderProgress[]>();
  private readonly headerLog = new Map<string, { activity: string; headers: Headers }[]>();
  private readonly workflowLogs = new Map<string, WorkflowLogEntry[]>();
  /** What the fake reconciler sweep reports. */
  reconcileResult = { examined: 0, cleanedUp: [] as string[] };
  /** How many of the next sweeps fail before one answers, and how many were tried. */
  reconcileFailures = 0;
  reconcileAttempts = 0;

  /** Sets how the activities of `orderId` answer (the rest answer as in a smooth run). */
  script(orderId: string, script: Script): void {
    this.scripts.set(orderId, script);
  }

  /** The step and undo activities that ran for the order (every attempt), in the order they started. */
  calls(orderId: string): SagaActivityName[] {
    return (this.logs.get(orderId) ?? []).filter((name) => name !== 'recordOrderProgress');
  }

  /** Every progress write of the order, in the order the fake order service received them. */
  progress(orderId: string): OrderProgress[] {
    return this.records.get(orderId) ?? [];
  }

  /** The headers each activity of the order was scheduled with (every attempt, local ones too), in order. */
  headersSeen(orderId: string): { activity: string; headers: Headers }[] {
    return this.headerLog.get(orderId) ?? [];
  }

  /** The workers' activity interceptor that fills headersSeen, as the real workers' interceptors read the headers. */
  readonly recordHeaders: ActivityInterceptorsFactory = (context) => ({
    inbound: {
      execute: (input, next) => {
        const orderId = orderIdOfArgs(input.args);
        if (orderId !== undefined) {
          const seen = { activity: context.info.activityType, headers: input.headers };
          this.headerLog.set(orderId, [...this.headersSeen(orderId), seen]);
        }
        return next(input);
      },
    },
  });

  /** What the workflow with this id logged (`log` of @temporalio/workflow), in order; replays log nothing. */
  workflowLog(workflowId: string): WorkflowLogEntry[] {
    return this.workflowLogs.get(workflowId) ?? [];
  }

  /** The workflow worker's logger sink that fills workflowLog, in place of the runtime's logger. */
  readonly workflowLogSink: InjectedSinks<WorkflowLoggerSinks> = {
    defaultWorkerLogger: {
      trace: this.recordLog('trace'),
      debug: this.recordLog('debug'),
      info: this.recordLog('info'),
      warn: this.recordLog('warn'),
      error: this.recordLog('error'),
    },
  };

  private recordLog(level: WorkflowLogEntry['level']): InjectedSinkFunction<WorkflowLogFunction> {
    return {
      fn: (info, message, attributes) => {
        const entry = { level, message, attributes: attributes ?? {} };
        this.workflowLogs.set(info.workflowId, [...this.workflowLog(info.workflowId), entry]);
      },
    };
  }

  /** The fake activities of one task queue, as a worker registers them. */
  activitiesFor(taskQueue: string): Record<string, (input: never) => Promise<unknown>> {
    switch (taskQueue) {
      case TaskQueue.items:
        return this.pick('reserveStock', 'releaseStock');
      case TaskQueue.coupons:
        return this.pick('redeemCoupons', 'restoreCoupons');
      case TaskQueue.payments:
        return this.pick('chargePayment', 'refundPayment');
      case TaskQueue.orders:
        return {
          ...this.pick('recordOrderProgress'),
          reconcileOrphanedOrders: async () => {
            this.reconcileAttempts += 1;
            if (this.reconcileFailures > 0) {
              this.reconcileFailures -= 1;
              throw new Error('the order database is unreachable');
            }
            return this.reconcileResult;
          },
        };
      default:
        throw new Error(`no fake activities for task queue ${taskQueue}`);
    }
  }

  private pick(...names: SagaActivityName[]): Record<string, (input: never) => Promise<unknown>> {
    return Object.fromEntries(names.map((name) => [name, (input: { orderId: string }) => this.run(name, input)]));
  }

  private run(name: SagaActivityName, input: { orderId: string }): Promise<unknown> {
    const { orderId } = input;
    this.logs.set(orderId, [...(this.logs.get(orderId) ?? []), name]);
    if (name === 'recordOrderProgress') {
      this.records.set(orderId, [...this.progress(orderId), input as OrderProgress]);
    }
    const fake = (this.scripts.get(orderId)?.[name] ?? SMOOTH[name]) as (
      input: unknown,
      attempt: number,
    ) => Promise<unknown>;
    return fake(input, Context.current().info.attempt);
  }
}

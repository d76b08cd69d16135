/**
 * The mechanics of an order saga, shared by placeOrder and the reconciler's cleanUpOrder: the saga state and its
 * query, the cancel and retry updates, recording progress in the order database, running a step, and undoing
 * every registered step in reverse.
 */
import {
  CancellationScope,
  condition,
  log,
  patched,
  setCurrentDetails,
  setHandler,
  upsertSearchAttributes,
} from '@temporalio/workflow';
import type { Duration } from '@temporalio/common';
import { FailureReason } from '../domain/failure-reasons';
import {
  isTerminal,
  stepAfterUndo,
  type OrderStatus,
  type StepName,
  type StepStatus,
  type StepStatuses,
} from '../domain/order';
import { DEFAULT_COMPENSATION_RETRY_INTERVAL, localOrders, orders } from './activity-options';
import {
  OrderSearchAttributes,
  cancelOrder,
  getSagaState,
  retryCompensation,
  type PlaceOrderResult,
  type SagaState,
} from './definitions';
import { StepFailure, describe, toStepFailure, undoFailedDetail } from './step-failure';

/**
 * Patch id of the change that retries a failed undo on a timer as well as on the operator's update
 * (docs/versioning.md). Executions that reached COMPENSATION_FAILED before it wait for the operator only.
 */
export const AUTO_RETRY_COMPENSATION_PATCH = 'auto-retry-compensation';

/**
 * Patch id of the change that records progress with a local activity on the order worker instead of a regular
 * activity on the `orders` task queue (docs/versioning.md): each write but the ending one no longer costs a
 * server round trip (see recordsLocally).
 * Executions started before it keep scheduling regular recordOrderProgress activities.
 */
export const LOCAL_PROGRESS_RECORDS_PATCH = 'local-progress-records';

export interface SagaOptions {
  orderId: string;
  customerId: number;
  total: number;
  /** Where the saga starts; a reconciler's cleanup starts from what the order database holds. */
  status?: OrderStatus;
  steps?: StepStatuses;
  /** The first progress sequence number; the order database ignores a write older than one it holds. */
  firstSeq?: number;
  /** How often an undo that failed for a non-transient reason is retried without an operator. */
  compensationRetryInterval?: Duration;
}

interface Undo {
  step: StepName;
  run: () => Promise<{ undone: boolean }>;
}

export class OrderSaga {
  readonly state: SagaState;
  private readonly undos: Undo[] = [];
  private seq: number;
  private completing = false;
  private retryRequested = false;
  /** The undo that waits for a retry; the customer reads a generic sentence naming it, not its raw error. */
  private failedUndo: StepName | null = null;

  constructor(private readonly options: SagaOptions) {
    this.seq = options.firstSeq ?? 1;
    this.state = {
      orderId: options.orderId,
      status: options.status ?? 'PENDING',
      steps: { ...(options.steps ?? { items: 'NOT_STARTED', coupons: 'NOT_STARTED', payment: 'NOT_STARTED' }) },
      failureReason: null,
      failureDetail: null,
      compensationError: null,
      cancelRequested: false,
      compensated: [],
    };
  }

  /** Answers the getSagaState query and the cancelOrder (customer) and retryCompensation (operator) updates. */
  listen(): void {
    setHandler(getSagaState, () => this.state);
    setHandler(
      cancelOrder,
      () => {
        this.state.cancelRequested = true;
        return { accepted: true } as const;
      },
      {
        validator: () => {
          if (this.state.status !== 'PENDING' || this.completing) {
            throw new Error(
              `order ${this.options.orderId} can no longer be cancelled: it is ${this.completing ? 'completing' : this.state.status}`,
            );
          }
        },
      },
    );
    setHandler(
      retryCompensation,
      () => {
        this.retryRequested = true;
        return { accepted: true } as const;
      },
      {
        validator: () => {
          if (this.state.status !== 'COMPENSATION_FAILED') {
            throw new Error(`order ${this.options.orderId} is ${this.state.status}, not COMPENSATION_FAILED`);
          }
        },
      },
    );
  }

  /** Upserts the search attributes and writes status, steps and failure to the order database. */
  async record(status?: OrderStatus): Promise<void> {
    if (status) this.state.status = status;
    upsertSearchAttributes([
      { key: OrderSearchAttributes.status, value: this.state.status },
      { key: OrderSearchAttributes.customerId, value: String(this.options.customerId) },
      { key: OrderSearchAttributes.total, value: this.options.total },
      { key: OrderSearchAttributes.failureReason, value: this.state.failureReason },
    ]);
    const recorder = this.recordsLocally() ? localOrders : orders;
    await recorder.recordOrderProgress({
      orderId: this.options.orderId,
      seq: this.seq++,
      status: this.state.status,
      steps: { ...this.state.steps },
      failureReason: this.state.failureReason,
      failureDetail: this.customerDetail(),
    });
  }

  /**
   * Whether this write runs as a local activity. An ending write (COMPLETED, CANCELLED) stays a regular activity:
   * a local activity's effect is durable before the workflow task that decided it, so a worker lost in between
   * would replay that task with a cancel update delivered ahead of the charge's result, accept it, and undo an
   * order the database (and its waiting clients) already saw COMPLETED. A regular activity is scheduled only
   * once the decision is in the history. Non-ending writes replayed on another path are ignored by seq.
   */
  private recordsLocally(): boolean {
    return patched(LOCAL_PROGRESS_RECORDS_PATCH) && !isTerminal(this.state.status);
  }

  /**
   * The failureDetail the order database (and so the customer) gets. The raw error of a failed undo stays in the
   * saga query's compensationError and the worker's log; step failures already carry a customer-safe detail.
   */
  private customerDetail(): string | null {
    if (this.state.compensationError !== null && this.failedUndo !== null) return undoFailedDetail(this.failedUndo);
    return this.state.failureDetail;
  }

  setStep(step: StepName, status: StepStatus): void {
    this.state.steps[step] = status;
  }

  /** Registers the undo of a step; call it before the step runs, so a step that committed but timed out is undone too. */
  willUndo(step: StepName, run: () => Promise<{ undone: boolean }>): void {
    this.undos.push({ step, run });
  }

  async runStep<T>(step: StepName, action: () => Promise<T>): Promise<T> {
    this.setStep(step, 'RUNNING');
    try {
      const result = await action();
      this.setStep(step, 'SUCCEEDED');
      return result;
    } catch (error) {
      this.setStep(step, 'FAILED');
      throw toStepFailure(step, error);
    }
  }

  /** A safe point: the customer's accepted cancel takes effect here. */
  stopIfCancelled(): void {
    if (this.state.cancelRequested) {
      throw new StepFailure('saga', FailureReason.CANCELLED_BY_CUSTOMER, 'the customer cancelled the order');
    }
  }

  /** From here on the order completes: a cancel is refused, and a cancel of the workflow cannot interrupt the record. */
  async complete(): Promise<PlaceOrderResult> {
    this.completing = true;
    setCurrentDetails('Completed');
    await CancellationScope.nonCancellable(() => this.record('COMPLETED'));
    return { status: 'COMPLETED', failureReason: null };
  }

  /**
   * Records the order FAILED, undoes every registered step in reverse and records it CANCELLED. Non-cancellable as
   * a whole: when the workflow itself is cancelled (Web UI, CLI), the order must still be undone and recorded.
   */
  async undoAll(error: unknown): Promise<PlaceOrderResult> {
    const failure = this.customerCancelFirst(toStepFailure('saga', error));
    this.state.failureReason = failure.reason;
    this.state.failureDetail = failure.detail;
    log.warn('order failed; undoing its steps', {
      orderId: this.options.orderId,
      reason: failure.reason,
      detail: failure.detail,
      cause: failure.internal,
    });
    setCurrentDetails(`Failed (${failure.reason}); undoing`);
    await CancellationScope.nonCancellable(async () => {
      await this.record('FAILED');
      await this.compensate();
      setCurrentDetails(`Cancelled (${failure.reason})`);
      await this.record('CANCELLED');
    });
    return { status: 'CANCELLED', failureReason: failure.reason };
  }

  /** A cancel the customer was told was accepted (202) names the outcome, even if a step failed meanwhile. */
  private customerCancelFirst(failure: StepFailure): StepFailure {
    if (!this.state.cancelRequested || failure.reason === FailureReason.CANCELLED_BY_CUSTOMER) return failure;
    const meanwhile = `the customer cancelled the order; meanwhile ${failure.step} failed: ${failure.reason}`;
    return new StepFailure(
      failure.step,
      FailureReason.CANCELLED_BY_CUSTOMER,
      `${meanwhile}: ${failure.detail}`,
      `${meanwhile}: ${failure.internal}`,
    );
  }

  /**
   * Runs the registered undos in reverse. Transient faults are retried inside the activity's retry policy without
   * a limit; an undo that fails for a non-transient reason makes the order COMPENSATION_FAILED until the operator's
   * retry or the retry timer, then runs again.
   */
  private async compensate(): Promise<void> {
    for (const undo of [...this.undos].reverse()) {
      const before = this.state.steps[undo.step];
      for (;;) {
        try {
          const { undone } = await undo.run();
          this.setStep(undo.step, stepAfterUndo(before, undone));
          this.state.compensated.push(undo.step);
          this.state.compensationError = null;
          this.failedUndo = null;
          break;
        } catch (error) {
          await this.waitForRetry(undo.step, error);
        }
      }
    }
  }

  private async waitForRetry(step: StepName, error: unknown): Promise<void> {
    this.setStep(step, 'COMPENSATION_FAILED');
    this.state.compensationError = `undo of ${step} failed: ${describe(error)}`;
    this.failedUndo = step;
    log.error('undo failed; waiting for a retry', {
      orderId: this.options.orderId,
      step,
      cause: this.state.compensationError,
    });
    setCurrentDetails(`Undo of ${step} failed; waiting for the retryCompensation update or the retry timer`);
    // Cleared before recording: a retry accepted while the status is being recorded must not be lost.
    this.retryRequested = false;
    await this.record('COMPENSATION_FAILED');
    let byOperator = true;
    if (patched(AUTO_RETRY_COMPENSATION_PATCH)) {
      const interval = this.options.compensationRetryInterval ?? DEFAULT_COMPENSATION_RETRY_INTERVAL;
      byOperator = await condition(() => this.retryRequested, interval);
    } else {
      await condition(() => this.retryRequested);
    }
    setCurrentDetails(`Retrying the undo of ${step}${byOperator ? '' : ' (retry timer)'}`);
    // The operator's retry is recorded as a return to FAILED; the timer's retry keeps COMPENSATION_FAILED until it works.
    if (byOperator) {
      this.state.compensationError = null;
      await this.record('FAILED');
    }
  }
}

/**
 * `npm run chaos`: proves that every order ends right while the system's real OS processes are SIGKILLed. Starts
 * a private stack (npm start's supervisor on free ports, fresh data folder), places a seeded mix of orders
 * through the gateway while killing a process every few seconds, stops killing after the last order, waits for
 * every order to end, then checks the invariants on every service database and Temporal (scripts/chaos/).
 * Prints a JSON summary on stdout and one line on stderr; exits 1 on any violation. Options: scripts/chaos/options.ts.
 */
import { performance } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import { gatewayClient } from './chaos/http';
import { checkInvariants, type CheckResult, type SystemState } from './chaos/invariants';
import { startKiller, type KillRecord, type Killer } from './chaos/killer';
import { outageReport, readFailedSteps, type FailedStep, type OutageReport } from './chaos/outage-evidence';
import { USAGE, parseOptions, type ChaosOptions } from './chaos/options';
import { startProber, type Availability } from './chaos/prober';
import { seededRandom } from './chaos/random';
import { isQuiet, readSystemState } from './chaos/snapshot';
import { startStack, type ProcessesFile, type Stack } from './chaos/stack';
import { buildSummary, humanLine } from './chaos/summary';
import { planOrders, runWorkload, setUpWorkload, type OrderRun } from './chaos/workload';

/** After the last order, the checks still wait this long at least for a process back from its last kill. */
const MIN_SETTLE_MS = 15_000;
/** How long one read of the whole state may retry while a database or Temporal is still restarting. */
const READ_DEADLINE_MS = 60_000;
const MAX_CUSTOMERS = 8;

const startedAt = performance.now();
function log(line: string): void {
  process.stderr.write(`[chaos +${((performance.now() - startedAt) / 1000).toFixed(1)}s] ${line}\n`);
}

/** Reads the state until it is quiet (every order ended, no order workflow running) or the deadline passed. */
async function settledState(stack: Stack, deadline: number, stop: AbortSignal): Promise<SystemState> {
  for (;;) {
    const state = await readSystemState(stack, Date.now() + READ_DEADLINE_MS);
    if (isQuiet(state) || Date.now() >= deadline) return state;
    await sleep(1_000, undefined, { signal: stop });
  }
}

/** The options as the summary shows them (without --help, which never gets this far). */
function optionsForReport({ help: _help, ...options }: ChaosOptions): Record<string, unknown> {
  return options;
}

interface Collected {
  durationsMs: Record<string, number>;
  runs: OrderRun[];
  killer: Killer | null;
  availability: Availability | null;
  check: CheckResult | null;
  state: SystemState | null;
  processes: ProcessesFile | null;
  outages: OutageReport[];
}

const OUTAGE_REASONS = new Set(['SERVICE_UNAVAILABLE', 'PAYMENT_TIMEOUT']);

/** The evidence for every order failed by an outage or a bound (the hanging card's too: it is only reported). */
async function outageReports(stack: Stack, state: SystemState, kills: readonly KillRecord[]): Promise<OutageReport[]> {
  const failed = state.orders.filter((order) => OUTAGE_REASONS.has(order.failureReason ?? ''));
  let steps = new Map<string, FailedStep[]>();
  try {
    steps = await readFailedSteps(
      stack.temporalAddress,
      stack.payloadKeys,
      failed.map((order) => order.id),
    );
  } catch (error) {
    // Without the histories no failure is excused: each counts as a single outage.
    log(`could not read the failed orders' histories: ${error instanceof Error ? error.message : String(error)}`);
  }
  return failed.map((order) => outageReport(order, steps.get(order.id) ?? [], kills));
}

async function soak(options: ChaosOptions, stack: Stack, stop: AbortSignal, collected: Collected): Promise<void> {
  const { durationsMs } = collected;
  const client = gatewayClient(stack.baseUrl, stop);
  const customers = Math.min(options.concurrency, MAX_CUSTOMERS);
  const plan = planOrders(options.orders, customers, seededRandom(options.seed));

  let phase = performance.now();
  const setup = await setUpWorkload(client, plan, customers);
  durationsMs.setup = Math.round(performance.now() - phase);
  log(`set up ${customers} customers, ${setup.initialStock.size} items and coupons in ${durationsMs.setup} ms`);

  if (options.killEvery > 0 && !stack.readProcesses()) {
    throw new Error(
      'the stack wrote no processes.json: its supervisor cannot name (or restart) its processes; use --kill-every 0',
    );
  }
  const prober = startProber(stack.baseUrl);
  phase = performance.now();
  const workloadStart = Date.now();
  collected.killer =
    options.killEvery > 0
      ? startKiller({
          everyMs: options.killEvery * 1000,
          // A stream of its own, so the kill sequence of a seed does not depend on the number of orders.
          random: seededRandom(options.seed ^ 0x5bd1e995),
          readProcesses: () => stack.readProcesses(),
          startedAt: workloadStart,
          log,
        })
      : null;
  let allPlacedAt = Date.now();
  log(`placing ${plan.length} orders, ${options.concurrency} at a time, killing every ${options.killEvery || '∞'} s`);
  collected.runs = await runWorkload({
    client,
    plan,
    setup,
    concurrency: options.concurrency,
    settleTimeoutMs: options.settleTimeout * 1000,
    stop,
    log,
    onAllPlaced: () => {
      allPlacedAt = Date.now();
      log('every order placed; no more kills');
      void collected.killer?.stop();
    },
  });
  await collected.killer?.stop();
  durationsMs.workload = Math.round(performance.now() - phase);

  phase = performance.now();
  const deadline = Math.max(allPlacedAt + options.settleTimeout * 1000, Date.now() + MIN_SETTLE_MS);
  collected.state = await settledState(stack, deadline, stop);
  durationsMs.settle = Math.round(performance.now() - phase);
  collected.availability = await prober.stop();
  collected.processes = stack.readProcesses();
  collected.outages = await outageReports(stack, collected.state, collected.killer?.kills ?? []);
  for (const outage of collected.outages) {
    log(
      `order ${outage.orderId} ended ${outage.outcome}; its ${outage.step ?? 'failed step (not found)'} ran ` +
        `${outage.stepSeconds ?? '?'} s and saw kills of: ${outage.dependencyKills.join(', ') || 'none'}` +
        `${outage.chained ? ' (chained outages)' : ''}`,
    );
  }
  collected.check = checkInvariants(collected.state, {
    initialStock: setup.initialStock,
    clientOrders: collected.runs,
    allowOutageFailures: options.allowOutageFailures,
    chainedOutages: new Set(collected.outages.filter((outage) => outage.chained).map((outage) => outage.orderId)),
  });
}

async function main(): Promise<number> {
  let options: ChaosOptions;
  try {
    options = parseOptions(process.argv.slice(2));
  } catch (error) {
    process.stderr.write(`${error instanceof Error ? error.message : String(error)}\n${USAGE}\n`);
    return 2;
  }
  if (options.help) {
    process.stdout.write(`${USAGE}\n`);
    return 0;
  }

  const abort = new AbortController();
  let stack: Stack | null = null;
  let error: string | null = null;
  let interrupted = false;
  const collected: Collected = {
    durationsMs: {},
    runs: [],
    killer: null,
    availability: null,
    check: null,
    state: null,
    processes: null,
    outages: [],
  };
  const interrupt = (signal: string) => {
    if (abort.signal.aborted) {
      log(`${signal} again: killing everything now`);
      // The stack's exit hook SIGKILLs every process it started.
      process.exit(130);
    }
    interrupted = true;
    error = `interrupted by ${signal}`;
    log(`${signal}: stopping the run and the stack (again to kill at once)`);
    abort.abort();
  };
  process.on('SIGINT', () => interrupt('SIGINT'));
  process.on('SIGTERM', () => interrupt('SIGTERM'));

  let phase = performance.now();
  let watch: NodeJS.Timeout | undefined;
  try {
    log(`seed ${options.seed}; starting a private stack`);
    stack = await startStack({ keep: options.keep, verbose: options.verbose, log, cancel: abort.signal });
    collected.durationsMs.stackStart = Math.round(performance.now() - phase);
    log(`stack up in ${collected.durationsMs.stackStart} ms: gateway ${stack.baseUrl}, data ${stack.dataDir}`);
    const running = stack;
    watch = setInterval(() => {
      const note = running.exitedEarly();
      if (note && !abort.signal.aborted) {
        error = note;
        abort.abort();
      }
    }, 500);
    await soak(options, stack, abort.signal, collected);
  } catch (caught) {
    error ??= caught instanceof Error ? caught.message : String(caught);
    log(`run failed: ${error}`);
    if (stack && !interrupted) log(`the stack's last lines:\n${stack.logTail().slice(-30).join('\n')}`);
  } finally {
    clearInterval(watch);
    await collected.killer?.stop();
    phase = performance.now();
    await stack?.stop();
    collected.durationsMs.stackStop = Math.round(performance.now() - phase);
  }
  collected.durationsMs.total = Math.round(performance.now() - startedAt);

  const summary = buildSummary({
    seed: options.seed,
    options: optionsForReport(options),
    durationsMs: collected.durationsMs,
    latenciesMs: collected.runs.flatMap((run) => (run.latencyMs === null ? [] : [run.latencyMs])),
    kills: collected.killer?.kills ?? [],
    processes: collected.processes,
    availability: collected.availability,
    check: collected.check,
    state: collected.state,
    outages: collected.outages,
    error,
  });
  process.stdout.write(`${JSON.stringify(summary, null, 2)}\n`);
  if (summary.chargeSource === 'payments') {
    log('note: no card_gateway_charges table; charges were checked on the payments table');
  }
  for (const violation of summary.violations) {
    log(`violation ${violation.code}${violation.orderId ? ` ${violation.orderId}` : ''}: ${violation.detail}`);
  }
  process.stderr.write(`${humanLine(summary)}\n`);
  return summary.ok ? 0 : 1;
}

main().then(
  (code) => process.exit(code),
  (error: unknown) => {
    console.error('chaos failed:', error);
    process.exit(1);
  },
);

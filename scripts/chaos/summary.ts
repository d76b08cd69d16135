/** The chaos run's report: one JSON document for machines and one line for people. */
import type { KillRecord } from './killer';
import type { ChargeSource, CheckResult, OrderKind, SystemState, Verdict, Violation } from './invariants';
import type { OutageReport } from './outage-evidence';
import type { Availability } from './prober';
import type { ProcessesFile } from './stack';

export interface RunFacts {
  seed: number;
  options: Record<string, unknown>;
  durationsMs: Record<string, number>;
  latenciesMs: number[];
  kills: KillRecord[];
  processes: ProcessesFile | null;
  availability: Availability | null;
  check: CheckResult | null;
  /** The settled state the invariants were checked on. */
  state: SystemState | null;
  /** Orders that ended by a bound or an unavailable service, with the kills their failed step saw. */
  outages: OutageReport[];
  /** A failure of the run itself (the stack would not start, Ctrl-C, ...), not of the system under test. */
  error: string | null;
}

export interface Summary {
  ok: boolean;
  seed: number;
  options: Record<string, unknown>;
  error: string | null;
  durationsMs: Record<string, number>;
  orders: {
    placed: number;
    accepted: number;
    unclaimed: number;
    byVerdict: Partial<Record<Verdict, number>>;
    byKind: Partial<Record<OrderKind, Record<string, number>>>;
  };
  latencyMs: { p50: number | null; p95: number | null; max: number | null };
  kills: { total: number; byProcess: Record<string, number>; log: KillRecord[] };
  restarts: Record<string, number> | null;
  gateway: Availability | null;
  chargeSource: ChargeSource | null;
  /** How much the checks looked at: rows read from each database and order workflows seen in Temporal. */
  checked: Record<string, number> | null;
  outages: OutageReport[];
  violations: Violation[];
}

function checkedCounts(state: SystemState): Record<string, number> {
  return {
    orders: state.orders.length,
    completedOrders: state.orders.filter((order) => order.status === 'COMPLETED').length,
    items: state.items.length,
    stockReservations: state.reservations.length,
    usedCoupons: state.userCoupons.filter((coupon) => coupon.usedByOrderId !== null).length,
    charges: state.charges.length,
    capturedCharges: state.charges.filter((charge) => charge.status === 'CAPTURED').length,
    openWorkflows: state.openWorkflows.length,
  };
}

/** The value below which p percent of the sorted values fall (nearest rank). */
export function percentile(sorted: readonly number[], p: number): number | null {
  if (sorted.length === 0) return null;
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))]!;
}

function count<T extends string>(values: readonly T[]): Partial<Record<T, number>> {
  const counts: Partial<Record<T, number>> = {};
  for (const value of values) counts[value] = (counts[value] ?? 0) + 1;
  return counts;
}

export function buildSummary(facts: RunFacts): Summary {
  const judged = facts.check?.judged ?? [];
  const byKind: Summary['orders']['byKind'] = {};
  for (const order of judged) {
    const outcomes = (byKind[order.kind] ??= {});
    outcomes[order.outcome] = (outcomes[order.outcome] ?? 0) + 1;
  }
  const sorted = [...facts.latenciesMs].sort((a, b) => a - b);
  const round = (value: number | null) => (value === null ? null : Math.round(value));
  const violations = facts.check?.violations ?? [];
  return {
    ok: facts.error === null && facts.check !== null && violations.length === 0,
    seed: facts.seed,
    options: facts.options,
    error: facts.error,
    durationsMs: facts.durationsMs,
    orders: {
      placed: judged.length,
      accepted: judged.filter((order) => order.orderId !== null).length,
      unclaimed: facts.check?.unclaimedOrders ?? 0,
      byVerdict: count(judged.map((order) => order.verdict)),
      byKind,
    },
    latencyMs: {
      p50: round(percentile(sorted, 50)),
      p95: round(percentile(sorted, 95)),
      max: round(sorted.at(-1) ?? null),
    },
    kills: { total: facts.kills.length, byProcess: count(facts.kills.map((kill) => kill.name)), log: facts.kills },
    restarts: facts.processes
      ? Object.fromEntries(Object.entries(facts.processes.processes).map(([name, entry]) => [name, entry.restarts]))
      : null,
    gateway: facts.availability,
    chargeSource: facts.state?.chargeSource ?? null,
    checked: facts.state ? checkedCounts(facts.state) : null,
    outages: facts.outages,
    violations,
  };
}

function seconds(ms: number | null | undefined): string {
  return ms === null || ms === undefined ? '-' : `${(ms / 1000).toFixed(1)} s`;
}

/** One line: verdict, orders, kills, the worst gateway outage, latency and wall time. */
export function humanLine(summary: Summary): string {
  const verdicts = summary.orders.byVerdict;
  const kills = Object.entries(summary.kills.byProcess)
    .map(([name, times]) => `${name} ${times}`)
    .join(', ');
  return [
    `chaos ${summary.ok ? 'PASS' : 'FAIL'}:`,
    `${summary.orders.placed} orders (${verdicts.expected ?? 0} as expected, ${verdicts.outage ?? 0} failed by an outage,`,
    `${verdicts.chainedOutage ?? 0} by chained outages outlasting a step's bound),`,
    `${summary.violations.length} violation(s),`,
    `${summary.kills.total} kill(s)${kills ? ` (${kills})` : ''},`,
    `gateway unavailable at most ${seconds(summary.gateway?.maxUnavailableMs)},`,
    `POST→final p50 ${seconds(summary.latencyMs.p50)} p95 ${seconds(summary.latencyMs.p95)},`,
    `seed ${summary.seed}, ${seconds(summary.durationsMs.total)} in all`,
    summary.error ? `— error: ${summary.error}` : '',
  ]
    .filter(Boolean)
    .join(' ');
}

/** The benchmark's verdicts on the targets of issue 10 item 4, and its Markdown report. */
import { byGroup, type StackSample } from './stack-memory';
import { slope, type LatencySummary } from './stats';

/** A run's figures, with the CPU ms per run of each group of the stack's processes and of the benchmark itself. */
export type RunFigures = LatencySummary & { cpuMsPerRun: Record<string, number> };

export interface PhaseResult {
  name: string;
  clients: number;
  loadAverage: string;
  minimal: RunFigures;
  topology: RunFigures;
  orders: RunFigures & { requests: number; slowest?: { orderId: string; ms: number }[] };
  /** Total memory samples taken during the orders run. */
  samples: { at: number; pssKiB: number; rssKiB: number }[];
}

export interface BenchInput {
  date: string;
  commit: string;
  machine: string;
  gateway: string;
  temporal: string;
  loadAverage: { before: string; after: string };
  options: object;
  phases: PhaseResult[];
  /** How many orders ended how (COMPLETED, `CANCELLED <reason>`), warm-up included. */
  outcomes: Record<string, number>;
  stock: { itemId: number; before: number; after: number; completedUnits: number };
  memory: { samples: (StackSample & { tag: string; ordersDone: number })[] };
}

export interface Target {
  target: string;
  measured: string;
  /** Undefined when this run cannot judge it (too few orders, too short). */
  met: boolean | undefined;
}

export interface MemoryFigures {
  peakPssMiB: number;
  peakRssMiB: number;
  /** Total PSS at the first sample taken once 1,000 orders had ended; undefined below 1,000. */
  pssAfter1000OrdersMiB: number | undefined;
  /** Slope of total PSS over the many-clients orders run, MiB per minute: all of it, and its second half. */
  slopeMiBPerMinute: number | undefined;
  secondHalfSlopeMiBPerMinute: number | undefined;
  /** Seconds of samples the slopes are computed from. */
  slopeOverSeconds: number;
  /** Per supervised process (with its children) at the peak of total PSS. */
  atPeak: {
    group: string;
    processes: number;
    rssMiB: number;
    pssMiB: number;
    pssAnonMiB: number;
    pssFileMiB: number;
    pssShmemMiB: number;
  }[];
}

export interface BenchResult {
  input: BenchInput;
  memory: MemoryFigures;
  targets: Target[];
  /** One line for machines: every figure of the report. */
  json: Record<string, unknown> & { stock: { conserved: boolean } };
}

/** The soak must last this long before the slope of PSS counts as a verdict. */
export const SOAK_MIN_SECONDS = 300;
/** "No growth": the second half of the soak grows by at most this much per minute. */
export const GROWTH_TOLERANCE_MIB_PER_MINUTE = 1;
export const PSS_LIMIT_MIB = 1024;

const mib = (kib: number) => kib / 1024;
const round = (value: number, digits = 1) => (Number.isFinite(value) ? Number(value.toFixed(digits)) : null);

function memoryFigures(input: BenchInput): MemoryFigures {
  const samples = input.memory.samples;
  const peak = samples.reduce<(typeof samples)[number] | undefined>(
    (best, sample) => (!best || sample.pssKiB > best.pssKiB ? sample : best),
    undefined,
  );
  const after1000 = samples.find((sample) => sample.ordersDone >= 1000);
  const soak = input.phases.find((phase) => phase.clients > 1)?.samples ?? [];
  const perMinute = (points: typeof soak) =>
    points.length >= 2 ? slope(points.map((point) => ({ x: point.at / 60_000, y: mib(point.pssKiB) }))) : undefined;
  const secondHalf = soak.length >= 4 ? soak.slice(Math.floor(soak.length / 2)) : [];
  return {
    peakPssMiB: peak ? mib(peak.pssKiB) : NaN,
    peakRssMiB: mib(Math.max(0, ...samples.map((sample) => sample.rssKiB))),
    pssAfter1000OrdersMiB: after1000 ? mib(after1000.pssKiB) : undefined,
    slopeMiBPerMinute: perMinute(soak),
    secondHalfSlopeMiBPerMinute: secondHalf.length ? perMinute(secondHalf) : undefined,
    slopeOverSeconds: soak.length >= 2 ? (soak.at(-1)!.at - soak[0]!.at) / 1000 : 0,
    atPeak: peak
      ? byGroup(peak).map((group) => ({
          group: group.group,
          processes: group.processes,
          rssMiB: mib(group.rssKiB),
          pssMiB: mib(group.pssKiB),
          pssAnonMiB: mib(group.pssAnonKiB),
          pssFileMiB: mib(group.pssFileKiB),
          pssShmemMiB: mib(group.pssShmemKiB),
        }))
      : [],
  };
}

function targets(input: BenchInput, memory: MemoryFigures): Target[] {
  const one = input.phases.find((phase) => phase.clients === 1);
  const many = input.phases.find((phase) => phase.clients > 1);
  const list: Target[] = [];
  if (one) {
    const limit = 1.2 * one.minimal.p50;
    list.push({
      target: '1 client: p50 ≤ 1.2 × minimal floor p50',
      measured: `${one.orders.p50.toFixed(0)} ms vs ${limit.toFixed(0)} ms (${(one.orders.p50 / one.minimal.p50).toFixed(2)} ×)`,
      met: one.orders.p50 <= limit,
    });
  }
  if (many) {
    const limit = 0.8 * many.minimal.perSecond;
    list.push({
      target: `${many.clients} clients: orders/s ≥ 0.8 × minimal floor`,
      measured: `${many.orders.perSecond.toFixed(2)} vs ${limit.toFixed(2)} /s (${(many.orders.perSecond / many.minimal.perSecond).toFixed(2)} ×)`,
      met: many.orders.perSecond >= limit,
    });
    list.push({
      target: `${many.clients} clients: p99 ≤ 2 × p50`,
      measured: `${many.orders.p99.toFixed(0)} ms vs ${(2 * many.orders.p50).toFixed(0)} ms (${(many.orders.p99 / many.orders.p50).toFixed(2)} ×)`,
      met: many.orders.p99 <= 2 * many.orders.p50,
    });
  }
  list.push({
    target: `whole stack ≤ ${PSS_LIMIT_MIB} MiB PSS after 1,000 orders`,
    measured:
      memory.pssAfter1000OrdersMiB === undefined
        ? `fewer than 1,000 orders (peak ${memory.peakPssMiB.toFixed(0)} MiB)`
        : `${memory.pssAfter1000OrdersMiB.toFixed(0)} MiB (peak ${memory.peakPssMiB.toFixed(0)} MiB)`,
    met:
      memory.pssAfter1000OrdersMiB === undefined
        ? undefined
        : memory.pssAfter1000OrdersMiB <= PSS_LIMIT_MIB && memory.peakPssMiB <= PSS_LIMIT_MIB,
  });
  const judged = memory.slopeOverSeconds >= SOAK_MIN_SECONDS && memory.secondHalfSlopeMiBPerMinute !== undefined;
  list.push({
    target: `no PSS growth: slope of the soak's second half ≤ ${GROWTH_TOLERANCE_MIB_PER_MINUTE} MiB/min`,
    measured:
      memory.slopeMiBPerMinute === undefined
        ? 'no many-clients phase'
        : `${memory.slopeMiBPerMinute.toFixed(2)} MiB/min over ${memory.slopeOverSeconds.toFixed(0)} s, second half ` +
          `${memory.secondHalfSlopeMiBPerMinute?.toFixed(2) ?? '–'} MiB/min` +
          (judged ? '' : ` (not judged below ${SOAK_MIN_SECONDS} s: --duration 600)`),
    met: judged ? memory.secondHalfSlopeMiBPerMinute! <= GROWTH_TOLERANCE_MIB_PER_MINUTE : undefined,
  });
  return list;
}

export function evaluateTargets(input: BenchInput): BenchResult {
  const memory = memoryFigures(input);
  const list = targets(input, memory);
  const conserved = input.stock.before - input.stock.after === input.stock.completedUnits;
  const summary = (figures: RunFigures) => ({
    runs: figures.count,
    seconds: round(figures.seconds),
    perSecond: round(figures.perSecond, 2),
    p50: round(figures.p50, 0),
    p95: round(figures.p95, 0),
    p99: round(figures.p99, 0),
    max: round(figures.max, 0),
    cpuMsPerRun: Object.fromEntries(Object.entries(figures.cpuMsPerRun).map(([key, ms]) => [key, round(ms)])),
  });
  const json = {
    bench: 'order-saga',
    date: input.date,
    commit: input.commit,
    machine: input.machine,
    gateway: input.gateway,
    temporal: input.temporal,
    loadAverage: input.loadAverage,
    options: input.options,
    phases: input.phases.map((phase) => ({
      name: phase.name,
      clients: phase.clients,
      loadAverage: phase.loadAverage,
      minimal: summary(phase.minimal),
      topology: summary(phase.topology),
      orders: { ...summary(phase.orders), requests: phase.orders.requests, slowest: phase.orders.slowest ?? [] },
      ratios: {
        p50ToMinimal: round(phase.orders.p50 / phase.minimal.p50, 2),
        p50ToTopology: round(phase.orders.p50 / phase.topology.p50, 2),
        throughputToMinimal: round(phase.orders.perSecond / phase.minimal.perSecond, 2),
        throughputToTopology: round(phase.orders.perSecond / phase.topology.perSecond, 2),
      },
    })),
    outcomes: input.outcomes,
    stock: { ...input.stock, conserved },
    memory: {
      peakPssMiB: round(memory.peakPssMiB, 0),
      peakRssMiB: round(memory.peakRssMiB, 0),
      pssAfter1000OrdersMiB: memory.pssAfter1000OrdersMiB === undefined ? null : round(memory.pssAfter1000OrdersMiB, 0),
      slopeMiBPerMinute: memory.slopeMiBPerMinute === undefined ? null : round(memory.slopeMiBPerMinute, 2),
      secondHalfSlopeMiBPerMinute:
        memory.secondHalfSlopeMiBPerMinute === undefined ? null : round(memory.secondHalfSlopeMiBPerMinute, 2),
      slopeOverSeconds: round(memory.slopeOverSeconds, 0),
      atPeak: memory.atPeak.map((group) => ({
        group: group.group,
        processes: group.processes,
        rssMiB: round(group.rssMiB, 0),
        pssMiB: round(group.pssMiB, 0),
        pssAnonMiB: round(group.pssAnonMiB, 0),
        pssFileMiB: round(group.pssFileMiB, 0),
        pssShmemMiB: round(group.pssShmemMiB, 0),
      })),
    },
    targets: list,
  };
  return { input, memory, targets: list, json };
}

const cell = (value: number, digits = 0) => (Number.isFinite(value) ? value.toFixed(digits) : '–');

export function renderReport(result: BenchResult): string {
  const { input, memory } = result;
  const lines: string[] = [];
  lines.push(`### npm run bench, ${input.date.slice(0, 10)}, commit ${input.commit}`);
  lines.push('');
  lines.push(`Machine: ${input.machine}. Gateway ${input.gateway}; Temporal ${input.temporal}.`);
  lines.push(`Load average (1/5/15 min) before: ${input.loadAverage.before}; after: ${input.loadAverage.after}.`);
  lines.push('');
  lines.push(
    '| phase | run | count | per s | p50 ms | p95 ms | p99 ms | max ms | orders p50 ÷ this p50 | orders/s ÷ this /s | ' +
      'CPU ms per run: Temporal | rest of the stack | bench |',
  );
  lines.push('| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |');
  const cpu = (figures: RunFigures) => {
    const entries = Object.entries(figures.cpuMsPerRun);
    const temporal = entries.filter(([group]) => group === 'temporal').reduce((sum, [, ms]) => sum + ms, 0);
    const bench = figures.cpuMsPerRun.bench ?? NaN;
    const rest = entries
      .filter(([group]) => group !== 'temporal' && group !== 'bench')
      .reduce((sum, [, ms]) => sum + ms, 0);
    return `${cell(temporal)} | ${cell(rest)} | ${cell(bench)}`;
  };
  for (const phase of input.phases) {
    const rows: [string, RunFigures][] = [
      ['minimal floor', phase.minimal],
      ['saga topology floor', phase.topology],
      ['orders (POST → terminal)', phase.orders],
    ];
    for (const [name, figures] of rows) {
      const isOrders = figures === phase.orders;
      lines.push(
        `| ${phase.name} (load ${phase.loadAverage}) | ${name} | ${figures.count} | ${cell(figures.perSecond, 2)} | ` +
          `${cell(figures.p50)} | ${cell(figures.p95)} | ${cell(figures.p99)} | ${cell(figures.max)} | ` +
          `${isOrders ? '' : cell(phase.orders.p50 / figures.p50, 2)} | ${isOrders ? '' : cell(phase.orders.perSecond / figures.perSecond, 2)} | ` +
          `${cpu(figures)} |`,
      );
    }
  }
  lines.push('');
  lines.push('| target | measured | met |');
  lines.push('| --- | --- | --- |');
  for (const target of result.targets) {
    lines.push(
      `| ${target.target} | ${target.measured} | ${target.met === undefined ? 'not judged' : target.met ? 'yes' : 'no'} |`,
    );
  }
  lines.push('');
  const { stock } = input;
  lines.push(
    `Stock of item ${stock.itemId}: ${stock.before} → ${stock.after} (−${stock.before - stock.after}); completed ` +
      `orders' units ${stock.completedUnits}: ${result.json.stock.conserved ? 'conserved' : '**NOT conserved**'}. ` +
      `Outcomes: ${Object.entries(input.outcomes)
        .map(([outcome, count]) => `${outcome} ${count}`)
        .join(', ')}.`,
  );
  lines.push('');
  lines.push(
    `Stack memory: peak PSS ${cell(memory.peakPssMiB)} MiB, peak RSS ${cell(memory.peakRssMiB)} MiB (RSS counts shared pages once per process).`,
  );
  lines.push('');
  lines.push(
    '| process (with its children) at peak PSS | processes | PSS MiB | of which anonymous | files | shared memory | RSS MiB |',
  );
  lines.push('| --- | --- | --- | --- | --- | --- | --- |');
  for (const group of memory.atPeak) {
    lines.push(
      `| ${group.group} | ${group.processes} | ${cell(group.pssMiB)} | ${cell(group.pssAnonMiB)} | ` +
        `${cell(group.pssFileMiB)} | ${cell(group.pssShmemMiB)} | ${cell(group.rssMiB)} |`,
    );
  }
  for (const phase of input.phases) {
    lines.push('');
    lines.push(
      `CPU ms per order, ${phase.name}: ` +
        Object.entries(phase.orders.cpuMsPerRun)
          .map(([group, ms]) => `${group} ${cell(ms, 1)}`)
          .join(', ') +
        '.',
    );
  }
  return lines.join('\n');
}

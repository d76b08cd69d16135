/** Load generation of `npm run bench`: concurrent clients in a closed loop, and the totals of one kind of run. */
import type { RunFigures } from './report';
import { summarize } from './stats';

/** What a drive measured: every run's latency, and the runs and seconds its throughput is counted over. */
export interface Drive {
  latencies: number[];
  /** Runs that ended within the counted window. */
  counted: number;
  seconds: number;
}

/**
 * Runs `runOne` from `clients` concurrent clients, each starting its next run when the last one ended, until
 * `runs` were started or `seconds` have passed. Throughput of a timed drive is counted at full concurrency only:
 * the runs that ended between the first run's end (every client then has a run in flight) and the deadline; the
 * filling before and the draining after (runs still in flight at the deadline) would weigh on slow runs more.
 */
export async function drive(
  clients: number,
  limit: { runs: number } | { seconds: number },
  runOne: () => Promise<number>,
): Promise<Drive> {
  const latencies: number[] = [];
  const ends: number[] = [];
  const started = performance.now();
  const deadline = 'seconds' in limit ? started + limit.seconds * 1000 : Infinity;
  let claimed = 0;
  const client = async () => {
    for (;;) {
      if ('runs' in limit ? claimed >= limit.runs : performance.now() >= deadline) return;
      claimed += 1;
      latencies.push(await runOne());
      ends.push(performance.now());
    }
  };
  await Promise.all(Array.from({ length: clients }, client));
  const wall = (performance.now() - started) / 1000;
  const firstEnd = Math.min(...ends);
  if (!('seconds' in limit) || !(firstEnd < deadline)) return { latencies, counted: latencies.length, seconds: wall };
  const counted = ends.filter((end) => end > firstEnd && end <= deadline).length;
  return { latencies, counted, seconds: (deadline - firstEnd) / 1000 };
}

/** The runs of one kind (a floor, the orders) across the rounds of a phase. */
export class RunTotals {
  private readonly latencies: number[] = [];
  private counted = 0;
  private seconds = 0;
  private readonly cpuSeconds = new Map<string, number>();

  add(run: Drive & { cpuSeconds: Map<string, number> }): void {
    this.latencies.push(...run.latencies);
    this.counted += run.counted;
    this.seconds += run.seconds;
    for (const [group, seconds] of run.cpuSeconds)
      this.cpuSeconds.set(group, (this.cpuSeconds.get(group) ?? 0) + seconds);
  }

  /** Throughput over the time spent on this kind; CPU ms per run by group, largest first, the bench last. */
  figures(): RunFigures {
    const runs = Math.max(1, this.latencies.length);
    const perRun = [...this.cpuSeconds]
      .filter(([group]) => group !== 'bench')
      .map(([group, seconds]): [string, number] => [group, (seconds * 1000) / runs])
      .sort((a, b) => b[1] - a[1]);
    perRun.push(['bench', ((this.cpuSeconds.get('bench') ?? 0) * 1000) / runs]);
    return { ...summarize(this.latencies, this.seconds, this.counted), cpuMsPerRun: Object.fromEntries(perRun) };
  }
}

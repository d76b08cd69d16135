/**
 * Memory of a running stack's whole process tree (Linux): every process under the supervisor of `npm start` or
 * `npm run start:cluster`, found from `<data dir>/processes.json` and /proc, with each one's RSS and PSS read from
 * /proc/<pid>/smaps_rollup. PSS divides shared pages among the processes that map them, so the sum over the tree
 * is what the stack costs the machine; RSS counts shared pages in every process and overstates the sum.
 */
import { readFileSync, readdirSync } from 'node:fs';

export interface StackState {
  supervisorPid: number;
  processes: Record<string, { pid: number | null }>;
}

export interface ProcessMemory {
  pid: number;
  /** The supervised process it belongs to (itself or an ancestor in processes.json), or `supervisor`. */
  group: string;
  /** The executable's name (/proc/<pid>/comm). */
  command: string;
  rssKiB: number;
  pssKiB: number;
  /** PSS split: private heap and stacks, mapped files (code, libraries), shared memory (PostgreSQL's buffers). */
  pssAnonKiB: number;
  pssFileKiB: number;
  pssShmemKiB: number;
}

export interface StackSample {
  /** ms since the sampler started. */
  at: number;
  rssKiB: number;
  pssKiB: number;
  processes: ProcessMemory[];
}

export function readStackState(file: string): StackState {
  return JSON.parse(readFileSync(file, 'utf8')) as StackState;
}

interface ProcessEntry {
  ppid: number;
  command: string;
  /** CPU time in clock ticks: its own (user + system), and that of the children it has reaped. */
  ticks: number;
  reapedTicks: number;
}

/** Every live process: its parent, name and CPU time, from /proc/<pid>/stat. */
function processTable(): Map<number, ProcessEntry> {
  const table = new Map<number, ProcessEntry>();
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      const command = stat.slice(stat.indexOf('(') + 1, stat.lastIndexOf(')'));
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      table.set(Number(entry), {
        ppid: Number(fields[1]),
        command,
        ticks: Number(fields[11]) + Number(fields[12]),
        reapedTicks: Number(fields[13]) + Number(fields[14]),
      });
    } catch {
      // gone meanwhile
    }
  }
  return table;
}

export type MemoryFields = Pick<ProcessMemory, 'rssKiB' | 'pssKiB' | 'pssAnonKiB' | 'pssFileKiB' | 'pssShmemKiB'>;

/** RSS and PSS of one process in KiB; undefined when it is gone (or unreadable). */
export function readSmapsRollup(pid: number): MemoryFields | undefined {
  try {
    const text = readFileSync(`/proc/${pid}/smaps_rollup`, 'utf8');
    const field = (name: string) => Number(new RegExp(`^${name}:\\s+(\\d+) kB`, 'm').exec(text)?.[1] ?? NaN);
    const memory = {
      rssKiB: field('Rss'),
      pssKiB: field('Pss'),
      pssAnonKiB: field('Pss_Anon'),
      pssFileKiB: field('Pss_File'),
      pssShmemKiB: field('Pss_Shmem'),
    };
    return Number.isNaN(memory.rssKiB) || Number.isNaN(memory.pssKiB) ? undefined : memory;
  } catch {
    return undefined;
  }
}

/**
 * The stack's processes: the supervisor and all its descendants, each in the group of the nearest ancestor that
 * processes.json names (a worker, `postgres` with its server and sessions, `temporal`, the gateway).
 */
export function stackProcesses(
  state: StackState,
  table = processTable(),
): { pid: number; group: string; command: string; entry: ProcessEntry }[] {
  const named = new Map<number, string>([[state.supervisorPid, 'supervisor']]);
  for (const [name, record] of Object.entries(state.processes)) if (record.pid) named.set(record.pid, name);
  const children = new Map<number, number[]>();
  for (const [pid, { ppid }] of table) children.set(ppid, [...(children.get(ppid) ?? []), pid]);
  const found: { pid: number; group: string; command: string; entry: ProcessEntry }[] = [];
  const visit = (pid: number, group: string) => {
    const own = named.get(pid) ?? group;
    const entry = table.get(pid);
    if (!entry) return;
    found.push({ pid, group: own, command: entry.command, entry });
    for (const child of children.get(pid) ?? []) visit(child, own);
  };
  visit(state.supervisorPid, 'supervisor');
  return found;
}

const TICKS_PER_SECOND = 100; // USER_HZ on Linux

/**
 * CPU seconds used so far per group: each live process's own time plus what it has reaped of its exited children
 * (PostgreSQL's ended sessions live on in the postmaster's). Differences between two readings are what the group
 * used in between, as long as no supervised process was restarted meanwhile.
 */
export function cpuSecondsByGroup(state: StackState): Map<string, number> {
  const seconds = new Map<string, number>();
  for (const { group, entry } of stackProcesses(state)) {
    seconds.set(group, (seconds.get(group) ?? 0) + (entry.ticks + entry.reapedTicks) / TICKS_PER_SECOND);
  }
  return seconds;
}

/** One reading of the whole tree's memory. */
export function sampleStack(state: StackState, at = 0): StackSample {
  const processes: ProcessMemory[] = [];
  for (const { pid, group, command } of stackProcesses(state)) {
    const memory = readSmapsRollup(pid);
    if (memory) processes.push({ pid, group, command, ...memory });
  }
  return {
    at,
    rssKiB: processes.reduce((sum, proc) => sum + proc.rssKiB, 0),
    pssKiB: processes.reduce((sum, proc) => sum + proc.pssKiB, 0),
    processes,
  };
}

/** Sums a sample's processes by group (`order-worker`, `postgres`, …), largest PSS first. */
export function byGroup(sample: StackSample): ({ group: string; processes: number } & MemoryFields)[] {
  const groups = new Map<string, { group: string; processes: number } & MemoryFields>();
  for (const proc of sample.processes) {
    const entry = groups.get(proc.group) ?? {
      group: proc.group,
      processes: 0,
      rssKiB: 0,
      pssKiB: 0,
      pssAnonKiB: 0,
      pssFileKiB: 0,
      pssShmemKiB: 0,
    };
    entry.processes += 1;
    entry.rssKiB += proc.rssKiB;
    entry.pssKiB += proc.pssKiB;
    entry.pssAnonKiB += proc.pssAnonKiB;
    entry.pssFileKiB += proc.pssFileKiB;
    entry.pssShmemKiB += proc.pssShmemKiB;
    groups.set(proc.group, entry);
  }
  return [...groups.values()].sort((a, b) => b.pssKiB - a.pssKiB);
}

/**
 * Samples the stack every `intervalMs` (re-reading processes.json each time, so a restarted process is followed).
 * `mark` tags the samples from then on (the benchmark's phase) so each phase's peak and slope can be told apart.
 */
export class MemorySampler {
  readonly samples: (StackSample & { tag: string; ordersDone: number })[] = [];
  private timer?: NodeJS.Timeout;
  private readonly started = Date.now();
  private tag = 'setup';
  private ordersDone = 0;

  constructor(
    private readonly stateFile: string,
    private readonly intervalMs = 1000,
  ) {}

  start(): this {
    this.sample();
    this.timer = setInterval(() => this.sample(), this.intervalMs);
    return this;
  }

  /** Tags the samples from now on; takes none itself (a sample of the tree costs CPU of its own). */
  mark(tag: string): void {
    this.tag = tag;
  }

  /** The bench's completed orders so far, recorded with each sample (for "PSS after 1,000 orders"). */
  countOrders(done: number): void {
    this.ordersDone = done;
  }

  stop(): void {
    clearInterval(this.timer);
    this.sample();
  }

  private sample(): void {
    try {
      const sample = sampleStack(readStackState(this.stateFile), Date.now() - this.started);
      this.samples.push({ ...sample, tag: this.tag, ordersDone: this.ordersDone });
    } catch {
      // processes.json is replaced atomically, but may vanish while the stack stops; the next tick retries
    }
  }

  /** The sample with the highest total PSS (among those tagged `tag`, when given). */
  peak(tag?: string): (StackSample & { tag: string }) | undefined {
    const samples = tag ? this.samples.filter((sample) => sample.tag === tag) : this.samples;
    return samples.reduce<(typeof samples)[number] | undefined>(
      (best, sample) => (!best || sample.pssKiB > best.pssKiB ? sample : best),
      undefined,
    );
  }

  peakRss(): number {
    return Math.max(0, ...this.samples.map((sample) => sample.rssKiB));
  }
}

/**
 * The chaos: SIGKILLs one of the stack's processes every few seconds, picked from the supervisor's
 * processes.json. The first kills are the gateway, Temporal and PostgreSQL (in a seeded order), so that even a
 * short run loses each of them once; then every worker once, then anything.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import type { Random } from './random';
import { PROCESS_NAMES, type ProcessName, type ProcessesFile } from './stack';

const CRITICAL: ProcessName[] = ['gateway', 'temporal', 'postgres'];
const WORKERS: ProcessName[] = ['order-worker', 'item-worker', 'coupon-worker', 'payment-worker'];
/** A target being restarted is waited for this long before the killer moves on to the next one. */
const TARGET_WAIT_MS = 20_000;

export interface KillRecord {
  at: string;
  /** Milliseconds since the workload started. */
  sinceStartMs: number;
  name: ProcessName;
  pid: number;
}

/** The kill targets in order: the three critical ones, the four workers, then seeded bags of all seven. */
export function killTargets(random: Random): () => ProcessName {
  const queue: ProcessName[] = [...random.shuffle(CRITICAL), ...random.shuffle(WORKERS)];
  return () => {
    if (queue.length === 0) queue.push(...random.shuffle(PROCESS_NAMES));
    return queue.shift()!;
  };
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/** The pid that really is the named process: for postgres the server itself, not its node wrapper. */
export function targetPid(file: ProcessesFile | null, name: ProcessName): number | undefined {
  const entry = file?.processes[name];
  const pid = name === 'postgres' ? (entry?.postmasterPid ?? entry?.pid) : entry?.pid;
  return pid ?? undefined;
}

export interface KillerOptions {
  everyMs: number;
  random: Random;
  readProcesses: () => ProcessesFile | null;
  startedAt: number;
  log: (line: string) => void;
}

export interface Killer {
  kills: KillRecord[];
  /** Stops killing; resolves once a kill in progress is done. */
  stop(): Promise<void>;
}

export function startKiller(options: KillerOptions): Killer {
  const kills: KillRecord[] = [];
  const stopping = new AbortController();
  const nextTarget = killTargets(options.random);
  const pause = (ms: number) =>
    sleep(ms, undefined, { signal: stopping.signal }).then(
      () => true,
      () => false,
    );

  /** Kills the target once the supervisor shows it alive; false when it never did within TARGET_WAIT_MS. */
  async function killOne(name: ProcessName): Promise<boolean> {
    const deadline = Date.now() + TARGET_WAIT_MS;
    while (Date.now() < deadline && !stopping.signal.aborted) {
      const pid = targetPid(options.readProcesses(), name);
      if (pid && isAlive(pid)) {
        process.kill(pid, 'SIGKILL');
        const record = {
          at: new Date().toISOString(),
          sinceStartMs: Date.now() - options.startedAt,
          name,
          pid,
        };
        kills.push(record);
        options.log(`kill -9 ${name} (pid ${pid}) at +${(record.sinceStartMs / 1000).toFixed(1)} s`);
        return true;
      }
      if (!(await pause(250))) return false;
    }
    if (!stopping.signal.aborted) options.log(`skipped ${name}: not running for ${TARGET_WAIT_MS} ms`);
    return false;
  }

  const loop = (async () => {
    while (await pause(options.everyMs)) await killOne(nextTarget());
  })();

  return {
    kills,
    async stop() {
      stopping.abort();
      await loop;
    },
  };
}

/**
 * A small supervisor for the OS processes of `npm start`. A process that exits without being asked to (a
 * crash, a SIGKILL) is restarted with a capped exponential backoff while everything else keeps running; a
 * process that keeps crashing stops the whole stack, because restarting it forever would only hide the fault.
 * Only `stop()` (SIGINT/SIGTERM to the supervisor) stops processes on purpose: in reverse start order, SIGTERM
 * first, SIGKILL after a grace period. Each child runs in a process group of its own, so a terminal's Ctrl-C
 * reaches only the supervisor, and stopping a child also sweeps up whatever it spawned.
 *
 * The pids of the running processes are kept in a JSON state file, so tools (chaos tests) can find the real
 * processes by name.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { positiveInteger, readVariables, variable, type Variable } from '../../lib/config';
import { exitsWithin } from './process-exit';

export interface RestartPolicy {
  /** Delay before the first restart after a quiet period; doubled for each further crash. */
  initialBackoffMs: number;
  /** The backoff never grows beyond this. */
  maxBackoffMs: number;
  /** A run that lasted this long counts as healthy: the next crash starts the backoff from the beginning. */
  stableAfterMs: number;
  /** This many crashes of one process within `crashWindowMs` stop the whole stack. */
  crashLimit: number;
  crashWindowMs: number;
  /**
   * How long a process may take to exit after SIGTERM before it is killed: by default longer than a worker's
   * drain (WORKER_SHUTDOWN_GRACE_SECONDS, 8 s, plus 3 s) and the gateway's (10 s).
   */
  stopGraceMs: number;
  /** How long a process may take to become ready the first time before the start fails. */
  readyTimeoutMs: number;
}

export const DEFAULT_RESTART_POLICY: RestartPolicy = {
  initialBackoffMs: 250,
  maxBackoffMs: 5_000,
  stableAfterMs: 30_000,
  crashLimit: 5,
  crashWindowMs: 60_000,
  stopGraceMs: 15_000,
  readyTimeoutMs: 120_000,
};

const POLICY_MEANINGS: Record<keyof RestartPolicy, [variable: string, meaning: string]> = {
  initialBackoffMs: ['SUPERVISOR_INITIAL_BACKOFF_MS', 'first restart delay of a crashed process; doubled per crash'],
  maxBackoffMs: ['SUPERVISOR_MAX_BACKOFF_MS', 'the restart delay never grows beyond this'],
  stableAfterMs: ['SUPERVISOR_STABLE_AFTER_MS', 'a run this long counts as healthy and resets the backoff'],
  crashLimit: ['SUPERVISOR_CRASH_LIMIT', 'a process that dies this often within the crash window stops the stack'],
  crashWindowMs: ['SUPERVISOR_CRASH_WINDOW_MS', 'the window of `SUPERVISOR_CRASH_LIMIT`'],
  stopGraceMs: ['SUPERVISOR_STOP_GRACE_MS', 'how long a process may take to exit after SIGTERM before it is killed'],
  readyTimeoutMs: ['SUPERVISOR_READY_TIMEOUT_MS', 'how long a process may take to become ready at the first start'],
};

/** Environment variables that override the policy (tests use shorter or stricter numbers). */
export const POLICY_VARIABLES = Object.fromEntries(
  (Object.entries(POLICY_MEANINGS) as [keyof RestartPolicy, [string, string]][]).map(([key, [name, meaning]]) => [
    key,
    variable(name, positiveInteger(DEFAULT_RESTART_POLICY[key]), `\`${DEFAULT_RESTART_POLICY[key]}\``, meaning),
  ]),
) as { [K in keyof RestartPolicy]: Variable<number> };

export function restartPolicyFromEnv(env: NodeJS.ProcessEnv = process.env): RestartPolicy {
  return readVariables(POLICY_VARIABLES, env);
}

export interface ProcessSpec {
  /** The name in logs and in the state file. */
  name: string;
  command: string;
  args: readonly string[];
  env?: NodeJS.ProcessEnv;
  cwd?: string;
  /** Ready once an output line matches. */
  readyLine?: RegExp;
  /** Ready once this answers true (polled). Without readyLine or readyProbe, a process is ready once spawned. */
  readyProbe?: () => Promise<boolean>;
  /** Facts read from an output line, recorded with the process in the state file (e.g. the postmaster pid). */
  recordFromLine?: (line: string) => Record<string, number> | undefined;
}

export interface ProcessRecord {
  /** Null while the process waits to be restarted. */
  pid: number | null;
  restarts: number;
  startedAt: string;
  [fact: string]: number | string | null;
}

export interface SupervisorState {
  supervisorPid: number;
  updatedAt: string;
  processes: Record<string, ProcessRecord>;
}

export interface SupervisorOutcome {
  exitCode: number;
  reason: string;
}

export interface SupervisorOptions {
  policy?: RestartPolicy;
  /** Where the state (pids) is kept; none when undefined. Removed once everything stopped. */
  stateFile?: string;
  /** Each output line of a child. */
  output?: (name: string, line: string) => void;
  /** The supervisor's own messages. */
  log?: (line: string) => void;
}

const PROBE_INTERVAL_MS = 250;

interface Deferred<T> {
  promise: Promise<T>;
  resolve(value: T): void;
  reject(error: Error): void;
}

function deferred<T>(): Deferred<T> {
  let resolve!: (value: T) => void;
  let reject!: (error: Error) => void;
  const promise = new Promise<T>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  return { promise, resolve, reject };
}

/** One supervised process across all of its runs. */
interface Supervised {
  spec: ProcessSpec;
  child?: ChildProcess;
  /** Resolves when the current run's process has exited. */
  exited?: Promise<void>;
  restarts: number;
  /** Crashes since the last run that stayed up `stableAfterMs`; sets the backoff. */
  quickCrashes: number;
  crashTimes: number[];
  startedAt: Date;
  facts: Record<string, number>;
  everReady: boolean;
  firstReady: Deferred<void>;
  restartTimer?: NodeJS.Timeout;
}

/** Calls `write` for every complete line of a stream, and for the unfinished last one when it ends. */
function forEachLine(stream: NodeJS.ReadableStream | null, write: (line: string) => void): void {
  let buffer = '';
  stream?.on('data', (chunk: Buffer) => {
    buffer += chunk.toString();
    const lines = buffer.split('\n');
    buffer = lines.pop() ?? '';
    for (const line of lines) write(line);
  });
  stream?.on('end', () => buffer && write(buffer));
}

function describeExit(code: number | null, signal: NodeJS.Signals | null): string {
  return signal ?? `code ${code}`;
}

/** Signals a whole process group; a group that is already gone is not an error. */
function signalGroup(pid: number | undefined, signal: NodeJS.Signals): void {
  if (pid === undefined) return;
  try {
    process.kill(-pid, signal);
  } catch {
    // ESRCH: nothing left in the group.
  }
}

export class Supervisor {
  private readonly policy: RestartPolicy;
  private readonly processes: Supervised[] = [];
  private readonly outcome = deferred<SupervisorOutcome>();
  private stopPromise?: Promise<SupervisorOutcome>;

  /** Resolves once everything stopped: after stop(), or after a crash loop made the supervisor give up. */
  readonly finished: Promise<SupervisorOutcome> = this.outcome.promise;

  constructor(private readonly options: SupervisorOptions = {}) {
    this.policy = options.policy ?? DEFAULT_RESTART_POLICY;
  }

  /** True from the moment the stack starts stopping: exits are expected then, and nothing restarts. */
  get stopping(): boolean {
    return this.stopPromise !== undefined;
  }

  /** The current pid of a supervised process, if it is running. */
  pid(name: string): number | undefined {
    const child = this.processes.find((entry) => entry.spec.name === name)?.child;
    return child && child.exitCode === null && child.signalCode === null ? child.pid : undefined;
  }

  /**
   * Starts a process and keeps it running. Resolves once it is ready for the first time (a crash before that
   * is restarted like any other); rejects if it is not ready within the policy's time or the stack stops first.
   */
  async start(spec: ProcessSpec): Promise<void> {
    if (this.stopping) throw new Error(`not starting ${spec.name}: the supervisor is stopping`);
    if (this.processes.some((entry) => entry.spec.name === spec.name)) throw new Error(`${spec.name} runs already`);
    const entry: Supervised = {
      spec,
      restarts: 0,
      quickCrashes: 0,
      crashTimes: [],
      startedAt: new Date(),
      facts: {},
      everReady: false,
      firstReady: deferred<void>(),
    };
    // Nobody waits for the first readiness once start() gave up; its rejection must not end the process.
    entry.firstReady.promise.catch(() => {});
    this.processes.push(entry);
    this.launch(entry);
    const timer = setTimeout(
      () => entry.firstReady.reject(new Error(`${spec.name} was not ready within ${this.policy.readyTimeoutMs} ms`)),
      this.policy.readyTimeoutMs,
    );
    try {
      await entry.firstReady.promise;
    } finally {
      clearTimeout(timer);
    }
  }

  /** Stops every process in reverse start order; the same promise for every caller. */
  stop(reason = 'asked to stop', exitCode = 0): Promise<SupervisorOutcome> {
    this.stopPromise ??= this.stopAll({ exitCode, reason });
    return this.stopPromise;
  }

  /** Last resort for an exiting supervisor (`process.on('exit')`): SIGKILL every process group at once. */
  killAllNow(): void {
    for (const entry of this.processes) signalGroup(entry.child?.pid, 'SIGKILL');
  }

  private log(line: string): void {
    (this.options.log ?? ((text: string) => process.stdout.write(`supervisor| ${text}\n`)))(line);
  }

  private launch(entry: Supervised): void {
    const { spec } = entry;
    const child = spawn(spec.command, spec.args, {
      cwd: spec.cwd,
      env: spec.env ?? process.env,
      stdio: ['ignore', 'pipe', 'pipe'],
      // A process group of its own: Ctrl-C reaches only the supervisor, and a stop reaches the whole group.
      detached: true,
    });
    entry.child = child;
    entry.startedAt = new Date();
    entry.facts = {};
    let ready = !spec.readyLine && !spec.readyProbe;
    const markReady = () => {
      if (ready) return;
      ready = true;
      this.onReady(entry);
    };
    const onLine = (line: string) => {
      this.options.output?.(spec.name, line);
      if (spec.readyLine?.test(line)) markReady();
      const facts = spec.recordFromLine?.(line);
      if (facts) {
        Object.assign(entry.facts, facts);
        this.writeState();
      }
    };
    forEachLine(child.stdout, onLine);
    forEachLine(child.stderr, onLine);

    let running = true;
    entry.exited = new Promise<void>((resolve) => {
      const onExit = (code: number | null, signal: NodeJS.Signals | null) => {
        if (!running) return;
        running = false;
        resolve();
        this.onExit(entry, code, signal);
      };
      child.once('exit', onExit);
      // A command that cannot be spawned at all (ENOENT) emits only 'error'.
      child.once('error', (error) => {
        this.log(`${spec.name}: ${error.message}`);
        onExit(child.exitCode, child.signalCode);
      });
    });
    if (ready) this.onReady(entry);
    else if (spec.readyProbe) void this.probeUntilReady(spec.readyProbe, () => running && !ready, markReady);
    this.writeState();
  }

  private async probeUntilReady(probe: () => Promise<boolean>, waiting: () => boolean, onReady: () => void) {
    while (waiting()) {
      if (await probe().catch(() => false)) {
        if (waiting()) onReady();
        return;
      }
      await sleep(PROBE_INTERVAL_MS);
    }
  }

  private onReady(entry: Supervised): void {
    if (entry.everReady) this.log(`${entry.spec.name} is back (restart ${entry.restarts})`);
    entry.everReady = true;
    entry.firstReady.resolve();
  }

  private onExit(entry: Supervised, code: number | null, signal: NodeJS.Signals | null): void {
    if (this.stopping) return;
    const { name } = entry.spec;
    const now = Date.now();
    entry.crashTimes = [...entry.crashTimes.filter((time) => now - time < this.policy.crashWindowMs), now];
    if (entry.crashTimes.length >= this.policy.crashLimit) {
      const reason =
        `${name} exited (${describeExit(code, signal)}) ${entry.crashTimes.length} times within ` +
        `${this.policy.crashWindowMs / 1000} s; stopping everything`;
      this.log(reason);
      void this.stop(reason, 1);
      return;
    }
    if (now - entry.startedAt.getTime() >= this.policy.stableAfterMs) entry.quickCrashes = 0;
    entry.quickCrashes += 1;
    const delay = Math.min(this.policy.maxBackoffMs, this.policy.initialBackoffMs * 2 ** (entry.quickCrashes - 1));
    entry.restarts += 1;
    this.log(`${name} exited (${describeExit(code, signal)}); restarting in ${delay} ms (restart ${entry.restarts})`);
    this.writeState();
    entry.restartTimer = setTimeout(() => {
      entry.restartTimer = undefined;
      if (!this.stopping) this.launch(entry);
    }, delay);
  }

  private async stopAll(outcome: SupervisorOutcome): Promise<SupervisorOutcome> {
    for (const entry of this.processes) {
      clearTimeout(entry.restartTimer);
      entry.firstReady.reject(new Error(`${entry.spec.name}: the supervisor stopped (${outcome.reason})`));
    }
    for (const entry of [...this.processes].reverse()) await this.stopOne(entry);
    if (this.options.stateFile) rmSync(this.options.stateFile, { force: true });
    this.outcome.resolve(outcome);
    return outcome;
  }

  /** SIGTERM to the process, SIGKILL to its group after the grace period, and a final sweep of the group. */
  private async stopOne(entry: Supervised): Promise<void> {
    const { child, exited } = entry;
    if (!child || !exited) return;
    if (child.exitCode === null && child.signalCode === null) {
      child.kill('SIGTERM');
      const stopped = await exitsWithin(exited, this.policy.stopGraceMs);
      if (!stopped) {
        this.log(`${entry.spec.name} did not stop within ${this.policy.stopGraceMs} ms; killing it`);
        signalGroup(child.pid, 'SIGKILL');
        await exited;
      }
    }
    // Whatever the process spawned and left behind in its group.
    signalGroup(child.pid, 'SIGKILL');
  }

  private writeState(): void {
    const file = this.options.stateFile;
    if (!file || this.stopping) return;
    const state: SupervisorState = {
      supervisorPid: process.pid,
      updatedAt: new Date().toISOString(),
      processes: Object.fromEntries(
        this.processes.map((entry) => {
          const running = entry.child && entry.child.exitCode === null && entry.child.signalCode === null;
          const record: ProcessRecord = {
            pid: running ? (entry.child?.pid ?? null) : null,
            restarts: entry.restarts,
            startedAt: entry.startedAt.toISOString(),
            ...entry.facts,
          };
          return [entry.spec.name, record];
        }),
      ),
    };
    // Written whole and renamed into place, so a reader never sees half a file.
    mkdirSync(path.dirname(file), { recursive: true });
    const temporary = `${file}.${process.pid}.tmp`;
    writeFileSync(temporary, JSON.stringify(state, null, 2) + '\n');
    renameSync(temporary, file);
  }
}

/** Reads a supervisor's state file (for tools and tests). */
export function readSupervisorState(file: string): SupervisorState {
  return JSON.parse(readFileSync(file, 'utf8')) as SupervisorState;
}

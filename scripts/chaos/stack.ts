/**
 * A private copy of the whole system as real OS processes: `npm start`'s supervisor (scripts/start.ts) on free
 * ports with a fresh data folder. It knows every process the supervisor ever started (walking /proc, since the
 * supervisor's children run in process groups of their own and a killed parent's children get re-parented), so
 * that stopping it never leaves one behind, whatever was killed or restarted meanwhile.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createWriteStream, mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { randomBytes } from 'node:crypto';
import {
  SERVICES,
  databaseUrlVariable,
  embeddedDatabaseUrl,
  loadPayloadKeys,
  type ServiceName,
} from '../../lib/config';
import { newKeyEntry, type PayloadKeys } from '../../lib/payload-codec';
import { ROOT } from '../lib/migrate';
import { freeObservabilityPorts, freePort } from '../lib/ports';
import { exitsWithin } from '../lib/process-exit';

/** The processes the supervisor runs, by the names it gives them in processes.json. */
export const PROCESS_NAMES = [
  'postgres',
  'temporal',
  'order-worker',
  'item-worker',
  'coupon-worker',
  'payment-worker',
  'gateway',
] as const;
export type ProcessName = (typeof PROCESS_NAMES)[number];

export interface ProcessEntry {
  /** Null while the process is down (being restarted). */
  pid: number | null;
  restarts: number;
  startedAt: string;
  /** Only for postgres: the real PostgreSQL server, whose parent is a node wrapper. */
  postmasterPid?: number;
}

/** `${DATA_DIR}/processes.json`, written by the supervisor each time a process starts or restarts. */
export interface ProcessesFile {
  supervisorPid: number;
  processes: Partial<Record<ProcessName, ProcessEntry>>;
}

const READY_TIMEOUT_MS = 180_000;
const STOP_GRACE_MS = 45_000;
const TRACK_EVERY_MS = 1_000;
const LOG_TAIL_LINES = 80;

export interface Stack {
  dataDir: string;
  baseUrl: string;
  temporalAddress: string;
  /** The stack's payload keys, to read its workflows as its own processes do. */
  payloadKeys: PayloadKeys;
  postgresPort: number;
  databaseUrl(service: ServiceName): string;
  /** The supervisor's view of its processes; null until it wrote one (or when it never does). */
  readProcesses(): ProcessesFile | null;
  /** Set once the supervisor itself has exited (it should not, before stop). */
  exitedEarly(): string | null;
  /** The last lines the stack printed, for a failure report. */
  logTail(): string[];
  /** SIGTERM the supervisor, SIGKILL it and every process it ever started after a grace; remove the data folder. */
  stop(): Promise<void>;
  /** Last resort on process exit: SIGKILL everything synchronously. */
  killAllNow(): void;
}

export interface StackOptions {
  keep: boolean;
  /** Echo the stack's own output to stderr. */
  verbose: boolean;
  log: (line: string) => void;
  /** Gives up waiting for the stack to become healthy (Ctrl-C). */
  cancel: AbortSignal;
}

async function distinctFreePorts(count: number): Promise<number[]> {
  const ports = new Set<number>();
  while (ports.size < count) ports.add(await freePort());
  return [...ports];
}

interface ProcStat {
  ppid: number;
  /** Clock ticks since boot: tells a process from a later one that reuses its pid. */
  startTime: string;
}

function readStat(pid: number): ProcStat | null {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // The command name (field 2) may hold spaces and parentheses: parse after its closing one.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return { ppid: Number(fields[1]), startTime: fields[19]! };
  } catch {
    return null;
  }
}

/** Every live descendant of a process, by walking /proc once. */
function descendantsOf(root: number): Map<number, string> {
  const children = new Map<number, number[]>();
  const starts = new Map<number, string>();
  for (const entry of readdirSync('/proc')) {
    const pid = Number(entry);
    if (!Number.isInteger(pid)) continue;
    const stat = readStat(pid);
    if (!stat) continue;
    starts.set(pid, stat.startTime);
    children.set(stat.ppid, [...(children.get(stat.ppid) ?? []), pid]);
  }
  const found = new Map<number, string>();
  const queue = [...(children.get(root) ?? [])];
  while (queue.length > 0) {
    const pid = queue.pop()!;
    found.set(pid, starts.get(pid)!);
    queue.push(...(children.get(pid) ?? []));
  }
  return found;
}

function isSameProcess(pid: number, startTime: string): boolean {
  return readStat(pid)?.startTime === startTime;
}

/** Remembers each process by pid and start time, so it is killed at the end only if it is still that process. */
function processTracker() {
  const known = new Map<number, string>();
  const remember = (pid: number | undefined) => {
    if (!pid || known.has(pid)) return;
    const stat = readStat(pid);
    if (stat) known.set(pid, stat.startTime);
  };
  return {
    remember,
    /** The process and its descendants. */
    rememberTree(root: number) {
      remember(root);
      for (const [pid, startTime] of descendantsOf(root)) if (!known.has(pid)) known.set(pid, startTime);
    },
    survivors(): number[] {
      return [...known].filter(([pid, startTime]) => isSameProcess(pid, startTime)).map(([pid]) => pid);
    },
  };
}

function describeProcess(pid: number): string {
  try {
    const command = readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').filter(Boolean).slice(0, 3).join(' ');
    return `${pid} (${command.slice(0, 80)})`;
  } catch {
    return String(pid);
  }
}

function signal(pid: number, name: NodeJS.Signals): void {
  try {
    process.kill(pid, name);
  } catch {
    // already gone
  }
}

async function waitForHealth(
  baseUrl: string,
  child: ChildProcess,
  deadline: number,
  cancel: AbortSignal,
): Promise<void> {
  while (Date.now() < deadline) {
    cancel.throwIfAborted();
    if (child.exitCode !== null || child.signalCode !== null) {
      throw new Error(`the stack exited (${child.signalCode ?? child.exitCode}) before the gateway was healthy`);
    }
    const healthy = await fetch(`${baseUrl}/health`, { signal: AbortSignal.timeout(2_000) }).then(
      (response) => response.ok,
      () => false,
    );
    if (healthy) return;
    await sleep(500);
  }
  throw new Error(`the gateway at ${baseUrl} was not healthy within ${READY_TIMEOUT_MS} ms`);
}

/** The environment of the private stack: only its own ports and folder, nothing inherited that points elsewhere. */
function stackEnvironment(ports: number[], dataDir: string, observability: Record<string, string>): NodeJS.ProcessEnv {
  const [gatewayPort, temporalPort, uiPort, postgresPort] = ports;
  const env: NodeJS.ProcessEnv = { ...process.env };
  for (const name of [
    'TEMPORAL_ADDRESS',
    'TEMPORAL_UI_URL',
    'NODE_ENV',
    'JWT_SECRET',
    'PAYLOAD_ENCRYPTION_KEYS',
    'PAYLOAD_ENCRYPTION_KEY_ID',
  ]) {
    delete env[name];
  }
  for (const service of SERVICES) delete env[databaseUrlVariable(service)];
  return {
    ...env,
    PORT: String(gatewayPort),
    TEMPORAL_PORT: String(temporalPort),
    TEMPORAL_UI_PORT: String(uiPort),
    EMBEDDED_POSTGRES_PORT: String(postgresPort),
    // Beside other stacks on one machine: health and metrics listeners on free ports, not their fixed defaults.
    // (With the health ports off, npm start would wait for each worker's "polling" line, which LOG_LEVEL=warn
    // below hides.)
    ...observability,
    DATA_DIR: dataDir,
    // One secret for every gateway incarnation, so tokens stay valid across its restarts.
    JWT_SECRET: randomBytes(48).toString('base64'),
    // Its own payload key, so the snapshot reads the stack's workflows as its processes encrypt them.
    PAYLOAD_ENCRYPTION_KEYS: newKeyEntry('chaos'),
    // The workload logs in a handful of customers; the limit is not under test here.
    LOGIN_RATE_LIMIT: '10000',
    // Request logs of every poll would cost this 2-core machine more than they tell.
    LOG_LEVEL: 'warn',
  };
}

export async function startStack(options: StackOptions): Promise<Stack> {
  const dataDir = mkdtempSync(path.join(os.tmpdir(), 'order-saga-chaos-'));
  const ports = await distinctFreePorts(4);
  const [gatewayPort, temporalPort, , postgresPort] = ports as [number, number, number, number];
  const env = stackEnvironment(ports, dataDir, await freeObservabilityPorts());
  const logFile = path.join(dataDir, 'stack.log');
  const logStream = createWriteStream(logFile);
  const tail: string[] = [];
  const tracker = processTracker();
  let stopped = false;
  /** Set once stop() has done everything, data folder included. */
  let finished = false;

  const child = spawn(process.execPath, ['--import', 'tsx', path.join(ROOT, 'scripts', 'start.ts')], {
    cwd: ROOT,
    env,
    stdio: ['ignore', 'pipe', 'pipe'],
    // Its own process group: a terminal's Ctrl-C reaches only the chaos tool, which stops the stack in order.
    detached: true,
  });
  tracker.remember(child.pid);
  const onOutput = (chunk: Buffer) => {
    logStream.write(chunk);
    for (const line of chunk.toString().split('\n').filter(Boolean)) {
      tail.push(line);
      if (tail.length > LOG_TAIL_LINES) tail.shift();
      if (options.verbose) process.stderr.write(`  | ${line}\n`);
    }
  };
  child.stdout?.on('data', onOutput);
  child.stderr?.on('data', onOutput);
  let exitNote: string | null = null;
  const exited = new Promise<void>((resolve) =>
    child.once('exit', (code, name) => {
      if (!stopped) exitNote = `the stack's supervisor exited unexpectedly (${name ?? code})`;
      resolve();
    }),
  );

  function readProcesses(): ProcessesFile | null {
    try {
      return JSON.parse(readFileSync(path.join(dataDir, 'processes.json'), 'utf8')) as ProcessesFile;
    } catch {
      return null;
    }
  }

  /**
   * Remembers the supervisor's whole tree (its children and theirs: the PostgreSQL server and its backends), only
   * while it runs: once it is gone, its pid may already belong to an unrelated process.
   */
  function track(): void {
    if (child.pid && child.exitCode === null && child.signalCode === null) tracker.rememberTree(child.pid);
  }
  const tracking = setInterval(track, TRACK_EVERY_MS);

  const killAllNow = () => {
    track();
    for (const pid of tracker.survivors()) signal(pid, 'SIGKILL');
  };
  // Never leave a process (or, unless kept, the data folder) behind, whatever ends this one.
  process.on('exit', () => {
    killAllNow();
    if (!finished && !options.keep) {
      // Killed processes may still write for a moment: wait (synchronously, this is an exit hook) up to 2 s.
      const pause = new Int32Array(new SharedArrayBuffer(4));
      for (let waited = 0; waited < 40 && tracker.survivors().length > 0; waited += 1) Atomics.wait(pause, 0, 0, 50);
      try {
        rmSync(dataDir, { recursive: true, force: true, maxRetries: 3 });
      } catch {
        // a dying process may still hold a file; the folder is in the system's temp folder anyway
      }
    }
  });

  async function stop(): Promise<void> {
    if (stopped) return;
    stopped = true;
    clearInterval(tracking);
    track();
    if (child.exitCode === null && child.signalCode === null) {
      signal(child.pid!, 'SIGTERM');
      const inTime = await exitsWithin(exited, STOP_GRACE_MS);
      if (!inTime) options.log(`the stack did not stop within ${STOP_GRACE_MS} ms; killing it`);
    }
    // A server told to stop by its parent (PostgreSQL's postmaster) may still be shutting down: give it a moment.
    for (let waited = 0; waited < 50 && tracker.survivors().length > 0; waited += 1) await sleep(100);
    const survivors = tracker.survivors();
    if (survivors.length > 0) {
      options.log(`killing ${survivors.length} leftover process(es): ${survivors.map(describeProcess).join(', ')}`);
    }
    for (const pid of survivors) signal(pid, 'SIGKILL');
    for (let waited = 0; waited < 50 && tracker.survivors().length > 0; waited += 1) await sleep(100);
    await new Promise<void>((resolve) => logStream.end(resolve));
    if (options.keep) options.log(`data kept in ${dataDir} (stack log: ${logFile})`);
    else rmSync(dataDir, { recursive: true, force: true });
    finished = true;
  }

  const stack: Stack = {
    dataDir,
    baseUrl: `http://127.0.0.1:${gatewayPort}`,
    temporalAddress: `127.0.0.1:${temporalPort}`,
    payloadKeys: loadPayloadKeys(env),
    postgresPort,
    databaseUrl: (service) => embeddedDatabaseUrl(service, postgresPort),
    readProcesses,
    exitedEarly: () => exitNote,
    logTail: () => [...tail],
    stop,
    killAllNow,
  };
  try {
    await waitForHealth(stack.baseUrl, child, Date.now() + READY_TIMEOUT_MS, options.cancel);
  } catch (error) {
    const lines = [...tail];
    await stop();
    throw new Error(`${error instanceof Error ? error.message : String(error)}; the stack said:\n${lines.join('\n')}`);
  }
  track();
  return stack;
}

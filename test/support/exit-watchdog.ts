/**
 * Makes a handle that outlives the tests fail the Jest run instead of silently keeping it alive. Jest runs the
 * test files in its own process (one worker: in band), so a server, socket, child process or timer a test forgot
 * to close is still there after the global teardown, and Node does not exit while one is. forceExit would hide
 * that; this watchdog names what is left and exits non-zero.
 *
 * The watchdog timer is unref'd: when everything is closed, Node exits at once and the watchdog never fires.
 */
import { ChildProcess } from 'node:child_process';
import net from 'node:net';
import path from 'node:path';

/**
 * How long Jest may stay alive after the global teardown. It only prints its summary in that time; anything
 * longer is something that was not closed.
 */
export const EXIT_GRACE_MS = 5_000;

type Timer = ReturnType<typeof setInterval>;

/**
 * Live interval timers and where they were created; intervals never end by themselves, so each is worth naming.
 * Kept on the process's global object: the global setup and teardown may each load their own copy of this module.
 */
const INTERVALS = Symbol.for('order-saga.test.intervals');
const intervals: Map<Timer, string> = ((globalThis as Record<symbol, unknown>)[INTERVALS] ??= new Map()) as Map<
  Timer,
  string
>;

/**
 * The file:line:column of the first stack frame outside this file and outside node_modules (the code that asked
 * for the timer), relative to the working directory.
 */
function creationSite(): string {
  const frames = (new Error().stack ?? '')
    .split('\n')
    .filter((frame) => frame.includes(' at ') && !frame.includes(__filename));
  const caller = frames.find((frame) => !frame.includes('node_modules')) ?? frames[0];
  if (!caller) return 'an unknown place';
  const location = /\((.*)\)$/.exec(caller)?.[1] ?? caller.trim().replace(/^at /, '');
  return path.relative(process.cwd(), location);
}

/** Forgets intervals that were cleared, so the map holds only live ones. */
function forgetClearedIntervals(): void {
  for (const timer of intervals.keys()) {
    if ((timer as unknown as { _destroyed?: boolean })._destroyed) intervals.delete(timer);
  }
}

/**
 * Records where each setInterval is created. Called from the global setup, in Jest's own process, before any
 * test environment exists: Jest's node environment reads the timer functions from this process's globals, so
 * the test files (and the modules they load) get the recording one.
 */
export function recordIntervals(): void {
  const original = globalThis.setInterval;
  if ((original as { recordsCreation?: boolean }).recordsCreation) return;
  const recording = ((...args: Parameters<typeof setInterval>) => {
    forgetClearedIntervals();
    const timer = original(...args);
    intervals.set(timer, creationSite());
    return timer;
  }) as typeof setInterval;
  Object.assign(recording, { recordsCreation: true });
  globalThis.setInterval = recording;
}

function describeAddress(address: ReturnType<net.Server['address']>): string {
  if (address === null) return 'an unknown address';
  return typeof address === 'string' ? address : `${address.address}:${address.port}`;
}

/** One line for a handle Node reports as keeping the process alive; undefined for the process's own stdio. */
function describeHandle(handle: unknown): string | undefined {
  if (handle === process.stdin || handle === process.stdout || handle === process.stderr) return undefined;
  if (handle instanceof ChildProcess) return `child process ${handle.pid}: ${handle.spawnargs.join(' ')}`;
  if (handle instanceof net.Server) return `server listening on ${describeAddress(handle.address())}`;
  if (handle instanceof net.Socket) {
    if (handle.remoteAddress) return `socket to ${handle.remoteAddress}:${handle.remotePort}`;
    return `open socket or pipe (a child process's stdio, say)`;
  }
  return `${(handle as object)?.constructor?.name ?? typeof handle} handle`;
}

/** Node's own lists of what keeps the event loop busy; not public API, hence the narrow cast. */
const internals = process as unknown as { _getActiveHandles(): unknown[]; _getActiveRequests(): unknown[] };

/** What keeps this process alive right now, one line each; empty when nothing visible does. */
export function describeOpenHandles(): string[] {
  const lines = internals._getActiveHandles().flatMap((handle) => describeHandle(handle) ?? []);
  forgetClearedIntervals();
  const liveIntervals = [...intervals].filter(([timer]) => timer.hasRef());
  for (const [, site] of liveIntervals) lines.push(`setInterval created at ${site}`);
  const resources = process.getActiveResourcesInfo();
  const otherTimers = resources.filter((type) => type === 'Timeout').length - liveIntervals.length;
  if (otherTimers > 0) lines.push(`${otherTimers} timer(s) still scheduled (setTimeout, or setInterval from Node)`);
  const immediates = resources.filter((type) => type === 'Immediate').length;
  if (immediates > 0) lines.push(`${immediates} setImmediate callback(s)`);
  for (const request of internals._getActiveRequests()) {
    lines.push(`pending ${(request as object)?.constructor?.name ?? 'unknown'} request`);
  }
  return lines;
}

/** The failure message: what is open, or a pointer to what Node cannot list. */
export function openHandlesReport(waitedMs: number): string {
  const open = describeOpenHandles();
  const what =
    open.length > 0
      ? open.map((line) => `  - ${line}`).join('\n')
      : '  - nothing Node can list: a native addon (a Temporal Runtime, say) or a worker thread holds the event loop';
  return (
    `\nOPEN HANDLES: Jest is still running ${waitedMs / 1000} s after the global teardown. A test's afterAll ` +
    `(or the teardown) left these open:\n${what}\n` +
    'Close them where they are created; `npx jest --detectOpenHandles <file>` shows stacks for most of them.\n'
  );
}

/** The part of Jest's global config (the global teardown's first argument) that the watchdog reads. */
export interface JestRunMode {
  watch?: boolean;
  watchAll?: boolean;
}

/**
 * Called at the end of the global teardown: if Jest has not exited `graceMs` later, prints what keeps it alive
 * and exits with code 1, so the leak fails the run instead of hanging it (or being hidden by forceExit). Not in
 * watch mode, where Jest stays alive on purpose between runs.
 */
export function armExitWatchdog(graceMs = EXIT_GRACE_MS, mode: JestRunMode = {}): void {
  if (mode.watch || mode.watchAll) return;
  setTimeout(() => {
    process.stderr.write(openHandlesReport(graceMs));
    process.exit(1);
  }, graceMs).unref();
}

/**
 * The Supervisor of `npm start` with tiny real child processes (`node -e`) and real signals: a killed process
 * comes back after a growing backoff while the others keep running, a crash loop stops everything with exit
 * code 1, and a stop goes in reverse start order and leaves no process behind.
 */
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import {
  DEFAULT_RESTART_POLICY,
  Supervisor,
  readSupervisorState,
  restartPolicyFromEnv,
  type ProcessSpec,
  type RestartPolicy,
} from '../../scripts/lib/supervisor';
import { isRunning, kill, waitFor, waitUntilGone } from './os-processes';

/** Prints "up", says "bye" and exits on SIGTERM. */
const POLITE = `process.on('SIGTERM', () => { console.log('bye'); process.exit(0); }); setInterval(() => {}, 1000); console.log('up');`;
/** Starts a grandchild in its process group, then ignores SIGTERM. */
const STUBBORN = `
  const grandchild = require('node:child_process').spawn(process.execPath, ['-e', 'setInterval(() => {}, 1000)'], { stdio: 'ignore' });
  console.log('grandchild ' + grandchild.pid);
  process.on('SIGTERM', () => console.log('ignoring SIGTERM'));
  console.log('up');
  setInterval(() => {}, 1000);`;

const TEST_POLICY: RestartPolicy = {
  ...DEFAULT_RESTART_POLICY,
  initialBackoffMs: 100,
  maxBackoffMs: 400,
  stopGraceMs: 500,
  readyTimeoutMs: 10_000,
};

function nodeSpec(name: string, script: string, ready = true): ProcessSpec {
  return { name, command: process.execPath, args: ['-e', script], ...(ready ? { readyLine: /^up$/ } : {}) };
}

interface Harness {
  supervisor: Supervisor;
  /** Supervisor messages and child output lines (`name: line`), in the order they happened. */
  events: string[];
  stateFile: string;
  pidsSeen: Set<number>;
}

const harnesses: Harness[] = [];
let workDir: string;

beforeAll(() => {
  workDir = mkdtempSync(path.join(os.tmpdir(), 'supervisor-test-'));
});

afterAll(async () => {
  for (const { supervisor } of harnesses) await supervisor.stop();
  rmSync(workDir, { recursive: true, force: true });
});

function harness(policy: RestartPolicy = TEST_POLICY): Harness {
  const events: string[] = [];
  const stateFile = path.join(workDir, `processes-${harnesses.length}.json`);
  const pidsSeen = new Set<number>();
  const supervisor = new Supervisor({
    policy,
    stateFile,
    log: (line) => events.push(`supervisor: ${line}`),
    output: (name, line) => {
      events.push(`${name}: ${line}`);
      const grandchild = /^grandchild (\d+)$/.exec(line)?.[1];
      if (grandchild) pidsSeen.add(Number(grandchild));
    },
  });
  const created = { supervisor, events, stateFile, pidsSeen };
  harnesses.push(created);
  return created;
}

function currentPid(h: Harness, name: string): number {
  const pid = h.supervisor.pid(name);
  if (pid === undefined) throw new Error(`${name} is not running`);
  h.pidsSeen.add(pid);
  return pid;
}

test('when a process is SIGKILLed, then it is restarted with a doubling backoff, recorded in the state file, and the others keep running', async () => {
  const h = harness();
  await h.supervisor.start(nodeSpec('bystander', POLITE));
  await h.supervisor.start(nodeSpec('victim', POLITE));
  const bystander = currentPid(h, 'bystander');
  const first = currentPid(h, 'victim');
  expect(readSupervisorState(h.stateFile)).toEqual({
    supervisorPid: process.pid,
    updatedAt: expect.any(String),
    processes: {
      bystander: { pid: bystander, restarts: 0, startedAt: expect.any(String) },
      victim: { pid: first, restarts: 0, startedAt: expect.any(String) },
    },
  });

  const killedAt = Date.now();
  kill(first);
  const second = await waitFor('the victim to run again', () => {
    const pid = h.supervisor.pid('victim');
    return pid !== undefined && pid !== first && pid;
  });
  const firstDowntime = Date.now() - killedAt;
  h.pidsSeen.add(second);
  await waitFor('the restarted victim to be ready', () => h.events.includes('supervisor: victim is back (restart 1)'));

  kill(second);
  const secondKilledAt = Date.now();
  const third = await waitFor('the victim to run a third time', () => {
    const pid = h.supervisor.pid('victim');
    return pid !== undefined && pid !== second && pid;
  });
  const secondDowntime = Date.now() - secondKilledAt;
  h.pidsSeen.add(third);

  expect(h.events).toContain('supervisor: victim exited (SIGKILL); restarting in 100 ms (restart 1)');
  expect(h.events).toContain('supervisor: victim exited (SIGKILL); restarting in 200 ms (restart 2)');
  expect(firstDowntime).toBeGreaterThanOrEqual(100);
  expect(secondDowntime).toBeGreaterThanOrEqual(200);
  expect(currentPid(h, 'bystander')).toBe(bystander);
  const state = readSupervisorState(h.stateFile);
  expect(state.processes.victim).toEqual({ pid: third, restarts: 2, startedAt: expect.any(String) });
  expect(state.processes.bystander).toMatchObject({ pid: bystander, restarts: 0 });

  await expect(h.supervisor.stop()).resolves.toEqual({ exitCode: 0, reason: 'asked to stop' });
  expect(await waitUntilGone(h.pidsSeen)).toEqual([]);
  expect(existsSync(h.stateFile)).toBe(false);
});

test('when a process crashes 5 times within the window, then the supervisor stops everything with exit code 1', async () => {
  const h = harness({ ...TEST_POLICY, initialBackoffMs: 20 });
  await h.supervisor.start(nodeSpec('bystander', POLITE));
  const bystander = currentPid(h, 'bystander');
  await h.supervisor.start(nodeSpec('crasher', 'process.exit(3)', false));

  const outcome = await h.supervisor.finished;

  expect(outcome).toEqual({
    exitCode: 1,
    reason: 'crasher exited (code 3) 5 times within 60 s; stopping everything',
  });
  const restarts = h.events.filter((event) => event.startsWith('supervisor: crasher exited (code 3); restarting'));
  expect(restarts).toEqual([
    'supervisor: crasher exited (code 3); restarting in 20 ms (restart 1)',
    'supervisor: crasher exited (code 3); restarting in 40 ms (restart 2)',
    'supervisor: crasher exited (code 3); restarting in 80 ms (restart 3)',
    'supervisor: crasher exited (code 3); restarting in 160 ms (restart 4)',
  ]);
  expect(h.events).toContain('bystander: bye');
  expect(isRunning(bystander)).toBe(false);
  expect(h.supervisor.pid('crasher')).toBeUndefined();
});

test('when the supervisor stops, then it stops in reverse start order, kills a process that ignores SIGTERM, and leaves no process behind', async () => {
  const h = harness();
  await h.supervisor.start(nodeSpec('first', POLITE));
  await h.supervisor.start(nodeSpec('stubborn', STUBBORN));
  await h.supervisor.start(nodeSpec('last', POLITE));
  for (const name of ['first', 'stubborn', 'last']) currentPid(h, name);
  const grandchild = [...h.pidsSeen].find((pid) => h.events.includes(`stubborn: grandchild ${pid}`));
  expect(grandchild).toBeDefined();

  await h.supervisor.stop();

  // A child's last lines may arrive just after its exit was seen.
  const order = [
    'last: bye',
    'stubborn: ignoring SIGTERM',
    'supervisor: stubborn did not stop within 500 ms; killing it',
    'first: bye',
  ];
  await waitFor('every goodbye', () => order.every((event) => h.events.includes(event)), 5000);
  const positions = order.map((event) => h.events.indexOf(event));
  expect(positions).toEqual([...positions].sort((a, b) => a - b));
  expect(await waitUntilGone(h.pidsSeen)).toEqual([]);
  expect(h.events.some((event) => / exited \(/.test(event))).toBe(false);
});

test('when a start is asked for while stopping, then it is refused', async () => {
  const h = harness();
  await h.supervisor.stop();
  await expect(h.supervisor.start(nodeSpec('late', POLITE))).rejects.toThrow('the supervisor is stopping');
});

test('when SUPERVISOR_* variables are set, then they override the restart policy, and nonsense is refused', () => {
  expect(restartPolicyFromEnv({ SUPERVISOR_CRASH_LIMIT: '3', SUPERVISOR_INITIAL_BACKOFF_MS: '50' })).toEqual({
    ...DEFAULT_RESTART_POLICY,
    crashLimit: 3,
    initialBackoffMs: 50,
  });
  expect(() => restartPolicyFromEnv({ SUPERVISOR_CRASH_LIMIT: 'often' })).toThrow('SUPERVISOR_CRASH_LIMIT');
});

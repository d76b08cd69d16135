/**
 * `npm start` as a whole (scripts/start.ts), on free ports in a throw-away data folder: once ready, the gateway,
 * a worker, the Temporal dev server and the PostgreSQL server are SIGKILLed one at a time (their pids read from
 * processes.json, as a chaos tool would); each comes back with a new pid and the system answers again. A
 * SIGTERM to the supervisor then stops everything, leaving no process behind.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { once } from 'node:events';
import type { SupervisorState } from '../../scripts/lib/supervisor';
import { freeObservabilityPorts, freePort } from '../support/ports';
import { isRunning, kill, processesUsing, waitFor, waitForAsync, waitUntilGone } from './os-processes';

const ROOT = path.resolve(__dirname, '..', '..');
const STACK = ['postgres', 'temporal', 'order-worker', 'item-worker', 'coupon-worker', 'payment-worker', 'gateway'];

let dataDir: string;
let supervisor: ChildProcess | undefined;
let output = '';
/** Every pid the stack ever had, so that the end can prove none of them survived. */
const pidsSeen = new Set<number>();

/** The environment of a private stack: free ports, its own data folder, none of the shared test infrastructure. */
async function privateStackEnv(): Promise<NodeJS.ProcessEnv> {
  const env: NodeJS.ProcessEnv = {};
  for (const [key, value] of Object.entries(process.env)) {
    if (!/_DATABASE_URL$|^TEMPORAL_|^TEST_|^DATA_DIR$|^JWT_SECRET$|^PAYLOAD_ENCRYPTION_/.test(key)) env[key] = value;
  }
  return {
    ...env,
    DATA_DIR: dataDir,
    PORT: String(await freePort()),
    TEMPORAL_PORT: String(await freePort()),
    TEMPORAL_UI_PORT: String(await freePort()),
    EMBEDDED_POSTGRES_PORT: String(await freePort()),
    // Worker readiness is read from their health endpoints, on ports of this stack's own.
    ...(await freeObservabilityPorts()),
    LOG_LEVEL: 'warn',
  };
}

function readState(): SupervisorState | undefined {
  try {
    const state = JSON.parse(readFileSync(path.join(dataDir, 'processes.json'), 'utf8')) as SupervisorState;
    for (const record of Object.values(state.processes)) {
      if (record.pid) pidsSeen.add(record.pid);
      if (typeof record.postmasterPid === 'number') pidsSeen.add(record.postmasterPid);
    }
    return state;
  } catch {
    return undefined; // not written yet, or removed after the stop
  }
}

/** The pid of a stack process; for postgres also the real server's, as recorded in processes.json. */
function pidOf(name: string, fact: 'pid' | 'postmasterPid' = 'pid'): number | undefined {
  const value = readState()?.processes[name]?.[fact];
  return typeof value === 'number' ? value : undefined;
}

/** The seed customer's token, if the gateway is healthy and the login works. */
async function login(gateway: string): Promise<string | undefined> {
  const health = await fetch(`${gateway}/health`);
  if (health.status !== 200) return undefined;
  const response = await fetch(`${gateway}/users/login`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ email: 'swcho@naver.com', password: '12345678' }),
  });
  if (response.status !== 200) return undefined;
  return ((await response.json()) as { accessToken: string }).accessToken;
}

/** Places a one-line order without coupons and returns its status once it left PENDING (or PENDING after 30 s). */
async function placeOrder(gateway: string, token: string): Promise<string> {
  const headers = { authorization: `Bearer ${token}`, 'content-type': 'application/json' };
  const placed = await fetch(`${gateway}/orders`, {
    method: 'POST',
    headers,
    body: JSON.stringify({ lines: [{ itemId: 4, quantity: 1, unitPrice: 245000 }] }),
  });
  expect(placed.status).toBe(202);
  const { orderId } = (await placed.json()) as { orderId: string };
  let status = 'PENDING';
  await waitForAsync(`order ${orderId} to end`, async () => {
    const response = await fetch(`${gateway}/orders/${orderId}`, { headers });
    status = ((await response.json()) as { status: string }).status;
    return status !== 'PENDING';
  }).catch(() => undefined);
  return status;
}

beforeAll(() => {
  dataDir = mkdtempSync(path.join(os.tmpdir(), 'npm-start-test-'));
});

afterAll(async () => {
  // Only reached with processes left when the test failed half-way; a stack that never got ready has its pids
  // only in processes.json, which the killed supervisor leaves behind.
  readState();
  kill(supervisor?.pid);
  for (const pid of pidsSeen) kill(pid);
  for (const { pid } of processesUsing(dataDir)) kill(pid);
  await waitUntilGone(pidsSeen, 5000);
  rmSync(dataDir, { recursive: true, force: true });
});

test('when stack processes are SIGKILLed one at a time, then each comes back and the system answers; SIGTERM then stops all of it', async () => {
  const env = await privateStackEnv();
  const gateway = `http://127.0.0.1:${env.PORT}`;
  supervisor = spawn(process.execPath, ['--import', 'tsx', 'scripts/start.ts'], {
    cwd: ROOT,
    env,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  supervisor.stdout!.on('data', (chunk: Buffer) => (output += chunk.toString()));
  supervisor.stderr!.on('data', (chunk: Buffer) => (output += chunk.toString()));
  const exited = once(supervisor, 'exit');
  const fail = (error: Error) => {
    throw new Error(`${error.message}\n--- npm start output ---\n${output}`);
  };

  await waitFor(
    '"ready: gateway" from npm start',
    () => output.includes(`ready: gateway http://localhost:${env.PORT}`),
    90_000,
  ).catch(fail);
  const state = readState()!;
  expect(state.supervisorPid).toBe(supervisor.pid);
  expect(Object.keys(state.processes)).toEqual(STACK);
  expect(Object.values(state.processes).every((record) => record.pid && isRunning(record.pid))).toBe(true);
  expect(pidOf('postgres', 'postmasterPid')).toEqual(expect.any(Number));

  const victims: [name: string, fact: 'pid' | 'postmasterPid'][] = [
    ['gateway', 'pid'],
    ['payment-worker', 'pid'],
    ['temporal', 'pid'],
    ['postgres', 'postmasterPid'],
  ];
  for (const [name, fact] of victims) {
    const before = pidOf(name, fact)!;
    kill(before);
    await waitFor(
      `${name} to get a new pid`,
      () => {
        const now = pidOf(name, fact);
        return now !== undefined && now !== before && isRunning(now);
      },
      30_000,
    ).catch(fail);
    await waitFor(`${name} to be ready again`, () => output.includes(`${name} is back (restart 1)`), 30_000).catch(
      fail,
    );
    await waitForAsync(
      `the gateway to answer again after ${name} was killed`,
      async () => (await login(gateway)) !== undefined,
      30_000,
    ).catch(fail);
    expect(output).toMatch(new RegExp(`${name} exited \\((SIGKILL|code 1)\\); restarting in \\d+ ms \\(restart 1\\)`));
  }
  expect(isRunning(supervisor.pid!)).toBe(true);
  // Every worker reaches the restarted Temporal server and PostgreSQL, and reads what the gateway encrypted: they
  // all share the development payload key npm start generated into the data folder.
  expect(await placeOrder(gateway, (await login(gateway))!)).toBe('COMPLETED');
  const devKeys = path.join(dataDir, 'secrets', 'dev-payload-keys');
  expect(statSync(devKeys).mode & 0o777).toBe(0o600);
  expect(readFileSync(devKeys, 'utf8')).toMatch(/^dev-[a-z0-9]+:[A-Za-z0-9+/]{43}=$/);

  const pidsBeforeStop = [...pidsSeen];
  supervisor.kill('SIGTERM');
  const [code] = (await exited) as [number | null];

  expect(code).toBe(0);
  expect(await waitUntilGone(pidsBeforeStop)).toEqual([]);
  expect(processesUsing(dataDir)).toEqual([]);
  expect(existsSync(path.join(dataDir, 'processes.json'))).toBe(false);
}, 240_000);

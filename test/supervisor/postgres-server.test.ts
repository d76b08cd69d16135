/**
 * The embedded PostgreSQL wrapper of `npm start` (scripts/postgres-server.ts) as real processes: it exits 1 as
 * soon as its server dies, and a new wrapper stops a server that a SIGKILLed wrapper left running on the same
 * data folder before it starts its own.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { freePort } from '../support/ports';
import { isRunning, kill, processesUsing, waitFor, waitUntilGone } from './os-processes';

const ROOT = path.resolve(__dirname, '..', '..');

interface Wrapper {
  child: ChildProcess;
  output: () => string;
  exited: Promise<unknown[]>;
}

let dataDir: string;
const wrappers: Wrapper[] = [];

function startWrapper(env: NodeJS.ProcessEnv): Wrapper {
  const child = spawn(process.execPath, ['--import', 'tsx', 'scripts/postgres-server.ts'], {
    cwd: ROOT,
    env,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout!.on('data', (chunk: Buffer) => (output += chunk.toString()));
  child.stderr!.on('data', (chunk: Buffer) => (output += chunk.toString()));
  const wrapper = { child, output: () => output, exited: once(child, 'exit') };
  wrappers.push(wrapper);
  return wrapper;
}

async function postmasterPid(wrapper: Wrapper): Promise<number> {
  const pid = await waitFor(
    'the wrapper to print its server pid',
    () =>
      /postmaster pid (\d+)/.exec(wrapper.output())?.[1] ?? (wrapper.child.exitCode !== null ? 'exited' : undefined),
    60_000,
  );
  if (pid === 'exited') throw new Error(`the wrapper exited before it was ready:\n${wrapper.output()}`);
  return Number(pid);
}

beforeAll(() => {
  dataDir = mkdtempSync(path.join(os.tmpdir(), 'postgres-server-test-'));
});

afterAll(async () => {
  for (const { child } of wrappers) kill(child.pid);
  const leftovers = processesUsing(dataDir).map(({ pid }) => pid);
  leftovers.forEach((pid) => kill(pid));
  await waitUntilGone(leftovers, 5000);
  rmSync(dataDir, { recursive: true, force: true });
});

test('when the wrapper is SIGKILLed, then the next one stops the server it left behind and starts its own; when that server is SIGKILLed, the wrapper exits 1', async () => {
  const env = { ...process.env, DATA_DIR: dataDir, EMBEDDED_POSTGRES_PORT: String(await freePort()) };
  const first = startWrapper(env);
  const leftover = await postmasterPid(first);
  kill(first.child.pid);
  await first.exited;
  expect(isRunning(leftover)).toBe(true);

  const second = startWrapper(env);
  const server = await postmasterPid(second);

  expect(second.output()).toContain(`a PostgreSQL server from an earlier run (pid ${leftover}) still runs on`);
  expect(server).not.toBe(leftover);
  expect(isRunning(leftover)).toBe(false);

  kill(server);
  const [code] = await second.exited;
  expect(code).toBe(1);
  expect(second.output()).toContain('the PostgreSQL server exited (SIGKILL); exiting so that it is restarted');
}, 120_000);

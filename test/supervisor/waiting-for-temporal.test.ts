/**
 * Worker and gateway processes started while Temporal is down (as after a crash of the dev server under
 * `npm start`): they wait for it instead of exiting, and go to work once it answers.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import path from 'node:path';
import { resolveTemporalCli, startDevServer, type RunningDevServer } from '../../scripts/lib/temporal-server';
import { freePort, observabilityPortsOff } from '../support/ports';
import { kill, waitFor, waitForAsync } from './os-processes';

const ROOT = path.resolve(__dirname, '..', '..');

interface Started {
  child: ChildProcess;
  output: () => string;
  exited: Promise<unknown[]>;
}

const started: Started[] = [];
let temporal: RunningDevServer | undefined;

function startProcess(entry: string, env: NodeJS.ProcessEnv): Started {
  const child = spawn(process.execPath, ['--import', 'tsx', entry], {
    cwd: ROOT,
    env: { ...observabilityPortsOff(), ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout!.on('data', (chunk: Buffer) => (output += chunk.toString()));
  child.stderr!.on('data', (chunk: Buffer) => (output += chunk.toString()));
  const running = { child, output: () => output, exited: once(child, 'exit') };
  started.push(running);
  return running;
}

async function exitWithOutput(started: Started): Promise<{ code: number | null; output: string }> {
  const [code] = await started.exited;
  return { code: code as number | null, output: started.output().slice(-3_000) };
}

async function healthStatus(port: string): Promise<number> {
  return (await fetch(`http://127.0.0.1:${port}/health`)).status;
}

afterAll(async () => {
  for (const { child } of started) kill(child.pid);
  await temporal?.stop();
});

test('when Temporal is down at start, then a worker retries and the gateway serves 503 on /health; once Temporal answers, the worker polls and /health is 200', async () => {
  const temporalPort = await freePort();
  const env = { ...process.env, TEMPORAL_ADDRESS: `127.0.0.1:${temporalPort}`, PORT: String(await freePort()) };
  const worker = startProcess('workers/item.ts', env);
  const gateway = startProcess('api/server.ts', env);

  await waitFor('the worker to retry', () => worker.output().includes('does not answer yet; retrying'), 30_000);
  await waitFor('the gateway to listen', () => gateway.output().includes('gateway listening'), 30_000);
  expect(await healthStatus(env.PORT)).toBe(503);

  temporal = await startDevServer({ executable: resolveTemporalCli(), port: temporalPort, uiPort: await freePort() });

  await waitFor('the worker to poll', () => worker.output().includes('item worker polling task queue'), 30_000);
  await waitForAsync('/health to be 200', async () => (await healthStatus(env.PORT)) === 200, 30_000);
  expect(worker.child.exitCode).toBeNull();
  expect(gateway.child.exitCode).toBeNull();

  worker.child.kill('SIGTERM');
  gateway.child.kill('SIGTERM');
  // With the process's last lines, so a failure shows what its shutdown was waiting for.
  expect(await exitWithOutput(worker)).toEqual({ code: 0, output: expect.any(String) });
  expect(await exitWithOutput(gateway)).toEqual({ code: 0, output: expect.any(String) });
}, 120_000);

test('when a worker waiting for Temporal gets SIGTERM, then it stops waiting and exits 0', async () => {
  const worker = startProcess('workers/coupon.ts', {
    ...process.env,
    TEMPORAL_ADDRESS: `127.0.0.1:${await freePort()}`,
  });
  await waitFor('the worker to retry', () => worker.output().includes('does not answer yet; retrying'), 30_000);

  const askedAt = Date.now();
  worker.child.kill('SIGTERM');

  expect((await worker.exited)[0]).toBe(0);
  expect(Date.now() - askedAt).toBeLessThan(3000);
}, 60_000);

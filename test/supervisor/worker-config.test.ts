/**
 * The workers fail fast on a bad configuration: started as real processes with one invalid variable, each exits
 * non-zero within seconds and names the variable on stderr, instead of running with a wrong setting or waiting
 * for a server it was never told how to reach. Checked only through what the process shows (exit code, stderr),
 * so the test holds however the configuration is read inside.
 */
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import path from 'node:path';
import { freePort } from '../support/ports';
import { kill } from './os-processes';

const ROOT = path.resolve(__dirname, '..', '..');

/**
 * Real time is the point: a worker that fails fast exits in the time its module takes to load (about 2 s under
 * tsx on an idle 2-core machine, but 27-32 s was measured at a load average of 40). 60 s leaves room for such a
 * machine; a worker that did not fail would keep waiting for Temporal and run until killed here.
 */
const FAIL_FAST_MS = 60_000;

interface Ended {
  code: number | null;
  stderr: string;
  tookMs: number;
}

async function runWorker(entry: string, env: NodeJS.ProcessEnv): Promise<Ended> {
  const started = Date.now();
  const child = spawn(process.execPath, ['--import', 'tsx', entry], {
    cwd: ROOT,
    env,
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let stderr = '';
  child.stderr!.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const killer = setTimeout(() => kill(child.pid), FAIL_FAST_MS);
  try {
    const [code] = (await once(child, 'exit')) as [number | null];
    return { code, stderr, tookMs: Date.now() - started };
  } finally {
    clearTimeout(killer);
  }
}

/** The test's environment with Temporal pointed at a closed port, so a worker that starts anyway reaches nothing. */
async function environment(changes: Record<string, string>): Promise<NodeJS.ProcessEnv> {
  return { ...process.env, TEMPORAL_ADDRESS: `127.0.0.1:${await freePort()}`, ...changes };
}

test.concurrent.each([
  { worker: 'workers/item.ts', variable: 'ITEM_DATABASE_URL', value: 'not a url' },
  { worker: 'workers/coupon.ts', variable: 'DB_LOCK_TIMEOUT_MS', value: 'five seconds' },
  { worker: 'workers/payment.ts', variable: 'CARD_GATEWAY_HANG_MS', value: '-1' },
  { worker: 'workers/order.ts', variable: 'RECONCILE_INTERVAL_SECONDS', value: '1.5' },
  // 16 bytes where AES-256 needs 32.
  {
    worker: 'workers/item.ts',
    variable: 'PAYLOAD_ENCRYPTION_KEYS',
    value: `k1:${Buffer.alloc(16).toString('base64')}`,
  },
])(
  'when $worker starts with $variable=$value, then it exits non-zero within seconds naming $variable',
  async ({ worker, variable, value }) => {
    const ended = await runWorker(worker, await environment({ [variable]: value }));

    expect({ code: ended.code, namesVariable: ended.stderr.includes(variable) }).toEqual({
      code: expect.any(Number),
      namesVariable: true,
    });
    expect(ended.code).not.toBe(0);
    expect(ended.tookMs).toBeLessThan(FAIL_FAST_MS);
  },
  FAIL_FAST_MS + 10_000,
);

test(
  'when a worker starts in production without payload keys, then it exits non-zero naming PAYLOAD_ENCRYPTION_KEYS',
  async () => {
    const env = await environment({ NODE_ENV: 'production' });
    delete env.PAYLOAD_ENCRYPTION_KEYS;
    const ended = await runWorker('workers/payment.ts', env);

    expect(ended.code).not.toBe(0);
    expect(ended.stderr).toContain('PAYLOAD_ENCRYPTION_KEYS must be set in production');
  },
  FAIL_FAST_MS + 10_000,
);

/**
 * `npm start` refuses to start beside something that holds its ports (the gateway's, a worker's health or metrics
 * port), before it starts anything: a Temporal server it did not start (here the test infrastructure's own) is
 * named as such instead of being adopted.
 */
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { freeObservabilityPorts, freePort } from '../support/ports';

const ROOT = path.resolve(__dirname, '..', '..');

async function runStart(env: NodeJS.ProcessEnv): Promise<{ code: number | null; output: string; dataDir: string }> {
  const dataDir = mkdtempSync(path.join(os.tmpdir(), 'order-saga-ports-'));
  const clean: NodeJS.ProcessEnv = {};
  for (const [key, value] of Object.entries(process.env)) {
    if (!/_DATABASE_URL$|^TEMPORAL_|^TEST_|^DATA_DIR$/.test(key)) clean[key] = value;
  }
  const child = spawn(process.execPath, ['--import', 'tsx', path.join(ROOT, 'scripts/start.ts')], {
    cwd: ROOT,
    env: {
      ...clean,
      DATA_DIR: dataDir,
      PORT: String(await freePort()),
      TEMPORAL_UI_PORT: String(await freePort()),
      EMBEDDED_POSTGRES_PORT: String(await freePort()),
      ...(await freeObservabilityPorts()),
      ...env,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
  child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
  const [code] = (await once(child, 'exit')) as [number | null];
  return { code, output, dataDir };
}

test('when a Temporal server npm start did not start already runs on its port, then it refuses with a clear message and starts nothing', async () => {
  const foreignPort = process.env.TEMPORAL_ADDRESS!.split(':')[1]!;
  const { code, output, dataDir } = await runStart({ TEMPORAL_PORT: foreignPort });
  try {
    expect(code).toBe(1);
    expect(output).toContain(
      `a Temporal server that this npm start did not start already runs on 127.0.0.1:${foreignPort}`,
    );
    expect(output).toContain('TEMPORAL_ADDRESS');
    // Refused before anything started: no PostgreSQL data, no process list.
    expect(existsSync(path.join(dataDir, 'postgres'))).toBe(false);
    expect(existsSync(path.join(dataDir, 'processes.json'))).toBe(false);
  } finally {
    rmSync(dataDir, { recursive: true, force: true });
  }
});

test.each([
  { what: 'the gateway', variable: 'PORT', named: 'the gateway, PORT' },
  {
    what: "a worker's metrics",
    variable: 'PAYMENT_WORKER_METRICS_PORT',
    named: "the payment worker's metrics, PAYMENT_WORKER_METRICS_PORT",
  },
])('when the port of $what is taken, then npm start refuses and names the port', async ({ variable, named }) => {
  const blocker: Server = createServer();
  const port = await freePort();
  await new Promise<void>((resolve) => blocker.listen(port, '127.0.0.1', resolve));
  try {
    const { code, output, dataDir } = await runStart({
      [variable]: String(port),
      TEMPORAL_PORT: String(await freePort()),
    });
    rmSync(dataDir, { recursive: true, force: true });
    expect(code).toBe(1);
    expect(output).toContain(`port ${port} (${named}) is in use`);
  } finally {
    blocker.close();
  }
});

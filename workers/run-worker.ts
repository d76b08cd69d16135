/**
 * Shared start-up of a worker process: connect to Temporal, poll one task queue, shut down cleanly on
 * SIGINT/SIGTERM. While Temporal is restarting the connection is retried, so a worker started or restarted in
 * that moment waits for the server instead of crash-looping. If the worker fails later (say, the server stayed
 * away too long), the process exits 1 and the supervisor of `npm start` restarts it.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { NativeConnection, Worker, type WorkerOptions } from '@temporalio/worker';
import { temporalConfig } from '../lib/config';

export type WorkerSetup = Omit<WorkerOptions, 'connection' | 'namespace'>;

/** How long a worker keeps trying to reach Temporal before it gives up (and exits 1). */
export const CONNECT_RETRY_LIMIT_MS = 60_000;
const FIRST_RETRY_DELAY_MS = 250;
const MAX_RETRY_DELAY_MS = 5_000;

/** Set once the process is asked to stop, so that a worker still waiting for Temporal stops waiting. */
const stopRequested = new AbortController();
for (const signal of ['SIGINT', 'SIGTERM'] as const) process.on(signal, () => stopRequested.abort());

/** Connects to Temporal, retrying with a capped backoff; undefined when asked to stop meanwhile. */
async function connectWithRetry(name: string, address: string): Promise<NativeConnection | undefined> {
  const deadline = Date.now() + CONNECT_RETRY_LIMIT_MS;
  for (let delay = FIRST_RETRY_DELAY_MS; ; delay = Math.min(delay * 2, MAX_RETRY_DELAY_MS)) {
    try {
      return await NativeConnection.connect({ address });
    } catch (error) {
      if (Date.now() + delay > deadline) throw error;
      console.warn(`${name} worker: Temporal at ${address} does not answer yet; retrying in ${delay} ms`);
      const waited = await sleep(delay, true, { signal: stopRequested.signal }).catch(() => false);
      if (!waited) return undefined;
    }
  }
}

export async function runWorker(name: string, setup: WorkerSetup, onShutdown: () => Promise<void>): Promise<void> {
  const temporal = temporalConfig();
  const connection = await connectWithRetry(name, temporal.address);
  if (!connection) {
    await onShutdown();
    return;
  }
  try {
    const worker = await Worker.create({ connection, namespace: temporal.namespace, ...setup });
    // A stop asked for while starting up came before the worker listened for it.
    if (stopRequested.signal.aborted) return;
    console.log(`${name} worker polling task queue "${setup.taskQueue}" on ${temporal.address}`);
    await worker.run(); // returns after SIGINT/SIGTERM, once in-flight tasks are done
  } finally {
    await connection.close();
    await onShutdown();
  }
}

export function exitOnFailure(name: string, run: Promise<void>): void {
  run.then(
    () => process.exit(0),
    (error: unknown) => {
      console.error(`${name} worker failed:`, error);
      process.exit(1);
    },
  );
}

/** Shared start-up of a worker process: connect to Temporal, poll one task queue, shut down cleanly on SIGINT/SIGTERM. */
import { NativeConnection, Worker, type WorkerOptions } from '@temporalio/worker';
import { temporalConfig } from '../lib/config';

export type WorkerSetup = Omit<WorkerOptions, 'connection' | 'namespace'>;

export async function runWorker(name: string, setup: WorkerSetup, onShutdown: () => Promise<void>): Promise<void> {
  const temporal = temporalConfig();
  const connection = await NativeConnection.connect({ address: temporal.address });
  try {
    const worker = await Worker.create({ connection, namespace: temporal.namespace, ...setup });
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

/**
 * Stops the shared Temporal server and PostgreSQL started by global-setup, then arms the exit watchdog: anything
 * a test left open fails the run (see exit-watchdog.ts).
 */
import { armExitWatchdog } from './exit-watchdog';

export default async function globalTeardown(): Promise<void> {
  try {
    await globalThis.orderSagaTestInfrastructure?.stop();
  } finally {
    armExitWatchdog();
  }
}

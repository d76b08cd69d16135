/**
 * Stops the shared Temporal server and PostgreSQL started by global-setup, then arms the exit watchdog: anything
 * a test left open fails the run (see exit-watchdog.ts).
 */
import { EXIT_GRACE_MS, armExitWatchdog, type JestRunMode } from './exit-watchdog';

export default async function globalTeardown(globalConfig: JestRunMode): Promise<void> {
  try {
    await globalThis.orderSagaTestInfrastructure?.stop();
  } finally {
    armExitWatchdog(EXIT_GRACE_MS, globalConfig);
  }
}

/** Global teardown for the Jest configs without shared infrastructure: a leaked handle fails the run. */
import { EXIT_GRACE_MS, armExitWatchdog, type JestRunMode } from './exit-watchdog';

export default function failIfJestCannotExit(globalConfig: JestRunMode): void {
  armExitWatchdog(EXIT_GRACE_MS, globalConfig);
}

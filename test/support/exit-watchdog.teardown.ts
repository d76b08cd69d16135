/** Global teardown for the Jest configs without shared infrastructure: a leaked handle fails the run. */
import { armExitWatchdog } from './exit-watchdog';

export default function failIfJestCannotExit(): void {
  armExitWatchdog();
}

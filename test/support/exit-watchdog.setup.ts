/** Global setup for the Jest configs without shared infrastructure (fast tier, whole stack): see exit-watchdog.ts. */
import { recordIntervals } from './exit-watchdog';

export default function recordWhereIntervalsStart(): void {
  recordIntervals();
}

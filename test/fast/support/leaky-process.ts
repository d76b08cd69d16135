/**
 * A process that ends the way a Jest run does under the exit watchdog (test/support/exit-watchdog.ts): it opens a
 * listening server and an interval, arms the watchdog with a short grace, and then either leaves both open
 * (`leak`: the watchdog must name them and exit 1) or closes them (`close`: Node must exit 0 at once).
 */
import http from 'node:http';
import { armExitWatchdog, recordIntervals } from '../../support/exit-watchdog';

const GRACE_MS = 300;

recordIntervals();
const interval = setInterval(() => {}, 1_000);
const server = http.createServer();
server.listen(0, '127.0.0.1', () => {
  armExitWatchdog(GRACE_MS);
  if (process.argv[2] === 'close') {
    clearInterval(interval);
    server.close();
  }
});

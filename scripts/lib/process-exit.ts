/** Waiting for a child process to exit, with a grace period that never outlives the process. */
import { setTimeout as sleep } from 'node:timers/promises';

/**
 * True when `exited` settles within `ms`. The grace timer is cancelled as soon as the process is gone: left
 * running, it would hold the caller's event loop (a test runner's, `npm start`'s) open for the rest of the grace.
 */
export async function exitsWithin(exited: Promise<unknown>, ms: number): Promise<boolean> {
  const grace = new AbortController();
  try {
    return await Promise.race([exited.then(() => true), sleep(ms, false, { signal: grace.signal }).catch(() => false)]);
  } finally {
    grace.abort();
  }
}

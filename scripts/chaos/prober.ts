/**
 * Gateway availability as a client sees it: GET /health every 200 ms. Two windows are measured: "unavailable"
 * (anything but a 200: no answer, or a 503 because Temporal or a database is down) and "unreachable" (no HTTP
 * answer at all: the gateway process itself is gone).
 */
import { setTimeout as sleep } from 'node:timers/promises';

const PROBE_EVERY_MS = 200;
const PROBE_TIMEOUT_MS = 1_000;

export interface Availability {
  probes: number;
  failedProbes: number;
  /** Longest time from a failed probe to the next 200. */
  maxUnavailableMs: number;
  /** Longest time from a probe without any HTTP answer to the next answer. */
  maxUnreachableMs: number;
}

/** Tracks the longest stretch during which a condition held, from its first sighting to its first absence. */
function window() {
  let since: number | null = null;
  let longest = 0;
  return {
    see(holds: boolean, at: number) {
      if (holds) since ??= at;
      else if (since !== null) {
        longest = Math.max(longest, at - since);
        since = null;
      }
    },
    longest: (at: number) => Math.max(longest, since === null ? 0 : at - since),
  };
}

export interface Prober {
  stop(): Promise<Availability>;
}

export function startProber(baseUrl: string): Prober {
  const stopping = new AbortController();
  const unavailable = window();
  const unreachable = window();
  let probes = 0;
  let failedProbes = 0;

  async function probe(): Promise<void> {
    const at = Date.now();
    const status = await fetch(`${baseUrl}/health`, { signal: AbortSignal.timeout(PROBE_TIMEOUT_MS) }).then(
      async (response) => {
        await response.arrayBuffer();
        return response.status;
      },
      () => null,
    );
    probes += 1;
    if (status !== 200) failedProbes += 1;
    unavailable.see(status !== 200, at);
    unreachable.see(status === null, at);
  }

  const loop = (async () => {
    while (!stopping.signal.aborted) {
      const started = Date.now();
      await probe();
      const rest = PROBE_EVERY_MS - (Date.now() - started);
      if (rest > 0) await sleep(rest, undefined, { signal: stopping.signal }).catch(() => undefined);
    }
  })();

  return {
    async stop() {
      stopping.abort();
      await loop;
      const now = Date.now();
      return {
        probes,
        failedProbes,
        maxUnavailableMs: unavailable.longest(now),
        maxUnreachableMs: unreachable.longest(now),
      };
    },
  };
}

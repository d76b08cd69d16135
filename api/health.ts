/**
 * Health of the gateway's dependencies: Temporal and each service database, each within a short deadline.
 *
 * `/health` is public, so each dependency is reported as `ok` or `unavailable` only: the error behind an
 * `unavailable` (a host and port, a driver message) is for the gateway's log, never for an anonymous caller.
 */
import type { Connection } from '@temporalio/client';
import type { HealthCheck } from './routes/system';

const CHECK_TIMEOUT_MS = 2000;

/** What a dependency's check reports to the caller. */
export const DEPENDENCY_OK = 'ok';
export const DEPENDENCY_UNAVAILABLE = 'unavailable';

interface Pingable {
  $queryRaw: (query: TemplateStringsArray) => Promise<unknown>;
}

/** Where the reason of a failed check goes (the gateway's logger); by default nowhere. */
export type HealthLog = (dependency: string, reason: string) => void;

async function within<T>(work: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  try {
    return await Promise.race([
      work,
      new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error(`no answer within ${ms} ms`)), ms))),
    ]);
  } finally {
    clearTimeout(timer);
  }
}

function reasonOf(error: unknown): string {
  return String((error as Error)?.message ?? error);
}

export function createHealthCheck(
  connection: Pick<Connection, 'workflowService'>,
  databases: Record<string, Pingable>,
  logFailure: HealthLog = () => {},
): HealthCheck {
  return async () => {
    const checks: [string, Promise<unknown>][] = [
      ['temporal', connection.workflowService.getSystemInfo({})],
      ...Object.entries(databases).map(([name, db]): [string, Promise<unknown>] => [
        `${name}Db`,
        db.$queryRaw`SELECT 1`,
      ]),
    ];
    const results = await Promise.allSettled(checks.map(([, check]) => within(check, CHECK_TIMEOUT_MS)));
    return Object.fromEntries(
      results.map((result, index) => {
        const dependency = checks[index]![0];
        if (result.status === 'fulfilled') return [dependency, DEPENDENCY_OK];
        logFailure(dependency, reasonOf(result.reason));
        return [dependency, DEPENDENCY_UNAVAILABLE];
      }),
    );
  };
}

/** Health of the gateway's dependencies: Temporal and each service database, each within a short deadline. */
import type { Connection } from '@temporalio/client';
import type { HealthCheck } from './routes/system';

const CHECK_TIMEOUT_MS = 2000;

interface Pingable {
  $queryRaw: (query: TemplateStringsArray) => Promise<unknown>;
}

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

export function createHealthCheck(
  connection: Pick<Connection, 'workflowService'>,
  databases: Record<string, Pingable>,
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
      results.map((result, index) => [
        checks[index]![0],
        result.status === 'fulfilled' ? 'ok' : String((result.reason as Error)?.message ?? result.reason),
      ]),
    );
  };
}

/**
 * A separate OS process for data-guards.test.ts: opens several pooled connections to the item database through
 * the production client factory, has PostgreSQL terminate them while they sit idle in the pool, then queries
 * again. It prints one JSON line and exits 0 only if the process survived the lost connections and the pool
 * recovered; an unhandled pool 'error' event would kill it with a non-zero exit code first.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import pg from 'pg';
import { connectItemDb, type ItemDb } from '../../../lib/databases';

const CONNECTIONS = 3;

/** Opens CONNECTIONS pooled connections at once (each transaction holds its own) and returns their server pids. */
async function openIdleConnections(db: ItemDb): Promise<number[]> {
  let arrived = 0;
  return Promise.all(
    Array.from({ length: CONNECTIONS }, () =>
      db.$transaction(async (tx) => {
        const [row] = await tx.$queryRaw<{ pid: number }[]>`SELECT pg_backend_pid() AS pid`;
        arrived += 1;
        // Hold the connection until every transaction has one, so each gets a connection of its own.
        while (arrived < CONNECTIONS) await sleep(10);
        return row!.pid;
      }),
    ),
  );
}

async function terminate(admin: pg.Client, pids: number[]): Promise<void> {
  await admin.query('SELECT pg_terminate_backend(pid) FROM unnest($1::int[]) AS pid', [pids]);
  // Wait until the server has ended them, then give the pool a moment to see its sockets close.
  while ((await admin.query('SELECT 1 FROM pg_stat_activity WHERE pid = ANY($1::int[])', [pids])).rowCount) {
    await sleep(20);
  }
  await sleep(200);
}

async function main(): Promise<void> {
  const url = process.env.ITEM_DATABASE_URL!;
  const db = connectItemDb(url);
  const admin = new pg.Client({ connectionString: url });
  await admin.connect();
  try {
    const pids = await openIdleConnections(db);
    await terminate(admin, pids);
    const [after] = await db.$queryRaw<{ pid: number }[]>`SELECT pg_backend_pid() AS pid`;
    const inTransaction = await db.$transaction(async (tx) => tx.$queryRaw<{ one: number }[]>`SELECT 1 AS one`);
    console.log(JSON.stringify({ terminated: pids, pidAfter: after!.pid, inTransaction: inTransaction[0]!.one }));
  } finally {
    await admin.end();
    await db.$disconnect();
  }
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(2);
});

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

/** How many idle connections the pools reported lost so far (lib/databases.ts warns once per connection). */
let lostReported = 0;
const warn = console.warn.bind(console);
console.warn = (...args: unknown[]) => {
  if (String(args[0]).includes('an idle connection failed')) lostReported += 1;
  warn(...args);
};

async function terminate(admin: pg.Client, pids: number[]): Promise<void> {
  const reportedBefore = lostReported;
  await admin.query('SELECT pg_terminate_backend(pid) FROM unnest($1::int[]) AS pid', [pids]);
  // Wait until the pool has seen every one of them go (its report), instead of a pause after the server ended them.
  const deadline = Date.now() + 10_000;
  while (lostReported - reportedBefore < pids.length) {
    if (Date.now() > deadline) throw new Error(`the pool reported ${lostReported - reportedBefore} of ${pids.length}`);
    await sleep(20);
  }
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

/**
 * `npx tsx test/bench/wait-vs-poll.ts [seconds]`: what waiting costs against the polling it replaces. 16 clients
 * place orders one after another for the given time (default 30 s), first each polling GET /orders/:id every
 * 200 ms until the order ends, then each waiting with `Prefer: wait=30`. Reports orders, requests and the CPU
 * seconds per order of this process (gateway and workers run here) and of the PostgreSQL server it started.
 */
import { readFileSync, readdirSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import { aUser, anItem, request, type TestUser } from '../support/fixtures';
import { runStandalone } from '../support/standalone';
import type { TestSystem } from '../support/system';

const CLIENTS = 16;
const POLL_MS = 200;
const seconds = Number(process.argv[2] ?? 30);
const TICKS = 100; // USER_HZ on Linux

/** A process's name, parent and CPU ticks (its own, and those of its children it has reaped), from /proc. */
function processStat(pid: string): { name: string; ppid: number; ticks: number; reapedTicks: number } | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const name = stat.slice(stat.indexOf('(') + 1, stat.lastIndexOf(')'));
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return {
      name,
      ppid: Number(fields[1]),
      ticks: Number(fields[11]) + Number(fields[12]),
      reapedTicks: Number(fields[13]) + Number(fields[14]),
    };
  } catch {
    return undefined; // gone meanwhile
  }
}

/**
 * CPU seconds of this run's PostgreSQL only: the server this process started (a postgres child of this process)
 * with the time of the sessions it has reaped, plus its live sessions. Other PostgreSQL servers on the machine
 * (other test runs) are not counted.
 */
function postgresCpuSeconds(): number {
  const stats = readdirSync('/proc')
    .filter((name) => /^\d+$/.test(name))
    .map((pid) => ({ pid: Number(pid), stat: processStat(pid) }))
    .filter((entry) => entry.stat?.name === 'postgres');
  const servers = new Set(stats.filter((entry) => entry.stat!.ppid === process.pid).map((entry) => entry.pid));
  let ticks = 0;
  for (const { pid, stat } of stats) {
    if (servers.has(pid)) ticks += stat!.ticks + stat!.reapedTicks;
    else if (servers.has(stat!.ppid)) ticks += stat!.ticks;
  }
  return ticks / TICKS;
}

async function oneOrder(system: TestSystem, user: TestUser, itemId: number, mode: 'poll' | 'wait') {
  let requests = 1;
  const body = { lines: [{ itemId, quantity: 1, unitPrice: 1000 }] };
  const placed = await request(system, 'POST', '/orders', {
    token: user.token,
    body,
    headers: mode === 'wait' ? { prefer: 'wait=30' } : {},
  });
  if (placed.status === 201) return requests;
  for (;;) {
    if (mode === 'poll') await sleep(POLL_MS);
    requests += 1;
    const read = await request(system, 'GET', `/orders/${placed.body.orderId}${mode === 'wait' ? '?wait=30' : ''}`, {
      token: user.token,
    });
    if (read.body.status === 'COMPLETED' || read.body.status === 'CANCELLED') return requests;
  }
}

async function run(system: TestSystem, mode: 'poll' | 'wait') {
  const users = await Promise.all(Array.from({ length: CLIENTS }, () => aUser(system)));
  const item = await anItem(system, { price: 1000, stockQuantity: 1_000_000 });
  const cpu0 = process.cpuUsage();
  const pg0 = postgresCpuSeconds();
  const end = Date.now() + seconds * 1000;
  let orders = 0;
  let requests = 0;
  await Promise.all(
    users.map(async (user) => {
      while (Date.now() < end) {
        const sent = await oneOrder(system, user, item.id, mode);
        requests += sent;
        orders += 1;
      }
    }),
  );
  const cpu = process.cpuUsage(cpu0);
  const nodeSeconds = (cpu.user + cpu.system) / 1e6;
  const pgSeconds = postgresCpuSeconds() - pg0;
  console.log(
    JSON.stringify({
      mode,
      orders,
      requests,
      ordersPerSecond: +(orders / seconds).toFixed(2),
      nodeCpuMsPerOrder: +((nodeSeconds * 1000) / orders).toFixed(1),
      postgresCpuMsPerOrder: +((pgSeconds * 1000) / orders).toFixed(1),
      loadAverage: readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).join(' '),
    }),
  );
}

runStandalone(async (system) => {
  await run(system, 'poll');
  await run(system, 'wait');
});

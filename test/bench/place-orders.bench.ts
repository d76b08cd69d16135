/**
 * `npm run bench`: end-to-end throughput and latency of placing orders through the real gateway, Temporal,
 * workers and PostgreSQL (all on this machine, started on free ports). Prints a Markdown row for docs/benchmarks.md.
 * Usage: npm run bench -- [orders=200] [concurrency=20]
 */
import { performance } from 'node:perf_hooks';
import { aUser, anItem, request, waitForOrder } from '../support/fixtures';
import { runStandalone } from '../support/standalone';
import type { TestSystem } from '../support/system';

function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? NaN;
}

async function bench(system: TestSystem): Promise<void> {
  const orders = Number(process.argv[2] ?? 200);
  const concurrency = Number(process.argv[3] ?? 20);
  const user = await aUser(system);
  const item = await anItem(system, { stockQuantity: orders * 2 });
  const accepted: number[] = [];
  const completed: number[] = [];
  let next = 0;
  const started = performance.now();
  async function lane(): Promise<void> {
    while (next < orders) {
      next += 1;
      const t0 = performance.now();
      const placed = await request(system, 'POST', '/orders', {
        token: user.token,
        body: { lines: [{ itemId: item.id, quantity: 1, unitPrice: item.price }] },
      });
      if (placed.status !== 202) throw new Error(`POST /orders ${placed.status}`);
      accepted.push(performance.now() - t0);
      const order = await waitForOrder(system, user.token, placed.body.orderId, ['COMPLETED', 'CANCELLED'], 120_000);
      if (order.status !== 'COMPLETED') throw new Error(`order ${order.orderId} ${order.status}`);
      completed.push(performance.now() - t0);
    }
  }
  await Promise.all(Array.from({ length: concurrency }, lane));
  const seconds = (performance.now() - started) / 1000;
  accepted.sort((a, b) => a - b);
  completed.sort((a, b) => a - b);
  const stock = (await system.services.items.getItem(item.id))!.stockQuantity;
  if (stock !== orders) throw new Error(`stock ${stock}, expected ${orders}`);
  const rssMiB = Math.round(process.memoryUsage().rss / 1024 / 1024);
  console.log(
    '| orders | concurrency | orders/s | accept p50 / p95 (ms) | complete p50 / p95 / max (ms) | RSS of test process (MiB) |',
  );
  console.log('|---|---|---|---|---|---|');
  console.log(
    `| ${orders} | ${concurrency} | ${(orders / seconds).toFixed(1)} | ${percentile(accepted, 50).toFixed(0)} / ${percentile(accepted, 95).toFixed(0)} | ` +
      `${percentile(completed, 50).toFixed(0)} / ${percentile(completed, 95).toFixed(0)} / ${completed.at(-1)!.toFixed(0)} | ${rssMiB} |`,
  );
}

runStandalone(bench);

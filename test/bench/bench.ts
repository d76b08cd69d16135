/**
 * `npm run bench`: what a running stack (`npm start`, `npm run start:cluster`) delivers to real clients over HTTP,
 * next to what its own Temporal server can do at best, measured in the same run.
 *
 * - Orders: clients log in as the seed customer, place one-unit orders of an item the benchmark creates through
 *   the admin API, and wait for each to end with `Prefer: wait` (then long polls), as a client should; the latency
 *   is POST sent → terminal status received.
 * - Engine floors, on the stack's Temporal server, run by workers inside this process on task queues of their own:
 *   the minimal order (reserve ‖ redeem → charge, 3 no-op activities on one queue) and the saga's topology (the
 *   activities, local activities and queues of a successful order, all no-ops).
 * - Phases: 1 client (N runs one after another), then many clients (16) for a duration.
 * - The stack's memory: RSS and PSS of every process under its supervisor (processes.json, smaps_rollup), sampled
 *   throughout; PSS after 1,000 orders and its slope over the many-clients phase (the soak: --duration 600).
 * - Stock is conserved: stock before − after = units of the completed orders.
 *
 * Prints a Markdown report and, last, one JSON line. See docs/benchmarks.md.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { cpus, loadavg, totalmem } from 'node:os';
import path from 'node:path';
import { DefaultLogger, Runtime } from '@temporalio/worker';
import { EngineFloors, FLOOR_TITLES, type FloorName } from './engine-floors';
import { BenchError, GatewayClient, type PlacedOrder } from './gateway-client';
import { parseBenchOptions, USAGE, type BenchOptions } from './options';
import { evaluateTargets, renderReport, type BenchResult, type PhaseResult } from './report';
import { MemorySampler, cpuSecondsByGroup, readStackState } from './stack-memory';
import { summarize } from './stats';

const ROOT = path.resolve(__dirname, '..', '..');
const ITEM_PRICE = 1000;

/** Runs `runOne` from `clients` concurrent clients until `runs` were started or `seconds` have passed. */
async function drive(
  clients: number,
  limit: { runs: number } | { seconds: number },
  runOne: () => Promise<number>,
): Promise<{ latencies: number[]; seconds: number }> {
  const latencies: number[] = [];
  const started = performance.now();
  const deadline = 'seconds' in limit ? started + limit.seconds * 1000 : Infinity;
  let claimed = 0;
  const client = async () => {
    for (;;) {
      if ('runs' in limit ? claimed >= limit.runs : performance.now() >= deadline) return;
      claimed += 1;
      latencies.push(await runOne());
    }
  };
  await Promise.all(Array.from({ length: clients }, client));
  return { latencies, seconds: (performance.now() - started) / 1000 };
}

/**
 * Runs `body` and divides the CPU time each group of the stack's processes, and this process (the clients and the
 * floors' workers), used meanwhile by the runs it made.
 */
async function measuringCpu<T extends { latencies: number[] }>(
  stateFile: string,
  body: () => Promise<T>,
): Promise<{ run: T; cpuMsPerRun: Record<string, number> }> {
  const before = cpuSecondsByGroup(readStackState(stateFile));
  const ownBefore = process.cpuUsage();
  const run = await body();
  const after = cpuSecondsByGroup(readStackState(stateFile));
  const own = process.cpuUsage(ownBefore);
  const runs = Math.max(1, run.latencies.length);
  const perRun: [string, number][] = [...after].map(([group, seconds]) => [
    group,
    ((seconds - (before.get(group) ?? 0)) * 1000) / runs,
  ]);
  perRun.sort((a, b) => b[1] - a[1]);
  perRun.push(['bench', (own.user + own.system) / 1000 / runs]);
  return { run, cpuMsPerRun: Object.fromEntries(perRun) };
}

function loadAverage(): string {
  return loadavg()
    .map((value) => value.toFixed(2))
    .join(' ');
}

function gitCommit(): string {
  try {
    const sha = execFileSync('git', ['-C', ROOT, 'rev-parse', '--short', 'HEAD'], { encoding: 'utf8' }).trim();
    const dirty = execFileSync('git', ['-C', ROOT, 'status', '--porcelain', '--untracked-files=no'], {
      encoding: 'utf8',
    }).trim();
    return dirty ? `${sha} (with uncommitted changes)` : sha;
  } catch {
    return 'unknown';
  }
}

function machine(): string {
  const model = cpus()[0]?.model ?? 'unknown CPU';
  return `${cpus().length} cores (${model}), ${(totalmem() / 2 ** 30).toFixed(1)} GiB`;
}

async function main(options: BenchOptions): Promise<BenchResult> {
  const stateFile = path.join(options.dataDir, 'processes.json');
  if (!existsSync(stateFile)) {
    throw new BenchError(`${stateFile} does not exist: is the stack running, with this --data-dir?`);
  }
  const gateway = new GatewayClient(options.gateway);
  await gateway.checkHealth();
  const customer = await gateway.login(options.customer.email, options.customer.password);
  const admin = await gateway.login(options.admin.email, options.admin.password);
  const runId = `${Date.now().toString(36)}-${process.pid}`;
  const manyOrders = options.phases.includes('many') ? options.durationSeconds * 200 : 0;
  const stockQuantity = Math.min(2_000_000_000, 10 * (options.orders + options.warmup) + manyOrders);
  const itemId = await gateway.createItem(admin, { name: `bench ${runId}`, price: ITEM_PRICE, stockQuantity });
  const stockBefore = await gateway.stockOf(itemId);

  // The floor workers' state changes at every phase are noise in the benchmark's output.
  Runtime.install({ logger: new DefaultLogger('WARN') });
  const floors = await EngineFloors.connect(options.temporal, options.namespace, runId);
  const sampler = new MemorySampler(stateFile, options.sampleMs).start();
  const loadBefore = loadAverage();
  const outcomes = new Map<string, number>();
  let ordersDone = 0;
  const placeOne = async (): Promise<PlacedOrder> => {
    const order = await gateway.placeAndWait(customer, itemId, ITEM_PRICE);
    ordersDone += 1;
    sampler.countOrders(ordersDone);
    const outcome = order.status === 'COMPLETED' ? 'COMPLETED' : `${order.status} ${order.failureReason ?? ''}`.trim();
    outcomes.set(outcome, (outcomes.get(outcome) ?? 0) + 1);
    return order;
  };

  const phases: PhaseResult[] = [];
  try {
    log(`gateway ${options.gateway}, Temporal ${floors.target}, server ${await floors.serverVersion()}`);
    log(`item ${itemId} with stock ${stockBefore}; warming up (${options.warmup} of each)`);
    sampler.mark('warm-up');
    for (const floor of ['minimal', 'topology'] as FloorName[]) {
      await floors.withWorkers(floor, (runOne) => drive(1, { runs: options.warmup }, async () => (await runOne()).ms));
    }
    await drive(1, { runs: options.warmup }, async () => (await placeOne()).ms);

    for (const phase of options.phases) {
      const clients = phase === 'one' ? 1 : options.clients;
      const name = `${clients} client${clients === 1 ? '' : 's'}`;
      const result = { name, clients, loadAverage: loadAverage() } as PhaseResult;
      for (const floor of ['minimal', 'topology'] as FloorName[]) {
        log(`${name}: ${FLOOR_TITLES[floor]}`);
        sampler.mark(`${phase} ${floor}`);
        const limit = phase === 'one' ? { runs: options.orders } : { seconds: options.floorSeconds };
        const { run, cpuMsPerRun } = await measuringCpu(stateFile, () =>
          floors.withWorkers(floor, (runOne) => drive(clients, limit, async () => (await runOne()).ms)),
        );
        result[floor] = { ...summarize(run.latencies, run.seconds), cpuMsPerRun };
      }
      log(`${name}: orders through the gateway`);
      sampler.mark(`${phase} orders`);
      let requests = 0;
      const limit = phase === 'one' ? { runs: options.orders } : { seconds: options.durationSeconds };
      const { run, cpuMsPerRun } = await measuringCpu(stateFile, () =>
        drive(clients, limit, async () => {
          const order = await placeOne();
          requests += order.requests;
          return order.ms;
        }),
      );
      result.orders = { ...summarize(run.latencies, run.seconds), requests, cpuMsPerRun };
      result.samples = sampler.samples
        .filter((sample) => sample.tag === `${phase} orders`)
        .map((sample) => ({ at: sample.at, pssKiB: sample.pssKiB, rssKiB: sample.rssKiB }));
      phases.push(result);
    }
  } finally {
    sampler.stop();
    await floors.close();
  }

  const stockAfter = await gateway.stockOf(itemId);
  const completed = outcomes.get('COMPLETED') ?? 0;
  return evaluateTargets({
    date: new Date().toISOString(),
    commit: gitCommit(),
    machine: machine(),
    gateway: options.gateway,
    temporal: floors.target,
    loadAverage: { before: loadBefore, after: loadAverage() },
    options: { ...options, customer: { email: options.customer.email }, admin: { email: options.admin.email } },
    phases,
    outcomes: Object.fromEntries(outcomes),
    stock: { itemId, before: stockBefore, after: stockAfter, completedUnits: completed },
    memory: sampler,
  });
}

function log(line: string): void {
  process.stderr.write(`bench| ${line}\n`);
}

let options: BenchOptions | undefined;
try {
  options = parseBenchOptions(process.argv.slice(2), process.env, ROOT);
} catch (error) {
  console.error(`${(error as Error).message}\n${USAGE}`);
  process.exit(2);
}
if (!options) {
  console.log(USAGE);
  process.exit(0);
}
if (!readFileSync('/proc/self/smaps_rollup', 'utf8')) throw new Error('needs Linux /proc/<pid>/smaps_rollup');

main(options).then(
  (result) => {
    console.log(renderReport(result));
    console.log(JSON.stringify(result.json));
    process.exit(result.json.stock.conserved ? 0 : 1);
  },
  (error: unknown) => {
    console.error(error instanceof BenchError ? `bench failed: ${error.message}` : error);
    process.exit(1);
  },
);

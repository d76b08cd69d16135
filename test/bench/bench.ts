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
 * - Phases: 1 client (N runs one after another), then many clients (16) for a duration. Within a phase the floors
 *   and the orders take turns (1 client: one run each in turn; many: blocks over --rounds rounds), so that all
 *   three see the same machine even when other work on it comes and goes.
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
import { EngineFloors, type FloorName } from './engine-floors';
import { BenchError, GatewayClient, type PlacedOrder } from './gateway-client';
import { parseBenchOptions, USAGE, type BenchOptions } from './options';
import { evaluateTargets, renderReport, type BenchResult, type PhaseResult } from './report';
import { MemorySampler, cpuSecondsByGroup, readStackState } from './stack-memory';
import { RunTotals, drive, type Drive } from './drive';

const ROOT = path.resolve(__dirname, '..', '..');
const ITEM_PRICE = 1000;
/** The slowest orders of each phase are named in the JSON line, to look up their workflow histories. */
const SLOWEST_KEPT = 5;

type RunKind = FloorName | 'orders';
const RUN_KINDS: RunKind[] = ['minimal', 'topology', 'orders'];

/** Runs `body`, and reads the CPU seconds each group of the stack's processes and this process used meanwhile. */
async function measuringCpu(
  stateFile: string,
  body: () => Promise<Drive>,
): Promise<Drive & { cpuSeconds: Map<string, number> }> {
  const before = cpuSecondsByGroup(readStackState(stateFile));
  const ownBefore = process.cpuUsage();
  const run = await body();
  const after = cpuSecondsByGroup(readStackState(stateFile));
  const own = process.cpuUsage(ownBefore);
  const cpuSeconds = new Map([...after].map(([group, seconds]) => [group, seconds - (before.get(group) ?? 0)]));
  cpuSeconds.set('bench', (own.user + own.system) / 1e6);
  return { ...run, cpuSeconds };
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
  const commit = gitCommit(); // the code that runs, even if the tree changes meanwhile
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
  Runtime.install({ logger: new DefaultLogger('ERROR') });
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

  const slowest: Record<string, { orderId: string; ms: number }[]> = {};
  let phaseTag = 'warm-up';
  let requests = 0;
  const runOrder = async () => {
    const order = await placeOne();
    requests += order.requests;
    const kept = (slowest[phaseTag] ??= []);
    kept.push({ orderId: order.orderId, ms: Math.round(order.ms) });
    kept.sort((a, b) => b.ms - a.ms).splice(SLOWEST_KEPT);
    return order.ms;
  };

  const phases: PhaseResult[] = [];
  try {
    log(`gateway ${options.gateway}, Temporal ${floors.target}, server ${await floors.serverVersion()}`);
    await floors.withWorkers(['minimal', 'topology'], async (runFloor) => {
      const runners: Record<RunKind, () => Promise<number>> = {
        minimal: async () => (await runFloor('minimal')).ms,
        topology: async () => (await runFloor('topology')).ms,
        orders: runOrder,
      };
      log(`item ${itemId} with stock ${stockBefore}; warming up (${options.warmup} of each)`);
      sampler.mark('warm-up');
      for (const kind of RUN_KINDS) await drive(1, { runs: options.warmup }, runners[kind]);

      for (const phase of options.phases) {
        const clients = phase === 'one' ? 1 : options.clients;
        const name = `${clients} client${clients === 1 ? '' : 's'}`;
        phaseTag = name;
        requests = 0;
        const totals = Object.fromEntries(RUN_KINDS.map((kind) => [kind, new RunTotals()])) as Record<
          RunKind,
          RunTotals
        >;
        const loadAtStart = loadAverage();
        // Interleaved, so that the floors and the orders see the same machine (whose load may change meanwhile):
        // 1 client: one run of each kind in turn; many clients: blocks of each kind in turn, over `rounds` rounds.
        const rounds = phase === 'one' ? options.orders : options.rounds;
        log(
          `${name}: ${rounds} rounds of ${phase === 'one' ? 'one run' : 'a block'} each of the minimal floor, ` +
            'the saga topology floor and the orders',
        );
        for (let round = 0; round < rounds; round += 1) {
          for (const kind of RUN_KINDS) {
            sampler.mark(`${phase} ${kind}`);
            const seconds = (kind === 'orders' ? options.durationSeconds : options.floorSeconds) / rounds;
            const limit = phase === 'one' ? { runs: 1 } : { seconds };
            totals[kind].add(await measuringCpu(stateFile, () => drive(clients, limit, runners[kind])));
          }
        }
        phases.push({
          name,
          clients,
          loadAverage: loadAtStart,
          minimal: totals.minimal.figures(),
          topology: totals.topology.figures(),
          orders: { ...totals.orders.figures(), requests, slowest: slowest[name] ?? [] },
          samples: sampler.samples
            .filter((sample) => sample.tag === `${phase} orders`)
            .map((sample) => ({ at: sample.at, pssKiB: sample.pssKiB, rssKiB: sample.rssKiB })),
        });
      }
    });
  } finally {
    sampler.stop();
    await floors.close();
  }

  const stockAfter = await gateway.stockOf(itemId);
  const completed = outcomes.get('COMPLETED') ?? 0;
  return evaluateTargets({
    date: new Date().toISOString(),
    commit,
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

/**
 * `npm run bench`'s arithmetic, options and verdicts, and its reading of a process tree's memory from /proc with
 * real processes (a stand-in supervisor with a child and a grandchild).
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { origin, summarizeProfile } from '../bench/cpu-profile-summary';
import { RunTotals, drive } from '../bench/drive';
import { parseBenchOptions } from '../bench/options';
import { evaluateTargets, type BenchInput, type PhaseResult } from '../bench/report';
import { MemorySampler, cpuSecondsByGroup, sampleStack, stackProcesses } from '../bench/stack-memory';
import { percentile, slope, summarize } from '../bench/stats';

describe('bench arithmetic', () => {
  test('percentiles are nearest-rank over unsorted input', () => {
    const values = [5, 1, 4, 2, 3, 10, 9, 8, 7, 6];
    expect(percentile(values, 50)).toBe(5);
    expect(percentile(values, 95)).toBe(10);
    expect(percentile(values, 10)).toBe(1);
    expect(percentile([], 50)).toBeNaN();
  });

  test('a summary counts runs per second of wall time', () => {
    expect(summarize([100, 200, 300, 400], 2)).toMatchObject({ count: 4, perSecond: 2, p50: 200, max: 400 });
    expect(summarize([100, 200, 300, 400], 2, 3)).toMatchObject({ count: 4, perSecond: 1.5 });
  });

  test('the slope is the least-squares one', () => {
    expect(slope([0, 1, 2, 3].map((x) => ({ x, y: 10 + 2 * x })))).toBeCloseTo(2);
    expect(slope([0, 1, 2, 3].map((x) => ({ x, y: x % 2 ? 11 : 9 })))).toBeCloseTo(0.4);
    expect(slope([{ x: 1, y: 1 }])).toBeNaN();
  });
});

describe('bench load', () => {
  test('a timed drive counts throughput at full concurrency, not the filling or the draining', async () => {
    // On Jest's clock, so a busy machine cannot stretch the 100 ms runs.
    jest.useFakeTimers();
    try {
      const driving = drive(
        4,
        { seconds: 1 },
        () => new Promise<number>((resolve) => setTimeout(() => resolve(100), 100)),
      );
      await jest.advanceTimersByTimeAsync(1_100);
      const run = await driving;
      // 4 clients start a 100 ms run at 0, 100, …, 900 ms: 40 runs, the last in flight at the deadline still ending.
      expect(run.latencies).toHaveLength(40);
      // Counted: the runs that ended after the first end (100 ms) up to the deadline (1,000 ms), over 0.9 s.
      expect(run.counted).toBe(36);
      expect(run.seconds).toBeCloseTo(0.9);
    } finally {
      jest.useRealTimers();
    }
  });

  test('a counted drive runs exactly that many, one client after another', async () => {
    let inFlight = 0;
    let most = 0;
    const run = await drive(1, { runs: 5 }, async () => {
      most = Math.max(most, ++inFlight);
      await sleep(5);
      inFlight -= 1;
      return 5;
    });
    expect(run).toMatchObject({ counted: 5 });
    expect(run.latencies).toHaveLength(5);
    expect(most).toBe(1);
  });

  test('totals add the blocks of a kind: runs over seconds, CPU per run by group, the bench last', () => {
    const totals = new RunTotals();
    totals.add({
      latencies: [100, 300],
      counted: 2,
      seconds: 1,
      cpuSeconds: new Map([
        ['temporal', 0.2],
        ['bench', 0.1],
      ]),
    });
    totals.add({
      latencies: [200, 400],
      counted: 1,
      seconds: 1,
      cpuSeconds: new Map([
        ['temporal', 0.2],
        ['gateway', 0.4],
      ]),
    });
    const figures = totals.figures();
    expect(figures).toMatchObject({ count: 4, perSecond: 1.5, p50: 200, max: 400 });
    expect(Object.entries(figures.cpuMsPerRun)).toEqual([
      ['temporal', 100],
      ['gateway', 100],
      ['bench', 25],
    ]);
  });
});

describe('bench options', () => {
  test('the defaults are npm start’s; --cluster takes npm run start:cluster’s', () => {
    const plain = parseBenchOptions([], {}, '/repo')!;
    expect(plain).toMatchObject({
      gateway: 'http://localhost:3000',
      temporal: '127.0.0.1:7233',
      dataDir: '/repo/.data',
      orders: 100,
      durationSeconds: 60,
      floorSeconds: 60,
      clients: 16,
      phases: ['one', 'many'],
      customer: { email: 'swcho@naver.com' },
    });
    expect(
      parseBenchOptions(['--cluster', '--duration', '600'], { CLUSTER_TEMPORAL_PORT: '7633' }, '/repo'),
    ).toMatchObject({
      gateway: 'http://localhost:3100',
      temporal: '127.0.0.1:7633',
      dataDir: '/repo/.data/cluster',
      durationSeconds: 600,
      floorSeconds: 60,
    });
  });

  test('a bad value is refused, naming the option', () => {
    expect(() => parseBenchOptions(['--orders', 'many'])).toThrow('--orders must be a positive integer');
    expect(() => parseBenchOptions(['--phases', 'one,all'])).toThrow('--phases');
    expect(() => parseBenchOptions(['--admin', 'nobody'])).toThrow('--admin must be EMAIL:PASSWORD');
    expect(() => parseBenchOptions(['--unknown'])).toThrow();
  });
});

function figures(perSecond: number, p50: number, p99 = p50): PhaseResult['minimal'] {
  return { count: 100, seconds: 100 / perSecond, perSecond, p50, p95: p99, p99, max: p99, cpuMsPerRun: {} };
}

function input(overrides: Partial<BenchInput> = {}): BenchInput {
  const minute = (at: number, pssMiB: number, ordersDone: number) => ({
    at,
    pssKiB: pssMiB * 1024,
    rssKiB: pssMiB * 2048,
    processes: [],
    tag: 'many orders',
    ordersDone,
  });
  // 10 minutes of samples: growing 5 MiB/min for the first half, flat after.
  const samples = Array.from({ length: 11 }, (_, index) =>
    minute(index * 60_000, 700 + 5 * Math.min(index, 5), index * 200),
  );
  return {
    date: '2026-12-07T00:00:00.000Z',
    commit: 'abc1234',
    machine: '2 cores',
    gateway: 'http://localhost:3000',
    temporal: '127.0.0.1:7233',
    loadAverage: { before: '1 1 1', after: '1 1 1' },
    options: {},
    phases: [
      {
        name: '1 client',
        clients: 1,
        loadAverage: '1 1 1',
        minimal: figures(10, 100),
        topology: figures(6, 160),
        orders: { ...figures(8, 119), requests: 100 },
        samples: [],
      },
      {
        name: '16 clients',
        clients: 16,
        loadAverage: '1 1 1',
        minimal: figures(50, 300),
        topology: figures(30, 500),
        orders: { ...figures(40, 400, 801), requests: 100 },
        samples: samples.map(({ at, pssKiB, rssKiB }) => ({ at, pssKiB, rssKiB })),
      },
    ],
    outcomes: { COMPLETED: 2000 },
    stock: { itemId: 1, before: 5000, after: 3000, completedUnits: 2000 },
    memory: { samples },
    ...overrides,
  };
}

describe('bench verdicts', () => {
  test('each target is judged on its own figures', () => {
    const result = evaluateTargets(input());
    expect(result.targets.map((target) => target.met)).toEqual([true, true, false, true, true]);
    expect(result.memory.pssAfter1000OrdersMiB).toBe(725);
    expect(result.memory.slopeMiBPerMinute).toBeGreaterThan(2);
    expect(result.memory.secondHalfSlopeMiBPerMinute).toBeCloseTo(0);
    expect(result.json.stock.conserved).toBe(true);
  });

  test('a latency just above 1.2 × the floor, or throughput below 0.8 ×, misses', () => {
    const base = input();
    base.phases[0]!.orders = { ...figures(8, 121), requests: 100 };
    base.phases[1]!.orders = { ...figures(39.9, 400, 800), requests: 100 };
    expect(
      evaluateTargets(base)
        .targets.slice(0, 3)
        .map((target) => target.met),
    ).toEqual([false, false, true]);
  });

  test('missing stock is not conserved; a short run or fewer than 1,000 orders is not judged', () => {
    const short = input({ stock: { itemId: 1, before: 5000, after: 2999, completedUnits: 2000 } });
    short.memory.samples = short.memory.samples.slice(0, 4).map((sample) => ({ ...sample, ordersDone: 10 }));
    short.phases[1]!.samples = short.memory.samples;
    const result = evaluateTargets(short);
    expect(result.json.stock.conserved).toBe(false);
    expect(result.targets.slice(3).map((target) => target.met)).toEqual([undefined, undefined]);
  });
});

describe('the memory of a process tree', () => {
  let dir: string;
  let supervisor: ChildProcess;
  const state = () => JSON.parse(readFileSync(path.join(dir, 'processes.json'), 'utf8'));

  beforeAll(async () => {
    dir = mkdtempSync(path.join(tmpdir(), 'bench-memory-'));
    // A stand-in supervisor: a child ("worker") that itself runs a grandchild, and a second child.
    const script = `
      const { spawn } = require('node:child_process');
      const keep = ['-e', 'setInterval(() => {}, 1000)'];
      const worker = spawn(process.execPath, ['-e', "require('node:child_process').spawn(process.execPath, ['-e', 'setInterval(() => {}, 1000)'], { stdio: 'ignore' }); setInterval(() => {}, 1000)"], { stdio: 'ignore' });
      const other = spawn(process.execPath, keep, { stdio: 'ignore' });
      console.log(JSON.stringify({ worker: worker.pid, other: other.pid }));
      setInterval(() => {}, 1000);
    `;
    supervisor = spawn(process.execPath, ['-e', script], { stdio: ['ignore', 'pipe', 'inherit'], detached: true });
    const pids = await new Promise<{ worker: number; other: number }>((resolve) =>
      supervisor.stdout!.once('data', (chunk: Buffer) => resolve(JSON.parse(chunk.toString()))),
    );
    writeFileSync(
      path.join(dir, 'processes.json'),
      JSON.stringify({
        supervisorPid: supervisor.pid,
        processes: { worker: { pid: pids.worker }, other: { pid: pids.other }, restarting: { pid: null } },
      }),
    );
    // The grandchild is spawned by the worker once that runs (slow on a busy machine).
    for (let waited = 0; waited < 10_000 && stackProcesses(state()).length < 4; waited += 100) await sleep(100);
  });

  afterAll(() => {
    try {
      process.kill(-supervisor.pid!, 'SIGKILL');
    } catch {
      // already gone
    }
    rmSync(dir, { recursive: true, force: true });
  });

  test('every process under the supervisor is found, in the group of its nearest named ancestor, and nothing else', () => {
    const found = stackProcesses(state());
    expect(found.map((entry) => entry.group).sort()).toEqual(['other', 'supervisor', 'worker', 'worker']);
    expect(found.map((entry) => entry.pid)).not.toContain(process.pid);
  });

  test('the sample sums every process’s RSS and PSS read from smaps_rollup', () => {
    const sample = sampleStack(state());
    expect(sample.processes).toHaveLength(4);
    for (const proc of sample.processes) {
      expect(proc.pssKiB).toBeGreaterThan(1000);
      expect(proc.rssKiB).toBeGreaterThanOrEqual(proc.pssKiB);
    }
    expect(sample.pssKiB).toBe(sample.processes.reduce((sum, proc) => sum + proc.pssKiB, 0));
    expect(cpuSecondsByGroup(state()).get('worker')).toBeGreaterThan(0);
  });

  test('the sampler keeps samples tagged by phase, with the orders done so far', async () => {
    const sampler = new MemorySampler(path.join(dir, 'processes.json'), 50).start();
    sampler.mark('one orders');
    await sleep(200);
    sampler.countOrders(7);
    sampler.mark('many orders');
    sampler.stop();
    expect(sampler.samples.map((sample) => sample.tag)).toEqual(
      expect.arrayContaining(['setup', 'one orders', 'many orders']),
    );
    expect(sampler.samples.at(-1)).toMatchObject({ tag: 'many orders', ordersDone: 7 });
    expect(sampler.peak('many orders')!.pssKiB).toBeGreaterThan(0);
  });
});

describe('a CPU profile summary', () => {
  test('the function that burnt the CPU of a real profiled process comes first', () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'bench-profile-'));
    try {
      const busy =
        'function spinForTheBench() { let x = 0; const end = Date.now() + 400; while (Date.now() < end) x += Math.sqrt(x + 1); return x; } spinForTheBench();';
      const run = spawnSync(process.execPath, ['--cpu-prof', '--cpu-prof-dir', dir, '-e', busy]);
      expect(run.status).toBe(0);
      const [file] = readdirSync(dir);
      const summary = summarizeProfile(JSON.parse(readFileSync(path.join(dir, file!), 'utf8')));
      const functions = summary.split('| by function |')[1]!.split('\n');
      expect(functions[2]).toMatch(/^\| spinForTheBench /);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test('code is attributed to its package, project folder or Node', () => {
    expect(origin('file:///x/node_modules/@prisma/client/runtime/a.js', 'f')).toBe('@prisma/client');
    expect(origin('/x/node_modules/pg/lib/client.js', 'f')).toBe('pg');
    expect(origin('node:internal/streams/readable', 'f')).toBe('node (internals)');
    expect(origin('', '(garbage collector)')).toBe('(garbage collector)');
    expect(origin(`file://${path.resolve(__dirname, '..', '..')}/dist/services/order.js`, 'f')).toBe('services/');
  });
});

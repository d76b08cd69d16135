/**
 * `npx tsx test/bench/stack-start.ts [--mode start|dev|cluster] [--settle S]`: how long each process of a stack
 * takes to start and how much memory it holds once idle. Runs `npm start` (compiled, dist/), `npm run start:dev`
 * (from source through tsx) or `npm run start:cluster` with the caller's environment (choose ports and a data folder
 * that no other stack uses: PORT, TEMPORAL_PORT, TEMPORAL_UI_PORT, EMBEDDED_POSTGRES_PORT, DATA_DIR, or the
 * CLUSTER_* ones), waits until the gateway is ready, lets it settle, reads every process's RSS and PSS, and stops it
 * with SIGTERM to its supervisor.
 *
 * A process's start time is from its spawn (`startedAt` in processes.json) to the line that makes the supervisor
 * call it ready: PostgreSQL's `ready`, the Temporal server answering, a worker polling, the gateway's health check.
 */
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { parseArgs } from 'node:util';
import { byGroup, readStackState, sampleStack } from './stack-memory';

const ROOT = path.resolve(__dirname, '..', '..');

const { values } = parseArgs({
  args: process.argv.slice(2),
  options: { mode: { type: 'string', default: 'start' }, settle: { type: 'string', default: '15' } },
});
const mode = values.mode as 'start' | 'dev' | 'cluster';
if (!['start', 'dev', 'cluster'].includes(mode)) throw new Error(`--mode takes start, dev or cluster, not ${mode}`);
const script = { start: 'start', dev: 'start:dev', cluster: 'start:cluster' }[mode];
const dataDir = path.resolve(
  ROOT,
  mode === 'cluster'
    ? (process.env.CLUSTER_DATA_DIR ?? path.join('.data', 'cluster'))
    : (process.env.DATA_DIR ?? '.data'),
);
const stateFile = path.join(dataDir, 'processes.json');

/** Which output line (by the prefix of the process that wrote it) makes each process ready. */
function readyProcess(name: string, text: string): string | undefined {
  if (name === 'postgres' && /^ready/.test(text)) return 'postgres';
  if (/worker polling task queue/.test(text)) return name;
  if ((name === 'start' || name === 'cluster') && /Temporal (dev )?server ready/.test(text)) return 'temporal';
  if (name === 'cluster' && /Temporal Web UI at/.test(text)) return 'temporal-ui';
  if ((name === 'start' || name === 'cluster') && /^ready: gateway/.test(text)) return 'gateway';
  return undefined;
}

async function main(): Promise<void> {
  if (existsSync(stateFile)) throw new Error(`${stateFile} exists: a stack runs on this data folder already`);
  const launched = Date.now();
  const child = spawn('npm', ['run', script], { cwd: ROOT, env: process.env, stdio: ['ignore', 'pipe', 'pipe'] });
  const readyAt = new Map<string, number>();
  const output: string[] = [];
  let buffer = '';
  const onData = (chunk: Buffer) => {
    buffer += chunk.toString();
    const lines = buffer.split('\n');
    buffer = lines.pop() ?? '';
    for (const line of lines) {
      output.push(line);
      const match = /^(\S+)\s*\| ?(.*)$/.exec(line); // not a terminal: no colours
      const ready = match && readyProcess(match[1]!, match[2]!);
      if (ready && !readyAt.has(ready)) readyAt.set(ready, Date.now());
    }
  };
  child.stdout.on('data', onData);
  child.stderr.on('data', onData);
  const exited = new Promise<number | null>((resolve) => child.once('exit', resolve));

  const deadline = Date.now() + 15 * 60_000;
  while (!readyAt.has('gateway')) {
    if (Date.now() > deadline || child.exitCode !== null) {
      console.error(output.slice(-40).join('\n'));
      throw new Error(`the stack did not become ready (npm exited: ${child.exitCode})`);
    }
    await sleep(200);
  }
  const total = readyAt.get('gateway')! - launched;
  const state = readStackState(stateFile);
  await sleep(Number(values.settle) * 1000);
  const idle = byGroup(sampleStack(readStackState(stateFile)));

  process.kill(state.supervisorPid, 'SIGTERM');
  const stopStarted = Date.now();
  await exited;
  const stopMs = Date.now() - stopStarted;

  const records = (state as unknown as { processes: Record<string, { startedAt: string }> }).processes;
  const firstSpawn = Math.min(...Object.values(records).map((record) => Date.parse(record.startedAt)));
  console.log(`### ${script}: start and idle memory per process, ${new Date().toISOString().slice(0, 10)}`);
  console.log('');
  console.log(
    `npm run ${script} → gateway ready: ${(total / 1000).toFixed(1)} s (of which before the first process ` +
      `spawned — npm, Prisma clients, build check, workflow bundle: ${((firstSpawn - launched) / 1000).toFixed(1)} s); ` +
      `stopped in ${(stopMs / 1000).toFixed(1)} s. Memory ${values.settle} s after ready.`,
  );
  console.log('');
  console.log('| process | spawn → ready (s) | PSS MiB | of which anonymous | RSS MiB | processes |');
  console.log('| --- | --- | --- | --- | --- | --- |');
  const row = (name: string, startSeconds: string) => {
    const memory = idle.find((group) => group.group === name);
    console.log(
      `| ${name} | ${startSeconds} | ${memory ? (memory.pssKiB / 1024).toFixed(0) : '–'} | ` +
        `${memory ? (memory.pssAnonKiB / 1024).toFixed(0) : '–'} | ${memory ? (memory.rssKiB / 1024).toFixed(0) : '–'} | ${memory?.processes ?? '–'} |`,
    );
  };
  row('supervisor', '–');
  for (const [name, record] of Object.entries(records)) {
    const ready = readyAt.get(name) ?? readyAt.get(name.replace(/-\d+$/, ''));
    row(name, ready ? ((ready - Date.parse(record.startedAt)) / 1000).toFixed(1) : '?');
  }
  const totalPss = idle.reduce((sum, group) => sum + group.pssKiB, 0) / 1024;
  const totalRss = idle.reduce((sum, group) => sum + group.rssKiB, 0) / 1024;
  console.log(
    `| **whole stack** | ${(total / 1000).toFixed(1)} | ${totalPss.toFixed(0)} | | ${totalRss.toFixed(0)} | |`,
  );
}

main().then(
  () => process.exit(0),
  (error: unknown) => {
    console.error(error instanceof Error ? error.message : error);
    process.exit(1);
  },
);

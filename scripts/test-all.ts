/**
 * `npm test`, in four lanes side by side:
 * - the main Jest suite in two shards (`--shard=1/2`, `--shard=2/2`, balanced by test/support/sequencer.js), each
 *   in its own Jest process with its own PostgreSQL and Temporal dev server (test/support/global-setup.ts);
 * - the checks, one after the other: ESLint and Prettier, the type check, the fast tier;
 * - the tests that run private `npm start` stacks, one after the other: the short chaos soak, then the
 *   whole-stack supervisor test.
 * Most of the main suite waits on real clocks (step bounds, timeouts, processes starting), so the lanes use each
 * other's idle time. Every step runs even when an earlier one failed, so one run reports every failure. The first
 * shard prints as it goes; the other lanes' output is kept and printed after it, so each reads whole. Exits
 * non-zero when any step fails. Arguments go to the chaos soak (`--orders 60 --concurrency 8 --kill-every 5`).
 */
import { spawn } from 'node:child_process';
import path from 'node:path';

const ROOT = path.resolve(__dirname, '..');

interface Step {
  name: string;
  command: string;
  args: string[];
}

interface Outcome {
  name: string;
  code: number;
  seconds: number;
  output: string;
}

const node = (name: string, args: string[]): Step => ({ name, command: process.execPath, args });
const jest = (name: string, config?: string, ...args: string[]): Step =>
  node(name, [require.resolve('jest/bin/jest'), ...(config ? ['-c', config] : []), ...args]);

function run(step: Step, capture: boolean): Promise<Outcome> {
  const started = Date.now();
  return new Promise((resolve) => {
    const child = spawn(step.command, step.args, {
      cwd: ROOT,
      stdio: capture ? ['ignore', 'pipe', 'pipe'] : 'inherit',
    });
    let output = '';
    child.stdout?.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.stderr?.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.on('error', (error) => (output += `${step.name} could not start: ${error.message}\n`));
    child.on('close', (code, signal) =>
      resolve({
        name: step.name,
        code: code ?? (signal ? 1 : 0),
        seconds: Math.round((Date.now() - started) / 1000),
        output,
      }),
    );
  });
}

async function sequence(steps: Step[]): Promise<Outcome[]> {
  const outcomes: Outcome[] = [];
  for (const step of steps) outcomes.push(await run(step, true));
  return outcomes;
}

async function main(): Promise<number> {
  const started = Date.now();
  const tool = (name: string, file: string, ...args: string[]) =>
    node(name, [path.join(ROOT, 'node_modules', file), ...args]);
  const checks = sequence([
    tool('eslint', 'eslint/bin/eslint.js', '.'),
    tool('prettier', 'prettier/bin/prettier.cjs', '--check', '.'),
    tool('typecheck', 'typescript/bin/tsc', '-p', '.'),
    jest('fast tier', 'jest.fast.config.js'),
  ]);
  const stacks = sequence([
    node('chaos soak', ['--import', 'tsx', 'scripts/chaos.ts', ...process.argv.slice(2)]),
    jest('npm start test', 'jest.stack.config.js'),
  ]);
  const secondShard = run(jest('main suite, shard 2/2', undefined, '--shard=2/2'), true);
  const firstShard = await run(jest('main suite, shard 1/2', undefined, '--shard=1/2'), false);
  const others = [await secondShard, ...(await checks), ...(await stacks)];
  for (const outcome of others) {
    process.stdout.write(`\n--- ${outcome.name} (ran beside shard 1/2, ${outcome.seconds} s) ---\n${outcome.output}`);
  }
  const all = [firstShard, ...others];
  const verdicts = all.map(({ name, code, seconds }) => `${name} ${code === 0 ? 'passed' : 'FAILED'} (${seconds} s)`);
  console.log(`\n${verdicts.join('; ')}\nnpm test: ${Math.round((Date.now() - started) / 1000)} s`);
  return all.find(({ code }) => code !== 0)?.code ?? 0;
}

void main().then((code) => process.exit(code));

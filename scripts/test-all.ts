/**
 * The second half of `npm test`, in two lanes side by side: the main Jest suite on its shared infrastructure, and
 * the tests that run private `npm start` stacks (the short chaos soak, then the whole-stack supervisor test).
 * Most of the main suite waits on real clocks (step bounds, timeouts), so the second lane uses the idle time; its
 * output is kept and printed after the main suite's, so each reads whole. Exits non-zero when either fails.
 */
import { spawn } from 'node:child_process';
import path from 'node:path';

const ROOT = path.resolve(__dirname, '..');

function run(command: string, args: string[], capture: boolean): Promise<{ code: number; output: string }> {
  return new Promise((resolve) => {
    const child = spawn(command, args, { cwd: ROOT, stdio: capture ? ['ignore', 'pipe', 'pipe'] : 'inherit' });
    let output = '';
    child.stdout?.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.stderr?.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.on('exit', (code, signal) => resolve({ code: code ?? (signal ? 1 : 0), output }));
  });
}

async function main(): Promise<number> {
  const started = Date.now();
  const stacks = (async () => {
    const soak = await run(process.execPath, ['--import', 'tsx', 'scripts/chaos.ts', ...process.argv.slice(2)], true);
    const whole = await run(process.execPath, [require.resolve('jest/bin/jest'), '-c', 'jest.stack.config.js'], true);
    return { soak, whole };
  })();
  const jest = await run(process.execPath, [require.resolve('jest/bin/jest')], false);
  const { soak, whole } = await stacks;
  process.stdout.write(`\n--- chaos soak (ran beside Jest) ---\n${soak.output}`);
  process.stdout.write(`\n--- npm start as a whole (ran beside Jest) ---\n${whole.output}`);
  const verdict = (code: number) => (code === 0 ? 'passed' : 'FAILED');
  console.log(
    `\nJest ${verdict(jest.code)}; chaos soak ${verdict(soak.code)}; npm start test ${verdict(whole.code)}; ` +
      `${Math.round((Date.now() - started) / 1000)} s`,
  );
  return [jest.code, soak.code, whole.code].find((code) => code !== 0) ?? 0;
}

void main().then((code) => process.exit(code));

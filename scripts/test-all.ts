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
  const chaos = run(process.execPath, ['--import', 'tsx', 'scripts/chaos.ts', ...process.argv.slice(2)], true);
  const jest = await run(process.execPath, [require.resolve('jest/bin/jest')], false);
  const soak = await chaos;
  process.stdout.write(`\n--- chaos soak (ran beside Jest) ---\n${soak.output}`);
  console.log(
    `\nJest ${jest.code === 0 ? 'passed' : 'FAILED'}; chaos soak ${soak.code === 0 ? 'passed' : 'FAILED'}; ${Math.round((Date.now() - started) / 1000)} s`,
  );
  return jest.code !== 0 ? jest.code : soak.code;
}

void main().then((code) => process.exit(code));

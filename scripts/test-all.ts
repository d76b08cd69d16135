/**
 * The second half of `npm test`: every Jest test and the short chaos soak, side by side. Most of the Jest run
 * waits on real clocks (step bounds, timeouts), so the soak's private stack uses the idle time; its output is
 * kept and printed after Jest's, so each reads whole. Exits non-zero when either fails.
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

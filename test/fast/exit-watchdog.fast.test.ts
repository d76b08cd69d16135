/**
 * The exit watchdog that replaces Jest's forceExit: a run whose tests leave a server or an interval open must fail
 * and name them; a run that closes everything must exit at once. Both are real Node processes
 * (support/leaky-process.ts), the way Jest ends after its global teardown.
 */
import { spawn } from 'node:child_process';
import path from 'node:path';

const LEAKY_PROCESS = path.join(__dirname, 'support', 'leaky-process.ts');

interface Outcome {
  code: number | null;
  stderr: string;
}

function runLeakyProcess(mode: 'leak' | 'close'): Promise<Outcome> {
  return new Promise((resolve, reject) => {
    // tsx's CommonJS hook alone: it starts in a fraction of the time of the full `--import tsx`.
    const child = spawn(process.execPath, ['--require', 'tsx/cjs', LEAKY_PROCESS, mode], {
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    let stderr = '';
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stderr }));
  });
}

let leaked: Outcome;
let closed: Outcome;

beforeAll(async () => {
  // Both at once: together they cost the fast tier about one process start.
  [leaked, closed] = await Promise.all([runLeakyProcess('leak'), runLeakyProcess('close')]);
});

test('when a server and an interval are left open, then the watchdog names both and exits with code 1', () => {
  const { code, stderr } = leaked;

  expect(code).toBe(1);
  expect(stderr).toContain('OPEN HANDLES');
  expect(stderr).toMatch(/server listening on 127\.0\.0\.1:\d+/);
  expect(stderr).toContain(`setInterval created at ${path.relative(process.cwd(), LEAKY_PROCESS)}:`);
});

test('when everything is closed, then the process exits with code 0 without waiting for the watchdog', () => {
  const { code, stderr } = closed;

  expect(stderr).toBe('');
  expect(code).toBe(0);
});

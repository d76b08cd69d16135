/** The production-like docker-compose topology must stay a valid compose file (checked without a Docker engine). */
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import path from 'node:path';

const ROOT = path.resolve(__dirname, '..');

function compose(args: string[]) {
  const result = spawnSync('docker-compose', ['-f', 'docker-compose.yml', ...args], { cwd: ROOT, encoding: 'utf8' });
  if (result.error)
    throw new Error(`docker-compose is not installed (apt-get install docker-compose): ${result.error.message}`);
  return result;
}

test('when docker-compose validates docker-compose.yml, then it reports no error', () => {
  const result = compose(['config', '-q']);
  expect(result.stderr).toBe('');
  expect(result.status).toBe(0);
});

test('when the topology is read, then it has PostgreSQL, Temporal, its UI, the set-up job, the gateway and each worker, all health-checked', () => {
  const { stdout } = compose(['config', '--services']);
  expect(stdout.trim().split('\n').sort()).toEqual(
    [
      'coupon-worker',
      'gateway',
      'item-worker',
      'order-worker',
      'payment-worker',
      'postgres',
      'setup',
      'temporal',
      'temporal-ui',
    ].sort(),
  );
  const resolved = compose(['config']).stdout;
  for (const service of [
    'gateway',
    'order-worker',
    'item-worker',
    'coupon-worker',
    'payment-worker',
    'postgres',
    'temporal',
  ]) {
    const block = resolved.split(/\n {2}(?=[a-z-]+:\n)/).find((part) => part.startsWith(`${service}:`));
    expect(block).toContain('healthcheck:');
  }
});

/**
 * Docker's .dockerignore rules, enough for this file: `*` and `?` stay within a path segment, `**` spans
 * segments, a pattern also excludes everything under a matching folder, a later `!pattern` re-includes.
 */
function ignoredByDocker(file: string, patterns: string[]): boolean {
  let ignored = false;
  for (const raw of patterns) {
    const negated = raw.startsWith('!');
    const pattern = (negated ? raw.slice(1) : raw).replace(/^\/+|\/+$/g, '');
    const source = pattern
      .split(/(\*\*\/?|\*|\?)/)
      .map((part) =>
        part === '**/' || part === '**'
          ? '(?:.*/)?'
          : part === '*'
            ? '[^/]*'
            : part === '?'
              ? '[^/]'
              : part.replace(/[.+^${}()|[\]\\]/g, '\\$&'),
      )
      .join('');
    if (new RegExp(`^${source}(?:/.*)?$`).test(file)) ignored = !negated;
  }
  return ignored;
}

test('when the image is built, then no .env file of the build context goes into it', () => {
  const patterns = readFileSync(path.join(ROOT, '.dockerignore'), 'utf8')
    .split('\n')
    .map((line) => line.trim())
    .filter((line) => line && !line.startsWith('#'));

  for (const secret of ['.env', '.env.production', '.env.local', 'deploy/.env', 'deploy/prod/.env.staging']) {
    expect({ file: secret, ignored: ignoredByDocker(secret, patterns) }).toEqual({ file: secret, ignored: true });
  }
  for (const needed of ['package.json', 'api/server.ts', 'prisma/order/schema.prisma']) {
    expect({ file: needed, ignored: ignoredByDocker(needed, patterns) }).toEqual({ file: needed, ignored: false });
  }
});

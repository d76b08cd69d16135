/** The production-like docker-compose topology must stay a valid compose file (checked without a Docker engine). */
import { spawnSync } from 'node:child_process';
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

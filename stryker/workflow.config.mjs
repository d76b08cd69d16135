// @ts-check
/**
 * Mutation testing of the order saga's workflow code against the fast tier (test/fast, time-skipping test server).
 * `npm run mutation:workflow`; see docs/testing.md.
 *
 * The workflow runs bundled inside the worker's V8 sandbox, where Stryker's coverage counters are out of its
 * sight, so coverage analysis is off and every mutant runs the whole fast tier (jest stops at the first failing
 * file, and stryker/fail-fast-environment.js at the first failing test). test/fast/support/workflow-bundle.ts tells the sandbox which mutant is active and, through
 * FAST_TIER_BUNDLE_CACHE, bundles the mutated code once per run instead of once per mutant.
 * @type {import('@stryker-mutator/api/core').PartialStrykerOptions}
 */
import { existsSync } from 'node:fs';
import path from 'node:path';
import process from 'node:process';

// Relative to the test runner's working directory, Stryker's sandbox: removed with it after the run.
process.env.FAST_TIER_BUNDLE_CACHE = 'workflow-bundle.stryker.js';

// The sandbox leaves out .tools, so point the fast tier at the project's test server unless one is set already.
const projectTestServer = path.resolve('.tools/temporal-test-server/bin/temporal-test-server');
if (!process.env.TEMPORAL_TEST_SERVER_PATH && existsSync(projectTestServer)) {
  process.env.TEMPORAL_TEST_SERVER_PATH = projectTestServer;
}

export default {
  // Every workflow file but the index of exports. Each mutant costs a run of the fast tier's workflow tests;
  // a narrower run: `npx stryker run stryker/workflow.config.mjs --mutate workflows/place-order.ts`.
  mutate: ['workflows/*.ts', '!workflows/index.ts'],
  testRunner: 'jest',
  jest: { configFile: 'stryker/jest.workflow.config.js', enableFindRelatedTests: false },
  coverageAnalysis: 'off',
  concurrency: 1,
  // A test server under load answers slowly; a mutant that makes a workflow hang still ends as a timeout.
  timeoutMS: 20_000,
  // The event recorder writes each mutant's result as it comes, so a run cut short still shows what it found.
  reporters: ['clear-text', 'progress-append-only', 'html', 'json', 'event-recorder'],
  eventReporter: { baseDir: 'reports/mutation/workflow-events' },
  htmlReporter: { fileName: 'reports/mutation/workflow.html' },
  jsonReporter: { fileName: 'reports/mutation/workflow.json' },
  tempDirName: '.stryker-tmp',
  cleanTempDir: 'always',
  ignorePatterns: ['.tools', '.data', 'test-results', 'reports', 'dist', 'coverage'],
  thresholds: { high: 90, low: 80, break: 80 },
};

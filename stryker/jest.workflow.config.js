/**
 * Jest for mutation runs of the workflow: the fast tier's workflow tests (the domain tests have their own scope), in
 * a test environment that gives up on a file at its first failure, and with a test timeout that still leaves a
 * wide margin over the slowest fast-tier test (under a second each on an idle machine).
 */
// eslint-disable-next-line @typescript-eslint/no-require-imports -- a CommonJS config, like jest.config.js
const fast = require('../jest.fast.config');

module.exports = {
  ...fast,
  rootDir: '..',
  roots: ['<rootDir>/test/fast'],
  // Only the files that reach workflows/: the other fast tests (logger, codec, docs, passwords) never do, and
  // running them for every mutant would only add time. step-failure and charge-check test workflow helpers without a workflow.
  testMatch: [
    '**/step-failure.fast.test.ts',
    '**/charge-check.fast.test.ts',
    '**/place-order.fast.test.ts',
    '**/clean-up-order.fast.test.ts',
    '**/activity-options.fast.test.ts',
    '**/context-headers.fast.test.ts',
  ],
  testEnvironment: '<rootDir>/stryker/fail-fast-environment.js',
  // Without the exit watchdog: Stryker keeps one Jest process for many runs, and a mutant that leaves a test
  // server running (the rest of its file skipped) would make the watchdog end that process, which Stryker then
  // counts as a crash and restarts at a cost of seconds per mutant.
  globalSetup: undefined,
  globalTeardown: undefined,
  testTimeout: 8_000,
};

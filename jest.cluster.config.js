/**
 * Jest for the production-shaped topology (`npm run test:cluster`, test/cluster): it starts `npm run
 * start:cluster` as a real process tree (the real Temporal server on PostgreSQL, two replicas of every worker), so
 * it needs no shared infrastructure. Not part of `npm test`: the first run builds the Temporal server (minutes).
 */
// eslint-disable-next-line @typescript-eslint/no-require-imports -- a CommonJS config, like jest.config.js
const main = require('./jest.config');

module.exports = {
  testEnvironment: 'node',
  roots: ['<rootDir>/test/cluster'],
  testMatch: ['**/*.test.ts'],
  transform: main.transform,
  testTimeout: 300_000,
  slowTestThreshold: 120,
  // No forceExit: a process or server the test leaves running fails the run, named by the exit watchdog.
  globalSetup: '<rootDir>/test/support/exit-watchdog.setup.ts',
  globalTeardown: '<rootDir>/test/support/exit-watchdog.teardown.ts',
  openHandlesTimeout: 0,
};

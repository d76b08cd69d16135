/**
 * Jest for the fast tier (`npm run test:fast`): workflows on Temporal's time-skipping test server with fake
 * activities, plus the pure domain tests. No PostgreSQL and no dev server, so no shared infrastructure: seconds, not minutes.
 */
// eslint-disable-next-line @typescript-eslint/no-require-imports -- a CommonJS config, like jest.config.js
const main = require('./jest.config');

module.exports = {
  testEnvironment: 'node',
  roots: ['<rootDir>/test/fast', '<rootDir>/domain'],
  testMatch: ['**/*.test.ts'],
  transform: main.transform,
  testTimeout: 15_000,
  slowTestThreshold: 10,
  // No forceExit: a test server or worker left running fails the run, named by the exit watchdog.
  globalSetup: '<rootDir>/test/support/exit-watchdog.setup.ts',
  globalTeardown: '<rootDir>/test/support/exit-watchdog.teardown.ts',
  openHandlesTimeout: 0,
};

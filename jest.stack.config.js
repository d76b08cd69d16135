/**
 * Jest for the test of `npm start` as a whole (test/supervisor/npm-start.test.ts): it starts its own private stack
 * of OS processes, so it needs no shared infrastructure and runs beside the main suite in `npm test`.
 */
// eslint-disable-next-line @typescript-eslint/no-require-imports -- a CommonJS config, like jest.config.js
const main = require('./jest.config');

module.exports = {
  testEnvironment: 'node',
  roots: ['<rootDir>/test/supervisor'],
  testMatch: ['**/npm-start.test.ts'],
  transform: main.transform,
  testTimeout: 240_000,
  slowTestThreshold: 60,
  // No forceExit: a process or server the test leaves running fails the run, named by the exit watchdog.
  globalSetup: '<rootDir>/test/support/exit-watchdog.setup.ts',
  globalTeardown: '<rootDir>/test/support/exit-watchdog.teardown.ts',
  openHandlesTimeout: 0,
};

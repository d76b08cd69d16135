/**
 * Jest for the fast tier (`npm run test:fast`): workflows on Temporal's time-skipping test server with fake
 * activities, plus the pure domain tests. No PostgreSQL and no dev server, so no global setup: seconds, not minutes.
 */
const main = require('./jest.config');

module.exports = {
  testEnvironment: 'node',
  roots: ['<rootDir>/test/fast', '<rootDir>/domain'],
  testMatch: ['**/*.test.ts'],
  transform: main.transform,
  testTimeout: 15_000,
  slowTestThreshold: 10,
};

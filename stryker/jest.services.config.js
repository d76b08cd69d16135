/**
 * Jest for mutation runs of the services: the tests that exercise services/*.ts against PostgreSQL alone (no
 * Temporal). The database comes from stryker/with-postgres.ts through the *_DATABASE_URL variables, not from
 * a global setup, so it starts once per mutation run rather than once per mutant.
 */
// eslint-disable-next-line @typescript-eslint/no-require-imports -- a CommonJS config, like jest.config.js
const main = require('../jest.config');

module.exports = {
  rootDir: '..',
  testEnvironment: 'node',
  roots: ['<rootDir>/test'],
  testMatch: [
    '<rootDir>/test/saga/activities.test.ts',
    '<rootDir>/test/saga/card-gateway.test.ts',
    '<rootDir>/test/saga/data-guards.test.ts',
    '<rootDir>/test/services/**/*.test.ts',
  ],
  transform: main.transform,
  maxWorkers: 1,
  testTimeout: 90_000,
};

/**
 * Jest for mutation runs of the workflow: the fast tier without the domain tests (they have their own scope), in
 * a test environment that gives up on a file at its first failure, and with a test timeout that still leaves a
 * wide margin over the slowest fast-tier test (under a second each on an idle machine).
 */
// eslint-disable-next-line @typescript-eslint/no-require-imports -- a CommonJS config, like jest.config.js
const fast = require('../jest.fast.config');

module.exports = {
  ...fast,
  rootDir: '..',
  roots: ['<rootDir>/test/fast'],
  testEnvironment: '<rootDir>/stryker/fail-fast-environment.js',
  testTimeout: 8_000,
};

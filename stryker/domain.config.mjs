// @ts-check
/**
 * Mutation testing of domain/ (pure functions) against domain/*.test.ts, through Stryker's jest runner with
 * per-test coverage, so each mutant runs only the tests that reach it. `npm run mutation:domain`; see docs/testing.md.
 * @type {import('@stryker-mutator/api/core').PartialStrykerOptions}
 */
export default {
  mutate: ['domain/**/*.ts', '!domain/**/*.test.ts'],
  testRunner: 'jest',
  jest: { configFile: 'stryker/jest.domain.config.js', enableFindRelatedTests: false },
  coverageAnalysis: 'perTest',
  concurrency: 1,
  reporters: ['clear-text', 'progress', 'html', 'json'],
  htmlReporter: { fileName: 'reports/mutation/domain.html' },
  jsonReporter: { fileName: 'reports/mutation/domain.json' },
  tempDirName: '.stryker-tmp',
  // Only what the tests need goes into the sandbox: not the tools, the databases or earlier reports.
  ignorePatterns: ['.tools', '.data', 'test-results', 'reports', 'dist', 'coverage'],
  cleanTempDir: 'always',
  thresholds: { high: 95, low: 90, break: 90 },
};

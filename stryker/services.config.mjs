// @ts-check
/**
 * Mutation testing of the services' rules against the tests that run them on a real PostgreSQL.
 * `npm run mutation:services` starts that PostgreSQL once (stryker/with-postgres.ts); see docs/testing.md.
 * The services run in jest's own process, so per-test coverage lets each mutant run only the tests that reach it.
 * @type {import('@stryker-mutator/api/core').PartialStrykerOptions}
 */
export default {
  mutate: [
    'services/item.ts',
    'services/coupon.ts',
    'services/payment.ts',
    'services/order.ts',
    'services/card-gateway.ts',
    'services/user.ts',
    'services/passwords.ts',
  ],
  testRunner: 'jest',
  jest: { configFile: 'stryker/jest.services.config.js', enableFindRelatedTests: false },
  coverageAnalysis: 'perTest',
  // A mutant reached only while a test file sets up (a service built in beforeAll) would need every test of the
  // run; those static mutants are left out and reported as ignored.
  ignoreStatic: true,
  concurrency: 1,
  timeoutMS: 10_000,
  // The event recorder writes each mutant's result as it comes, so a run cut short still shows what it found.
  reporters: ['clear-text', 'progress-append-only', 'html', 'json', 'event-recorder'],
  eventReporter: { baseDir: 'reports/mutation/services-events' },
  htmlReporter: { fileName: 'reports/mutation/services.html' },
  jsonReporter: { fileName: 'reports/mutation/services.json' },
  tempDirName: '.stryker-tmp',
  cleanTempDir: 'always',
  ignorePatterns: ['.tools', '.data', 'test-results', 'reports', 'dist', 'coverage'],
  thresholds: { high: 90, low: 80, break: 80 },
};

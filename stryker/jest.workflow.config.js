/** Jest for mutation runs of the workflow: the fast tier without the domain tests (they have their own scope). */
// eslint-disable-next-line @typescript-eslint/no-require-imports -- a CommonJS config, like jest.config.js
const fast = require('../jest.fast.config');

module.exports = { ...fast, rootDir: '..', roots: ['<rootDir>/test/fast'] };

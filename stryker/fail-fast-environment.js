/**
 * A node test environment that skips the rest of a test file once one of its tests failed. A mutation run only
 * needs to know whether some test fails; a mutant that makes workflows hang would otherwise cost every remaining
 * test its full timeout. Jest's own `bail` stops at the next file, not within one.
 */
// eslint-disable-next-line @typescript-eslint/no-require-imports -- a CommonJS module, like the jest configs
const { TestEnvironment } = require('jest-environment-node');
// eslint-disable-next-line @typescript-eslint/no-require-imports -- as above
const process = require('node:process');

/**
 * Stryker runs jest in one long-lived process. A test that failed (timed out) on a mutant leaves its client call
 * pending, and its gRPC retry timer fires after the file has torn its test server down. Under plain jest
 * (forceExit) the process is gone by then; here the late "Channel has been shut down" would crash Stryker's
 * runner between files, or fail a later file as an error outside any test, which Stryker reports as a runtime
 * error instead of a killed mutant. Only that error is dropped: the failed test has already decided the mutant.
 */
// Not instanceof Error: the error comes from the test file's realm, not this one.
const isLateChannelError = (error) => error?.message === 'Channel has been shut down';

function ignoreLateChannelErrors() {
  if (process.listeners('uncaughtException').some((listener) => listener.lateChannelErrors)) return;
  const listener = (error) => {
    if (isLateChannelError(error)) return;
    throw error;
  };
  listener.lateChannelErrors = true;
  process.on('uncaughtException', listener);
}

class FailFastEnvironment extends TestEnvironment {
  failed = false;

  constructor(config, context) {
    super(config, context);
    ignoreLateChannelErrors();
  }

  /** Synchronous on purpose: jest dispatches uncaught errors to this handler without awaiting it. */
  handleTestEvent(event, state) {
    if (event.name === 'error' && isLateChannelError(event.error)) {
      // jest has filed it under the test whose call it was (already failed) or, outside any test, as unhandled.
      for (const errors of [state.unhandledErrors, state.currentlyRunningTest?.errors ?? []]) {
        const index = errors.indexOf(event.error);
        if (index >= 0) errors.splice(index, 1);
      }
      return;
    }
    if (event.name === 'test_fn_failure' || event.name === 'hook_failure') this.failed = true;
    // jest-circus reads the mode after dispatching test_start, so a test marked here is skipped.
    if (event.name === 'test_start' && this.failed) event.test.mode = 'skip';
  }
}

module.exports = FailFastEnvironment;

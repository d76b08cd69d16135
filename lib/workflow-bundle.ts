/**
 * What goes into the workflow bundle: the workflows and the workflow interceptor modules (the log context,
 * workflows/log-context.ts, and the trace context, workflows/trace-context.ts; both only pass headers on, so they
 * add no command and committed histories replay with them). Every place that bundles (npm start, npm run build, the cluster, the tests) or lets
 * the worker bundle takes it from here, so no bundle lacks the interceptors.
 */
import type { BundleOptions } from '@temporalio/worker';

export const WORKFLOWS_PATH = require.resolve('../workflows');
export const WORKFLOW_INTERCEPTOR_MODULES = [
  require.resolve('../workflows/log-context'),
  require.resolve('../workflows/trace-context'),
];

/** The bundler's own messages: warnings and errors only. */
const BUNDLER_LOGGER: BundleOptions['logger'] = {
  log() {},
  info() {},
  warn: console.warn,
  error: console.error,
  debug() {},
  trace() {},
};

/** Options of `bundleWorkflowCode` for the project's workflows. */
export function workflowBundleOptions(overrides: Partial<BundleOptions> = {}): BundleOptions {
  return {
    workflowsPath: WORKFLOWS_PATH,
    workflowInterceptorModules: WORKFLOW_INTERCEPTOR_MODULES,
    logger: BUNDLER_LOGGER,
    ...overrides,
  };
}

/**
 * The fast tier's workflow bundle, and the two things a mutation run (docs/testing.md) needs from it.
 *
 * Stryker compiles every mutant into the code at once and picks the active one at run time through the global
 * `__stryker__` object, which its instrumented code fills from the `__STRYKER_ACTIVE_MUTANT__` environment
 * variable. The workflow runs inside the worker's V8 sandbox, where neither that global nor `process` exists, so
 * the bundle is prefixed with a line that names the active mutant inside the sandbox. Since the mutated code is the same for every
 * mutant, a mutation run also reuses one bundle (FAST_TIER_BUNDLE_CACHE, a file path) instead of running webpack for
 * each mutant and test file. Outside a mutation run neither variable is set and the bundle is today's workflow code.
 */
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { bundleWorkflowCode, type WorkflowBundle } from '@temporalio/worker';
import { WORKFLOW_INTERCEPTOR_MODULES } from '../../../lib/workflow-bundle';

export type { WorkflowBundle };

const ACTIVE_MUTANT_VARIABLE = '__STRYKER_ACTIVE_MUTANT__';

const SILENT_BUNDLER = { log() {}, info() {}, warn() {}, error: console.error, debug() {}, trace() {} };

async function bundleOnce(workflowsPath: string): Promise<string> {
  const cachePath = process.env.FAST_TIER_BUNDLE_CACHE;
  if (cachePath && existsSync(cachePath)) return readFileSync(cachePath, 'utf8');
  const { code } = await bundleWorkflowCode({
    workflowsPath,
    workflowInterceptorModules: WORKFLOW_INTERCEPTOR_MODULES,
    logger: SILENT_BUNDLER,
  });
  if (cachePath) writeFileSync(cachePath, code);
  return code;
}

/**
 * A statement run in the workflow sandbox before any module, so Stryker's switches see the active mutant.
 *
 * It must not create `__stryker__` itself: the worker deep-freezes every global the bundle leaves behind once it
 * has loaded (the reusable V8 context shares them between workflows), and Stryker's instrumented code adds its
 * coverage record to that object as it runs ("Cannot add property mutantCoverage, object is not extensible"), so
 * every workflow task failed and every mutant looked killed by a test timing out. Instead the prelude gives the
 * sandbox the `process.env` entry that Stryker's code reads when it creates `__stryker__` itself, later, inside
 * each workflow, where the object stays writable.
 */
function activeMutantPrelude(): string {
  const mutant = process.env[ACTIVE_MUTANT_VARIABLE];
  return mutant === undefined
    ? ''
    : `globalThis.process = { env: { ${ACTIVE_MUTANT_VARIABLE}: ${JSON.stringify(mutant)} } };\n`;
}

export async function fastTierWorkflowBundle(workflowsPath: string): Promise<WorkflowBundle> {
  return { code: activeMutantPrelude() + (await bundleOnce(workflowsPath)) };
}

/**
 * Writes the prebuilt workflow bundle, dist/workflow-bundle.js, for `npm run build`: the order worker of the
 * image loads it (WORKFLOW_BUNDLE_PATH) instead of running webpack at every start, and the image then needs no
 * bundler at run time. Written whole and renamed into place, so a reader never sees half a bundle.
 */
import { mkdirSync, renameSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { bundleWorkflowCode } from '@temporalio/worker';
import { WORKFLOW_INTERCEPTOR_MODULES } from '../lib/tracing';

const OUTPUT = path.resolve(__dirname, '..', 'dist', 'workflow-bundle.js');

async function main(): Promise<void> {
  const { code } = await bundleWorkflowCode({
    workflowsPath: require.resolve('../workflows'),
    // The tracing interceptors (lib/tracing.ts): part of the bundle whether tracing is on or not.
    workflowInterceptorModules: WORKFLOW_INTERCEPTOR_MODULES,
    logger: { log() {}, info() {}, warn: console.warn, error: console.error, debug() {}, trace() {} },
  });
  mkdirSync(path.dirname(OUTPUT), { recursive: true });
  writeFileSync(`${OUTPUT}.tmp`, code);
  renameSync(`${OUTPUT}.tmp`, OUTPUT);
  console.log(`workflow bundle: ${path.relative(process.cwd(), OUTPUT)} (${Math.round(code.length / 1024)} KiB)`);
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});

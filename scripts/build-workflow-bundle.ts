/**
 * Writes the prebuilt workflow bundle, dist/workflow-bundle.js, for `npm run build`: the order worker of the
 * image loads it (WORKFLOW_BUNDLE_PATH) instead of running webpack at every start, and the image then needs no
 * bundler at run time. Written whole and renamed into place, so a reader never sees half a bundle.
 */
import { mkdirSync, renameSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { bundleWorkflowCode } from '@temporalio/worker';
import { workflowBundleOptions } from '../lib/workflow-bundle';

const OUTPUT = path.resolve(__dirname, '..', 'dist', 'workflow-bundle.js');

async function main(): Promise<void> {
  const { code } = await bundleWorkflowCode(workflowBundleOptions());
  mkdirSync(path.dirname(OUTPUT), { recursive: true });
  writeFileSync(`${OUTPUT}.tmp`, code);
  renameSync(`${OUTPUT}.tmp`, OUTPUT);
  console.log(`workflow bundle: ${path.relative(process.cwd(), OUTPUT)} (${Math.round(code.length / 1024)} KiB)`);
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});

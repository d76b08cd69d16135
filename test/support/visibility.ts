/**
 * Counting workflow executions through Temporal's visibility store, which is updated asynchronously: a list or
 * count right after an execution starts may not see it yet, so "no execution" or "only one" proves nothing
 * until visibility is known to have caught up with everything that happened before the check.
 */
import { randomUUID } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Client } from '@temporalio/client';

const CATCH_UP_TIMEOUT_MS = 15_000;

/**
 * Starts a marker execution (a workflow type no worker runs, on a task queue nobody polls), waits until the
 * visibility store lists it, then terminates it. Visibility records are written in the order the executions
 * changed (the dev server has one history shard), so once the marker is listed, every execution started
 * before this call is listed too.
 */
export async function visibilityCaughtUp(client: Client): Promise<void> {
  const workflowId = `visibility-marker-${randomUUID()}`;
  const handle = await client.workflow.start('visibilityMarker', {
    taskQueue: `visibility-marker-${randomUUID()}`,
    workflowId,
    args: [],
  });
  try {
    const deadline = Date.now() + CATCH_UP_TIMEOUT_MS;
    while ((await client.workflow.count(`WorkflowId = '${workflowId}'`)).count === 0) {
      if (Date.now() > deadline)
        throw new Error(`visibility did not list ${workflowId} within ${CATCH_UP_TIMEOUT_MS} ms`);
      await sleep(100);
    }
  } finally {
    await handle.terminate('visibility marker: no longer needed');
  }
}

/**
 * The ids of every execution (every run, open or closed) matching the query, read once visibility has caught up
 * with everything started before the call: an extra execution cannot hide behind indexing delay.
 */
export async function executionsMatching(client: Client, query: string): Promise<string[]> {
  await visibilityCaughtUp(client);
  const found: string[] = [];
  for await (const execution of client.workflow.list({ query })) found.push(execution.workflowId);
  return found;
}

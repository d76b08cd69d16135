/**
 * The request id of the HTTP request being answered (X-Request-Id, set by pino-http in api/app.ts), kept for the
 * code the request runs, so that the Temporal client can put it on the workflows it starts and the updates it
 * sends (as a header, lib/log-context.ts). The workflow and its activities then log it on their lines.
 */
import { AsyncLocalStorage } from 'node:async_hooks';
import type { WorkflowClientInterceptor } from '@temporalio/client';
import type { RequestHandler } from 'express';
import { logContextHeaders } from '../lib/log-context';

const requestIds = new AsyncLocalStorage<string>();

/** After pino-http and the body parser: everything the request's handlers run sees its id. */
export const requestContext: RequestHandler = (req, _res, next) => {
  requestIds.run(String(req.id), next);
};

export function currentRequestId(): string | undefined {
  return requestIds.getStore();
}

/** Adds the current request's id to the headers of a start or an update (nothing outside a request). */
function withRequestId<T extends { headers: Record<string, unknown> }>(input: T): T {
  const requestId = currentRequestId();
  return requestId === undefined
    ? input
    : { ...input, headers: { ...input.headers, ...logContextHeaders({ requestId }) } };
}

/** Client interceptors of the gateway's Temporal client. */
export const requestIdInterceptor: WorkflowClientInterceptor = {
  startWithDetails: (input, next) => next(withRequestId(input)),
  startUpdate: (input, next) => next(withRequestId(input)),
  signal: (input, next) => next(withRequestId(input)),
};

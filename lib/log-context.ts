/**
 * The log context that travels with an order through Temporal as headers: the gateway's request id (X-Request-Id)
 * and the order id. The gateway's client interceptor puts the request id on the workflow it starts; the workflow
 * interceptor (workflows/log-context.ts) adds the order id and copies both onto every activity it schedules; the
 * activity interceptor (workers/log-context.ts) puts both on the activity's log lines.
 *
 * Workflow code imports this module, so it stays free of I/O: only the SDK's payload converter.
 */
import { defaultPayloadConverter, type Headers } from '@temporalio/common';

export const LOG_CONTEXT_HEADERS = { requestId: 'x-request-id', orderId: 'order-id' } as const;

export interface LogContext {
  requestId?: string;
  orderId?: string;
}

/** The context's fields as headers, leaving out the ones that are not known. */
export function logContextHeaders(context: LogContext): Headers {
  const headers: Headers = {};
  for (const [field, header] of Object.entries(LOG_CONTEXT_HEADERS) as [keyof LogContext, string][]) {
    const value = context[field];
    if (value !== undefined) headers[header] = defaultPayloadConverter.toPayload(value);
  }
  return headers;
}

/** The context carried by headers; a header that is missing or not a string is left out. */
export function logContextOf(headers: Headers | undefined): LogContext {
  const context: LogContext = {};
  for (const [field, header] of Object.entries(LOG_CONTEXT_HEADERS) as [keyof LogContext, string][]) {
    const payload = headers?.[header];
    if (!payload) continue;
    try {
      const value: unknown = defaultPayloadConverter.fromPayload(payload);
      if (typeof value === 'string') context[field] = value;
    } catch {
      // Not ours to read: a header of the same name set by someone else.
    }
  }
  return context;
}

/** The order id of an order activity's or workflow's first argument (`{ orderId, … }`), if it has one. */
export function orderIdOfArgs(args: readonly unknown[]): string | undefined {
  const first = args[0] as { orderId?: unknown } | undefined;
  return typeof first?.orderId === 'string' ? first.orderId : undefined;
}

/**
 * Workflow interceptors that carry an order's trace from the workflow's start to its activities, and do nothing
 * else. The OpenTelemetry client interceptor of the gateway puts the trace context into the start's headers; this
 * copies it onto every activity the workflow schedules, where the activity interceptor of each worker continues
 * the trace (lib/tracing.ts).
 *
 * Not the workflow interceptors of @temporalio/interceptors-opentelemetry: those wrap each activity call in an
 * async span, which hands the activity's result to the workflow a few microtasks later. In an activation that
 * also completes an update, that reorders the workflow's commands, and the committed histories with updates no
 * longer replay (test/replay/replay.test.ts shows it). Headers are not part of the commands Temporal compares on
 * replay, so forwarding them is safe for executions already in flight.
 */
import { TRACE_HEADER } from '@temporalio/interceptors-opentelemetry/lib/instrumentation';
import type { Payload } from '@temporalio/common';
import type { WorkflowInterceptorsFactory } from '@temporalio/workflow';

export const interceptors: WorkflowInterceptorsFactory = () => {
  let traceContext: Payload | undefined;
  const withTraceContext = <T extends { headers: Record<string, Payload> }>(input: T): T =>
    !traceContext || input.headers[TRACE_HEADER]
      ? input
      : { ...input, headers: { ...input.headers, [TRACE_HEADER]: traceContext } };
  return {
    inbound: [
      {
        execute(input, next) {
          traceContext = input.headers[TRACE_HEADER];
          return next(input);
        },
      },
    ],
    outbound: [
      {
        scheduleActivity(input, next) {
          return next(withTraceContext(input));
        },
        // The progress records run as local activities on the order worker.
        scheduleLocalActivity(input, next) {
          return next(withTraceContext(input));
        },
      },
    ],
  };
};

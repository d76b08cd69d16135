/**
 * Activity interceptors of every worker: each activity's log lines (its own `log`, and the SDK's lifecycle lines)
 * carry the request id and order id that came with it as headers (lib/log-context.ts), the SDK's workflow id,
 * activity type and attempt, and the run id under the same name as on workflow lines (`runId`). The task token is
 * left out: it is long, and whoever holds it can complete the activity.
 *
 * Every activity also writes one `activity finished` line with its duration (info), and at debug level its input
 * (card tokens and passwords censored by the logger, lib/logger.ts).
 */
import type { ActivityInterceptorsFactory } from '@temporalio/worker';
import { logContextOf, orderIdOfArgs, type LogContext } from '../lib/log-context';

export const activityLogContext: ActivityInterceptorsFactory = (ctx) => {
  const context: LogContext = {};
  return {
    inbound: {
      async execute(input, next) {
        const received = logContextOf(input.headers);
        const orderId = received.orderId ?? orderIdOfArgs(input.args);
        if (received.requestId !== undefined) context.requestId = received.requestId;
        if (orderId !== undefined) context.orderId = orderId;
        ctx.log.debug('activity input', { input: input.args });
        const started = performance.now();
        const result = await next(input);
        ctx.log.info('activity finished', { durationMs: Math.round(performance.now() - started) });
        return result;
      },
    },
    outbound: {
      getLogAttributes(input, next) {
        const { taskToken: _taskToken, workflowRunId, ...attributes } = next(input);
        return { ...attributes, ...(workflowRunId === undefined ? {} : { runId: workflowRunId }), ...context };
      },
    },
  };
};

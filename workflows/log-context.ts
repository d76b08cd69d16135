/**
 * Workflow interceptors (bundled with the workflows through `workflowInterceptorModules`, lib/workflow-bundle.ts):
 * the request id the gateway put on the workflow's start and the order id of its input go on every log line of
 * the workflow (`log`) and, as headers, onto every activity it schedules, whose worker logs them in turn.
 *
 * Headers and log attributes are not commands: histories replay the same with or without this module.
 */
import type {
  ActivityInput,
  LocalActivityInput,
  Next,
  WorkflowExecuteInput,
  WorkflowInboundCallsInterceptor,
  WorkflowInterceptorsFactory,
  WorkflowOutboundCallsInterceptor,
} from '@temporalio/workflow';
import { logContextHeaders, logContextOf, orderIdOfArgs, type LogContext } from '../lib/log-context';

export const interceptors: WorkflowInterceptorsFactory = () => {
  // One factory call per workflow execution: the context is this execution's own.
  const context: LogContext = {};
  const inbound: WorkflowInboundCallsInterceptor = {
    execute(input: WorkflowExecuteInput, next: Next<WorkflowInboundCallsInterceptor, 'execute'>) {
      const received = logContextOf(input.headers);
      const orderId = received.orderId ?? orderIdOfArgs(input.args);
      if (received.requestId !== undefined) context.requestId = received.requestId;
      if (orderId !== undefined) context.orderId = orderId;
      return next(input);
    },
  };
  const outbound: WorkflowOutboundCallsInterceptor = {
    scheduleActivity(input: ActivityInput, next: Next<WorkflowOutboundCallsInterceptor, 'scheduleActivity'>) {
      return next({ ...input, headers: { ...input.headers, ...logContextHeaders(context) } });
    },
    scheduleLocalActivity(
      input: LocalActivityInput,
      next: Next<WorkflowOutboundCallsInterceptor, 'scheduleLocalActivity'>,
    ) {
      return next({ ...input, headers: { ...input.headers, ...logContextHeaders(context) } });
    },
    getLogAttributes(input, next) {
      return next({ ...input, ...context });
    },
  };
  return { inbound: [inbound], outbound: [outbound] };
};

/**
 * OpenTelemetry tracing, off unless OTEL_EXPORTER_OTLP_ENDPOINT names a collector: one trace per order, from the
 * gateway's HTTP request (api/tracing.ts) through the Temporal client's start of the workflow, the workflow, each
 * activity on its worker (@temporalio/interceptors-opentelemetry) down to each SQL statement (lib/databases.ts),
 * exported over OTLP/HTTP. Trace context crosses Temporal in workflow and activity headers.
 *
 * The workflow side (workflows/trace-context.ts) only forwards the trace context from the workflow's start to its
 * activities; it is part of the workflow bundle whether tracing is on or not (lib/workflow-bundle.ts), so one
 * bundle serves both.
 */
import { OTLPTraceExporter } from '@opentelemetry/exporter-trace-otlp-http';
import { Resource } from '@opentelemetry/resources';
import { BatchSpanProcessor } from '@opentelemetry/sdk-trace-base';
import { NodeTracerProvider } from '@opentelemetry/sdk-trace-node';
import { OpenTelemetryWorkflowClientInterceptor } from '@temporalio/interceptors-opentelemetry/lib/client';
import {
  OpenTelemetryActivityInboundInterceptor,
  OpenTelemetryActivityOutboundInterceptor,
} from '@temporalio/interceptors-opentelemetry/lib/worker';
import type { WorkerOptions } from '@temporalio/worker';

export interface Tracing {
  /** Sends what is still buffered; call before the process exits. */
  shutdown(): Promise<void>;
}

/**
 * Starts exporting this process's spans to `endpoint` (the OTLP/HTTP base URL, `/v1/traces` appended as the
 * OpenTelemetry specification has it), named `serviceName`; undefined when no endpoint is configured.
 */
export function startTracing(serviceName: string, endpoint: string | undefined): Tracing | undefined {
  if (!endpoint) return undefined;
  const resource = new Resource({ 'service.name': serviceName, 'service.namespace': 'order-saga' });
  const spanProcessor = new BatchSpanProcessor(
    new OTLPTraceExporter({ url: `${endpoint.replace(/\/+$/, '')}/v1/traces` }),
    { scheduledDelayMillis: 1_000 },
  );
  const provider = new NodeTracerProvider({ resource, spanProcessors: [spanProcessor] });
  // Registers the provider, the W3C trace-context propagator and the AsyncLocalStorage context manager globally.
  provider.register();
  return { shutdown: () => provider.shutdown() };
}

/** The Temporal client's interceptors: a started workflow (or update) carries the caller's trace in its headers. */
export function tracingClientInterceptors() {
  return { workflow: [new OpenTelemetryWorkflowClientInterceptor()] };
}

/**
 * What a worker adds for tracing: each activity continues the trace its workflow passed on (a span per attempt,
 * the SQL statements inside it as children), and clients made by activities (the reconciler's) pass it on.
 */
export function tracingWorkerOptions(): Pick<WorkerOptions, 'interceptors'> {
  return {
    interceptors: {
      activity: [
        (ctx) => ({
          inbound: new OpenTelemetryActivityInboundInterceptor(ctx),
          outbound: new OpenTelemetryActivityOutboundInterceptor(ctx),
        }),
      ],
      client: tracingClientInterceptors(),
    },
  };
}

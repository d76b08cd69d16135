/**
 * One server span per HTTP request, the root of an order's trace (lib/tracing.ts): it continues a trace the
 * caller sent (`traceparent`), and everything the request does (the Temporal client's start of a workflow, SQL)
 * runs inside it. While tracing is off the spans are no-ops.
 */
import { SpanKind, SpanStatusCode, context, propagation, trace } from '@opentelemetry/api';
import type { RequestHandler } from 'express';
import { TRACER_NAME } from '../lib/config';

export function traceRequests(): RequestHandler {
  return (req, res, next) => {
    const parent = propagation.extract(context.active(), req.headers);
    const span = trace
      .getTracer(TRACER_NAME)
      .startSpan(
        `${req.method} ${req.path}`,
        { kind: SpanKind.SERVER, attributes: { 'http.request.method': req.method, 'url.path': req.path } },
        parent,
      );
    res.on('finish', () => {
      // Named by its route once routing is done (`POST /orders/:id/cancel`), so ids do not make every name unique.
      const route = (req.route as { path?: string } | undefined)?.path;
      if (route) {
        span.updateName(`${req.method} ${route}`);
        span.setAttribute('http.route', route);
      }
      span.setAttribute('http.response.status_code', res.statusCode);
      if (res.statusCode >= 500) span.setStatus({ code: SpanStatusCode.ERROR });
      span.end();
    });
    context.with(trace.setSpan(parent, span), next);
  };
}

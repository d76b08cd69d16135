/**
 * The gateway's Prometheus metrics, served as `GET /metrics` on a port of its own (GATEWAY_METRICS_PORT), never
 * on the public port:
 *
 * - HTTP: `http_request_duration_seconds` (histogram by method, route pattern and status) and
 *   `http_requests_in_flight`, counted by a middleware of the app;
 * - the saga's: orders by status and failure reason, compensations by step, orders waiting for an operator, and
 *   the time from POST /orders to the order's final status. These are counted in the order database at scrape time
 *   (OrderService.sagaFigures): the database is the record the API answers from, so the figures match it, need no
 *   bookkeeping in the workflow or its activities (no retried or replayed activity can count twice), and survive
 *   restarts. Every gateway replica reports the same totals: aggregate them with max(), not sum().
 * - the process's own CPU and memory.
 */
import type { RequestHandler } from 'express';
import { TERMINAL_STATUSES } from '../domain/order';
import type { EndpointAnswer } from '../lib/http-endpoints';
import type { Logger } from '../lib/logger';
import {
  EXPOSITION_CONTENT_TYPE,
  Histogram,
  histogramFamily,
  processFamilies,
  renderFamilies,
  type MetricFamily,
} from '../lib/metrics';
import type { OrderService } from '../services/order';

const HTTP_BOUNDS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];

/** POST /orders to COMPLETED or CANCELLED, in seconds: from a quick saga to one an operator had to finish. */
export const ORDER_DURATION_BOUNDS = [0.25, 0.5, 1, 2, 5, 10, 30, 60, 300, 1800, 3600, 86_400];

/** The label of a request no route matched, so that unknown paths do not each become a series. */
export const UNMATCHED_ROUTE = '(unmatched)';

export class HttpMetrics {
  private readonly durations = new Histogram(
    'http_request_duration_seconds',
    'Time to answer an HTTP request of the gateway, by method, route pattern and status.',
    HTTP_BOUNDS,
  );
  private inFlight = 0;

  /** Counts every request once its answer is sent (or its connection closed). */
  readonly middleware: RequestHandler = (req, res, next) => {
    const started = process.hrtime.bigint();
    this.inFlight += 1;
    res.once('close', () => {
      this.inFlight -= 1;
      const route = req.route ? `${req.baseUrl}${String((req.route as { path: unknown }).path)}` : UNMATCHED_ROUTE;
      const seconds = Number(process.hrtime.bigint() - started) / 1e9;
      this.durations.observe({ method: req.method, route, status: String(res.statusCode) }, seconds);
    });
    next();
  };

  families(): MetricFamily[] {
    return [
      this.durations.family(),
      {
        name: 'http_requests_in_flight',
        help: 'HTTP requests of the gateway being answered now.',
        type: 'gauge',
        samples: [{ labels: {}, value: this.inFlight }],
      },
    ];
  }
}

/** The saga's figures as metric families (see the module comment). */
export async function sagaFamilies(orders: Pick<OrderService, 'sagaFigures'>): Promise<MetricFamily[]> {
  const figures = await orders.sagaFigures(ORDER_DURATION_BOUNDS);
  const waiting = figures.orders
    .filter((row) => row.status === 'COMPENSATION_FAILED')
    .reduce((sum, row) => sum + row.count, 0);
  const durations = new Map(figures.durations.map((row) => [row.status, row]));
  return [
    {
      name: 'saga_orders',
      help: 'Orders in the order database by status and failure reason ("none" when it has none).',
      type: 'gauge',
      samples: figures.orders.map((row) => ({
        labels: { status: row.status, failure_reason: row.failureReason ?? 'none' },
        value: row.count,
      })),
    },
    {
      name: 'saga_orders_waiting_for_operator',
      help: 'Orders in COMPENSATION_FAILED: an undo could not finish and waits for its retry or an operator.',
      type: 'gauge',
      samples: [{ labels: {}, value: waiting }],
    },
    {
      name: 'saga_compensations',
      help: 'Saga steps whose undo finished (COMPENSATED) or is stuck (COMPENSATION_FAILED), by step.',
      type: 'gauge',
      samples: figures.compensations.map((row) => ({ labels: { step: row.step, state: row.state }, value: row.count })),
    },
    // Every final status has its series from the start, so a rate over it never begins at a missing series.
    histogramFamily(
      'saga_order_duration_seconds',
      'Time from POST /orders to the final status of the order (COMPLETED or CANCELLED).',
      ORDER_DURATION_BOUNDS,
      TERMINAL_STATUSES.map(
        (status) =>
          durations.get(status) ?? { status, bucketCounts: ORDER_DURATION_BOUNDS.map(() => 0), sum: 0, count: 0 },
      ).map(({ status, bucketCounts, sum, count }) => ({ labels: { status }, bucketCounts, sum, count })),
    ),
  ];
}

/**
 * The answer of `GET /metrics`. When the order database does not answer, the HTTP and process metrics are still
 * served, with `saga_metrics_up 0` in place of the saga's figures (and the reason in the gateway's log).
 */
export async function metricsAnswer(
  orders: Pick<OrderService, 'sagaFigures'>,
  http: HttpMetrics,
  logger?: Logger,
): Promise<EndpointAnswer> {
  let saga: MetricFamily[] = [];
  let up = 1;
  try {
    saga = await sagaFamilies(orders);
  } catch (error) {
    up = 0;
    logger?.warn({ err: error }, 'saga metrics: the order database did not answer');
  }
  const families: MetricFamily[] = [
    ...http.families(),
    ...saga,
    {
      name: 'saga_metrics_up',
      help: 'Whether the saga figures of this scrape could be read from the order database (1) or not (0).',
      type: 'gauge',
      samples: [{ labels: {}, value: up }],
    },
    ...processFamilies(),
  ];
  return { status: 200, contentType: EXPOSITION_CONTENT_TYPE, body: renderFamilies(families) };
}

/** The gateway's one error type and its mapping to `application/problem+json` (RFC 9457). */
import type { ErrorRequestHandler, RequestHandler } from 'express';
import type { ServiceErrorCode } from '../lib/errors';
import { ServiceError } from '../lib/errors';
import { BusinessRuleError } from '../domain/failures';
import { isDatabaseUnavailable } from '../lib/transient';

export interface FieldError {
  path: string;
  message: string;
}

export class HttpProblem extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    readonly title: string,
    readonly detail?: string,
    readonly errors?: FieldError[],
  ) {
    super(detail ?? title);
    this.name = 'HttpProblem';
  }
}

export const PROBLEM_CONTENT_TYPE = 'application/problem+json';

const serviceErrorStatus: Record<ServiceErrorCode, [number, string]> = {
  NOT_FOUND: [404, 'Not found'],
  DUPLICATE: [409, 'Already exists'],
  STALE_VERSION: [409, 'Stale version'],
  INVALID_CREDENTIALS: [401, 'Invalid credentials'],
  IDEMPOTENCY_CONFLICT: [409, 'Idempotency key reused'],
  ORDER_NOT_CANCELLABLE: [409, 'Order cannot be cancelled'],
  ORDER_NOT_STUCK: [409, 'Order is not waiting for an operator'],
  VALIDATION_FAILED: [422, 'Validation failed'],
  SERVICE_UNAVAILABLE: [503, 'Service unavailable'],
};

const clientErrors: Record<number, [string, string]> = {
  400: ['BAD_REQUEST', 'Bad request'],
  413: ['PAYLOAD_TOO_LARGE', 'Payload too large'],
  415: ['UNSUPPORTED_MEDIA_TYPE', 'Unsupported media type'],
};

function toProblem(error: unknown): HttpProblem {
  if (error instanceof HttpProblem) return error;
  if (error instanceof ServiceError) {
    const [status, title] = serviceErrorStatus[error.code];
    return new HttpProblem(status, error.code, title, error.message);
  }
  if (isDatabaseUnavailable(error)) {
    return new HttpProblem(503, 'SERVICE_UNAVAILABLE', 'Service unavailable', 'a database did not answer; try again');
  }
  if (error instanceof BusinessRuleError)
    return new HttpProblem(422, error.reason, 'Business rule violated', error.message);
  const status = (error as { status?: unknown; type?: unknown }).status;
  const type = (error as { type?: unknown }).type;
  // body-parser errors carry a 4xx status and a type.
  if (type === 'entity.parse.failed')
    return new HttpProblem(400, 'MALFORMED_JSON', 'Malformed JSON', 'the request body is not valid JSON');
  if (type === 'entity.too.large')
    return new HttpProblem(413, 'PAYLOAD_TOO_LARGE', 'Payload too large', 'the request body is too large');
  if (typeof status === 'number' && status >= 400 && status < 500) {
    // Other errors of Express and body-parser (bad percent-encoding, unsupported charset, aborted body).
    const [code, title] = clientErrors[status] ?? ['BAD_REQUEST', 'Bad request'];
    const exposed = (error as { expose?: unknown }).expose === true;
    return new HttpProblem(status, code, title, exposed ? (error as Error).message : title);
  }
  return new HttpProblem(
    500,
    'INTERNAL_ERROR',
    'Internal server error',
    'an unexpected error occurred; it has been logged',
  );
}

export function sendProblem(res: Parameters<RequestHandler>[1], problem: HttpProblem): void {
  if (problem.status === 503) res.setHeader('Retry-After', '1');
  res
    .status(problem.status)
    .type(PROBLEM_CONTENT_TYPE)
    .json({
      type: `https://problems.order-saga.example/${problem.code.toLowerCase().replace(/_/g, '-')}`,
      title: problem.title,
      status: problem.status,
      detail: problem.detail ?? problem.title,
      code: problem.code,
      ...(problem.errors ? { errors: problem.errors } : {}),
    });
}

export const problemHandler: ErrorRequestHandler = (error, req, res, _next) => {
  const problem = toProblem(error);
  if (problem.status >= 500) req.log?.error({ err: error }, 'request failed');
  if (res.headersSent) return;
  sendProblem(res, problem);
};

export const notFoundHandler: RequestHandler = (req, _res, next) => {
  next(new HttpProblem(404, 'ROUTE_NOT_FOUND', 'Not found', `no route for ${req.method} ${req.path}`));
};

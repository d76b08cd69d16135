/**
 * Every error the gateway answers with, as `application/problem+json` (RFC 9457). This module is the one place that
 * decides what a code means over HTTP: the services throw ServiceError or BusinessRuleError and never see a status;
 * HttpProblem is only for failures of the request itself, before any service is asked.
 */
import type { ErrorRequestHandler, RequestHandler, Response } from 'express';
import { BusinessRuleError } from '../domain/failure-reasons';
import { ServiceError, type ServiceErrorCode } from '../lib/errors';
import { isDatabaseUnavailable } from '../lib/transient';

export interface FieldError {
  path: string;
  message: string;
}

/** How a code reaches the client: its HTTP status and the problem's title. */
export interface ProblemKind {
  status: number;
  title: string;
}

/** A problem document as sent; `type` is derived from the code. */
export interface Problem extends ProblemKind {
  code: string;
  detail: string;
  errors?: FieldError[];
}

/** What each service error code means over HTTP. `satisfies` makes a code without a status a compile error. */
export const SERVICE_PROBLEMS = {
  NOT_FOUND: { status: 404, title: 'Not found' },
  DUPLICATE: { status: 409, title: 'Already exists' },
  STALE_VERSION: { status: 409, title: 'Stale version' },
  INVALID_CREDENTIALS: { status: 401, title: 'Invalid credentials' },
  IDEMPOTENCY_CONFLICT: { status: 409, title: 'Idempotency key reused' },
  ORDER_LINE_RULES: { status: 422, title: 'Order lines break a rule' },
  ORDER_TOTAL_TOO_LARGE: { status: 422, title: 'Order total too large' },
  // Not a broken request: the same one succeeds once an order of the customer ends.
  TOO_MANY_OPEN_ORDERS: { status: 429, title: 'Too many open orders' },
  TEST_CARD_NOT_ALLOWED: { status: 422, title: 'Test card not allowed' },
  ORDER_NOT_CANCELLABLE: { status: 409, title: 'Order cannot be cancelled' },
  ORDER_NOT_STUCK: { status: 409, title: 'Order is not waiting for an operator' },
  // A request that is well-formed but contradicts itself (a coupon period that ends before it starts).
  VALIDATION_FAILED: { status: 422, title: 'Validation failed' },
  SERVICE_UNAVAILABLE: { status: 503, title: 'Service unavailable' },
} as const satisfies Record<ServiceErrorCode, ProblemKind>;

/** A saga rule broken outside a saga (a coupon on a quote): the rule's `failureReason` code is the problem's code. */
export const BUSINESS_RULE_PROBLEM = { status: 422, title: 'Business rule violated' } as const satisfies ProblemKind;

/** Failures of the request itself (transport, authentication, shape), found before any service is asked. */
export const TRANSPORT_PROBLEMS = {
  MALFORMED_JSON: { status: 400, title: 'Malformed JSON' },
  VALIDATION_FAILED: { status: 400, title: 'Invalid request' },
  BAD_REQUEST: { status: 400, title: 'Bad request' },
  UNAUTHORIZED: { status: 401, title: 'Unauthorized' },
  FORBIDDEN: { status: 403, title: 'Forbidden' },
  ROUTE_NOT_FOUND: { status: 404, title: 'Not found' },
  PAYLOAD_TOO_LARGE: { status: 413, title: 'Payload too large' },
  UNSUPPORTED_MEDIA_TYPE: { status: 415, title: 'Unsupported media type' },
  // A payload sent to the codec endpoint that its keys cannot open: unknown key id, or altered.
  PAYLOAD_NOT_DECODABLE: { status: 422, title: 'Payload cannot be decoded' },
  TOO_MANY_REQUESTS: { status: 429, title: 'Too many requests' },
  INTERNAL_ERROR: { status: 500, title: 'Internal server error' },
} as const satisfies Record<string, ProblemKind>;

export type TransportProblemCode = keyof typeof TRANSPORT_PROBLEMS;

/** A failure of the request itself; anything a service refuses is a ServiceError instead. */
export class HttpProblem extends Error implements Problem {
  readonly status: number;
  readonly title: string;
  readonly errors?: FieldError[];

  constructor(
    readonly code: TransportProblemCode,
    readonly detail: string,
    /** `status` only for Express's own 4xx errors, which keep the status they came with. */
    options: { errors?: FieldError[]; status?: number } = {},
  ) {
    super(detail);
    this.name = 'HttpProblem';
    this.status = options.status ?? TRANSPORT_PROBLEMS[code].status;
    this.title = TRANSPORT_PROBLEMS[code].title;
    if (options.errors) this.errors = options.errors;
  }
}

export const PROBLEM_CONTENT_TYPE = 'application/problem+json';

/** Express and body-parser errors by status; any other 4xx of theirs is a BAD_REQUEST with its own status. */
const EXPRESS_ERROR_CODES: Record<number, TransportProblemCode> = {
  413: 'PAYLOAD_TOO_LARGE',
  415: 'UNSUPPORTED_MEDIA_TYPE',
};

function serviceProblem(error: ServiceError): Problem {
  return {
    ...SERVICE_PROBLEMS[error.code],
    code: error.code,
    detail: error.message,
    // A service names fields of its input; every such input arrives as the request body.
    ...(error.fields ? { errors: error.fields.map((field) => ({ ...field, path: `body.${field.path}` })) } : {}),
  };
}

/** Errors of Express and body-parser: they carry a 4xx status and, for body-parser, a type. */
function expressProblem(error: unknown): Problem | undefined {
  const { status, type, expose } = error as { status?: unknown; type?: unknown; expose?: unknown };
  if (type === 'entity.parse.failed') return new HttpProblem('MALFORMED_JSON', 'the request body is not valid JSON');
  if (type === 'entity.too.large') return new HttpProblem('PAYLOAD_TOO_LARGE', 'the request body is too large');
  if (typeof status !== 'number' || status < 400 || status >= 500) return undefined;
  // Bad percent-encoding, an unsupported charset, an aborted body.
  const code = EXPRESS_ERROR_CODES[status] ?? 'BAD_REQUEST';
  return new HttpProblem(code, expose === true ? (error as Error).message : TRANSPORT_PROBLEMS[code].title, {
    status,
  });
}

/** The problem document for any error a request ended with; anything unexpected is a 500 that says nothing. */
export function problemFor(error: unknown): Problem {
  if (error instanceof HttpProblem) return error;
  if (error instanceof ServiceError) return serviceProblem(error);
  if (isDatabaseUnavailable(error)) {
    return serviceProblem(new ServiceError('SERVICE_UNAVAILABLE', 'a database did not answer; try again'));
  }
  if (error instanceof BusinessRuleError)
    return { ...BUSINESS_RULE_PROBLEM, code: error.reason, detail: error.message };
  return expressProblem(error) ?? new HttpProblem('INTERNAL_ERROR', 'an unexpected error occurred; it has been logged');
}

export function sendProblem(res: Response, problem: Problem): void {
  if (problem.status === 503) res.setHeader('Retry-After', '1');
  res
    .status(problem.status)
    .type(PROBLEM_CONTENT_TYPE)
    .json({
      type: `https://problems.order-saga.example/${problem.code.toLowerCase().replace(/_/g, '-')}`,
      title: problem.title,
      status: problem.status,
      detail: problem.detail,
      code: problem.code,
      ...(problem.errors ? { errors: problem.errors } : {}),
    });
}

export const problemHandler: ErrorRequestHandler = (error, req, res, _next) => {
  const problem = problemFor(error);
  if (problem.status >= 500) req.log?.error({ err: error }, 'request failed');
  if (res.headersSent) return;
  sendProblem(res, problem);
};

export const notFoundHandler: RequestHandler = (req, _res, next) => {
  next(new HttpProblem('ROUTE_NOT_FOUND', `no route for ${req.method} ${req.path}`));
};

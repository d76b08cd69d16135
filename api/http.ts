/**
 * Declares a route once: the same zod schemas validate the request at run time and describe it in the
 * OpenAPI document, so the two cannot drift apart.
 */
import { extendZodWithOpenApi, type OpenAPIRegistry, type RouteConfig } from '@asteasolutions/zod-to-openapi';
import type { Request, RequestHandler, Response, Router } from 'express';
import { z, type ZodType } from 'zod';
import type { AuthenticatedUser } from './auth';
import { HttpProblem, type FieldError } from './problem';

extendZodWithOpenApi(z);

export type Access = 'public' | 'user' | 'admin';

export interface RouteSpec<Body, Query, Params> {
  method: 'get' | 'post' | 'patch' | 'put' | 'delete';
  /** Express-style path, e.g. `/items/:id`. */
  path: string;
  summary: string;
  tag: string;
  access: Access;
  body?: ZodType<Body>;
  query?: ZodType<Query>;
  params?: ZodType<Params>;
  headers?: z.ZodObject;
  responses: Record<number, { description: string; schema?: ZodType }>;
}

export interface ValidatedRequest<Body, Query, Params> {
  body: Body;
  query: Query;
  params: Params;
  user: AuthenticatedUser | undefined;
  raw: Request;
}

export interface RouteContext {
  router: Router;
  registry: OpenAPIRegistry;
  authenticate: (access: Exclude<Access, 'public'>) => RequestHandler;
}

function fieldErrors(error: z.ZodError, location: string): FieldError[] {
  return error.issues.map((issue) => ({
    path: [location, ...issue.path.map(String)].join('.'),
    message: issue.message,
  }));
}

function parse<T>(schema: ZodType<T> | undefined, value: unknown, location: string, errors: FieldError[]): T {
  if (!schema) return undefined as T;
  const result = schema.safeParse(value);
  if (result.success) return result.data;
  errors.push(...fieldErrors(result.error, location));
  return undefined as T;
}

/** An empty body passes on to validation, which reports it missing (400); a body that is not JSON is a 415. */
function hasJsonOrNoBody(req: Request): boolean {
  const hasBody = req.get('transfer-encoding') !== undefined || Number(req.get('content-length') ?? 0) > 0;
  const mediaType = req.get('content-type')?.split(';')[0]?.trim().toLowerCase();
  return !hasBody || mediaType === 'application/json';
}

/** `/items/:id` → `/items/{id}` */
export function openApiPath(path: string): string {
  return path.replace(/:([A-Za-z0-9_]+)/g, '{$1}');
}

export function defineRoute<Body = undefined, Query = undefined, Params = undefined>(
  context: RouteContext,
  spec: RouteSpec<Body, Query, Params>,
  handle: (request: ValidatedRequest<Body, Query, Params>, res: Response) => Promise<void> | void,
): void {
  const responses: RouteConfig['responses'] = {};
  for (const [status, response] of Object.entries(spec.responses)) {
    const contentType = Number(status) >= 400 ? 'application/problem+json' : 'application/json';
    responses[status] = response.schema
      ? { description: response.description, content: { [contentType]: { schema: response.schema } } }
      : { description: response.description };
  }
  context.registry.registerPath({
    method: spec.method,
    path: openApiPath(spec.path),
    summary: spec.summary,
    tags: [spec.tag],
    ...(spec.access === 'public' ? {} : { security: [{ bearerAuth: [] }] }),
    request: {
      ...(spec.body ? { body: { required: true, content: { 'application/json': { schema: spec.body } } } } : {}),
      ...(spec.query ? { query: spec.query as never } : {}),
      ...(spec.params ? { params: spec.params as never } : {}),
      ...(spec.headers ? { headers: spec.headers } : {}),
    },
    responses,
  });

  const handlers: RequestHandler[] = [];
  if (spec.access !== 'public') handlers.push(context.authenticate(spec.access));
  handlers.push(async (req, res) => {
    const errors: FieldError[] = [];
    if (spec.body && !hasJsonOrNoBody(req)) {
      throw new HttpProblem(
        415,
        'UNSUPPORTED_MEDIA_TYPE',
        'Unsupported media type',
        'send the body as application/json',
      );
    }
    const body = parse(spec.body, req.body, 'body', errors);
    const query = parse(spec.query, req.query, 'query', errors);
    const params = parse(spec.params, req.params, 'params', errors);
    if (errors.length > 0) {
      throw new HttpProblem(
        400,
        'VALIDATION_FAILED',
        'Invalid request',
        errors.map((e) => `${e.path}: ${e.message}`).join('; '),
        errors,
      );
    }
    await handle({ body, query, params, user: req.user as AuthenticatedUser | undefined, raw: req }, res);
  });
  context.router[spec.method](spec.path, ...handlers);
}

/** Reusable schema pieces. */
export const IdParams = z.object({ id: z.coerce.number().int().positive().max(2_147_483_647) });
export const ProblemSchema = z
  .object({
    type: z.string(),
    title: z.string(),
    status: z.number().int(),
    detail: z.string(),
    code: z.string(),
    errors: z.array(z.object({ path: z.string(), message: z.string() })).optional(),
  })
  .openapi('Problem');

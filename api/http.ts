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

/** Who may call a route: anyone, any logged-in user, or admins only. */
export type Access = 'public' | 'user' | 'admin';

export interface RouteSpec<Body, Query, Params, A extends Access = Access> {
  method: 'get' | 'post' | 'patch' | 'put' | 'delete';
  /** Express-style path, e.g. `/items/:id`. */
  path: string;
  summary: string;
  tag: string;
  access: A;
  body?: ZodType<Body>;
  query?: ZodType<Query>;
  params?: ZodType<Params>;
  headers?: z.ZodObject;
  /** Run after authentication and before validation (a per-caller rate limit counts malformed requests too). */
  before?: RequestHandler[];
  responses: Record<number, { description: string; schema?: ZodType }>;
}

interface RequestParts<Body, Query, Params> {
  body: Body;
  query: Query;
  params: Params;
  raw: Request;
}

/**
 * What a handler receives. The caller comes with it exactly when the route's access requires one, so a handler
 * of a 'user' or 'admin' route has a user without checking, and a 'public' handler cannot mistake one for present.
 */
export type ValidatedRequest<Body, Query, Params, A extends Access = Access> = RequestParts<Body, Query, Params> &
  (A extends 'public' ? { user?: never } : { user: AuthenticatedUser });

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

/** The authenticated caller of a route that requires one; the authenticate middleware has already checked. */
function callerOf(req: Request): AuthenticatedUser {
  const user = req.user as AuthenticatedUser | undefined;
  if (!user) throw new Error(`${req.method} ${req.path}: no user after authentication`);
  return user;
}

export function defineRoute<Body = undefined, Query = undefined, Params = undefined, A extends Access = Access>(
  context: RouteContext,
  spec: RouteSpec<Body, Query, Params, A>,
  handle: (request: ValidatedRequest<Body, Query, Params, A>, res: Response) => Promise<void> | void,
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

  const access: Access = spec.access;
  const handlers: RequestHandler[] = [];
  if (access !== 'public') handlers.push(context.authenticate(access));
  handlers.push(...(spec.before ?? []));
  handlers.push(async (req, res) => {
    const errors: FieldError[] = [];
    if (spec.body && !hasJsonOrNoBody(req)) {
      throw new HttpProblem('UNSUPPORTED_MEDIA_TYPE', 'send the body as application/json');
    }
    const body = parse(spec.body, req.body, 'body', errors);
    const query = parse(spec.query, req.query, 'query', errors);
    const params = parse(spec.params, req.params, 'params', errors);
    if (errors.length > 0) {
      throw new HttpProblem('VALIDATION_FAILED', errors.map((e) => `${e.path}: ${e.message}`).join('; '), { errors });
    }
    const parts: RequestParts<Body, Query, Params> = { body, query, params, raw: req };
    // The conditional type cannot be narrowed through the generic A; `access` decides the same thing at run time.
    const request = (access === 'public' ? parts : { ...parts, user: callerOf(req) }) as ValidatedRequest<
      Body,
      Query,
      Params,
      A
    >;
    await handle(request, res);
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

/**
 * The error model's bookkeeping, without a server: every service error code has an HTTP status and title, is
 * thrown somewhere, and is in the README's error table; a handler sees the caller exactly on routes that need one.
 * The HTTP tests (test/api) check that these problems reach clients as they always did.
 */
import { readFileSync, readdirSync } from 'node:fs';
import path from 'node:path';
import type { Response } from 'express';
import { FailureReason, BusinessRuleError } from '../../domain/failure-reasons';
import { SERVICE_ERROR_CODES, ServiceError, type ServiceErrorCode } from '../../lib/errors';
import { defineRoute, type RouteContext } from '../../api/http';
import { SERVICE_PROBLEMS, TRANSPORT_PROBLEMS, problemFor } from '../../api/problem';

const ROOT = path.resolve(__dirname, '../..');

/** True only when A and B are the same type; a mismatch fails `tsc -p .` (npm run typecheck). */
type Same<A, B> = [A] extends [B] ? ([B] extends [A] ? true : false) : false;
const mappingCoversExactlyTheCodes: Same<keyof typeof SERVICE_PROBLEMS, ServiceErrorCode> = true;

/** The non-test TypeScript sources of a folder, recursively. */
function sources(folder: string): { file: string; text: string }[] {
  return readdirSync(path.join(ROOT, folder), { recursive: true, encoding: 'utf8' })
    .filter((file) => file.endsWith('.ts') && !file.endsWith('.test.ts'))
    .map((file) => path.join(folder, file))
    .map((file) => ({ file, text: readFileSync(path.join(ROOT, file), 'utf8') }));
}

/** The service error codes some source throws: `new ServiceError('CODE'`, or NOT_FOUND through notFound(…). */
function thrownCodes(): Set<string> {
  const files = ['api', 'services', 'lib', 'activities'].flatMap(sources).filter((s) => s.file !== 'lib/errors.ts');
  const codes = new Set<string>();
  for (const { text } of files) {
    for (const match of text.matchAll(/new ServiceError\(\s*'([A-Z_]+)'/g)) codes.add(match[1]!);
    if (/\bnotFound\(\s*'[a-z]+'/.test(text)) codes.add('NOT_FOUND');
  }
  return codes;
}

describe('service error codes', () => {
  test('when any service error code is thrown, then it maps to a 4xx or 5xx with a title and keeps its code', () => {
    expect(mappingCoversExactlyTheCodes).toBe(true);
    expect(Object.keys(SERVICE_PROBLEMS).sort()).toEqual([...SERVICE_ERROR_CODES].sort());
    for (const code of SERVICE_ERROR_CODES) {
      const problem = problemFor(new ServiceError(code, `why ${code}`));
      expect({ code: problem.code, detail: problem.detail }).toEqual({ code, detail: `why ${code}` });
      expect(problem.status).toBeGreaterThanOrEqual(400);
      expect(problem.status).toBeLessThan(600);
      expect(problem.title).not.toBe('');
    }
  });

  test('when the statuses are read, then they are those clients have always seen', () => {
    const statuses = Object.fromEntries(SERVICE_ERROR_CODES.map((code) => [code, SERVICE_PROBLEMS[code].status]));
    expect(statuses).toEqual({
      NOT_FOUND: 404,
      DUPLICATE: 409,
      STALE_VERSION: 409,
      INVALID_CREDENTIALS: 401,
      IDEMPOTENCY_CONFLICT: 409,
      ORDER_LINE_RULES: 422,
      ORDER_TOTAL_TOO_LARGE: 422,
      TOO_MANY_OPEN_ORDERS: 429,
      TEST_CARD_NOT_ALLOWED: 422,
      ORDER_NOT_CANCELLABLE: 409,
      ORDER_NOT_STUCK: 409,
      VALIDATION_FAILED: 422,
      SERVICE_UNAVAILABLE: 503,
    });
  });

  test('when the sources are searched, then every code is thrown somewhere (no dead codes)', () => {
    expect([...SERVICE_ERROR_CODES].filter((code) => !thrownCodes().has(code))).toEqual([]);
  });

  test('when the README error table is read, then it names every code a client can get', () => {
    const readme = readFileSync(path.join(ROOT, 'README.md'), 'utf8');
    const codes = [...SERVICE_ERROR_CODES, ...Object.keys(TRANSPORT_PROBLEMS)];
    expect(codes.filter((code) => !readme.includes(`\`${code}\``))).toEqual([]);
  });

  test('when a service field error is mapped, then its path is reported under body', () => {
    const problem = problemFor(
      new ServiceError('ORDER_LINE_RULES', 'bad', [{ path: 'lines.1.itemId', message: 'DUPLICATE_ITEM: twice' }]),
    );
    expect(problem.errors).toEqual([{ path: 'body.lines.1.itemId', message: 'DUPLICATE_ITEM: twice' }]);
  });

  test('when a business rule is broken outside a saga, then 422 with the failure reason as code', () => {
    for (const reason of Object.values(FailureReason)) {
      expect(problemFor(new BusinessRuleError(reason, 'no'))).toEqual({
        status: 422,
        title: 'Business rule violated',
        code: reason,
        detail: 'no',
      });
    }
  });

  test('when an unknown error ends a request, then 500 INTERNAL_ERROR that says nothing of it', () => {
    expect(problemFor(new Error('secret'))).toMatchObject({
      status: 500,
      code: 'INTERNAL_ERROR',
      detail: 'an unexpected error occurred; it has been logged',
    });
  });
});

/**
 * Never called: its body only has to type-check. A public handler has no user to read; a user or admin
 * handler has one without `!`. `@ts-expect-error` fails the typecheck if the public route ever gets a user.
 */
export function handlersAreTypedByAccess(context: RouteContext): void {
  const common = { method: 'get', tag: 't', summary: 's', responses: {} } as const;
  defineRoute(context, { ...common, path: '/public', access: 'public' }, ({ user }, res: Response) => {
    // @ts-expect-error -- a public route has no authenticated caller
    res.json({ id: user.id });
  });
  defineRoute(context, { ...common, path: '/mine', access: 'user' }, ({ user }, res: Response) => {
    res.json({ id: user.id, role: user.role });
  });
  defineRoute(context, { ...common, path: '/admin', access: 'admin' }, ({ user }, res: Response) => {
    res.json({ id: user.id });
  });
}

/** Helpers for the gateway's HTTP tests: a second gateway with other settings, forged tokens, problem checks. */
import type { Server } from 'node:http';
import { Writable } from 'node:stream';
import jwt from 'jsonwebtoken';
import { pino } from 'pino';
import { createApp, type GatewayDependencies } from '../../api/app';
import { JWT_ISSUER } from '../../api/auth';
import { DEFAULT_JWT_AUDIENCE } from '../../api/config';
import { createSagaClient } from '../../api/saga-client';
import type { HttpResponse } from '../support/fixtures';
import { TEST_JWT_SECRET, type TestSystem } from '../support/system';

export interface ExtraGateway {
  baseUrl: string;
  stop(): Promise<void>;
}

/**
 * Another gateway on the test system's services and Temporal client, with some settings replaced (a small
 * login limit, CORS origins, a log sink, a failing health check). Listens on a free port.
 */
export async function startGateway(
  system: TestSystem,
  overrides: Partial<GatewayDependencies> = {},
): Promise<ExtraGateway> {
  const app = createApp({
    services: system.services,
    saga: createSagaClient(system.client, process.env.TEMPORAL_UI_URL!),
    auth: { secret: TEST_JWT_SECRET, expiresInSeconds: 600 },
    checkHealth: async () => ({ temporal: 'ok' }),
    logger: pino({ level: 'silent' }),
    ...overrides,
  });
  const server: Server = await new Promise((resolve) => {
    const listening = app.listen(0, '127.0.0.1', () => resolve(listening));
  });
  const { port } = server.address() as { port: number };
  return {
    baseUrl: `http://127.0.0.1:${port}`,
    stop: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

/** A pino logger that keeps every line it writes, parsed. */
export function capturingLogger() {
  const lines: Record<string, any>[] = [];
  const sink = new Writable({
    write(chunk: Buffer, _encoding, done) {
      for (const line of chunk.toString('utf8').split('\n').filter(Boolean)) lines.push(JSON.parse(line));
      done();
    },
  });
  return { logger: pino({ level: 'info' }, sink), lines };
}

const base64url = (value: object) => Buffer.from(JSON.stringify(value)).toString('base64url');

/** A token whose header says `alg: none` and that carries no signature. */
export function unsignedToken(userId: number, role = 'ADMIN'): string {
  const now = Math.floor(Date.now() / 1000);
  return `${base64url({ alg: 'none', typ: 'JWT' })}.${base64url({ sub: String(userId), role, iss: JWT_ISSUER, aud: DEFAULT_JWT_AUDIENCE, iat: now, exp: now + 600 })}.`;
}

/** The same token with its payload replaced and the original signature kept. */
export function withRewrittenPayload(token: string, changes: Record<string, unknown>): string {
  const [header, payload, signature] = token.split('.');
  const claims = JSON.parse(Buffer.from(payload!, 'base64url').toString('utf8'));
  return `${header}.${base64url({ ...claims, ...changes })}.${signature}`;
}

/**
 * A correctly signed token, with any claim overridden (e.g. an `exp` in the past); a claim set to undefined is
 * left out (a token without `exp`).
 */
export function signedToken(claims: Record<string, unknown>, secret = TEST_JWT_SECRET): string {
  const now = Math.floor(Date.now() / 1000);
  const all = { iss: JWT_ISSUER, aud: DEFAULT_JWT_AUDIENCE, iat: now, exp: now + 600, ...claims };
  const present = Object.fromEntries(Object.entries(all).filter(([, value]) => value !== undefined));
  return jwt.sign(present, secret, { algorithm: 'HS256' });
}

/** Asserts the response is an `application/problem+json` document with this status and code. */
export function expectProblem(response: HttpResponse, status: number, code?: string): void {
  expect({ status: response.status, contentType: response.headers.get('content-type') }).toEqual({
    status,
    contentType: expect.stringContaining('application/problem+json'),
  });
  expect(response.body).toEqual(
    expect.objectContaining({
      type: expect.any(String),
      title: expect.any(String),
      status,
      detail: expect.any(String),
      code: code ?? expect.any(String),
    }),
  );
}

/** The field paths a 400 names in its `errors`. */
export function fieldPaths(response: HttpResponse): string[] {
  return (response.body.errors ?? []).map((error: { path: string }) => error.path);
}

/**
 * Asserts the whole problem document, byte for byte what clients parse: the routes once built these by hand, the
 * services' errors build them now, and a client must not see the difference.
 */
export function expectExactProblem(
  response: HttpResponse,
  expected: { status: number; code: string; title: string; detail: string },
): void {
  expectProblem(response, expected.status, expected.code);
  expect(response.body).toEqual({
    type: `https://problems.order-saga.example/${expected.code.toLowerCase().replace(/_/g, '-')}`,
    ...expected,
  });
}

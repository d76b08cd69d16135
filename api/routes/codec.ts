/**
 * The codec endpoint: the Temporal Web UI (and `temporal … --codec-endpoint`) sends the payloads it shows to
 * `POST /codec/decode` and gets them back decrypted, so an operator reads orders in the UI while Temporal stores
 * only ciphertext. Admins only. The protocol is Temporal's remote codec one: JSON `{ "payloads": [...] }`, each
 * payload with base64 `metadata` values and `data`; the UI names its namespace in `X-Namespace`.
 *
 * A browser cannot put the gateway's bearer token on the UI's requests, so an admin may also hold it in an
 * HttpOnly cookie scoped to `/codec`: `POST /codec/session` (with the bearer token) sets it, and the UI sends it
 * when its codec setting "Include cross-origin credentials" is on. CORS admits only the UI's origins
 * (CODEC_CORS_ORIGINS) with credentials; the cookie is SameSite=Strict, so no other site's page can use it.
 */
import type { PayloadCodec, Payload } from '@temporalio/common';
import cors from 'cors';
import express, { type Request, type Response } from 'express';
import { z } from 'zod';
import { PayloadDecodeError } from '../../lib/payload-codec';
import type { TokenSource } from '../auth';
import { ProblemSchema, defineRoute, type RouteContext } from '../http';
import { HttpProblem } from '../problem';

export const CODEC_SESSION_COOKIE = 'codec_session';
const CODEC_PATH = '/codec';
/** A page of history events can carry many payloads; Temporal itself allows 2 MB per payload. */
export const CODEC_BODY_LIMIT = '4mb';
const MAX_PAYLOADS = 1000;

export interface CodecEndpointOptions {
  codec: PayloadCodec;
  /** Origins whose pages may call the endpoint with credentials (the Web UI's). */
  allowedOrigins: string[];
}

/** The codec session cookie's token, for the authenticator of the codec routes. */
export const codecSessionToken: TokenSource = (req) => {
  for (const part of (req.headers.cookie ?? '').split(';')) {
    const [name, ...value] = part.trim().split('=');
    if (name === CODEC_SESSION_COOKIE) return decodeURIComponent(value.join('='));
  }
  return null;
};

/** Base64 as protobuf JSON writes bytes (standard or URL-safe alphabet). */
const Base64 = z.string().regex(/^[A-Za-z0-9+/_-]*={0,2}$/, 'must be base64');
const PayloadJson = z
  .object({
    metadata: z.record(z.string(), Base64).optional(),
    data: Base64.optional(),
  })
  .openapi('Payload', { description: 'A Temporal payload in protobuf JSON: bytes as base64' });
// Protobuf JSON leaves out an empty list: the CLI encodes a query without arguments as `{}`.
const PayloadsJson = z.object({ payloads: z.array(PayloadJson).max(MAX_PAYLOADS).default([]) }).openapi('Payloads');
type PayloadJson = z.infer<typeof PayloadJson>;

const bytes = (base64: string) => new Uint8Array(Buffer.from(base64, 'base64'));
const base64 = (value: Uint8Array) => Buffer.from(value).toString('base64');

function fromJson(json: PayloadJson): Payload {
  return {
    metadata: Object.fromEntries(Object.entries(json.metadata ?? {}).map(([key, value]) => [key, bytes(value)])),
    data: bytes(json.data ?? ''),
  };
}

function toJson(payload: Payload): PayloadJson {
  return {
    metadata: Object.fromEntries(Object.entries(payload.metadata ?? {}).map(([key, value]) => [key, base64(value)])),
    data: base64(payload.data ?? new Uint8Array()),
  };
}

/** The bearer token of the request, or the one of its session cookie. */
function tokenOf(req: Request): string | null {
  const header = req.get('authorization') ?? '';
  const bearer = /^Bearer\s+(\S+)$/i.exec(header)?.[1];
  return bearer ?? codecSessionToken(req);
}

/** The cookie lives as long as the token in it: an expired token would be refused anyway. */
function secondsLeft(token: string): number {
  const payload = JSON.parse(Buffer.from(token.split('.')[1] ?? '', 'base64url').toString('utf8') || '{}') as {
    exp?: unknown;
  };
  return typeof payload.exp === 'number' ? Math.max(0, Math.floor(payload.exp - Date.now() / 1000)) : 0;
}

function sessionCookie(req: Request, value: string, maxAgeSeconds: number): string {
  const attributes = [`Path=${CODEC_PATH}`, 'HttpOnly', 'SameSite=Strict', `Max-Age=${maxAgeSeconds}`];
  if (req.secure) attributes.push('Secure');
  return [`${CODEC_SESSION_COOKIE}=${encodeURIComponent(value)}`, ...attributes].join('; ');
}

/** Registers the codec routes on `context.router`, which the app mounts before its own CORS and body parser. */
export function codecRoutes(context: RouteContext, options: CodecEndpointOptions): void {
  context.router.use(
    CODEC_PATH,
    cors({
      origin: options.allowedOrigins,
      credentials: true,
      methods: ['POST', 'DELETE'],
      allowedHeaders: ['Content-Type', 'Authorization', 'X-Namespace'],
      maxAge: 600,
    }),
    express.json({ limit: CODEC_BODY_LIMIT }),
  );

  const convert = (direction: 'encode' | 'decode') => async (payloads: PayloadJson[], res: Response) => {
    let converted: Payload[];
    try {
      converted = await options.codec[direction](payloads.map(fromJson));
    } catch (error) {
      if (!(error instanceof PayloadDecodeError)) throw error;
      throw new HttpProblem('PAYLOAD_NOT_DECODABLE', error.message);
    }
    res.json({ payloads: converted.map(toJson) });
  };

  const headers = z.object({
    'x-namespace': z.string().optional().openapi({ description: 'The Temporal namespace, as the Web UI sends it' }),
  });
  for (const direction of ['decode', 'encode'] as const) {
    defineRoute(
      context,
      {
        method: 'post',
        path: `${CODEC_PATH}/${direction}`,
        summary:
          direction === 'decode'
            ? 'Decrypt Temporal payloads for the Web UI (remote codec protocol); bearer token or codec session cookie'
            : 'Encrypt Temporal payloads as the workers do (remote codec protocol); bearer token or codec session cookie',
        tag: 'codec',
        access: 'admin',
        body: PayloadsJson,
        headers,
        responses: {
          200: { description: 'The same payloads, converted, in the same order', schema: PayloadsJson },
          400: { description: 'Not a payload list', schema: ProblemSchema },
          401: { description: 'No valid token', schema: ProblemSchema },
          403: { description: 'Not an admin', schema: ProblemSchema },
          422: { description: 'A payload cannot be decrypted (unknown key id or altered)', schema: ProblemSchema },
        },
      },
      ({ body }, res) => convert(direction)(body.payloads, res),
    );
  }

  defineRoute(
    context,
    {
      method: 'post',
      path: `${CODEC_PATH}/session`,
      summary: "Put the caller's admin token into the HttpOnly cookie the Web UI sends to the codec endpoint",
      tag: 'codec',
      access: 'admin',
      responses: {
        204: { description: 'Cookie set, for as long as the token lives' },
        401: { description: 'No valid token', schema: ProblemSchema },
        403: { description: 'Not an admin', schema: ProblemSchema },
      },
    },
    ({ raw }, res) => {
      const token = tokenOf(raw)!;
      res.setHeader('Set-Cookie', sessionCookie(raw, token, secondsLeft(token)));
      res.status(204).end();
    },
  );

  defineRoute(
    context,
    {
      method: 'delete',
      path: `${CODEC_PATH}/session`,
      summary: 'Remove the codec session cookie',
      tag: 'codec',
      access: 'public',
      responses: { 204: { description: 'Cookie removed' } },
    },
    ({ raw }, res) => {
      res.setHeader('Set-Cookie', sessionCookie(raw, '', 0));
      res.status(204).end();
    },
  );
}

/** Accounts: sign-up, login (issues the JWT) and the caller's own profile. */
import type { RequestHandler } from 'express';
import { z } from 'zod';
import { ROLES, type UserService } from '../../services/user';
import { issueToken, type AuthConfig } from '../auth';
import { ProblemSchema, defineRoute, type RouteContext } from '../http';
import { HttpProblem } from '../problem';
import { IdSchema } from './schemas';

const Credentials = z.object({ email: z.email().max(254), password: z.string().min(1).max(200) }).strict();
const SignUp = z
  .object({
    email: z.email().max(254),
    name: z.string().trim().min(1).max(100),
    address: z.string().trim().min(1).max(500),
    password: z.string().min(8).max(200),
  })
  .strict()
  .openapi('SignUpRequest');
const Token = z
  .object({ accessToken: z.string(), tokenType: z.literal('Bearer'), expiresIn: z.number().int() })
  .openapi('Token');
const Me = z.object({
  id: IdSchema,
  email: z.string(),
  name: z.string(),
  address: z.string(),
  role: z.enum(ROLES),
});

/** The rate limiters of the account routes (api/rate-limits.ts); the per-address login limit is app-wide. */
export interface UserRouteLimiters {
  signUp?: RequestHandler;
  loginByAccount?: RequestHandler;
}

export function userRoutes(
  context: RouteContext,
  users: UserService,
  auth: AuthConfig,
  limiters: UserRouteLimiters = {},
): void {
  defineRoute(
    context,
    {
      method: 'post',
      path: '/users',
      summary: 'Create a customer account',
      tag: 'users',
      access: 'public',
      body: SignUp,
      before: limiters.signUp ? [limiters.signUp] : [],
      responses: {
        201: { description: 'Created', schema: z.object({ id: IdSchema }) },
        409: { description: 'Email taken', schema: ProblemSchema },
        429: { description: 'Too many sign-ups from this address', schema: ProblemSchema },
      },
    },
    async ({ body }, res) => {
      const user = await users.register(body);
      res.status(201).location(`/users/${user.id}`).json({ id: user.id });
    },
  );

  defineRoute(
    context,
    {
      method: 'post',
      path: '/users/login',
      summary: 'Log in and receive a bearer token',
      tag: 'users',
      access: 'public',
      body: Credentials,
      before: limiters.loginByAccount ? [limiters.loginByAccount] : [],
      responses: {
        200: { description: 'Token', schema: Token },
        401: { description: 'Wrong credentials', schema: ProblemSchema },
        429: { description: 'Too many attempts from this address or at this account', schema: ProblemSchema },
      },
    },
    async ({ body }, res) => {
      const user = await users.authenticate(body.email, body.password);
      res.json(issueToken({ id: user.id, role: user.role }, auth));
    },
  );

  defineRoute(
    context,
    {
      method: 'get',
      path: '/users/me',
      summary: "The caller's profile",
      tag: 'users',
      access: 'user',
      responses: {
        200: { description: 'Profile', schema: Me },
        401: { description: 'No valid token', schema: ProblemSchema },
      },
    },
    async ({ user }, res) => {
      const found = await users.getUser(user.id);
      // A token outliving its account is a failed authentication, not a missing resource.
      if (!found) throw new HttpProblem('UNAUTHORIZED', 'the account of this token no longer exists');
      res.json(found);
    },
  );
}

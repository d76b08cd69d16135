/**
 * JWT authentication: tokens signed with HS256 at login, verified by passport-jwt with the algorithm, issuer and
 * audience pinned. A token must carry `exp` within the configured lifetime, and its subject must still exist: the
 * role is read from the user database on every request, so a demoted admin or a deleted account loses its rights
 * at once instead of when the token expires.
 */
import type { Request, RequestHandler } from 'express';
import jwt from 'jsonwebtoken';
import passport from 'passport';
import { ExtractJwt, Strategy as JwtStrategy } from 'passport-jwt';
import { isRole, type Role } from '../services/user';
import { DEFAULT_JWT_AUDIENCE } from './config';
import { HttpProblem } from './problem';

export const JWT_ALGORITHM = 'HS256';
export const JWT_ISSUER = 'order-saga-gateway';

export interface AuthenticatedUser {
  id: number;
  role: Role;
}

/** The account behind a token as the user database has it now; null when it no longer exists. */
export type AccountLookup = (id: number) => Promise<AuthenticatedUser | null>;

export interface AuthConfig {
  secret: string;
  /** The lifetime of issued tokens, and the longest one an accepted token may claim (`exp - iat`). */
  expiresInSeconds: number;
  /** `aud` set at issue and required at verification (default DEFAULT_JWT_AUDIENCE). */
  audience?: string;
}

export function issueToken(
  user: AuthenticatedUser,
  config: AuthConfig,
): { accessToken: string; tokenType: 'Bearer'; expiresIn: number } {
  const accessToken = jwt.sign({ role: user.role }, config.secret, {
    algorithm: JWT_ALGORITHM,
    subject: String(user.id),
    issuer: JWT_ISSUER,
    audience: config.audience ?? DEFAULT_JWT_AUDIENCE,
    expiresIn: config.expiresInSeconds,
  });
  return { accessToken, tokenType: 'Bearer', expiresIn: config.expiresInSeconds };
}

interface Claims {
  sub?: string;
  role?: string;
  iat?: unknown;
  exp?: unknown;
}

/**
 * The token's subject when its claims are acceptable: a numeric subject, a known role, and an `exp` no further
 * from `iat` than the configured lifetime (jsonwebtoken itself accepts a token without `exp` forever).
 */
function subjectOf(payload: Claims, maxLifetimeSeconds: number): number | undefined {
  const id = Number(payload.sub);
  if (!Number.isInteger(id) || !isRole(payload.role)) return undefined;
  if (typeof payload.exp !== 'number' || typeof payload.iat !== 'number') return undefined;
  if (payload.exp - payload.iat > maxLifetimeSeconds) return undefined;
  return id;
}

/** Where a token may come from besides the Authorization header (the codec endpoint's session cookie). */
export type TokenSource = (req: Request) => string | null;

/**
 * A passport instance of the gateway's own (not the global one), so several apps can live in one process. The
 * bearer header always counts; `alsoFrom` adds other places a token is read from, for the routes that take it.
 */
export function createAuthenticator(
  config: AuthConfig,
  lookUpAccount: AccountLookup,
  alsoFrom: TokenSource[] = [],
): (access: 'user' | 'admin') => RequestHandler {
  const authenticator = new passport.Passport();
  authenticator.use(
    new JwtStrategy(
      {
        jwtFromRequest: ExtractJwt.fromExtractors([ExtractJwt.fromAuthHeaderAsBearerToken(), ...alsoFrom]),
        secretOrKey: config.secret,
        algorithms: [JWT_ALGORITHM],
        issuer: JWT_ISSUER,
        audience: config.audience ?? DEFAULT_JWT_AUDIENCE,
      },
      (payload: Claims, done: (error: unknown, user?: AuthenticatedUser | false) => void) => {
        const id = subjectOf(payload, config.expiresInSeconds);
        if (id === undefined) return done(null, false);
        // The role of the token is only what it was at login; the database says what it is now.
        lookUpAccount(id).then(
          (account) => done(null, account ?? false),
          (error: unknown) => done(error),
        );
      },
    ),
  );
  const verify = authenticator.initialize();
  return (access) => (req, res, next) => {
    verify(req, res, () =>
      authenticator.authenticate('jwt', { session: false }, (error: unknown, user: AuthenticatedUser | false) => {
        if (error) return next(error);
        if (!user) {
          res.setHeader('WWW-Authenticate', 'Bearer');
          return next(new HttpProblem('UNAUTHORIZED', 'a valid bearer token is required'));
        }
        if (access === 'admin' && user.role !== 'ADMIN') {
          return next(new HttpProblem('FORBIDDEN', 'this action needs the ADMIN role'));
        }
        req.user = user;
        next();
      })(req, res, next),
    );
  };
}

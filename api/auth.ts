/** JWT authentication: tokens signed with HS256 at login, verified by passport-jwt with the algorithm pinned. */
import type { RequestHandler } from 'express';
import jwt from 'jsonwebtoken';
import passport from 'passport';
import { ExtractJwt, Strategy as JwtStrategy } from 'passport-jwt';
import { isRole, type Role } from '../services/user';
import { HttpProblem } from './problem';

export const JWT_ALGORITHM = 'HS256';
export const JWT_ISSUER = 'order-saga-gateway';

export interface AuthenticatedUser {
  id: number;
  role: Role;
}

export interface AuthConfig {
  secret: string;
  expiresInSeconds: number;
}

export function issueToken(
  user: AuthenticatedUser,
  config: AuthConfig,
): { accessToken: string; tokenType: 'Bearer'; expiresIn: number } {
  const accessToken = jwt.sign({ role: user.role }, config.secret, {
    algorithm: JWT_ALGORITHM,
    subject: String(user.id),
    issuer: JWT_ISSUER,
    expiresIn: config.expiresInSeconds,
  });
  return { accessToken, tokenType: 'Bearer', expiresIn: config.expiresInSeconds };
}

/** A passport instance of the gateway's own (not the global one), so several apps can live in one process. */
export function createAuthenticator(config: AuthConfig): (access: 'user' | 'admin') => RequestHandler {
  const authenticator = new passport.Passport();
  authenticator.use(
    new JwtStrategy(
      {
        jwtFromRequest: ExtractJwt.fromAuthHeaderAsBearerToken(),
        secretOrKey: config.secret,
        algorithms: [JWT_ALGORITHM],
        issuer: JWT_ISSUER,
      },
      (payload: { sub?: string; role?: string }, done: (error: unknown, user?: AuthenticatedUser | false) => void) => {
        const id = Number(payload.sub);
        const role = payload.role;
        if (!Number.isInteger(id) || !isRole(role)) return done(null, false);
        return done(null, { id, role });
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

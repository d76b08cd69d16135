/** createApp builds the gateway's Express app from its dependencies without listening, so tests drive it directly. */
import { randomUUID } from 'node:crypto';
import { OpenAPIRegistry, OpenApiGeneratorV31 } from '@asteasolutions/zod-to-openapi';
import cors from 'cors';
import express, { type Express } from 'express';
import helmet from 'helmet';
import type { Logger } from 'pino';
import { pinoHttp } from 'pino-http';
import type { CouponService } from '../services/coupon';
import type { ItemService } from '../services/item';
import type { OrderEvents, OrderService } from '../services/order';
import type { UserService } from '../services/user';
import { createAuthenticator, type AuthConfig, type AuthenticatedUser } from './auth';
import type { OrderLimits, RateLimit, RateLimitStoreKind, TrustProxy } from './config';
import type { RouteContext } from './http';
import type { HttpMetrics } from './metrics';
import { notFoundHandler, problemHandler } from './problem';
import { createLimiters } from './rate-limits';
import { requestContext } from './request-context';
import { traceRequests } from './tracing';
import { adminRoutes } from './routes/admin';
import { codecRoutes, codecSessionToken, type CodecEndpointOptions } from './routes/codec';
import { couponRoutes } from './routes/coupons';
import { itemRoutes } from './routes/items';
import { orderRoutes } from './routes/orders';
import { systemRoutes, type HealthCheck } from './routes/system';
import { userRoutes } from './routes/users';
import { webRoutes } from './web';
import type { SagaClient } from './saga-client';

export interface GatewayDependencies {
  services: { users: UserService; items: ItemService; coupons: CouponService; orders: OrderService };
  saga: SagaClient;
  /** Order progress notifications for waiting clients; without them a waiter re-reads the order twice a second. */
  orderEvents?: OrderEvents;
  auth: AuthConfig;
  checkHealth: HealthCheck;
  logger: Logger;
  /** The codec endpoint for the Temporal Web UI (`/codec/*`); absent, the gateway serves none. */
  codec?: CodecEndpointOptions;
  /** Origins allowed by CORS; CORS is off when empty. */
  corsOrigins?: string[];
  /** Login attempts allowed per client address and window (default 10 a minute). */
  loginRateLimit?: RateLimit;
  /** Failed login attempts allowed per account and window; none when left out. */
  loginAccountRateLimit?: RateLimit;
  /** Sign-ups allowed per client address and window; none when left out. */
  signUpRateLimit?: RateLimit;
  /** What one customer may hold and do on the order flow; no caps when left out. */
  orderLimits?: OrderLimits;
  /** Express's 'trust proxy' (default off: X-Forwarded-For is ignored). */
  trustProxy?: TrustProxy;
  /** Where the rate limits count (default: this process's memory). */
  rateLimitStore?: RateLimitStoreKind;
  /** Counts every request for `GET /metrics` (api/metrics.ts); none when left out. */
  httpMetrics?: HttpMetrics;
  bodyLimit?: string;
}

export const REQUEST_ID_HEADER = 'X-Request-Id';

export function createApp(deps: GatewayDependencies): Express {
  const app = express();
  app.disable('x-powered-by');
  // Off unless configured: otherwise any client could name its own address in X-Forwarded-For and so escape the
  // per-address limits.
  app.set('trust proxy', deps.trustProxy ?? false);
  app.use(traceRequests());
  app.use(
    pinoHttp({
      logger: deps.logger,
      genReqId: (req, res) => {
        const incoming = req.headers['x-request-id'];
        const id = typeof incoming === 'string' && /^[\w-]{1,100}$/.test(incoming) ? incoming : randomUUID();
        res.setHeader(REQUEST_ID_HEADER, id);
        return id;
      },
      customLogLevel: (_req, res, error) =>
        error || res.statusCode >= 500 ? 'error' : res.statusCode >= 400 ? 'warn' : 'info',
      // One short line per request: no headers (they carry tokens and cookies), no query strings (they may carry ids).
      serializers: {
        req: (req: { id: unknown; method: string; url: string }) => ({
          id: req.id,
          method: req.method,
          path: req.url.split('?')[0],
        }),
        res: (res: { statusCode: number }) => ({ statusCode: res.statusCode }),
      },
      // The request id under the name the workflow and activity lines use, so one search finds them all.
      customProps: (req) => {
        const user = req.user as AuthenticatedUser | undefined;
        return { requestId: req.id, ...(user ? { userId: user.id } : {}) };
      },
    }),
  );
  if (deps.httpMetrics) app.use(deps.httpMetrics.middleware);
  app.use(
    helmet({
      contentSecurityPolicy: {
        directives: {
          'script-src': ["'self'"],
          'img-src': ["'self'", 'data:'],
          // helmet's default would make a browser fetch every asset over https: the pages would break when the
          // gateway is reached over plain http by an address other than localhost (a laptop on the LAN, a port
          // forward). TLS belongs to the ingress in front of it, which also sends HSTS.
          'upgrade-insecure-requests': null,
        },
      },
    }),
  );
  // The codec endpoint has its own CORS (the Web UI's origin, with credentials) and body limit, so it comes first.
  const codecRouter = express.Router();
  app.use(codecRouter);
  if (deps.corsOrigins?.length) {
    app.use(
      cors({
        origin: deps.corsOrigins,
        exposedHeaders: [REQUEST_ID_HEADER, 'Location', 'RateLimit', 'RateLimit-Policy'],
      }),
    );
  }
  app.use(express.json({ limit: deps.bodyLimit ?? '100kb' }));
  // After the body parser, whose callbacks run outside the request's asynchronous context.
  app.use(requestContext);

  const limiters = createLimiters(
    {
      login: deps.loginRateLimit ?? { limit: 10, windowMs: 60_000 },
      loginAccount: deps.loginAccountRateLimit,
      signUp: deps.signUpRateLimit,
      orders: deps.orderLimits?.rate,
    },
    { kind: deps.rateLimitStore ?? 'memory', counts: deps.services.users.rateLimitHits },
  );
  app.use('/users/login', limiters.loginByAddress);

  const registry = new OpenAPIRegistry();
  registry.registerComponent('securitySchemes', 'bearerAuth', { type: 'http', scheme: 'bearer', bearerFormat: 'JWT' });
  const router = express.Router();
  const authenticate = createAuthenticator(deps.auth, (id) => deps.services.users.findAccount(id));
  const context: RouteContext = { router, registry, authenticate };
  let document: object | undefined;
  const openApiDocument = () =>
    (document ??= new OpenApiGeneratorV31(registry.definitions).generateDocument({
      openapi: '3.1.0',
      info: { title: 'Order saga gateway', version: '1.0.0', description: 'Places orders through a Temporal saga.' },
    }));

  systemRoutes(context, deps.checkHealth, openApiDocument);
  userRoutes(context, deps.services.users, deps.auth, {
    signUp: limiters.signUpByAddress,
    loginByAccount: limiters.loginByAccount,
  });
  itemRoutes(context, deps.services.items);
  couponRoutes(context, deps.services);
  orderRoutes(context, deps.services.orders, deps.saga, {
    limits: deps.orderLimits,
    rateLimiter: limiters.ordersByCustomer,
    events: deps.orderEvents,
  });
  adminRoutes(context, deps.services.orders, deps.saga);
  if (deps.codec) {
    const lookUp = (id: number) => deps.services.users.findAccount(id);
    const codecAuthenticate = createAuthenticator(deps.auth, lookUp, [codecSessionToken]);
    codecRoutes({ router: codecRouter, registry, authenticate: codecAuthenticate }, deps.codec);
  }
  webRoutes(context);
  router.get('/docs/init.js', (_req, res) => {
    res.type('application/javascript').send("window.ui = SwaggerUIBundle({ url: '/openapi.json', dom_id: '#docs' });");
  });

  app.use(router);
  app.use(notFoundHandler);
  app.use(problemHandler);
  return app;
}

/** createApp builds the gateway's Express app from its dependencies without listening, so tests drive it directly. */
import { randomUUID } from 'node:crypto';
import { OpenAPIRegistry, OpenApiGeneratorV31 } from '@asteasolutions/zod-to-openapi';
import cors from 'cors';
import express, { type Express } from 'express';
import { rateLimit } from 'express-rate-limit';
import helmet from 'helmet';
import type { Logger } from 'pino';
import { pinoHttp } from 'pino-http';
import type { CouponService } from '../services/coupon';
import type { ItemService } from '../services/item';
import type { OrderEvents, OrderService } from '../services/order';
import type { UserService } from '../services/user';
import { createAuthenticator, type AuthConfig, type AuthenticatedUser } from './auth';
import type { RouteContext } from './http';
import { notFoundHandler, problemHandler, HttpProblem, sendProblem } from './problem';
import { adminRoutes } from './routes/admin';
import { couponRoutes } from './routes/coupons';
import { itemRoutes } from './routes/items';
import { orderRoutes } from './routes/orders';
import { systemRoutes, type HealthCheck } from './routes/system';
import { userRoutes } from './routes/users';
import type { SagaClient } from './saga-client';

export interface GatewayDependencies {
  services: { users: UserService; items: ItemService; coupons: CouponService; orders: OrderService };
  saga: SagaClient;
  /** Order progress notifications for waiting clients; without them a waiter re-reads the order twice a second. */
  orderEvents?: OrderEvents;
  auth: AuthConfig;
  checkHealth: HealthCheck;
  logger: Logger;
  /** Origins allowed by CORS; CORS is off when empty. */
  corsOrigins?: string[];
  /** Login attempts allowed per client address and window. */
  loginRateLimit?: { limit: number; windowMs: number };
  bodyLimit?: string;
}

export const REQUEST_ID_HEADER = 'X-Request-Id';

export function createApp(deps: GatewayDependencies): Express {
  const app = express();
  app.disable('x-powered-by');
  app.set('trust proxy', false);
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
      customProps: (req) => {
        const user = req.user as AuthenticatedUser | undefined;
        return user ? { userId: user.id } : {};
      },
    }),
  );
  app.use(
    helmet({
      contentSecurityPolicy: { directives: { 'script-src': ["'self'"], 'img-src': ["'self'", 'data:'] } },
    }),
  );
  if (deps.corsOrigins?.length) {
    app.use(
      cors({
        origin: deps.corsOrigins,
        exposedHeaders: [REQUEST_ID_HEADER, 'Location', 'RateLimit', 'RateLimit-Policy'],
      }),
    );
  }
  app.use(express.json({ limit: deps.bodyLimit ?? '100kb' }));

  const loginLimit = deps.loginRateLimit ?? { limit: 10, windowMs: 60_000 };
  app.use(
    '/users/login',
    rateLimit({
      windowMs: loginLimit.windowMs,
      limit: loginLimit.limit,
      standardHeaders: 'draft-7',
      legacyHeaders: false,
      handler: (_req, res) =>
        sendProblem(res, new HttpProblem('TOO_MANY_REQUESTS', 'too many login attempts; try again later')),
    }),
  );

  const registry = new OpenAPIRegistry();
  registry.registerComponent('securitySchemes', 'bearerAuth', { type: 'http', scheme: 'bearer', bearerFormat: 'JWT' });
  const router = express.Router();
  const context: RouteContext = { router, registry, authenticate: createAuthenticator(deps.auth) };
  let document: object | undefined;
  const openApiDocument = () =>
    (document ??= new OpenApiGeneratorV31(registry.definitions).generateDocument({
      openapi: '3.1.0',
      info: { title: 'Order saga gateway', version: '1.0.0', description: 'Places orders through a Temporal saga.' },
    }));

  systemRoutes(context, deps.checkHealth, openApiDocument);
  userRoutes(context, deps.services.users, deps.auth);
  itemRoutes(context, deps.services.items);
  couponRoutes(context, deps.services);
  orderRoutes(context, deps.services.orders, deps.saga, deps.orderEvents);
  adminRoutes(context, deps.services.orders, deps.saga);
  router.get('/docs/init.js', (_req, res) => {
    res.type('application/javascript').send("window.ui = SwaggerUIBundle({ url: '/openapi.json', dom_id: '#docs' });");
  });

  app.use(router);
  app.use(notFoundHandler);
  app.use(problemHandler);
  return app;
}

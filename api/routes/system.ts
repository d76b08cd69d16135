/**
 * Operations: liveness (the process answers), readiness and health (Temporal and every service database answer),
 * the OpenAPI document and its docs page.
 */
import path from 'node:path';
import express, { type Response } from 'express';
import { z } from 'zod';
import { defineRoute, type RouteContext } from '../http';

export type HealthCheck = () => Promise<Record<string, 'ok' | string>>;

const HEALTH_RESPONSES = {
  200: {
    description: 'Healthy',
    schema: z.object({ status: z.literal('ok'), checks: z.record(z.string(), z.string()) }),
  },
  503: {
    description: 'A dependency does not answer',
    schema: z.object({ status: z.literal('unavailable'), checks: z.record(z.string(), z.string()) }),
  },
};

export function systemRoutes(context: RouteContext, checkHealth: HealthCheck, openApiDocument: () => object): void {
  const dependencyCheck = async (res: Response) => {
    const checks = await checkHealth();
    const healthy = Object.values(checks).every((value) => value === 'ok');
    res.status(healthy ? 200 : 503).json({ status: healthy ? 'ok' : 'unavailable', checks });
  };
  // /health (as documented since the start) and /health/ready answer the same: the dependency check.
  defineRoute(
    context,
    {
      method: 'get',
      path: '/health',
      summary: 'Healthy when Temporal and every service database answer (the same as /health/ready)',
      tag: 'system',
      access: 'public',
      responses: HEALTH_RESPONSES,
    },
    (_request, res) => dependencyCheck(res),
  );
  defineRoute(
    context,
    {
      method: 'get',
      path: '/health/ready',
      summary: 'Ready for traffic when Temporal and every service database answer (readiness probe)',
      tag: 'system',
      access: 'public',
      responses: HEALTH_RESPONSES,
    },
    (_request, res) => dependencyCheck(res),
  );
  defineRoute(
    context,
    {
      method: 'get',
      path: '/health/live',
      summary: 'Alive when the process answers at all; asks no dependency (liveness probe)',
      tag: 'system',
      access: 'public',
      responses: { 200: { description: 'The process answers', schema: z.object({ status: z.literal('ok') }) } },
    },
    (_request, res) => {
      res.json({ status: 'ok' });
    },
  );

  defineRoute(
    context,
    {
      method: 'get',
      path: '/openapi.json',
      summary: 'This API as an OpenAPI 3.1 document',
      tag: 'system',
      access: 'public',
      responses: { 200: { description: 'OpenAPI document' } },
    },
    (_request, res) => {
      res.json(openApiDocument());
    },
  );

  defineRoute(
    context,
    {
      method: 'get',
      path: '/docs',
      summary: 'Interactive API documentation (served locally, works offline)',
      tag: 'system',
      access: 'public',
      responses: { 200: { description: 'HTML page' } },
    },
    (_request, res) => {
      res.type('html').send(DOCS_PAGE);
    },
  );
  const serveAsset = express.static(path.dirname(require.resolve('swagger-ui-dist/package.json')), { index: false });
  context.router.use('/docs/assets', (req, res, next) =>
    DOCS_ASSETS.has(req.path) ? serveAsset(req, res, next) : next(),
  );
}

/** Only what the page loads; swagger-ui-dist's own index.html would point the browser at a remote example API. */
const DOCS_ASSETS = new Set(['/swagger-ui-bundle.js', '/swagger-ui.css']);

const DOCS_PAGE = `<!doctype html>
<html lang="en">
<head>
  <meta charset="utf-8">
  <title>Order saga API</title>
  <link rel="stylesheet" href="/docs/assets/swagger-ui.css">
</head>
<body>
  <div id="docs"></div>
  <script src="/docs/assets/swagger-ui-bundle.js"></script>
  <script src="/docs/init.js"></script>
</body>
</html>`;

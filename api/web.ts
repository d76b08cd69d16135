/**
 * The storefront (`/`) and the operator console (`/console`): two static HTML pages, a style sheet and small ES
 * modules under `/assets/`, all from `api/public/`; no build step, no framework. They are clients of the same HTTP
 * API as any other, under the same rules. `npm run build` copies the folder to `dist/api/public/`
 * (scripts/copy-web-assets.ts), so the compiled gateway finds it beside itself as well.
 */
import path from 'node:path';
import express, { type Response } from 'express';
import { defineRoute, type RouteContext } from './http';

/** Beside this module, in the sources (api/public) and in the build (dist/api/public). */
export const WEB_ROOT = path.join(__dirname, 'public');

/** Revalidated on every load (ETag), so a deployed change is seen at once; the files are small. */
const NO_CACHE = 'no-cache';

export function webRoutes(context: RouteContext, root: string = WEB_ROOT): void {
  const page = (file: string) => (_request: unknown, res: Response) =>
    new Promise<void>((resolve, reject) =>
      res.sendFile(file, { root, headers: { 'Cache-Control': NO_CACHE } }, (error) =>
        error ? reject(error) : resolve(),
      ),
    );

  defineRoute(
    context,
    {
      method: 'get',
      path: '/',
      summary: 'The storefront (HTML): log in, items, coupons, quote, place an order and watch its saga live',
      tag: 'web',
      access: 'public',
      responses: { 200: { description: 'HTML page' } },
    },
    page('index.html'),
  );

  defineRoute(
    context,
    {
      method: 'get',
      path: '/console',
      summary: 'The operator console (HTML): orders by status, live counts, retry of stuck orders (admins)',
      tag: 'web',
      access: 'public',
      responses: { 200: { description: 'HTML page' } },
    },
    page('console.html'),
  );

  // Scripts and the style sheet: only what is in the folder, no directory listing, no redirects.
  context.router.use(
    '/assets',
    express.static(path.join(root, 'assets'), {
      index: false,
      redirect: false,
      dotfiles: 'ignore',
      setHeaders: (res) => res.setHeader('Cache-Control', NO_CACHE),
    }),
  );
}

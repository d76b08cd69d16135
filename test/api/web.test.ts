/**
 * The storefront and the operator console as the gateway serves them: two HTML pages and their assets, under the
 * helmet Content-Security-Policy, with nothing inline that the policy would block, no directory listing and no way
 * out of the assets folder; and the build copies them beside the compiled gateway. What the pages do in a browser
 * is test/ui/storefront.test.ts.
 */
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import type { Server } from 'node:http';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { OpenAPIRegistry } from '@asteasolutions/zod-to-openapi';
import express from 'express';
import { WEB_ROOT, webRoutes } from '../../api/web';
import { WEB_SOURCE, WEB_TARGET, copyWebAssets } from '../../scripts/copy-web-assets';
import { request } from '../support/fixtures';
import { startTestSystem, type TestSystem } from '../support/system';
import { expectProblem } from './support';

const ROOT = path.resolve(__dirname, '..', '..');
const PAGES = { '/': 'index.html', '/console': 'console.html' };

let system: TestSystem;

beforeAll(async () => {
  system = await startTestSystem();
});

afterAll(async () => {
  await system?.stop();
});

/** The directives of a Content-Security-Policy header, by name. */
function directives(header: string | null): Record<string, string[]> {
  return Object.fromEntries(
    (header ?? '')
      .split(';')
      .map((part) => part.trim().split(/\s+/))
      .filter(([name]) => name)
      .map(([name, ...values]) => [name!, values]),
  );
}

/** The /assets/ files a page or module loads: src and href attributes, and relative imports of a module. */
function assetsNamedIn(text: string, base = '/assets/'): string[] {
  const attributes = [...text.matchAll(/\b(?:src|href)="(\/assets\/[^"]+)"/g)].map((match) => match[1]!);
  const imports = [...text.matchAll(/\bfrom '\.\/([\w.-]+\.js)'/g)].map((match) => base + match[1]!);
  return [...attributes, ...imports];
}

describe('the pages', () => {
  test.each(Object.entries(PAGES))(
    'when %s is fetched, then it is the HTML page in UTF-8 under a policy that allows scripts from the gateway only',
    async (pagePath, file) => {
      const response = await request(system, 'GET', pagePath);

      expect(response.status).toBe(200);
      expect(response.headers.get('content-type')).toBe('text/html; charset=utf-8');
      expect(response.headers.get('cache-control')).toBe('no-cache');
      expect(response.body).toBe(readFileSync(path.join(WEB_ROOT, file), 'utf8'));
      const policy = directives(response.headers.get('content-security-policy'));
      expect(policy['default-src']).toEqual(["'self'"]);
      expect(policy['script-src']).toEqual(["'self'"]);
      expect(policy['script-src-attr']).toEqual(["'none'"]);
      expect(policy['object-src']).toEqual(["'none'"]);
      // Reached over plain http by a LAN address, the page must still load its own assets.
      expect(policy).not.toHaveProperty('upgrade-insecure-requests');
    },
  );

  test.each(Object.values(PAGES))(
    'when %s is read, then it has no inline script, event handler or style attribute for the policy to block',
    (file) => {
      const html = readFileSync(path.join(WEB_ROOT, file), 'utf8');

      expect(html).toMatch(/<meta charset="utf-8" \/>/);
      const scripts = [...html.matchAll(/<script\b[^>]*>/g)].map((match) => match[0]);
      expect(scripts.length).toBeGreaterThan(0);
      expect(scripts.filter((tag) => !/\bsrc="\/assets\/[\w.-]+\.js"/.test(tag))).toEqual([]);
      expect(html).not.toMatch(/\son[a-z]+=/i);
      expect(html).not.toMatch(/\sstyle=/i);
    },
  );

  test('when every asset the pages and modules load is fetched, then each is served with its type, and the modules use no HTML sinks', async () => {
    const named = new Set<string>();
    for (const file of Object.values(PAGES)) {
      for (const asset of assetsNamedIn(readFileSync(path.join(WEB_ROOT, file), 'utf8'))) named.add(asset);
    }
    for (const asset of [...named]) {
      if (!asset.endsWith('.js')) continue;
      const module = readFileSync(path.join(WEB_ROOT, asset), 'utf8');
      for (const imported of assetsNamedIn(module)) named.add(imported);
      // Text goes in through textContent and append, never parsed as HTML.
      expect(module).not.toMatch(/\.(?:innerHTML|outerHTML)\s*=|insertAdjacentHTML|document\.write/);
    }
    expect([...named].sort()).toEqual(
      ['/assets/client.js', '/assets/console.js', '/assets/store.js', '/assets/style.css'].sort(),
    );

    for (const asset of named) {
      const response = await request(system, 'GET', asset);
      expect(response.status).toBe(200);
      expect(response.headers.get('content-type')).toMatch(
        asset.endsWith('.js') ? /^(?:text|application)\/javascript; charset=utf-8$/ : /^text\/css; charset=utf-8$/,
      );
    }
  });

  test.each(['/assets/', '/assets', '/assets/%2e%2e/web.ts', '/assets/..%2fweb.ts', '/assets/nothing.js'])(
    'when %s is asked for, then 404 problem: no listing, nothing outside the folder',
    async (assetPath) => {
      expectProblem(await request(system, 'GET', assetPath), 404);
    },
  );
});

describe('the build', () => {
  test('when npm run build runs, then it copies the assets beside the compiled gateway before it writes the workflow bundle', () => {
    const build = JSON.parse(readFileSync(path.join(ROOT, 'package.json'), 'utf8')).scripts.build as string;
    const steps = build.split('&&').map((step) => step.trim());
    expect(steps.indexOf('tsx scripts/copy-web-assets.ts')).toBeGreaterThan(
      steps.indexOf('tsc -p tsconfig.build.json'),
    );
    expect(steps.at(-1)).toBe('tsx scripts/build-workflow-bundle.ts');
    // dist/api/web.js looks beside itself, as api/web.ts does.
    expect(path.relative(path.join(ROOT, 'dist', 'api'), WEB_TARGET)).toBe(
      path.relative(path.join(ROOT, 'api'), WEB_ROOT),
    );
    expect(WEB_SOURCE).toBe(WEB_ROOT);
  });

  test('when the assets are copied, then a gateway serving the copy answers the pages and assets, and a file deleted from the sources is gone', async () => {
    const target = path.join(mkdtempSync(path.join(tmpdir(), 'web-assets-')), 'public');
    let server: Server | undefined;
    try {
      copyWebAssets(WEB_SOURCE, target);
      writeFileSync(path.join(target, 'assets', 'removed-since.js'), '');
      copyWebAssets(WEB_SOURCE, target); // the next build replaces the last one whole
      const files = (folder: string) => readdirSync(folder, { recursive: true, encoding: 'utf8' }).sort();
      expect(files(target)).toEqual(files(WEB_SOURCE));

      const router = express.Router();
      webRoutes({ router, registry: new OpenAPIRegistry(), authenticate: () => (_req, _res, next) => next() }, target);
      const app = express().use(router);
      server = await new Promise<Server>((resolve) => {
        const listening = app.listen(0, '127.0.0.1', () => resolve(listening));
      });
      const base = { baseUrl: `http://127.0.0.1:${(server.address() as { port: number }).port}` };
      for (const served of ['/', '/console', '/assets/store.js', '/assets/style.css']) {
        expect((await request(base, 'GET', served)).status).toBe(200);
      }
    } finally {
      await new Promise((resolve) => (server ? server.close(resolve) : resolve(undefined)));
      rmSync(path.dirname(target), { recursive: true, force: true });
    }
  });
});

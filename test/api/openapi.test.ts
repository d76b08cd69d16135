/** The OpenAPI document covers every route the gateway serves, and the docs page works without the internet. */
import { openApiPath } from '../../api/http';
import { request } from '../support/fixtures';
import { startTestSystem, type TestSystem } from '../support/system';

let system: TestSystem;

beforeAll(async () => {
  system = await startTestSystem();
});

afterAll(async () => {
  await system?.stop();
});

/** Static files and the docs page's script: served by the gateway, deliberately not part of the API. */
const NOT_API = ['/docs/assets', '/docs/init.js'];

interface Layer {
  rawPath?: string;
  route?: { path: string; methods: Record<string, boolean> };
  handle: { stack?: Layer[] };
}

/** Every `METHOD path` routed by the Express app, walking nested routers and their mount paths. */
function expressRoutes(stack: Layer[], prefix = ''): string[] {
  return stack.flatMap((layer) => {
    if (layer.route) {
      const path = prefix + layer.route.path;
      return Object.keys(layer.route.methods)
        .filter((method) => method !== '_all')
        .map((method) => `${method.toUpperCase()} ${path}`);
    }
    if (layer.handle.stack) {
      const mount = !layer.rawPath || layer.rawPath === '/' ? '' : layer.rawPath;
      return expressRoutes(layer.handle.stack, prefix + mount);
    }
    return [];
  });
}

describe('GET /openapi.json', () => {
  test('when the document is fetched, then it is OpenAPI 3.1 with the bearer scheme and the Problem schema', async () => {
    const response = await request(system, 'GET', '/openapi.json');

    expect(response.status).toBe(200);
    expect(response.body.openapi).toBe('3.1.0');
    expect(response.body.components.securitySchemes.bearerAuth).toMatchObject({ type: 'http', scheme: 'bearer' });
    expect(response.body.components.schemas.Problem.required).toEqual(
      expect.arrayContaining(['type', 'title', 'status', 'detail', 'code']),
    );
  });

  test('when every route of the Express app is listed, then each appears in the document with the same method, and nothing else does', async () => {
    const document = (await request(system, 'GET', '/openapi.json')).body;
    const routes = expressRoutes((system.app as unknown as { router: { stack: Layer[] } }).router.stack).filter(
      (route) => !NOT_API.some((path) => route.split(' ')[1]!.startsWith(path)),
    );
    const documented = Object.entries(document.paths as Record<string, Record<string, unknown>>).flatMap(
      ([path, operations]) => Object.keys(operations).map((method) => `${method.toUpperCase()} ${path}`),
    );

    expect(routes.length).toBeGreaterThanOrEqual(18);
    expect(routes.map((route) => route.replace(/ (.*)$/, (_, path: string) => ` ${openApiPath(path)}`)).sort()).toEqual(
      documented.sort(),
    );
  });

  test('when a protected route is documented, then it declares bearer auth; a public one does not', async () => {
    const { paths } = (await request(system, 'GET', '/openapi.json')).body;

    expect(paths['/orders'].post.security).toEqual([{ bearerAuth: [] }]);
    expect(paths['/items/{id}'].patch.security).toEqual([{ bearerAuth: [] }]);
    expect(paths['/items'].get.security).toBeUndefined();
    expect(paths['/orders'].post.parameters).toEqual(
      expect.arrayContaining([expect.objectContaining({ in: 'header', name: 'idempotency-key' })]),
    );
  });
});

describe('GET /docs', () => {
  test('when the docs page is opened, then it loads Swagger UI from the gateway itself, not from a CDN', async () => {
    const page = await request(system, 'GET', '/docs');

    expect(page.status).toBe(200);
    expect(page.headers.get('content-type')).toContain('text/html');
    const sources = [...String(page.body).matchAll(/(?:src|href)="([^"]+)"/g)].map((match) => match[1]!);
    expect(sources.sort()).toEqual([
      '/docs/assets/swagger-ui-bundle.js',
      '/docs/assets/swagger-ui.css',
      '/docs/init.js',
    ]);

    for (const source of sources) {
      const asset = await fetch(`${system.baseUrl}${source}`);
      await asset.arrayBuffer();
      expect([source, asset.status]).toEqual([source, 200]);
    }
  });

  test('when the Swagger UI bundle is fetched, then it is served as JavaScript', async () => {
    const bundle = await fetch(`${system.baseUrl}/docs/assets/swagger-ui-bundle.js`);

    expect(bundle.status).toBe(200);
    expect(bundle.headers.get('content-type')).toContain('javascript');
    expect((await bundle.text()).length).toBeGreaterThan(100_000);
  });

  test("when another file of swagger-ui-dist is asked for, then 404: only the page's own assets are served", async () => {
    for (const file of ['index.html', 'swagger-initializer.js', 'package.json', '../../package.json']) {
      const response = await request(system, 'GET', `/docs/assets/${file}`);
      expect([file, response.status]).toEqual([file, 404]);
    }
  });

  test('when the init script is fetched, then it points Swagger UI at /openapi.json', async () => {
    const init = await request(system, 'GET', '/docs/init.js');

    expect(init.status).toBe(200);
    expect(init.headers.get('content-type')).toContain('javascript');
    expect(init.body).toContain("url: '/openapi.json'");
  });
});

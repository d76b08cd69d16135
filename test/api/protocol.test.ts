/** HTTP behaviour shared by every route: problem documents for bad input, request ids, logs, headers, CORS, health. */
import { createServer, type AddressInfo, type Socket } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import { Connection } from '@temporalio/client';
import { createHealthCheck } from '../../api/health';
import { connectOrderDb } from '../../lib/databases';
import { aUser, request, type TestUser } from '../support/fixtures';
import { freePort } from '../support/ports';
import { startTestSystem, type TestSystem } from '../support/system';
import { capturingLogger, expectProblem, fieldPaths, startGateway } from './support';

let system: TestSystem;
let customer: TestUser;

beforeAll(async () => {
  system = await startTestSystem();
  customer = await aUser(system);
});

afterAll(async () => {
  await system?.stop();
});

describe('bad input never becomes a 500', () => {
  test('when the JSON is malformed, then 400 MALFORMED_JSON', async () => {
    const response = await request(system, 'POST', '/users/login', { rawBody: '{"email": "a@b.c",' });

    expectProblem(response, 400, 'MALFORMED_JSON');
  });

  test('when the body is JSON but not an object, then 400', async () => {
    expectProblem(await request(system, 'POST', '/users/login', { rawBody: '"text"' }), 400);
    expectProblem(await request(system, 'POST', '/users/login', { rawBody: '[]' }), 400, 'VALIDATION_FAILED');
  });

  test('when the body is larger than the limit, then 413', async () => {
    const response = await request(system, 'POST', '/users', {
      body: { email: 'big@example.com', name: 'x'.repeat(200_000), address: 'a', password: 'long enough' },
    });

    expectProblem(response, 413, 'PAYLOAD_TOO_LARGE');
  });

  test('when the body is not JSON, then 415', async () => {
    const response = await request(system, 'POST', '/users/login', {
      rawBody: 'email=a@b.c&password=x',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
    });

    expectProblem(response, 415, 'UNSUPPORTED_MEDIA_TYPE');
  });

  test('when the JSON comes in a charset other than UTF-8, then 415', async () => {
    const response = await request(system, 'POST', '/users/login', {
      rawBody: JSON.stringify({ email: 'someone@example.com', password: 'x' }),
      headers: { 'content-type': 'application/json; charset=latin1' },
    });

    expectProblem(response, 415, 'UNSUPPORTED_MEDIA_TYPE');
  });

  test('when a body is required but none is sent, then 400 naming the body', async () => {
    const response = await request(system, 'POST', '/users/login');

    expectProblem(response, 400, 'VALIDATION_FAILED');
    expect(fieldPaths(response)).toEqual(['body']);
  });

  test('when a field has the wrong type, then 400 with a field-level error', async () => {
    const response = await request(system, 'POST', '/users/login', {
      body: { email: 'someone@example.com', password: 12345678 },
    });

    expectProblem(response, 400, 'VALIDATION_FAILED');
    expect(response.body.errors).toEqual([{ path: 'body.password', message: expect.any(String) }]);
  });

  test('when the route does not exist, then 404 ROUTE_NOT_FOUND', async () => {
    expectProblem(await request(system, 'GET', '/nothing/here'), 404, 'ROUTE_NOT_FOUND');
    expectProblem(await request(system, 'DELETE', '/items/1'), 404, 'ROUTE_NOT_FOUND');
  });

  test('when the path is not valid percent-encoding, then 400', async () => {
    expectProblem(await request(system, 'GET', '/items/%E0%A4%A'), 400, 'BAD_REQUEST');
  });
});

describe('request ids and logs', () => {
  test('when a client sends X-Request-Id, then it is echoed; otherwise one is made up', async () => {
    const echoed = await request(system, 'GET', '/items/1', { headers: { 'x-request-id': 'trace-abc-123' } });
    const generated = await request(system, 'GET', '/items/1');
    const unsafe = await request(system, 'GET', '/items/1', { headers: { 'x-request-id': 'a b<script>' } });

    expect(echoed.headers.get('x-request-id')).toBe('trace-abc-123');
    expect(generated.headers.get('x-request-id')).toMatch(/^[0-9a-f-]{36}$/);
    expect(unsafe.headers.get('x-request-id')).toMatch(/^[0-9a-f-]{36}$/);
  });

  test('when a request is served, then one JSON log line has its id, method, path, status and user, and no headers', async () => {
    const { logger, lines } = capturingLogger();
    const gateway = await startGateway(system, { logger });
    try {
      await request(gateway, 'GET', '/users/me?verbose=1', {
        token: customer.token,
        headers: { 'x-request-id': 'log-line-1', cookie: 'session=secret' },
      });
      const deadline = Date.now() + 2000;
      while (!lines.some((line) => line.req?.id === 'log-line-1') && Date.now() < deadline) await sleep(10);

      const line = lines.find((entry) => entry.req?.id === 'log-line-1');
      expect(line).toMatchObject({
        level: 30,
        req: { id: 'log-line-1', method: 'GET', path: '/users/me' },
        res: { statusCode: 200 },
        userId: customer.id,
        responseTime: expect.any(Number),
      });
      expect(Object.keys(line!.req).sort()).toEqual(['id', 'method', 'path']);
      expect(Object.keys(line!.res)).toEqual(['statusCode']);
      expect(JSON.stringify(lines)).not.toContain(customer.token);
      expect(JSON.stringify(lines)).not.toContain('session=secret');
    } finally {
      await gateway.stop();
    }
  });
});

describe('security headers and CORS', () => {
  test('when any response is sent, then helmet security headers are set and Express is not advertised', async () => {
    const response = await request(system, 'GET', '/items/1');

    expect(response.headers.get('x-content-type-options')).toBe('nosniff');
    expect(response.headers.get('x-frame-options')).toBe('SAMEORIGIN');
    expect(response.headers.get('content-security-policy')).toContain("default-src 'self'");
    expect(response.headers.get('strict-transport-security')).toContain('max-age=');
    expect(response.headers.get('x-powered-by')).toBeNull();
  });

  test('when CORS_ORIGINS is not configured, then no cross-origin access is granted', async () => {
    const simple = await request(system, 'GET', '/items', { headers: { origin: 'https://shop.example' } });
    const preflight = await request(system, 'OPTIONS', '/orders', {
      headers: { origin: 'https://shop.example', 'access-control-request-method': 'POST' },
    });

    expect(simple.headers.get('access-control-allow-origin')).toBeNull();
    expect(preflight.headers.get('access-control-allow-origin')).toBeNull();
  });

  test('when CORS origins are configured, then those origins get access and others do not', async () => {
    const gateway = await startGateway(system, { corsOrigins: ['https://shop.example'] });
    try {
      const preflight = await request(gateway, 'OPTIONS', '/orders', {
        headers: {
          origin: 'https://shop.example',
          'access-control-request-method': 'POST',
          'access-control-request-headers': 'authorization,content-type,idempotency-key',
        },
      });
      const allowed = await request(gateway, 'GET', '/items', { headers: { origin: 'https://shop.example' } });
      const other = await request(gateway, 'GET', '/items', { headers: { origin: 'https://evil.example' } });

      expect(preflight.status).toBe(204);
      expect(preflight.headers.get('access-control-allow-origin')).toBe('https://shop.example');
      expect(preflight.headers.get('access-control-allow-headers')).toContain('idempotency-key');
      expect(allowed.headers.get('access-control-allow-origin')).toBe('https://shop.example');
      expect(allowed.headers.get('access-control-expose-headers')).toContain('X-Request-Id');
      expect(other.headers.get('access-control-allow-origin')).toBeNull();
    } finally {
      await gateway.stop();
    }
  });
});

describe('GET /health, /health/ready and /health/live', () => {
  test('when Temporal and every database answer, then 200 ok with each check', async () => {
    const response = await request(system, 'GET', '/health');

    expect(response.status).toBe(200);
    expect(response.body).toEqual({
      status: 'ok',
      checks: { temporal: 'ok', userDb: 'ok', itemDb: 'ok', couponDb: 'ok', paymentDb: 'ok', orderDb: 'ok' },
    });
  });

  test('when a dependency does not answer, then 503 naming it', async () => {
    const gateway = await startGateway(system, {
      checkHealth: async () => ({ temporal: 'ok', orderDb: 'unavailable' }),
    });
    try {
      const response = await request(gateway, 'GET', '/health');

      expect(response.status).toBe(503);
      expect(response.body).toEqual({
        status: 'unavailable',
        checks: { temporal: 'ok', orderDb: 'unavailable' },
      });
    } finally {
      await gateway.stop();
    }
  });

  test('when a dependency does not answer, then /health/ready is 503 like /health while /health/live stays 200 without asking it', async () => {
    let checks = 0;
    const gateway = await startGateway(system, {
      checkHealth: async () => {
        checks += 1;
        return { temporal: 'unavailable', orderDb: 'ok' };
      },
    });
    try {
      const live = await request(gateway, 'GET', '/health/live');
      expect({ status: live.status, body: live.body, checks }).toEqual({
        status: 200,
        body: { status: 'ok' },
        checks: 0,
      });

      const ready = await request(gateway, 'GET', '/health/ready');
      const health = await request(gateway, 'GET', '/health');
      expect(ready.status).toBe(503);
      expect(ready.body).toEqual({ status: 'unavailable', checks: { temporal: 'unavailable', orderDb: 'ok' } });
      expect(health.body).toEqual(ready.body);
      expect(checks).toBe(2);
    } finally {
      await gateway.stop();
    }
  });

  test('when Temporal accepts connections but never answers and the order database refuses them, then 503 naming both without their errors, within the bound; the errors are logged', async () => {
    const silent = await aSilentServer();
    // No retry interceptor: the check's call, still pending when the test closes the connection, then ends with
    // the channel instead of retrying on a closed one after the test.
    const temporal = Connection.lazy({ address: `127.0.0.1:${silent.port}`, interceptors: [] });
    const orderDb = connectOrderDb(`postgresql://postgres:postgres@127.0.0.1:${await freePort()}/order`);
    const logged: Record<string, string> = {};
    const gateway = await startGateway(system, {
      checkHealth: createHealthCheck(temporal, { ...system.db, order: orderDb }, (dependency, reason) => {
        logged[dependency] = reason;
      }),
    });
    try {
      const started = Date.now();
      // The bound: each check gives up after 2 s; an unbounded check would hang here until this signal.
      const response = await fetch(`${gateway.baseUrl}/health`, { signal: AbortSignal.timeout(HEALTH_BOUND_MS) });
      const elapsedMs = Date.now() - started;

      expect(response.status).toBe(503);
      expect(await response.json()).toEqual({
        status: 'unavailable',
        // Public: a host, a port or a driver message would tell an anonymous caller about the inside.
        checks: {
          temporal: 'unavailable',
          userDb: 'ok',
          itemDb: 'ok',
          couponDb: 'ok',
          paymentDb: 'ok',
          orderDb: 'unavailable',
        },
      });
      expect(elapsedMs).toBeLessThan(HEALTH_BOUND_MS);
      expect(logged).toEqual({
        temporal: 'no answer within 2000 ms',
        orderDb: expect.stringContaining("Can't reach database server"),
      });
    } finally {
      await gateway.stop();
      await temporal.close();
      await orderDb.$disconnect();
      await silent.close();
    }
  });
});

/** How long GET /health may take when a dependency does not answer: the 2 s per-check deadline plus a margin. */
const HEALTH_BOUND_MS = 4_000;

/** A real TCP listener that accepts connections and never sends a byte, like a hung server or a black hole. */
async function aSilentServer(): Promise<{ port: number; close(): Promise<void> }> {
  const sockets = new Set<Socket>();
  const server = createServer((socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    port: (server.address() as AddressInfo).port,
    close: () =>
      new Promise<void>((resolve) => {
        for (const socket of sockets) socket.destroy();
        server.close(() => resolve());
      }),
  };
}

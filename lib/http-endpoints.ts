/**
 * A small HTTP listener for operations endpoints apart from the public API: a worker's `/health/live` and
 * `/health/ready`, the gateway's `/metrics`. Only GET (and HEAD) of the named paths; anything else is a 404
 * problem document in the gateway's format (api/problem.ts), so a client sees one kind of error everywhere.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface EndpointAnswer {
  status: number;
  contentType: string;
  body: string;
}

export type Endpoint = () => EndpointAnswer | Promise<EndpointAnswer>;

export function jsonAnswer(status: number, value: unknown): EndpointAnswer {
  return { status, contentType: 'application/json; charset=utf-8', body: JSON.stringify(value) };
}

const NOT_FOUND_TYPE = 'https://problems.order-saga.example/route-not-found';

function notFound(req: IncomingMessage): EndpointAnswer {
  const path = (req.url ?? '/').split('?')[0];
  return {
    status: 404,
    contentType: 'application/problem+json; charset=utf-8',
    body: JSON.stringify({
      type: NOT_FOUND_TYPE,
      title: 'Not found',
      status: 404,
      detail: `no route for ${req.method} ${path}`,
      code: 'ROUTE_NOT_FOUND',
    }),
  };
}

async function answer(req: IncomingMessage, endpoints: Record<string, Endpoint>): Promise<EndpointAnswer> {
  const path = (req.url ?? '/').split('?')[0] ?? '/';
  const endpoint = Object.hasOwn(endpoints, path) ? endpoints[path] : undefined;
  if (!endpoint || (req.method !== 'GET' && req.method !== 'HEAD')) return notFound(req);
  try {
    return await endpoint();
  } catch {
    return jsonAnswer(500, { status: 'error' });
  }
}

function send(req: IncomingMessage, res: ServerResponse, { status, contentType, body }: EndpointAnswer): void {
  res.writeHead(status, {
    'content-type': contentType,
    'content-length': Buffer.byteLength(body),
    'cache-control': 'no-store',
  });
  res.end(req.method === 'HEAD' ? undefined : body);
}

/** Listens on all interfaces (a probe or a scraper comes from outside the container); resolves once bound. */
export function serveEndpoints(port: number, endpoints: Record<string, Endpoint>): Promise<Server> {
  const server = createServer((req, res) => {
    void answer(req, endpoints).then((result) => send(req, res, result));
  });
  // Probes and scrapers hold no connection open for long; a stop must not wait for them.
  server.keepAliveTimeout = 1_000;
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, () => {
      server.off('error', reject);
      resolve(server);
    });
  });
}

export function boundPort(server: Server): number {
  return (server.address() as AddressInfo).port;
}

export function closeServer(server: Server | undefined): Promise<void> {
  if (!server) return Promise.resolve();
  return new Promise((resolve) => {
    server.close(() => resolve());
    server.closeAllConnections();
  });
}

/** Loopback ports: a free one for a private stack or a test, and whether a given one is free. */
import net from 'node:net';
import { GATEWAY_METRICS_PORT, workerHealthPortVariable, workerMetricsPortVariable } from '../../lib/config';
import { WORKER_SERVICES } from '../../lib/services';

/**
 * Where free ports are looked for: below Linux's ephemeral range (32768–60999 by default), which the OS also
 * hands out as the local port of every outgoing connection. A port the OS picked with `listen(0)` could be taken
 * by some process's connection to PostgreSQL or Temporal between the moment it is found free and the moment the
 * process it is meant for binds it (seen as "port … is in use" when several test lanes start stacks at once).
 */
// (20000–32758 is left to the cluster test, which needs ten consecutive ports there for a Temporal server.)
const PORT_RANGE = { from: 10_000, to: 19_999 };

/** Ports this process has handed out already: never handed out twice, even before the first one is bound. */
const handedOut = new Set<number>();

function osPickedPort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.unref();
    server.on('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as net.AddressInfo;
      server.close(() => resolve(port));
    });
  });
}

/** A TCP port on 127.0.0.1 that nothing listens on now, outside the range of outgoing connections' ports. */
export async function freePort(): Promise<number> {
  for (let attempt = 0; attempt < 50; attempt += 1) {
    const port = PORT_RANGE.from + Math.floor(Math.random() * (PORT_RANGE.to - PORT_RANGE.from + 1));
    if (handedOut.has(port) || !(await portIsFree(port))) continue;
    handedOut.add(port);
    return port;
  }
  return osPickedPort();
}

/** True when nothing listens on the port on 127.0.0.1 (it could be bound now). */
export function portIsFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const probe = net
      .createServer()
      .once('error', () => resolve(false))
      .once('listening', () => probe.close(() => resolve(true)))
      .listen(port, '127.0.0.1');
  });
}

/**
 * The variables of every observability listener (the gateway's metrics port, each worker's health and metrics
 * ports). Their defaults are fixed ports; tools and tests that run processes beside others set them here.
 */
export function observabilityPortVariables(): string[] {
  return [
    GATEWAY_METRICS_PORT.name,
    ...WORKER_SERVICES.flatMap((service) => [
      workerHealthPortVariable(service).name,
      workerMetricsPortVariable(service).name,
    ]),
  ];
}

/** Every observability listener off (`0`): for processes whose health and metrics nobody reads. */
export function observabilityPortsOff(): Record<string, string> {
  return Object.fromEntries(observabilityPortVariables().map((name) => [name, '0']));
}

/** Every observability listener on a free port of its own. */
export async function freeObservabilityPorts(): Promise<Record<string, string>> {
  const ports: Record<string, string> = {};
  for (const name of observabilityPortVariables()) ports[name] = String(await freePort());
  return ports;
}

/** Loopback ports: a free one for a private stack or a test, and whether a given one is free. */
import net from 'node:net';
import { GATEWAY_METRICS_PORT, workerHealthPortVariable, workerMetricsPortVariable } from '../../lib/config';
import { WORKER_SERVICES } from '../../lib/services';

/** A TCP port on 127.0.0.1 that nothing listens on now (the OS picks it). */
export function freePort(): Promise<number> {
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

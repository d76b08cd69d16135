/**
 * Free ports for private stacks and tests come from below Linux's ephemeral range (where the OS picks the local
 * port of outgoing connections, which could take a port between its check and its bind), and one process never
 * gets the same port twice.
 */
import net from 'node:net';
import { freePort, portIsFree } from '../../scripts/lib/ports';

const EPHEMERAL_RANGE_START = 32_768;

test('when many ports are asked for, then each is free, below the ephemeral range, and none is handed out twice', async () => {
  const ports: number[] = [];
  for (let index = 0; index < 100; index += 1) ports.push(await freePort());

  expect(new Set(ports).size).toBe(ports.length);
  expect(ports.filter((port) => port >= EPHEMERAL_RANGE_START)).toEqual([]);
  expect(await Promise.all(ports.slice(0, 10).map(portIsFree))).toEqual(Array(10).fill(true));
});

test('when something listens on a port, then it is not free', async () => {
  const port = await freePort();
  const server = net.createServer();
  await new Promise<void>((resolve) => server.listen(port, '127.0.0.1', resolve));
  try {
    expect(await portIsFree(port)).toBe(false);
  } finally {
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }
});

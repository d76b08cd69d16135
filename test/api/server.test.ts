/** The gateway process itself (api/server.ts): refusing an unsafe production start, and a graceful shutdown. */
import { spawn, type ChildProcess } from 'node:child_process';
import http from 'node:http';
import path from 'node:path';
import { once } from 'node:events';
import { newKeyEntry } from '../../lib/payload-codec';
import { freePort, observabilityPortsOff } from '../support/ports';

const ROOT = path.resolve(__dirname, '..', '..');

interface GatewayProcess {
  child: ChildProcess;
  output: () => string;
  exited: Promise<number | null>;
}

function startGatewayProcess(env: NodeJS.ProcessEnv): GatewayProcess {
  const child = spawn(process.execPath, ['--import', 'tsx', 'api/server.ts'], {
    cwd: ROOT,
    env: { ...observabilityPortsOff(), ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout!.on('data', (chunk: Buffer) => (output += chunk.toString()));
  child.stderr!.on('data', (chunk: Buffer) => (output += chunk.toString()));
  const exited = once(child, 'exit').then(([code]) => code as number | null);
  return { child, output: () => output, exited };
}

async function waitForOutput(gateway: GatewayProcess, text: string, timeoutMs = 20_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!gateway.output().includes(text)) {
    if (Date.now() > deadline || gateway.child.exitCode !== null) {
      throw new Error(`gateway never printed "${text}"; output:\n${gateway.output()}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

test('when started with NODE_ENV=production and no JWT_SECRET, then the gateway exits 1 naming JWT_SECRET', async () => {
  const { JWT_SECRET: _ignored, ...env } = process.env;
  const gateway = startGatewayProcess({ ...env, NODE_ENV: 'production', PORT: String(await freePort()) });

  expect(await gateway.exited).toBe(1);
  expect(gateway.output()).toContain('JWT_SECRET must be set in production');
});

test('when the gateway gets SIGTERM mid-request, then it stops accepting, answers that request and exits 0', async () => {
  const port = await freePort();
  const gateway = startGatewayProcess({
    ...process.env,
    NODE_ENV: 'production',
    JWT_SECRET: 'graceful-shutdown-test-secret-0123456789abcdef',
    // Production refuses to start without payload keys (README, Payload encryption).
    PAYLOAD_ENCRYPTION_KEYS: newKeyEntry('shutdown-test'),
    PORT: String(port),
    LOG_LEVEL: 'info',
  });
  try {
    await waitForOutput(gateway, 'gateway listening');

    // A request whose body is only half sent is in flight for as long as the test wants. `Expect: 100-continue`
    // makes the server say when it has taken the request in (its 'request' event), instead of a guessed pause.
    const body = JSON.stringify({ email: 'nobody@example.com', password: 'not a real password' });
    const inFlight = http.request({
      host: '127.0.0.1',
      port,
      method: 'POST',
      path: '/users/login',
      headers: {
        'content-type': 'application/json',
        'content-length': Buffer.byteLength(body),
        expect: '100-continue',
      },
    });
    const answered = once(inFlight, 'response').then(async ([response]) => {
      const message = response as http.IncomingMessage;
      let text = '';
      for await (const chunk of message) text += chunk;
      return { status: message.statusCode, body: JSON.parse(text) };
    });
    inFlight.flushHeaders();
    await once(inFlight, 'continue');
    inFlight.write(body.slice(0, 10));

    const signalledAt = Date.now();
    gateway.child.kill('SIGTERM');
    await waitForOutput(gateway, 'shutting down');

    const refused = await fetch(`http://127.0.0.1:${port}/health`).then(
      () => 'accepted',
      () => 'refused',
    );
    expect(refused).toBe('refused');
    expect(gateway.child.exitCode).toBeNull();

    inFlight.end(body.slice(10));
    expect(await answered).toEqual({ status: 401, body: expect.objectContaining({ code: 'INVALID_CREDENTIALS' }) });
    // Well before the 5 s keep-alive timeout: the answered connection does not hold the process open. Real
    // time is the point here; 3 s is a generous margin for a process that should exit at once.
    const stillRunning = new Promise((resolve) => setTimeout(() => resolve('still running'), 3000).unref());
    expect(await Promise.race([gateway.exited, stillRunning])).toBe(0);
    // And within the gateway's shutdown grace (10 s, api/server.ts), counted from the signal.
    expect(Date.now() - signalledAt).toBeLessThan(10_000);
  } finally {
    if (gateway.child.exitCode === null) gateway.child.kill('SIGKILL');
  }
});

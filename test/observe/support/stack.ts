/**
 * The gateway and the four workers as real OS processes (as `npm start` runs them, from source through tsx), on
 * the shared test infrastructure, each with its own free health and metrics ports and its output kept: the tests
 * of logs, health, drain and metrics read only what the processes show from outside.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { GATEWAY_METRICS_PORT, workerHealthPortVariable, workerMetricsPortVariable } from '../../../lib/config';
import { WORKER_SERVICES, workerEntry, type WorkerServiceName } from '../../../lib/services';
import { freePort } from '../../support/ports';
import { kill } from '../../supervisor/os-processes';

const ROOT = path.resolve(__dirname, '..', '..', '..');
/** tsx loads a worker in seconds on an idle machine; a loaded 2-core one took minutes. */
const READY_TIMEOUT_MS = 150_000;

export type ProcessName = WorkerServiceName | 'gateway';

export interface RunningProcess {
  name: ProcessName;
  child: ChildProcess;
  stdout: () => string;
  stderr: () => string;
  exited: Promise<[number | null, NodeJS.Signals | null]>;
  /** Health port (workers) or public port (gateway). */
  port: number;
  metricsPort: number;
}

export interface Stack {
  processes: Record<ProcessName, RunningProcess>;
  gatewayUrl: string;
  jwtSecret: string;
  env: NodeJS.ProcessEnv;
  /** Starts (or starts again) one process, with some variables changed; resolves once it is ready. */
  start(name: ProcessName, overrides?: NodeJS.ProcessEnv): Promise<RunningProcess>;
  stop(): Promise<void>;
}

/** Lines of a process's standard output, parsed (a line that is not JSON fails the parse, on purpose). */
export function jsonLines(text: string): Record<string, any>[] {
  return text
    .split('\n')
    .filter((line) => line.trim() !== '')
    .map((line) => {
      try {
        return JSON.parse(line) as Record<string, any>;
      } catch {
        throw new Error(`not a JSON line: ${line}`);
      }
    });
}

async function answers(url: string): Promise<boolean> {
  return fetch(url).then(
    (res) => res.ok,
    () => false,
  );
}

export async function startStack(extraEnv: NodeJS.ProcessEnv = {}): Promise<Stack> {
  const jwtSecret = `observe-jwt-secret-${Math.random().toString(36).slice(2)}-0123456789abcdef`;
  const ports = new Map<ProcessName, { port: number; metricsPort: number }>();
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    LOG_LEVEL: 'debug',
    JWT_SECRET: jwtSecret,
    WORKFLOW_BUNDLE_PATH: process.env.TEST_WORKFLOW_BUNDLE,
    // The order worker creates the reconciler's schedule; it must not fire while this file runs (and is deleted after).
    RECONCILE_INTERVAL_SECONDS: '86400',
    ...extraEnv,
  };
  for (const name of ['gateway', ...WORKER_SERVICES] as ProcessName[]) {
    const entry = { port: await freePort(), metricsPort: await freePort() };
    ports.set(name, entry);
    if (name === 'gateway') {
      env.PORT = String(entry.port);
      env[GATEWAY_METRICS_PORT.name] = String(entry.metricsPort);
    } else {
      env[workerHealthPortVariable(name).name] = String(entry.port);
      env[workerMetricsPortVariable(name).name] = String(entry.metricsPort);
    }
  }

  const processes = {} as Record<ProcessName, RunningProcess>;
  const start = async (name: ProcessName, overrides: NodeJS.ProcessEnv = {}): Promise<RunningProcess> => {
    const entry = name === 'gateway' ? 'api/server.ts' : workerEntry(name);
    const child = spawn(process.execPath, ['--import', 'tsx', entry], {
      cwd: ROOT,
      env: { ...env, ...overrides },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout!.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr!.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    const { port, metricsPort } = ports.get(name)!;
    const running: RunningProcess = {
      name,
      child,
      stdout: () => stdout,
      stderr: () => stderr,
      exited: once(child, 'exit') as Promise<[number | null, NodeJS.Signals | null]>,
      port,
      metricsPort,
    };
    processes[name] = running;
    const deadline = Date.now() + READY_TIMEOUT_MS;
    while (!(await answers(`http://127.0.0.1:${port}/health/ready`))) {
      const problem =
        child.exitCode !== null
          ? `${name} exited with code ${child.exitCode}`
          : Date.now() > deadline
            ? `${name} was not ready within ${READY_TIMEOUT_MS} ms`
            : undefined;
      if (problem) throw new Error(`${problem}\n--- ${name} stdout ---\n${stdout}\n--- stderr ---\n${stderr}`);
      await sleep(200);
    }
    return running;
  };

  const stack: Stack = {
    processes,
    gatewayUrl: `http://127.0.0.1:${ports.get('gateway')!.port}`,
    jwtSecret,
    env,
    start,
    async stop() {
      const running = Object.values(processes).filter((entry) => entry.child.exitCode === null);
      for (const entry of running) kill(entry.child.pid, 'SIGTERM');
      const timer = setTimeout(() => running.forEach((entry) => kill(entry.child.pid)), 15_000);
      await Promise.all(running.map((entry) => entry.exited));
      clearTimeout(timer);
    },
  };
  try {
    await Promise.all(WORKER_SERVICES.map((name) => start(name)));
    await start('gateway');
  } catch (error) {
    await stack.stop();
    throw error;
  }
  return stack;
}

/** One sample's value from a Prometheus exposition: the family's sample whose labels include all of `labels`. */
export function sampleValue(exposition: string, name: string, labels: Record<string, string> = {}): number | undefined {
  for (const line of exposition.split('\n')) {
    if (line.startsWith('#')) continue;
    const match = /^([a-zA-Z_:][\w:]*)(?:\{(.*)\})? (\S+)/.exec(line);
    if (!match || match[1] !== name) continue;
    const found = Object.fromEntries(
      [...(match[2] ?? '').matchAll(/(\w+)="((?:[^"\\]|\\.)*)"/g)].map((label) => [label[1], label[2]]),
    );
    if (Object.entries(labels).every(([key, value]) => found[key] === value)) return Number(match[3]);
  }
  return undefined;
}

export async function scrape(port: number): Promise<string> {
  const response = await fetch(`http://127.0.0.1:${port}/metrics`);
  if (!response.ok) throw new Error(`GET :${port}/metrics: ${response.status}`);
  return response.text();
}

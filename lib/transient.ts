/**
 * Which failures a retry can cure. Shared by the undo activities (retry a transient fault without a limit, give
 * up on anything else) and the gateway (a database that is down is a 503, not a 500).
 */
const PROGRAMMING_ERRORS = new Set(['TypeError', 'ReferenceError', 'RangeError', 'SyntaxError']);
const PRISMA_BUGS = new Set(['PrismaClientValidationError', 'PrismaClientRustPanicError']);
/** Prisma request errors a retry can cure: raw query failures are judged by their database error instead. */
const PRISMA_TRANSIENT_CODES = new Set(['P1001', 'P1002', 'P1008', 'P1017', 'P2024', 'P2028', 'P2034']);
/** PostgreSQL SQLSTATE classes and codes of passing faults: connections, resources, locks, conflicts, shutdowns. */
const TRANSIENT_SQLSTATE = /^(08|40|53|57)|^55P03$/;

export function isNonTransient(error: unknown): boolean {
  if (!(error instanceof Error)) return false;
  if (PROGRAMMING_ERRORS.has(error.name) || PRISMA_BUGS.has(error.name)) return true;
  if (error.name !== 'PrismaClientKnownRequestError') return false;
  const { code, meta } = error as { code?: string; meta?: { driverAdapterError?: { cause?: DriverCause } } };
  if (!code || PRISMA_TRANSIENT_CODES.has(code)) return false;
  const cause = meta?.driverAdapterError?.cause;
  if (cause) return !isTransientCause(cause);
  return code.startsWith('P2');
}

interface DriverCause {
  kind?: string;
  code?: string;
}

/** True when the error says a database could not be reached or answered in time: the request may be retried. */
export function isDatabaseUnavailable(error: unknown): boolean {
  if (!(error instanceof Error) || error.name !== 'PrismaClientKnownRequestError') return false;
  const { code, meta } = error as { code?: string; meta?: { driverAdapterError?: { cause?: DriverCause } } };
  const cause = meta?.driverAdapterError?.cause;
  if (cause) return isTransientCause(cause);
  return code !== undefined && PRISMA_TRANSIENT_CODES.has(code);
}

/** Driver adapter error kinds of passing faults. */
const TRANSIENT_KINDS = new Set([
  'DatabaseNotReachable',
  'ConnectionClosed',
  'SocketTimeout',
  'TooManyConnections',
  'TransactionWriteConflict',
  'TransactionAlreadyClosed',
]);

function isTransientCause(cause: DriverCause): boolean {
  if (cause.kind === 'postgres') return TRANSIENT_SQLSTATE.test(cause.code ?? '');
  return TRANSIENT_KINDS.has(cause.kind ?? '');
}

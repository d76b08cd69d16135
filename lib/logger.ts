/**
 * The one logger of every long-running process (gateway, workers): pino, one JSON object per line on standard
 * output, with the process named in `service`. Secrets never reach a line: fields that carry them are censored
 * by path, and anything shaped like a card token is scrubbed from the finished line, wherever in the text it
 * appears (a decline reason that quotes the token, an error message).
 *
 * The workers hand the same logger to the Temporal SDK (`temporalLogger`), so workflow and activity lines keep
 * the SDK's context (workflow id, run id, activity type, attempt) and come out in the same format.
 */
import type { LogLevel as TemporalLogLevel, LogMetadata, Logger as TemporalLogger } from '@temporalio/common';
import { pino, stdSerializers, stdTimeFunctions, type Logger } from 'pino';
import type { LogLevel } from './config';

export type { Logger } from 'pino';

const CENSORED = '[redacted]';

/** Field names whose values are secrets wherever they appear (top level, or one or two objects deep). */
const SECRET_FIELDS = [
  'password',
  'newPassword',
  'paymentToken',
  'cardToken',
  'accessToken',
  'authorization',
  'cookie',
  'jwtSecret',
  'JWT_SECRET',
  'apiKey',
  'TEMPORAL_API_KEY',
];

/**
 * Censored paths: every secret field at depth 0 to 2 (array elements count as a level: an activity's `input[0]`),
 * and the card token of an order request body (`payment.token`).
 */
export const REDACT_PATHS = [
  ...SECRET_FIELDS.flatMap((field) => [field, `*.${field}`, `*.*.${field}`]),
  'payment.token',
  '*.payment.token',
  '*.*.payment.token',
];

/** A card token of the card gateway (`tok_…`, domain/card-tokens.ts), anywhere in a line's text. */
export const CARD_TOKEN_PATTERN = /\btok_[A-Za-z0-9_]+/g;
export const SCRUBBED_CARD_TOKEN = 'tok_[redacted]';

export interface LoggerOptions {
  /** The process, as `service` on every line (`gateway`, `order-worker`, …). */
  service: string;
  level: LogLevel;
  /** Where lines go; standard output unless a test collects them. */
  destination?: pino.DestinationStream;
}

export function createLogger({ service, level, destination }: LoggerOptions): Logger {
  const options: pino.LoggerOptions = {
    level,
    base: { service, pid: process.pid },
    timestamp: stdTimeFunctions.isoTime,
    formatters: { level: (label) => ({ level: label }) },
    redact: { paths: REDACT_PATHS, censor: CENSORED },
    // The SDK names errors `error`; pino only knows `err`.
    serializers: { err: stdSerializers.err, error: stdSerializers.err },
    hooks: { streamWrite: (line) => line.replace(CARD_TOKEN_PATTERN, SCRUBBED_CARD_TOKEN) },
  };
  return destination ? pino(options, destination) : pino(options);
}

const PINO_LEVEL: Record<TemporalLogLevel, 'trace' | 'debug' | 'info' | 'warn' | 'error'> = {
  TRACE: 'trace',
  DEBUG: 'debug',
  INFO: 'info',
  WARN: 'warn',
  ERROR: 'error',
};

/**
 * The Temporal SDK's Logger over pino: what the SDK, workflow `log` and activity `log` write arrives here with
 * its context as metadata, which becomes the line's fields.
 */
export function temporalLogger(logger: Logger): TemporalLogger {
  const write = (level: TemporalLogLevel, message: string, meta?: LogMetadata) => {
    const method = PINO_LEVEL[level];
    if (!logger.isLevelEnabled(method)) return;
    // Symbol keys (the SDK's own timestamp) are not fields; pino leaves them out of the line anyway.
    logger[method](meta ?? {}, message);
  };
  return {
    log: write,
    trace: (message, meta) => write('TRACE', message, meta),
    debug: (message, meta) => write('DEBUG', message, meta),
    info: (message, meta) => write('INFO', message, meta),
    warn: (message, meta) => write('WARN', message, meta),
    error: (message, meta) => write('ERROR', message, meta),
  };
}

/**
 * The chaos client's HTTP: what a careful real client does when the gateway may be killed at any moment. A
 * network error, a timeout, a 5xx (503 included) or a 429 is retried with the same request (so the same
 * Idempotency-Key) and a growing, jittered backoff until the call's deadline; any other answer is returned.
 */
import { setTimeout as sleep } from 'node:timers/promises';

/** One attempt may take this long before it counts as lost (the gateway may hang while its dependencies are down). */
const ATTEMPT_TIMEOUT_MS = 10_000;
const FIRST_BACKOFF_MS = 100;
const MAX_BACKOFF_MS = 2_000;

export interface Answer<T> {
  status: number;
  body: T;
  /** True when an earlier attempt may have reached the gateway without its answer reaching us. */
  uncertain: boolean;
}

export interface CallOptions {
  token?: string;
  body?: unknown;
  headers?: Record<string, string>;
  /** Give up retrying after this many milliseconds. */
  deadlineMs: number;
}

export class GatewayUnavailableError extends Error {
  constructor(
    readonly method: string,
    readonly path: string,
    readonly lastProblem: string,
  ) {
    super(`${method} ${path}: no answer before the deadline (last: ${lastProblem})`);
    this.name = 'GatewayUnavailableError';
  }
}

function isRetryableStatus(status: number): boolean {
  return status >= 500 || status === 429;
}

/** A refused connection never reached a gateway: the request surely did not take effect. */
function neverArrived(error: unknown): boolean {
  const cause = (error as { cause?: { code?: unknown } } | null)?.cause;
  return cause?.code === 'ECONNREFUSED';
}

function parseBody(text: string): unknown {
  try {
    return text ? JSON.parse(text) : undefined;
  } catch {
    return text;
  }
}

export interface GatewayClient {
  readonly baseUrl: string;
  call<T = unknown>(method: string, path: string, options: CallOptions): Promise<Answer<T>>;
}

/** A client of the gateway at baseUrl; `stop` aborts every call in flight (Ctrl-C). */
export function gatewayClient(baseUrl: string, stop: AbortSignal): GatewayClient {
  async function attempt(method: string, path: string, options: CallOptions, timeoutMs: number) {
    const headers: Record<string, string> = { ...options.headers };
    if (options.token) headers.authorization = `Bearer ${options.token}`;
    if (options.body !== undefined) headers['content-type'] = 'application/json';
    const response = await fetch(`${baseUrl}${path}`, {
      method,
      headers,
      body: options.body === undefined ? undefined : JSON.stringify(options.body),
      signal: AbortSignal.any([stop, AbortSignal.timeout(timeoutMs)]),
    });
    return { status: response.status, body: parseBody(await response.text()) };
  }

  return {
    baseUrl,
    async call<T>(method: string, path: string, options: CallOptions): Promise<Answer<T>> {
      const deadline = Date.now() + options.deadlineMs;
      let uncertain = false;
      let lastProblem = 'no attempt';
      for (let tries = 0; ; tries += 1) {
        stop.throwIfAborted();
        const left = deadline - Date.now();
        if (left <= 0) throw new GatewayUnavailableError(method, path, lastProblem);
        try {
          const answer = await attempt(method, path, options, Math.min(ATTEMPT_TIMEOUT_MS, left));
          if (!isRetryableStatus(answer.status)) return { status: answer.status, body: answer.body as T, uncertain };
          lastProblem = `HTTP ${answer.status}`;
          // A 5xx may come after the gateway acted on the request; a 429 comes before.
          if (answer.status !== 429) uncertain = true;
        } catch (error) {
          stop.throwIfAborted();
          lastProblem = error instanceof Error ? `${error.name}: ${error.message}` : String(error);
          if (!neverArrived(error)) uncertain = true;
        }
        const backoff = Math.min(MAX_BACKOFF_MS, FIRST_BACKOFF_MS * 2 ** tries);
        await sleep(backoff / 2 + Math.random() * (backoff / 2), undefined, { signal: stop }).catch(() => undefined);
      }
    },
  };
}

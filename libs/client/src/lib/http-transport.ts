import { RelayError, TRANSPORT_ERROR_CODES, errorFromAnswer } from './relay-error';

/** A token, or a function read at every call (a renewed or newly entered token is used at once). */
export type TokenSource = string | null | undefined | (() => string | null | undefined);

export interface TransportOptions {
  /**
   * The relay's base URL (`http://127.0.0.1:18000`, `https://relay.example.com`), without a trailing
   * slash; `''` in a page served by the relay itself (same-origin paths).
   */
  baseUrl?: string;
  /** Sent as `Authorization: Bearer …` on every call when set. */
  token?: TokenSource;
  /** Default: the global `fetch` (Node 18+, browsers). */
  fetch?: typeof fetch;
  /** Per-call deadline unless a call says otherwise; default none (the platform's own). */
  timeoutMs?: number;
  /** Called on every 401 before the `RelayError` is thrown (a page asks for a token). */
  onUnauthorized?: () => void;
}

export interface CallOptions {
  method?: 'GET' | 'POST';
  /** JSON-encoded as the request body. */
  body?: unknown;
  query?: Record<string, string | number | undefined>;
  headers?: Record<string, string>;
  timeoutMs?: number;
  signal?: AbortSignal;
}

/** Reads the current token of a `TokenSource`. */
export function readToken(source: TokenSource): string | null {
  const token = typeof source === 'function' ? source() : source;
  return token ? token : null;
}

function failure(error: unknown): RelayError {
  const name = (error as { name?: unknown } | null)?.name;
  const message = error instanceof Error ? error.message : String(error);
  if (name === 'TimeoutError')
    return new RelayError({ status: 0, code: TRANSPORT_ERROR_CODES.TIMEOUT, message, cause: error });
  if (name === 'AbortError')
    return new RelayError({ status: 0, code: TRANSPORT_ERROR_CODES.ABORTED, message, cause: error });
  return new RelayError({ status: 0, code: TRANSPORT_ERROR_CODES.NETWORK, message, cause: error });
}

function signalFor(options: CallOptions, defaultTimeoutMs: number | undefined): AbortSignal | undefined {
  const timeoutMs = options.timeoutMs ?? defaultTimeoutMs;
  const timeout = timeoutMs === undefined ? undefined : AbortSignal.timeout(timeoutMs);
  if (!timeout || !options.signal) return timeout ?? options.signal;
  return AbortSignal.any([timeout, options.signal]);
}

/** URLs, headers, the credential, JSON both ways and the error mapping; no retries (callers own them). */
export class HttpTransport {
  private readonly baseUrl: string;
  private token: TokenSource;

  constructor(private readonly options: TransportOptions = {}) {
    this.baseUrl = (options.baseUrl ?? '').replace(/\/+$/, '');
    this.token = options.token;
  }

  /** The token (or token function) every later call carries. */
  setToken(token: TokenSource): void {
    this.token = token;
  }

  url(path: string, query?: CallOptions['query']): string {
    const params = new URLSearchParams();
    for (const [key, value] of Object.entries(query ?? {})) if (value !== undefined) params.set(key, String(value));
    const search = params.toString();
    return `${this.baseUrl}${path}${search ? `?${search}` : ''}`;
  }

  /** One call; resolves to the parsed JSON answer, throws `RelayError` for anything else. */
  async call<T>(path: string, options: CallOptions = {}): Promise<T> {
    const headers: Record<string, string> = { accept: 'application/json' };
    if (options.body !== undefined) headers['content-type'] = 'application/json';
    const token = readToken(this.token);
    if (token) headers.authorization = `Bearer ${token}`;
    const doFetch = this.options.fetch ?? globalThis.fetch;
    let response: Response;
    let text: string;
    try {
      response = await doFetch(this.url(path, options.query), {
        method: options.method ?? 'GET',
        headers: { ...headers, ...options.headers },
        body: options.body === undefined ? undefined : JSON.stringify(options.body),
        signal: signalFor(options, this.options.timeoutMs),
      });
      // The whole answer is read, so a keep-alive connection is reusable and an error is loggable.
      text = await response.text();
    } catch (error) {
      throw failure(error);
    }
    if (!response.ok) {
      if (response.status === 401) this.options.onUnauthorized?.();
      throw errorFromAnswer(response.status, response.statusText, text);
    }
    try {
      return JSON.parse(text) as T;
    } catch (error) {
      throw new RelayError({
        status: response.status,
        code: TRANSPORT_ERROR_CODES.INVALID_RESPONSE,
        message: 'the answer is not JSON',
        body: text.slice(0, 2_000),
        cause: error,
      });
    }
  }
}

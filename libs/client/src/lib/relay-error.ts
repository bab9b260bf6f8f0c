/** `code` of a failure that never got an HTTP answer (`status` 0). */
export const TRANSPORT_ERROR_CODES = {
  /** The connection failed or broke (DNS, refused, reset, TLS). */
  NETWORK: 'network_error',
  /** No answer within the call's timeout. */
  TIMEOUT: 'timeout',
  /** The caller's `signal` aborted the call. */
  ABORTED: 'aborted',
  /** A 2xx answer whose body is not the JSON the route promises (a proxy's page, a cut answer). */
  INVALID_RESPONSE: 'invalid_response',
  /** A non-2xx answer without the relay's JSON error envelope (a proxy's error page). */
  HTTP_ERROR: 'http_error',
} as const;

export interface RelayErrorInit {
  status: number;
  code: string;
  message: string;
  requestId?: string;
  details?: unknown;
  /** The answer's text (cut at 2,000 characters), for logs. */
  body?: string;
  cause?: unknown;
}

/**
 * A call that did not succeed. `status` is the HTTP status, or 0 when no answer arrived (`code` then
 * says why: `network_error`, `timeout`, `aborted`). For an answer of the relay, `code`, `message`,
 * `details` and `requestId` come from its error envelope `{"error": {code, message, details, requestId}}`.
 */
export class RelayError extends Error {
  readonly status: number;
  readonly code: string;
  readonly requestId: string | undefined;
  readonly details: unknown;
  readonly body: string | undefined;

  constructor(init: RelayErrorInit) {
    super(init.message, init.cause === undefined ? undefined : { cause: init.cause });
    this.name = 'RelayError';
    this.status = init.status;
    this.code = init.code;
    this.requestId = init.requestId;
    this.details = init.details;
    this.body = init.body;
  }

  /** True when the call may succeed if sent again later: no answer, 408, 429 or 5xx. */
  get retryable(): boolean {
    return this.status === 0
      ? this.code !== TRANSPORT_ERROR_CODES.ABORTED
      : this.status === 408 || this.status === 429 || this.status >= 500;
  }
}

const BODY_KEPT_CHARS = 2_000;

/** The error for a non-2xx answer, read from the relay's envelope when the body is one. */
export function errorFromAnswer(status: number, statusText: string, text: string): RelayError {
  const body = text.length > BODY_KEPT_CHARS ? `${text.slice(0, BODY_KEPT_CHARS)}…` : text;
  try {
    const parsed = JSON.parse(text) as {
      error?: { code?: unknown; message?: unknown; details?: unknown; requestId?: unknown };
    };
    const error = parsed?.error;
    if (error && typeof error.code === 'string') {
      return new RelayError({
        status,
        code: error.code,
        message: typeof error.message === 'string' ? error.message : `${status} ${statusText}`.trim(),
        requestId: typeof error.requestId === 'string' ? error.requestId : undefined,
        details: error.details,
        body,
      });
    }
  } catch {
    // Not JSON (a proxy's error page): keep the status line.
  }
  return new RelayError({
    status,
    code: TRANSPORT_ERROR_CODES.HTTP_ERROR,
    message: `${status} ${statusText}`.trim(),
    body,
  });
}

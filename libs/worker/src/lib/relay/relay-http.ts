import { SandboxMessage, SandboxTokenRenewal } from '@sandbox-relay/contracts';
import { errorMessage, preview } from '../util/text';

/** One event as the ingest edge takes it (`EventBody` in libs/contracts, with `source` always set). */
export interface OutboundEvent {
  event_type: string;
  event_data: Record<string, unknown>;
  source: string;
}

/**
 * How a POST of events ended. `retry`: the relay is unreachable, overloaded or failing (network
 * error, timeout, 408, 429, 5xx), or does not accept the token (401: expired, or signed by a key the
 * relay no longer holds; the events wait, and the supervisor replaces a worker that goes quiet with
 * one holding a fresh token): the same events go again later. `reject`: the relay refused the
 * request itself (any other 4xx, 403 included: the token is valid but not for this sandbox):
 * sending it again can only fail again.
 */
export type SendOutcome =
  { kind: 'ok' } | { kind: 'retry'; reason: string } | { kind: 'reject'; status: number; reason: string };

/** How a GET of messages ended; unreadable items are dropped and counted, not fatal. */
export type MessagesOutcome =
  { ok: true; messages: SandboxMessage[]; unreadable: number } | { ok: false; reason: string };

export interface RelayHttpOptions {
  /** The relay's base URL without a trailing slash. */
  baseUrl: string;
  sandboxId: string;
  token?: string;
  fetch?: typeof fetch;
  /**
   * Generous on purpose: a POST that times out is retried, and if the relay did commit it the
   * event is stored twice. Waiting longer on a slow relay is cheaper than a duplicate.
   */
  requestTimeoutMs?: number;
  /** Shorter: polls run during turns, and a hung GET would delay the next interrupt by as much. */
  messagesTimeoutMs?: number;
}

/**
 * How a token renewal ended. `retry`: the relay could not answer now (network, 408, 429, 5xx); `refused`:
 * it will not renew this token (401: already expired or unknown; 403; 409: the sandbox is no longer
 * live, or the relay runs without auth).
 */
export type RenewOutcome =
  | { kind: 'renewed'; token: string; expiresAt: string }
  | { kind: 'retry'; reason: string }
  | { kind: 'refused'; status: number; reason: string };

/** Statuses that say "try again later" rather than "this request is wrong". */
function isRetryable(status: number): boolean {
  return status === 401 || status === 408 || status === 429 || status >= 500 || status < 400;
}

/** The relay's HTTP edge as the worker calls it: events in, messages out. No retries here. */
export class RelayHttp {
  private readonly fetch: typeof fetch;
  private readonly timeoutMs: number;
  private readonly messagesTimeoutMs: number;
  private readonly sandboxPath: string;

  private token: string | undefined;

  constructor(private readonly options: RelayHttpOptions) {
    this.token = options.token;
    this.fetch = options.fetch ?? globalThis.fetch;
    this.timeoutMs = options.requestTimeoutMs ?? 30_000;
    this.messagesTimeoutMs = options.messagesTimeoutMs ?? 10_000;
    this.sandboxPath = `${options.baseUrl}/api/v1/sandboxes/${encodeURIComponent(options.sandboxId)}`;
  }

  private headers(json: boolean): Record<string, string> {
    const headers: Record<string, string> = { accept: 'application/json' };
    if (json) headers['content-type'] = 'application/json';
    if (this.token) headers.authorization = `Bearer ${this.token}`;
    return headers;
  }

  /** The token every call carries from now on (a renewed one). */
  setToken(token: string): void {
    this.token = token;
  }

  /** `POST /token`: trades the current token for a fresh one for the same sandbox. */
  async renewToken(): Promise<RenewOutcome> {
    let response: Response;
    let text: string;
    try {
      response = await this.fetch(`${this.sandboxPath}/token`, {
        method: 'POST',
        headers: this.headers(false),
        signal: AbortSignal.timeout(this.messagesTimeoutMs),
      });
      text = await response.text();
    } catch (error) {
      return { kind: 'retry', reason: errorMessage(error) };
    }
    const reason = `HTTP ${response.status}: ${preview(text, 500)}`;
    if (!response.ok)
      return response.status === 408 || response.status === 429 || response.status >= 500
        ? { kind: 'retry', reason }
        : { kind: 'refused', status: response.status, reason };
    let body: unknown;
    try {
      body = JSON.parse(text);
    } catch {
      return { kind: 'retry', reason: `answer is not JSON: ${preview(text, 200)}` };
    }
    const renewal = SandboxTokenRenewal.safeParse(body);
    if (!renewal.success || renewal.data.sandbox_id !== this.options.sandboxId)
      return { kind: 'retry', reason: 'answer is not a token renewal for this sandbox' };
    return { kind: 'renewed', token: renewal.data.token, expiresAt: renewal.data.expires_at };
  }

  /** One event through `POST /events`, several through `POST /events/batch` (stored in array order). */
  async postEvents(events: readonly OutboundEvent[]): Promise<SendOutcome> {
    const single = events.length === 1;
    const url = single ? `${this.sandboxPath}/events` : `${this.sandboxPath}/events/batch`;
    let response: Response;
    let text: string;
    try {
      response = await this.fetch(url, {
        method: 'POST',
        headers: this.headers(true),
        body: JSON.stringify(single ? events[0] : events),
        signal: AbortSignal.timeout(this.timeoutMs),
      });
      // Read the whole answer so the keep-alive connection is reusable (and the error is loggable).
      text = await response.text();
    } catch (error) {
      return { kind: 'retry', reason: errorMessage(error) };
    }
    if (response.ok) return { kind: 'ok' };
    const reason = `HTTP ${response.status}: ${preview(text, 500)}`;
    return isRetryable(response.status)
      ? { kind: 'retry', reason }
      : { kind: 'reject', status: response.status, reason };
  }

  /**
   * `GET /messages`: drains undelivered messages (interrupts first), or with `since` re-reads
   * messages already handed out with a larger id, for a drain whose answer never arrived.
   */
  async getMessages(since?: string): Promise<MessagesOutcome> {
    const url =
      since === undefined
        ? `${this.sandboxPath}/messages`
        : `${this.sandboxPath}/messages?since=${encodeURIComponent(since)}`;
    let body: unknown;
    try {
      const response = await this.fetch(url, {
        headers: this.headers(false),
        signal: AbortSignal.timeout(this.messagesTimeoutMs),
      });
      const text = await response.text();
      if (!response.ok) return { ok: false, reason: `HTTP ${response.status}: ${preview(text, 500)}` };
      body = JSON.parse(text);
    } catch (error) {
      return { ok: false, reason: errorMessage(error) };
    }
    if (!Array.isArray(body)) return { ok: false, reason: 'answer is not a JSON array' };
    const messages: SandboxMessage[] = [];
    for (const item of body) {
      const parsed = SandboxMessage.safeParse(item);
      if (parsed.success) messages.push(parsed.data);
    }
    return { ok: true, messages, unreadable: body.length - messages.length };
  }
}

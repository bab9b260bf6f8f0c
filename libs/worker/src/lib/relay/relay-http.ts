import { RelayClient as EdgeClient, RelayError } from '@sandbox-relay/client';
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

/** How a failed call reads in a log line: the transport's message, or the status and the answer's start. */
function reasonOf(error: unknown): string {
  if (!(error instanceof RelayError)) return errorMessage(error);
  if (error.status === 0) return error.message;
  return `HTTP ${error.status}: ${preview(error.body ?? '', 500)}`;
}

/** A 2xx whose body was not JSON (`invalid_response`): the relay did answer, the body is unreadable. */
function answeredOk(error: unknown): error is RelayError {
  return error instanceof RelayError && error.status >= 200 && error.status < 300;
}

/**
 * The relay's HTTP edge as the worker calls it: events in, messages out. No retries here (the outbox
 * and the poller own them); the transport (URLs, headers, the token, JSON) is `@sandbox-relay/client`.
 */
export class RelayHttp {
  private readonly client: EdgeClient;
  private readonly timeoutMs: number;
  private readonly messagesTimeoutMs: number;

  constructor(private readonly options: RelayHttpOptions) {
    this.client = new EdgeClient({ baseUrl: options.baseUrl, token: options.token, fetch: options.fetch });
    this.timeoutMs = options.requestTimeoutMs ?? 30_000;
    this.messagesTimeoutMs = options.messagesTimeoutMs ?? 10_000;
  }

  /** The token every call carries from now on (a renewed one). */
  setToken(token: string): void {
    this.client.setToken(token);
  }

  /** `POST /token`: trades the current token for a fresh one for the same sandbox. */
  async renewToken(): Promise<RenewOutcome> {
    let body: unknown;
    try {
      body = await this.client.renewToken(this.options.sandboxId, { timeoutMs: this.messagesTimeoutMs });
    } catch (error) {
      if (answeredOk(error)) return { kind: 'retry', reason: `answer is not JSON: ${preview(error.body ?? '', 200)}` };
      if (!(error instanceof RelayError) || error.status === 0) return { kind: 'retry', reason: reasonOf(error) };
      const reason = reasonOf(error);
      return error.retryable ? { kind: 'retry', reason } : { kind: 'refused', status: error.status, reason };
    }
    const renewal = SandboxTokenRenewal.safeParse(body);
    if (!renewal.success || renewal.data.sandbox_id !== this.options.sandboxId)
      return { kind: 'retry', reason: 'answer is not a token renewal for this sandbox' };
    return { kind: 'renewed', token: renewal.data.token, expiresAt: renewal.data.expires_at };
  }

  /** One event through `POST /events`, several through `POST /events/batch` (stored in array order). */
  async postEvents(events: readonly OutboundEvent[]): Promise<SendOutcome> {
    const request = { timeoutMs: this.timeoutMs };
    try {
      if (events.length === 1) await this.client.postEvent(this.options.sandboxId, events[0]!, request);
      else await this.client.postEvents(this.options.sandboxId, events, request);
      return { kind: 'ok' };
    } catch (error) {
      // Committed: the answer's body is not read for anything.
      if (answeredOk(error)) return { kind: 'ok' };
      const reason = reasonOf(error);
      if (!(error instanceof RelayError) || error.status === 0) return { kind: 'retry', reason };
      return isRetryable(error.status) ? { kind: 'retry', reason } : { kind: 'reject', status: error.status, reason };
    }
  }

  /**
   * `GET /messages`: drains undelivered messages (interrupts first), or with `since` re-reads
   * messages already handed out with a larger id, for a drain whose answer never arrived.
   */
  async getMessages(since?: string): Promise<MessagesOutcome> {
    let body: unknown;
    try {
      body = await this.client.drainMessages(this.options.sandboxId, { since, timeoutMs: this.messagesTimeoutMs });
    } catch (error) {
      return { ok: false, reason: answeredOk(error) ? errorMessage(error.cause ?? error) : reasonOf(error) };
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

import { EVENT_LIMITS, type SandboxMessage } from '@sandbox-relay/contracts';
import type { WorkerLogger } from '../util/logger';
import { EventOutbox, type OutboxOptions, type OutboxStats } from './event-outbox';
import { RelayHttp, type RelayHttpOptions } from './relay-http';
import { TokenRenewal } from './token-renewal';

/** What the worker loop needs from the relay; `RelayClient` over HTTP, an in-memory fake in tests. */
export interface WorkerRelay {
  /** Queues an event; it reaches the relay in order, retried while the relay is unreachable. */
  emit(eventType: string, data: Record<string, unknown>, source: string): void;
  /** Messages not handled before, interrupts first as the relay sends them; null when the GET failed. */
  pollMessages(): Promise<SandboxMessage[] | null>;
  /** Resolves true once every queued event was sent, false at the deadline. */
  flush(timeoutMs: number): Promise<boolean>;
  stats(): OutboxStats;
  close(): void;
}

export interface RelayClientOptions extends RelayHttpOptions {
  logger: WorkerLogger;
  /** Outbox tuning: bound, batch size, backoff, and the sleep/random seams tests use. */
  outbox?: Omit<OutboxOptions, 'send' | 'logger'>;
}

/** Ids remembered to drop a message seen twice (a re-read after a lost answer overlaps the drain). */
const REMEMBERED_IDS = 1_000;
/** Scalars this short survive an oversized event's replacement, so it still says what it was about. */
const KEPT_SCALAR_CHARS = 1_000;

/**
 * Replaces `event_data` the relay would refuse for its size (a 422, which the outbox drops) with a
 * small stand-in that keeps its short scalar fields and says what was cut.
 */
export function fitEventData(data: Record<string, unknown>): Record<string, unknown> {
  return fitted(data).data;
}

function fitted(data: Record<string, unknown>): { data: Record<string, unknown>; bytes: number } {
  const bytes = Buffer.byteLength(JSON.stringify(data));
  if (bytes <= EVENT_LIMITS.EVENT_DATA_MAX_BYTES) return { data, bytes };
  const kept: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(data)) {
    const short = typeof value !== 'string' || value.length <= KEPT_SCALAR_CHARS;
    if (short && (value === null || ['string', 'number', 'boolean'].includes(typeof value))) kept[key] = value;
  }
  const standIn = {
    ...kept,
    truncated: true,
    original_bytes: bytes,
    omitted_keys: Object.keys(data).filter((key) => !(key in kept)),
  };
  return { data: standIn, bytes: Buffer.byteLength(JSON.stringify(standIn)) };
}

/** The worker's side of the relay over HTTP: an outbox for events and a message poller. */
export class RelayClient implements WorkerRelay {
  private readonly http: RelayHttp;
  private readonly outbox: EventOutbox;
  private readonly seen = new Set<string>();
  private highest: bigint | null = null;
  /** Set after a failed drain: the relay may have handed messages out in an answer we never read. */
  private recover = false;
  /** Failed polls in a row; only the first of a streak is a warning (an outage polls every second). */
  private failedPolls = 0;

  /** With a token: keeps it fresh, so a task longer than one token's lifetime keeps reporting. */
  private readonly renewal: TokenRenewal | null;

  constructor(private readonly options: RelayClientOptions) {
    this.http = new RelayHttp(options);
    this.outbox = new EventOutbox({
      ...options.outbox,
      logger: options.logger,
      send: (events) => this.http.postEvents(events),
    });
    this.renewal = options.token
      ? new TokenRenewal({
          token: options.token,
          renew: () => this.http.renewToken(),
          onRenewed: (token) => this.http.setToken(token),
          logger: options.logger,
        })
      : null;
    this.renewal?.start();
  }

  emit(eventType: string, data: Record<string, unknown>, source: string): void {
    const { data: eventData, bytes } = fitted(data);
    this.outbox.push({ event_type: eventType, event_data: eventData, source }, bytes);
  }

  /**
   * Drains the sandbox's messages. After a failed drain, first re-reads (`?since=`) what the relay
   * handed out past the highest id seen, so a drain that committed but whose answer was lost does
   * not lose messages. Before any message was seen there is no safe cursor (a re-read from 0 could
   * replay an earlier worker's messages), so that one window stays open.
   */
  async pollMessages(): Promise<SandboxMessage[] | null> {
    const since = this.recover && this.highest !== null ? this.highest.toString() : undefined;
    const reread = since === undefined ? undefined : await this.http.getMessages(since);
    if (reread && !reread.ok) return this.failed(reread.reason);
    const drained = await this.http.getMessages();
    if (!drained.ok) return this.failed(drained.reason);
    this.recover = false;
    if (this.failedPolls > 0) this.options.logger.info({ failedPolls: this.failedPolls }, 'message polling recovered');
    this.failedPolls = 0;
    const unreadable = (reread?.ok ? reread.unreadable : 0) + drained.unreadable;
    if (unreadable > 0)
      this.options.logger.warn({ unreadable }, 'skipped messages that do not match the message contract');
    return [...(reread?.ok ? reread.messages : []), ...drained.messages].filter((message) =>
      this.firstSight(message.message_id),
    );
  }

  flush(timeoutMs: number): Promise<boolean> {
    return this.outbox.flush(timeoutMs);
  }

  stats(): OutboxStats {
    return this.outbox.stats();
  }

  close(): void {
    this.renewal?.close();
    this.outbox.close();
  }

  private failed(reason: string): null {
    this.recover = true;
    this.failedPolls += 1;
    const log = this.failedPolls === 1 ? this.options.logger.warn : this.options.logger.debug;
    log.call(
      this.options.logger,
      { reason, failedPolls: this.failedPolls },
      'message poll failed; retrying at the next poll',
    );
    return null;
  }

  private firstSight(id: string): boolean {
    if (this.seen.has(id)) return false;
    this.seen.add(id);
    if (this.seen.size > REMEMBERED_IDS) this.seen.delete(this.seen.values().next().value as string);
    const value = BigInt(id);
    if (this.highest === null || value > this.highest) this.highest = value;
    return true;
  }
}

import { AGENT_EVENT_TYPES, EVENT_LIMITS } from '@sandbox-relay/contracts';
import { delay } from '../util/delay';
import type { WorkerLogger } from '../util/logger';
import type { OutboundEvent, SendOutcome } from './relay-http';

/** Sends a run of events in one request (one event: the single endpoint; more: the batch endpoint). */
export type EventSender = (events: readonly OutboundEvent[]) => Promise<SendOutcome>;

export interface OutboxOptions {
  send: EventSender;
  logger: WorkerLogger;
  /** Events held while the relay is unreachable; past it the oldest heartbeat (else the oldest event) goes. */
  maxEvents?: number;
  /** The same bound in bytes of JSON (64 MiB): 10,000 events of 200 KiB diffs would not fit a sandbox. */
  maxBytes?: number;
  /** Events per batch request; the relay takes at most 1000. */
  maxBatch?: number;
  /** Bytes per batch request (8 MiB): the relay refuses batch bodies over 16 MB with a 413. */
  maxBatchBytes?: number;
  /** First retry delay; doubles per failed attempt up to `backoffCapMs`. */
  backoffBaseMs?: number;
  backoffCapMs?: number;
  sleep?: (ms: number, signal: AbortSignal) => Promise<void>;
  random?: () => number;
}

export interface OutboxStats {
  /** Waiting to be sent, including a request in flight. */
  queued: number;
  /** Accepted by the relay. */
  sent: number;
  /** Dropped because the outbox was full (heartbeats first). */
  dropped: number;
  /** Refused by the relay with a 4xx and dropped (logged one by one). */
  rejected: number;
}

/**
 * An in-memory, ordered, bounded outbox. Events leave in the order they were queued, one request at
 * a time; a request that fails for a retryable reason is sent again (exponential backoff with
 * jitter) until the relay takes it. Delivery is at least once: a request whose answer is lost after
 * the relay committed it is sent again, so a relay crash at exactly that moment can store a duplicate.
 */
export class EventOutbox {
  private readonly queue: Array<{ event: OutboundEvent; bytes: number }> = [];
  private heldBytes = 0;
  /** The head of `queue` currently in a request; never dropped, never reordered. */
  private inFlight = 0;
  /** After a rejected batch, this many head events go one per request to find the bad one(s). */
  private singlesLeft = 0;
  private pumping = false;
  private closed = false;
  private wakeUp = new AbortController();
  private idleWaiters: Array<() => void> = [];
  private readonly counts = { sent: 0, dropped: 0, rejected: 0 };
  private readonly maxEvents: number;
  private readonly maxBytes: number;
  private readonly maxBatch: number;
  private readonly maxBatchBytes: number;
  private readonly baseMs: number;
  private readonly capMs: number;
  private readonly sleep: (ms: number, signal: AbortSignal) => Promise<void>;
  private readonly random: () => number;

  constructor(private readonly options: OutboxOptions) {
    this.maxEvents = options.maxEvents ?? 10_000;
    this.maxBytes = options.maxBytes ?? 64 * 1024 * 1024;
    this.maxBatch = Math.min(options.maxBatch ?? EVENT_LIMITS.BATCH_MAX, EVENT_LIMITS.BATCH_MAX);
    this.maxBatchBytes = options.maxBatchBytes ?? 8 * 1024 * 1024;
    this.baseMs = options.backoffBaseMs ?? 100;
    this.capMs = options.backoffCapMs ?? 5_000;
    this.sleep = options.sleep ?? delay;
    this.random = options.random ?? Math.random;
  }

  /**
   * Queues an event and starts sending if idle. Never blocks, never throws. `bytes` is the size of
   * its JSON (or of its data) when the caller already knows it.
   */
  push(event: OutboundEvent, bytes = JSON.stringify(event).length): void {
    if (this.closed) return;
    while (this.queue.length >= this.maxEvents || this.heldBytes + bytes > this.maxBytes) {
      if (!this.dropOne()) {
        // Everything held is in the request in flight: the newcomer is the only one we can give up.
        this.counts.dropped += 1;
        return;
      }
    }
    this.queue.push({ event, bytes });
    this.heldBytes += bytes;
    if (!this.pumping) void this.pump();
  }

  stats(): OutboxStats {
    return { queued: this.queue.length, ...this.counts };
  }

  /**
   * Resolves true once everything queued so far was sent (or rejected), false at the deadline. A
   * pending backoff wait is cut short so a relay that is back is tried at once.
   */
  async flush(timeoutMs: number): Promise<boolean> {
    if (this.queue.length === 0 || this.closed) return this.queue.length === 0;
    this.wakeUp.abort();
    const deadline = new AbortController();
    const drained = new Promise<void>((resolve) => this.idleWaiters.push(resolve));
    const timer = setTimeout(() => deadline.abort(), timeoutMs);
    await Promise.race([
      drained,
      new Promise<void>((resolve) => deadline.signal.addEventListener('abort', () => resolve())),
    ]);
    clearTimeout(timer);
    return this.queue.length === 0;
  }

  /** Stops sending; what is still queued is abandoned (call `flush` first). */
  close(): void {
    this.closed = true;
    this.wakeUp.abort();
  }

  /** Makes room: the oldest heartbeat outside the request in flight, else the oldest such event. */
  private dropOne(): boolean {
    let index = this.queue.findIndex(
      (held, at) => at >= this.inFlight && held.event.event_type === AGENT_EVENT_TYPES.HEARTBEAT,
    );
    if (index < 0) index = this.inFlight;
    if (index >= this.queue.length) return false;
    const [dropped] = this.queue.splice(index, 1);
    this.heldBytes -= dropped?.bytes ?? 0;
    this.counts.dropped += 1;
    if (dropped && dropped.event.event_type !== AGENT_EVENT_TYPES.HEARTBEAT) {
      this.options.logger.warn(
        { eventType: dropped.event.event_type, dropped: this.counts.dropped },
        'outbox full: dropped the oldest event',
      );
    }
    return true;
  }

  /** Head events that fit one request: at most `maxBatch`, at most `maxBatchBytes`, at least one. */
  private nextBatchSize(): number {
    let count = 0;
    let bytes = 0;
    for (const held of this.queue) {
      if (count === this.maxBatch || (count > 0 && bytes + held.bytes > this.maxBatchBytes)) break;
      count += 1;
      bytes += held.bytes;
    }
    return count;
  }

  private backoffMs(attempt: number): number {
    const ceiling = Math.min(this.capMs, this.baseMs * 2 ** Math.min(attempt - 1, 30));
    // "Equal jitter": at least half the ceiling, so retries never hammer, and spread so restarts of
    // many sandboxes do not hit a recovering relay in lockstep.
    return ceiling / 2 + this.random() * (ceiling / 2);
  }

  private async pump(): Promise<void> {
    this.pumping = true;
    let attempt = 0;
    try {
      while (this.queue.length > 0 && !this.closed) {
        const count = this.singlesLeft > 0 ? 1 : this.nextBatchSize();
        this.inFlight = count;
        const outcome = await this.options
          .send(this.queue.slice(0, count).map((held) => held.event))
          .catch((error: unknown): SendOutcome => ({ kind: 'retry', reason: String(error) }));
        this.inFlight = 0;
        if (outcome.kind === 'retry') {
          attempt += 1;
          const waitMs = this.backoffMs(attempt);
          // The first failure of an outage is worth a warning; the next hundred are not.
          const log = attempt === 1 ? this.options.logger.warn : this.options.logger.debug;
          log.call(
            this.options.logger,
            { attempt, waitMs, reason: outcome.reason, queued: this.queue.length },
            'relay unavailable; retrying',
          );
          if (this.wakeUp.signal.aborted) this.wakeUp = new AbortController();
          else await this.sleep(waitMs, this.wakeUp.signal);
          continue;
        }
        if (attempt > 0)
          this.options.logger.info({ attempts: attempt, queued: this.queue.length }, 'relay reachable again');
        attempt = 0;
        this.settle(count, outcome);
      }
    } finally {
      this.pumping = false;
      if (this.queue.length === 0 || this.closed) this.idleWaiters.splice(0).forEach((resolve) => resolve());
    }
  }

  /** Removes a request's events from the head once the relay answered for good. */
  private settle(count: number, outcome: Exclude<SendOutcome, { kind: 'retry' }>): void {
    if (outcome.kind === 'reject' && count > 1) {
      // The batch endpoint validates the whole array; resend one by one so only bad events are lost.
      this.options.logger.warn({ count, status: outcome.status }, 'batch rejected; resending its events one by one');
      this.singlesLeft = count;
      return;
    }
    const settled = this.queue.splice(0, count);
    this.heldBytes -= settled.reduce((sum, held) => sum + held.bytes, 0);
    const event = settled[0]?.event;
    if (this.singlesLeft > 0) this.singlesLeft -= 1;
    if (outcome.kind === 'ok') {
      this.counts.sent += count;
      return;
    }
    this.counts.rejected += 1;
    this.options.logger.error(
      { eventType: event?.event_type, status: outcome.status, reason: outcome.reason },
      'relay rejected an event; dropped',
    );
  }
}

import { EVENT_CHANNEL_PATTERN, LiveEventEnvelope, eventChannel, type EventEnvelope } from '@sandbox-relay/contracts';
import { counter } from '@sandbox-relay/service-kit';
import type { Logger } from 'pino';
import type { Redis } from './redis';

const eventsPublished = counter<'outcome'>({
  name: 'relay_events_published_total',
  help: 'Stored events handed to Redis pub/sub for live subscribers, by outcome (ok, failed: held for a retry, dropped: backlog full).',
  labelNames: ['outcome'],
});

/**
 * Publishes stored events for live subscribers. Pub/sub is at-most-once and a publish never blocks the
 * request path: a failed publish is logged and counted, and its events are held (in order, at most
 * `maxBacklog`, the oldest dropped past it) and published again as soon as the connection is ready,
 * before anything newer. A subscriber that saw its own connection drop backfills from the store, but
 * one whose connection stayed up (or came back before ours) has no other way to learn of them.
 */
export class EventPublisher {
  private failures = 0;
  private droppedEvents = 0;
  private backlog: EventEnvelope[] = [];
  private flushing = false;
  private readonly maxBacklog: number;

  constructor(private readonly redis: Redis, private readonly logger: Logger, options: { maxBacklog?: number } = {}) {
    this.maxBacklog = options.maxBacklog ?? 10_000;
    redis.on('ready', () => void this.flush());
  }

  /**
   * Publishes in order on one connection (a pipeline keeps the order of `events`). False when the
   * events could not be published now; they are then held and published once Redis is back.
   */
  async publish(events: readonly EventEnvelope[]): Promise<boolean> {
    if (events.length === 0) return true;
    if (this.backlog.length > 0) {
      // Older events are still waiting: these go behind them, so subscribers see ids in order.
      this.hold(events);
      void this.flush();
      return false;
    }
    const sent = await this.send(events);
    if (sent === events.length) return true;
    this.hold(events.slice(sent));
    return false;
  }

  /** Events held for publishing once Redis is back. */
  get backlogSize(): number {
    return this.backlog.length;
  }

  /** Held events dropped because the backlog was full (subscribers then see them only from the store). */
  get dropped(): number {
    return this.droppedEvents;
  }

  /**
   * Publishes `events` in one pipeline; answers how many of them, from the first, Redis carried out.
   * A connection lost mid-pipeline answers the first commands and fails the rest: only the rest may be
   * published again, or subscribers would receive the first ones twice.
   */
  private async send(events: readonly EventEnvelope[]): Promise<number> {
    const pipeline = this.redis.pipeline();
    for (const event of events) pipeline.publish(eventChannel(event.entity_type, event.entity_id), JSON.stringify(event));
    let sent = 0;
    try {
      const results = await pipeline.exec();
      if (!results) throw new Error('the pipeline was not executed');
      const failedAt = results.findIndex(([error]) => error);
      sent = failedAt === -1 ? events.length : failedAt;
      if (failedAt !== -1) throw results[failedAt]![0];
      eventsPublished.inc({ outcome: 'ok' }, sent);
      return sent;
    } catch (error) {
      this.failures += 1;
      if (sent > 0) eventsPublished.inc({ outcome: 'ok' }, sent);
      eventsPublished.inc({ outcome: 'failed' }, events.length - sent);
      this.logger.warn(
        { err: (error as Error).message, count: events.length - sent, firstId: events[sent]?.id },
        'live publish failed; held until Redis is back',
      );
      return sent;
    }
  }

  private hold(events: readonly EventEnvelope[]): void {
    this.backlog.push(...events);
    const excess = this.backlog.length - this.maxBacklog;
    if (excess <= 0) return;
    this.backlog.splice(0, excess);
    if (this.droppedEvents === 0) this.logger.warn({ maxBacklog: this.maxBacklog }, 'live publish backlog full; dropping the oldest (subscribers resume from the store)');
    this.droppedEvents += excess;
    eventsPublished.inc({ outcome: 'dropped' }, excess);
  }

  /** Publishes the held events, oldest first, while the connection is ready. */
  private async flush(): Promise<void> {
    if (this.flushing) return;
    this.flushing = true;
    let sentAny = false;
    try {
      while (this.backlog.length > 0 && this.redis.status === 'ready') {
        const chunk = this.backlog.slice(0, 500);
        const sentCount = await this.send(chunk);
        // `hold` may have dropped some of the chunk meanwhile; remove what was sent and is still at the front.
        const sent = new Set(chunk.slice(0, sentCount));
        let count = 0;
        while (count < this.backlog.length && sent.has(this.backlog[count]!)) count += 1;
        this.backlog.splice(0, count);
        sentAny ||= sentCount > 0;
        if (sentCount < chunk.length) break;
      }
      if (sentAny && this.backlog.length === 0) this.logger.info('live publish backlog sent');
    } finally {
      this.flushing = false;
    }
  }

  get failedPublishes(): number {
    return this.failures;
  }
}

/** A live event as received: the parsed envelope plus the exact JSON text, which can be forwarded as is. */
export interface ReceivedEvent {
  event: EventEnvelope;
  raw: string;
}

/**
 * Receives every live event on a dedicated subscriber connection. Messages that do not parse as an
 * envelope are dropped with a warning (they cannot be routed), never passed on half-valid.
 */
export class EventSubscriber {
  private readonly handlers = new Set<(received: ReceivedEvent) => void>();
  private started?: Promise<void>;

  constructor(private readonly redis: Redis, private readonly logger: Logger) {}

  onEvent(handler: (received: ReceivedEvent) => void): () => void {
    this.handlers.add(handler);
    return () => this.handlers.delete(handler);
  }

  /**
   * Tells when the live stream is cut (the connection closed: anything published meanwhile is lost to
   * us) and when it flows again (ioredis re-subscribed after reconnecting), so a consumer can backfill
   * the gap from the store.
   */
  onStreamGap(handlers: { interrupted: () => void; restored: () => void }): void {
    let subscribed = this.redis.status === 'ready';
    let interrupted = false;
    this.redis.on('close', () => {
      if (!subscribed || interrupted) return;
      interrupted = true;
      handlers.interrupted();
    });
    this.redis.on('ready', () => {
      subscribed = true;
      if (!interrupted) return;
      interrupted = false;
      handlers.restored();
    });
  }

  /** Resolves once the pattern subscription is active on the server. */
  start(): Promise<void> {
    this.started ??= (async () => {
      this.redis.on('pmessage', (_pattern: string, _channel: string, raw: string) => this.dispatch(raw));
      await this.redis.psubscribe(EVENT_CHANNEL_PATTERN);
    })();
    return this.started;
  }

  async stop(): Promise<void> {
    if (!this.started) return;
    await this.redis.punsubscribe(EVENT_CHANNEL_PATTERN).catch(() => undefined);
  }

  private dispatch(raw: string): void {
    let parsed: unknown;
    try {
      parsed = JSON.parse(raw);
    } catch {
      this.logger.warn({ size: raw.length }, 'dropping non-JSON message on the event channel');
      return;
    }
    const result = LiveEventEnvelope.safeParse(parsed);
    if (!result.success) {
      this.logger.warn({ issues: result.error.issues.slice(0, 3) }, 'dropping malformed event envelope');
      return;
    }
    for (const handler of this.handlers) handler({ event: result.data, raw });
  }
}

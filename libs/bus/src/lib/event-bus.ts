import { EVENT_CHANNEL_PATTERN, LiveEventEnvelope, eventChannel, type EventEnvelope } from '@sandbox-relay/contracts';
import { counter } from '@sandbox-relay/service-kit';
import type { Logger } from 'pino';
import type { Redis } from './redis';

const eventsPublished = counter<'outcome'>({
  name: 'relay_events_published_total',
  help: 'Stored events handed to Redis pub/sub for live subscribers, by outcome (ok, failed).',
  labelNames: ['outcome'],
});

/**
 * Publishes stored events for live subscribers. Pub/sub is at-most-once: a subscriber that misses one
 * (disconnected, Redis restarted) catches up from the store with its resume cursor, so a failed publish
 * is logged and counted, never retried into the request path.
 */
export class EventPublisher {
  private failures = 0;

  constructor(private readonly redis: Redis, private readonly logger: Logger) {}

  /** Publishes in order on one connection (a pipeline keeps the order of `events`). */
  async publish(events: readonly EventEnvelope[]): Promise<boolean> {
    if (events.length === 0) return true;
    const pipeline = this.redis.pipeline();
    for (const event of events) pipeline.publish(eventChannel(event.entity_type, event.entity_id), JSON.stringify(event));
    try {
      const results = await pipeline.exec();
      const failed = results?.find(([error]) => error);
      if (failed) throw failed[0];
      eventsPublished.inc({ outcome: 'ok' }, events.length);
      return true;
    } catch (error) {
      this.failures += 1;
      eventsPublished.inc({ outcome: 'failed' }, events.length);
      this.logger.warn({ err: (error as Error).message, count: events.length, firstId: events[0]?.id }, 'live publish failed; subscribers will resume from the store');
      return false;
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

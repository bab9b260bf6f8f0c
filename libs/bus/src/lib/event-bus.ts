import { EVENT_CHANNEL_PATTERN, LiveEventEnvelope, type EventEnvelope } from '@sandbox-relay/contracts';
import type { Logger } from 'pino';
import type { Redis } from './redis';

export { EventPublisher, type EventPublisherOptions } from './event-publisher';

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

  constructor(
    private readonly redis: Redis,
    private readonly logger: Logger,
  ) {}

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
      // The connection may carry other patterns too (the original's `events.*`): only ours are envelopes.
      this.redis.on('pmessage', (pattern: string, _channel: string, raw: string) => {
        if (pattern === EVENT_CHANNEL_PATTERN) this.dispatch(raw);
      });
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

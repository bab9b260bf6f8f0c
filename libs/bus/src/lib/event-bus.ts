import {
  EVENT_CHANNEL_PATTERN,
  LiveEventEnvelope,
  eventShardChannels,
  type EventEnvelope,
} from '@sandbox-relay/contracts';
import type { Logger } from 'pino';
import { watchClusterStream } from './cluster-stream';
import { eventShardsOf, isCluster, type Redis } from './redis';

export { EventPublisher, type EventPublisherOptions } from './event-publisher';

/** A live event as received: the parsed envelope plus the exact JSON text, which can be forwarded as is. */
export interface ReceivedEvent {
  event: EventEnvelope;
  raw: string;
}

/**
 * Receives every live event on a dedicated subscriber connection: PSUBSCRIBE `relay.events.*` on one
 * node, SSUBSCRIBE to every shard channel `relay.events.{<k>}` on a cluster (sharded pub/sub has no
 * patterns). Messages that do not parse as an envelope are dropped with a warning (they cannot be
 * routed), never passed on half-valid. Across shard channels the order is not kept; within one entity it is.
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
    if (isCluster(this.redis)) return watchClusterStream(this.redis, handlers);
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

  /** Resolves once the subscription (the pattern, or every shard channel) is active on the server. */
  start(): Promise<void> {
    this.started ??= (async () => {
      const redis = this.redis;
      if (isCluster(redis)) {
        const channels = new Set(this.shardChannels());
        redis.on('smessage', (channel: string, raw: string) => {
          if (channels.has(channel)) this.dispatch(raw);
        });
        // One SSUBSCRIBE per channel: each is in its own slot, and one command may not span slots.
        await Promise.all([...channels].map((channel) => redis.ssubscribe(channel)));
        return;
      }
      // The connection may carry other patterns too (the original's `events.*`): only ours are envelopes.
      redis.on('pmessage', (pattern: string, _channel: string, raw: string) => {
        if (pattern === EVENT_CHANNEL_PATTERN) this.dispatch(raw);
      });
      await redis.psubscribe(EVENT_CHANNEL_PATTERN);
    })();
    return this.started;
  }

  async stop(): Promise<void> {
    if (!this.started) return;
    const redis = this.redis;
    if (isCluster(redis)) {
      await Promise.all(this.shardChannels().map((channel) => redis.sunsubscribe(channel).catch(() => undefined)));
      return;
    }
    await redis.punsubscribe(EVENT_CHANNEL_PATTERN).catch(() => undefined);
  }

  private shardChannels(): string[] {
    return eventShardChannels(eventShardsOf(this.redis) ?? 0);
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

import {
  RELAY_EVENT_SOURCES,
  eventChannel,
  isCanaryEvent,
  omoiosChannel,
  omoiosEventType,
  serializeEnvelope,
  serializeOmoiosEvent,
  type EventEnvelope,
} from '@sandbox-relay/contracts';
import { counter } from '@sandbox-relay/service-kit';
import type { Logger } from 'pino';
import type { Redis } from './redis';

const eventsPublished = counter<'outcome'>({
  name: 'relay_events_published_total',
  help: 'Stored events handed to Redis pub/sub for live subscribers, by outcome (ok, failed: held for a retry, dropped: backlog full).',
  labelNames: ['outcome'],
});

export interface EventPublisherOptions {
  /** Most events held while Redis is unreachable; past it the oldest are dropped. */
  maxBacklog?: number;
  /**
   * Also publish each event on the original system's bus, `events.<event_type>` in its shape
   * (`toOmoiosEvent`): the `OMOIOS_BRIDGE` switch. Default on. Events taken in from that bus and the
   * gateway's canary never go there.
   */
  omoiosBus?: boolean;
}

/** One event on its way out: its messages (channel, JSON) and how many of them Redis has carried out. */
interface Outgoing {
  event: EventEnvelope;
  messages: Array<[channel: string, message: string]>;
  sent: number;
}

/** Whether an event goes out on the original's bus too: not what came from there, not the canary's probes. */
function forOmoiosBus(event: EventEnvelope): boolean {
  return (
    event.source !== RELAY_EVENT_SOURCES.OMOIOS_BUS &&
    event.source !== RELAY_EVENT_SOURCES.CANARY &&
    !isCanaryEvent(event)
  );
}

/**
 * Publishes stored events for live subscribers: on the relay's channel `relay.events.<entity>` and,
 * unless switched off, on the original's `events.<event_type>` (one more PUBLISH in the same pipeline;
 * the payload is serialized once for both). Pub/sub is at-most-once and a publish never blocks the
 * request path: a failed publish is logged and counted, and its messages are held (in order, at most
 * `maxBacklog` events, the oldest dropped past it) and published again as soon as the connection is
 * ready, before anything newer. A subscriber that saw its own connection drop backfills from the
 * store, but one whose connection stayed up (or came back before ours) has no other way to learn of them.
 */
export class EventPublisher {
  private failures = 0;
  private droppedEvents = 0;
  private backlog: Outgoing[] = [];
  private flushing = false;
  private readonly maxBacklog: number;
  private readonly omoiosBus: boolean;

  constructor(
    private readonly redis: Redis,
    private readonly logger: Logger,
    options: EventPublisherOptions = {},
  ) {
    this.maxBacklog = options.maxBacklog ?? 10_000;
    this.omoiosBus = options.omoiosBus ?? true;
    redis.on('ready', () => void this.flush());
  }

  /**
   * Publishes in order on one connection (a pipeline keeps the order of `events`). False when the
   * events could not be published now; they are then held and published once Redis is back.
   */
  async publish(events: readonly EventEnvelope[]): Promise<boolean> {
    if (events.length === 0) return true;
    const outgoing = events.map((event) => this.serialize(event));
    if (this.backlog.length > 0) {
      // Older events are still waiting: these go behind them, so subscribers see ids in order.
      this.hold(outgoing);
      void this.flush();
      return false;
    }
    const sent = await this.send(outgoing);
    if (sent === outgoing.length) return true;
    this.hold(outgoing.slice(sent));
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

  get failedPublishes(): number {
    return this.failures;
  }

  private serialize(event: EventEnvelope): Outgoing {
    const payloadJson = JSON.stringify(event.payload);
    const messages: Outgoing['messages'] = [
      [eventChannel(event.entity_type, event.entity_id), serializeEnvelope(event, payloadJson)],
    ];
    if (this.omoiosBus && forOmoiosBus(event))
      messages.push([omoiosChannel(omoiosEventType(event)), serializeOmoiosEvent(event, payloadJson)]);
    return { event, messages, sent: 0 };
  }

  /**
   * Publishes the messages not yet sent of `items` in one pipeline; answers how many items, from the
   * first, Redis carried out entirely. A connection lost mid-pipeline answers the first commands and
   * fails the rest: only the rest may be published again (an item remembers how far it got), or
   * subscribers would receive the first ones twice.
   */
  private async send(items: readonly Outgoing[]): Promise<number> {
    const pipeline = this.redis.pipeline();
    let commands = 0;
    for (const item of items) {
      for (const [channel, message] of item.messages.slice(item.sent)) {
        pipeline.publish(channel, message);
        commands += 1;
      }
    }
    let carried = 0;
    let failure: unknown;
    try {
      const results = await pipeline.exec();
      if (!results) throw new Error('the pipeline was not executed');
      const failedAt = results.findIndex(([error]) => error);
      carried = failedAt === -1 ? commands : failedAt;
      if (failedAt !== -1) failure = results[failedAt]![0];
    } catch (error) {
      failure = error;
    }
    const sent = advance(items, carried);
    if (sent > 0) eventsPublished.inc({ outcome: 'ok' }, sent);
    if (failure === undefined) return sent;
    this.failures += 1;
    eventsPublished.inc({ outcome: 'failed' }, items.length - sent);
    this.logger.warn(
      { err: (failure as Error).message, count: items.length - sent, firstId: items[sent]?.event.id },
      'live publish failed; held until Redis is back',
    );
    return sent;
  }

  private hold(items: readonly Outgoing[]): void {
    this.backlog.push(...items);
    const excess = this.backlog.length - this.maxBacklog;
    if (excess <= 0) return;
    this.backlog.splice(0, excess);
    if (this.droppedEvents === 0)
      this.logger.warn(
        { maxBacklog: this.maxBacklog },
        'live publish backlog full; dropping the oldest (subscribers resume from the store)',
      );
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
}

/** Credits `carried` commands to `items` in order; answers how many items are now entirely sent. */
function advance(items: readonly Outgoing[], carried: number): number {
  let complete = 0;
  for (const item of items) {
    const step = Math.min(carried, item.messages.length - item.sent);
    item.sent += step;
    carried -= step;
    if (item.sent < item.messages.length) break;
    complete += 1;
  }
  return complete;
}

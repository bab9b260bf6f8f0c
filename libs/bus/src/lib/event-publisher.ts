import {
  RELAY_EVENT_SOURCES,
  eventChannel,
  eventShard,
  eventShardChannel,
  isCanaryEvent,
  omoiosChannel,
  omoiosEventType,
  serializeEnvelope,
  serializeEventData,
  serializeOmoiosEvent,
  type EventEnvelope,
} from '@sandbox-relay/contracts';
import { counter } from '@sandbox-relay/service-kit';
import type { Logger } from 'pino';
import { eventShardsOf, type Redis } from './redis';

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

/** One message of an event: where it goes, how (SPUBLISH on a cluster's shard channel), and whether Redis carried it out. */
interface OutMessage {
  channel: string;
  message: string;
  sharded: boolean;
  done: boolean;
}

/** One event on its way out: its messages (the relay's channel, maybe the original's bus). */
interface Outgoing {
  event: EventEnvelope;
  messages: OutMessage[];
}

/** The script behind `sendOne`: ARGV is channel, message, channel, message, … */
const PUBLISH_ALL = 'relayPublishAll';
const PUBLISH_ALL_LUA = "for i = 1, #ARGV, 2 do redis.call('PUBLISH', ARGV[i], ARGV[i + 1]) end return #ARGV / 2";
type PublishAllCommand = Record<typeof PUBLISH_ALL, (...pairs: string[]) => Promise<number>>;

const complete = (item: Outgoing): boolean => item.messages.every((message) => message.done);

/** Whether an event goes out on the original's bus too: not what came from there, not the canary's probes. */
function forOmoiosBus(event: EventEnvelope): boolean {
  return (
    event.source !== RELAY_EVENT_SOURCES.OMOIOS_BUS &&
    event.source !== RELAY_EVENT_SOURCES.CANARY &&
    !isCanaryEvent(event)
  );
}

/**
 * Publishes stored events for live subscribers: on the relay's channel `relay.events.<entity>` (on a
 * Redis Cluster: SPUBLISH on the entity's shard channel `relay.events.{<k>}`) and, unless switched off,
 * on the original's `events.<event_type>` (classic PUBLISH, which a cluster broadcasts; one more command;
 * the payload is serialized once for both). Pub/sub is at-most-once and a publish never blocks the
 * request path: a failed publish is logged and counted, and its messages are held (in order, at most
 * `maxBacklog` events, the oldest dropped past it) and published again once the connection is ready
 * (tried every second), before anything newer. A command Redis does not answer within
 * `REDIS_COMMAND_TIMEOUT_MS` fails like any other, so a node that stops answering holds up nothing but
 * its own events; had it carried them out after all, subscribers see them twice and drop the copy by
 * id. A subscriber that saw its own connection drop backfills from the store, but one whose connection
 * stayed up (or came back before ours) has no other way to learn of them.
 */
export class EventPublisher {
  private failures = 0;
  private droppedEvents = 0;
  private backlog: Outgoing[] = [];
  private flushing = false;
  private readonly maxBacklog: number;
  private readonly omoiosBus: boolean;
  /** Shard channels on a cluster; undefined on one node. */
  private readonly shards: number | undefined;
  private retry?: NodeJS.Timeout;

  constructor(
    private readonly redis: Redis,
    private readonly logger: Logger,
    options: EventPublisherOptions = {},
  ) {
    this.maxBacklog = options.maxBacklog ?? 10_000;
    this.omoiosBus = options.omoiosBus ?? true;
    this.shards = eventShardsOf(redis);
    // ioredis sends EVALSHA, and the script itself once if the server does not have it cached.
    if (this.shards === undefined && !(PUBLISH_ALL in redis))
      redis.defineCommand(PUBLISH_ALL, { numberOfKeys: 0, lua: PUBLISH_ALL_LUA });
    redis.on('ready', () => void this.flush());
  }

  /**
   * Publishes in order on one connection (one command per call keeps the order of `events`). False when the
   * events could not be published now; they are then held and published once Redis is back.
   */
  async publish(events: readonly EventEnvelope[]): Promise<boolean> {
    if (events.length === 0) return true;
    const outgoing = events.map((event) => this.serialize(event));
    if (this.shards !== undefined) return this.publishSharded(outgoing);
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

  /**
   * A cluster: a node that is down holds up only the shard channels it serves. An event waits behind
   * held ones only if its shard channel has messages held (its entity's order); the rest go at once,
   * and only what failed is held.
   */
  private async publishSharded(outgoing: Outgoing[]): Promise<boolean> {
    const blocked = new Set(
      this.backlog.flatMap((item) =>
        item.messages.filter((message) => message.sharded && !message.done).map((message) => message.channel),
      ),
    );
    const now = outgoing.filter((item) => !blocked.has(item.messages[0]!.channel));
    if (now.length > 0) await this.send(now);
    // Never sent (waiting) or failed: held in their order.
    const held = outgoing.filter((item) => !complete(item));
    if (held.length === 0) return true;
    this.hold(held);
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
    // The text validation already made of a POSTed event's data (serialized now for any other event).
    const payloadJson = serializeEventData(event.payload);
    const relay = serializeEnvelope(event, payloadJson);
    const messages: OutMessage[] = [
      this.shards === undefined
        ? { channel: eventChannel(event.entity_type, event.entity_id), message: relay, sharded: false, done: false }
        : {
            channel: eventShardChannel(eventShard(event.entity_type, event.entity_id, this.shards)),
            message: relay,
            sharded: true,
            done: false,
          },
    ];
    if (this.omoiosBus && forOmoiosBus(event))
      messages.push({
        channel: omoiosChannel(omoiosEventType(event)),
        message: serializeOmoiosEvent(event, payloadJson),
        sharded: false,
        done: false,
      });
    return { event, messages };
  }

  /**
   * Publishes the messages not yet carried out of `items`; answers how many items, from the first, Redis
   * carried out entirely. Each message remembers whether it was carried out, so what went out is not
   * published again: on a cluster one node may fail while the others carry out theirs.
   */
  private async send(items: readonly Outgoing[]): Promise<number> {
    const wasComplete = items.map(complete);
    const pending = items.flatMap((item) => item.messages.filter((message) => !message.done));
    let failure: unknown;
    try {
      const results = await (this.shards === undefined ? this.sendOne(pending) : this.sendEach(pending));
      results.forEach((error, index) => {
        if (error) failure ??= error;
        else pending[index]!.done = true;
      });
    } catch (error) {
      failure = error;
    }
    let sent = 0;
    while (sent < items.length && complete(items[sent]!)) sent += 1;
    const newlyDone = items.filter((item, index) => !wasComplete[index] && complete(item)).length;
    if (newlyDone > 0) eventsPublished.inc({ outcome: 'ok' }, newlyDone);
    if (failure === undefined) return sent;
    this.failures += 1;
    const failed = items.filter((item) => !complete(item));
    eventsPublished.inc({ outcome: 'failed' }, failed.length);
    this.logger.warn(
      { err: (failure as Error).message, count: failed.length, firstId: failed[0]?.event.id },
      'live publish failed; held until Redis is back',
    );
    return sent;
  }

  /**
   * One node: every message in one command, a script that PUBLISHes each (channel, message) pair in
   * order. Subscribers see the same messages as from one PUBLISH each; the client builds one command
   * and decodes one reply instead of one per message (a pipeline of PUBLISHes was a fifth of the
   * ingest's CPU in batches; bench/ingest.ts went from 42k to 61k events/s). All or nothing: answers
   * the one error (or null) for every message. A command cut off by a lost connection is sent once
   * more on the next one (the publisher role's one retry); had Redis run it and only the reply been
   * lost, subscribers see those events twice, which they drop by id (the gateway's sequencer, the guardian).
   */
  private async sendOne(messages: readonly OutMessage[]): Promise<Array<Error | null>> {
    const pairs: string[] = new Array(messages.length * 2);
    messages.forEach(({ channel, message }, index) => {
      pairs[2 * index] = channel;
      pairs[2 * index + 1] = message;
    });
    try {
      await (this.redis as unknown as PublishAllCommand)[PUBLISH_ALL](...pairs);
      return messages.map(() => null);
    } catch (error) {
      return messages.map(() => error as Error);
    }
  }

  /**
   * A cluster: one pipeline per shard channel (a pipeline may not span slots), all at once, and one for
   * the original's bus (classic PUBLISH, no slot). A pipeline is written and retried as a whole, so one
   * channel's messages reach it in order even when ioredis retries or redirects them (single commands
   * in flight while the slot map is refreshed can overtake each other). Answers each message's error.
   */
  private async sendEach(messages: readonly OutMessage[]): Promise<Array<Error | null>> {
    const groups = new Map<string, number[]>();
    messages.forEach((message, index) => {
      const group = message.sharded ? message.channel : '';
      groups.set(group, [...(groups.get(group) ?? []), index]);
    });
    const errors: Array<Error | null> = messages.map(() => null);
    await Promise.all(
      [...groups.values()].map(async (indexes) => {
        const pipeline = this.redis.pipeline();
        for (const index of indexes) {
          const { channel, message, sharded } = messages[index]!;
          if (sharded) pipeline.spublish(channel, message);
          else pipeline.publish(channel, message);
        }
        try {
          const results = await pipeline.exec();
          if (!results) throw new Error('the pipeline was not executed');
          indexes.forEach((messageIndex, position) => (errors[messageIndex] = results[position]?.[0] ?? null));
        } catch (error) {
          for (const index of indexes) errors[index] = error as Error;
        }
      }),
    );
    return errors;
  }

  /**
   * Tries the held events again every second until the backlog is empty. A lost connection's 'ready'
   * sends them too, but no 'ready' comes when the connection stayed up: a cluster's client while one
   * node is down, or a command that timed out on a node that stopped answering.
   */
  private retryLater(): void {
    if (this.retry) return;
    this.retry = setTimeout(() => {
      this.retry = undefined;
      void this.flush();
    }, 1_000).unref();
  }

  /** Holds `items` behind what is already held, and has them tried again (`retryLater`). */
  private hold(items: readonly Outgoing[]): void {
    this.backlog.push(...items);
    this.retryLater();
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
      if (this.shards !== undefined && this.backlog.length > 0 && this.redis.status === 'ready') {
        // A cluster: everything held at once (one pipeline per shard channel); what went out leaves the backlog.
        const before = this.backlog.length;
        await this.send([...this.backlog]);
        this.backlog = this.backlog.filter((item) => !complete(item));
        sentAny = this.backlog.length < before;
      }
      while (this.shards === undefined && this.backlog.length > 0 && this.redis.status === 'ready') {
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
    if (this.backlog.length > 0) this.retryLater();
  }
}

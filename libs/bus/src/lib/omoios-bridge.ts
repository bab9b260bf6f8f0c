import { createHash, randomUUID } from 'node:crypto';
import { hostname } from 'node:os';
import {
  OMOIOS_CHANNEL_PATTERN,
  OmoiosForeignEvent,
  hasRelayFraming,
  isRelayPublished,
} from '@sandbox-relay/contracts';
import { counter } from '@sandbox-relay/service-kit';
import type { Logger } from 'pino';
import type { Redis } from './redis';

const bridgeMessages = counter<'outcome'>({
  name: 'relay_omoios_bridge_messages_total',
  help:
    "Messages seen on the original's bus (events.*) by the bridge, by outcome: stored (taken into the event log), duplicate (another replica took it in), " +
    'relay (published by a relay: never taken in), invalid (not a SystemEvent the relay can store), failed (the claim or the store failed: lost).',
  labelNames: ['outcome'],
});

export interface OmoiosBridgeDeps {
  /** A dedicated subscriber connection: the bridge owns its pattern subscription. */
  subscriber: Redis;
  /** A command connection for the claim keys (the service's publisher connection serves). */
  claims: Redis;
  /** Stores a taken-in event in the relay's log; resolves once committed (the log then publishes it). */
  store: (event: OmoiosForeignEvent) => Promise<unknown>;
  logger: Logger;
  options?: {
    /** Identical messages seen by this replica less than this apart are told apart by their occurrence number. */
    windowMs?: number;
    /** Life of a claim: longer than replicas can lag each other on one message, shorter than `windowMs`. */
    claimTtlMs?: number;
    keyPrefix?: string;
  };
}

/**
 * Takes what the original system's services publish on their bus (`events.*`, pydantic's JSON of a
 * `SystemEvent`) into the relay's event log, with source `omoios-bus`; from there it is published on
 * the relay's own channel like any stored event, so WebSocket clients get it with an id and can resume
 * with `since`. Messages a relay published (they carry an `id`) are never taken in again: no loop.
 *
 * Every replica of the ingest runs a bridge and every one sees every message, but each message must be
 * stored once. A replica stores a message only if it wins a claim key in Redis (`SET NX PX`) named by
 * the SHA-256 of channel and message text and the message's occurrence number: the bus message has no
 * id, and the same bytes can be published twice (the same HEARTBEAT_MISSED a minute apart); since every
 * subscriber sees the one order in which Redis delivers a channel's messages, the n-th copy within the
 * window is the same message on every replica. Trade-offs, against the other design (a leader lease,
 * only the leader takes in):
 * - no hand-over gap: a replica that dies loses only the messages it had claimed and not yet stored,
 *   where a leader's death loses everything published until the lease expires;
 * - one SET per message per replica instead of none;
 * - consecutive messages may be stored by different replicas, so their ids need not follow the bus
 *   order (each event is still stored once, and the store's order is what `since` replays);
 * - a replica that lags another by more than the claim's life, or identical messages published almost
 *   exactly `windowMs` apart (one replica counting a second copy, another a first), can store a
 *   message twice; a claim that outlived the window would instead drop a legitimate repeat.
 * Like the bus itself, this is at most once: what no replica received, or what a replica claimed and
 * could not store, is lost (logged and counted).
 */
export class OmoiosBridge {
  private readonly windowMs: number;
  private readonly claimTtlMs: number;
  private readonly keyPrefix: string;
  private readonly replica = `${hostname()}:${process.pid}:${randomUUID().slice(0, 8)}`;
  /** Per message digest: how many copies this replica saw, and when the last came. */
  private readonly seen = new Map<string, { count: number; last: number }>();
  private readonly inFlight = new Set<Promise<void>>();
  private readonly log: Logger;
  private started?: Promise<void>;
  private stopping = false;
  private pruner?: NodeJS.Timeout;

  constructor(private readonly deps: OmoiosBridgeDeps) {
    this.windowMs = deps.options?.windowMs ?? 30_000;
    this.claimTtlMs = deps.options?.claimTtlMs ?? 15_000;
    this.keyPrefix = deps.options?.keyPrefix ?? 'relay:omoios-bridge:claim:';
    if (!(this.claimTtlMs < this.windowMs))
      throw new Error('the claim must expire before the occurrence window ends (claimTtlMs < windowMs)');
    this.log = deps.logger;
  }

  /** Subscribes to `events.*`; resolves once the subscription is active on the server. */
  start(): Promise<void> {
    this.started ??= (async () => {
      this.deps.subscriber.on('pmessage', (pattern: string, channel: string, raw: string) => {
        if (pattern === OMOIOS_CHANNEL_PATTERN && !this.stopping) this.receive(channel, raw);
      });
      await this.deps.subscriber.psubscribe(OMOIOS_CHANNEL_PATTERN);
      this.pruner = setInterval(() => this.prune(Date.now()), this.windowMs).unref();
      this.log.info({ pattern: OMOIOS_CHANNEL_PATTERN }, "taking in the original's bus");
    })();
    return this.started;
  }

  /** Stops taking in, then waits until what was already taken in is handed to the log and committed. */
  async stop(): Promise<void> {
    this.stopping = true;
    clearInterval(this.pruner);
    if (this.started) await this.deps.subscriber.punsubscribe(OMOIOS_CHANNEL_PATTERN).catch(() => undefined);
    await Promise.allSettled([...this.inFlight]);
  }

  /** Readiness: the subscription is on and its connection up (messages meanwhile would be lost). */
  async check(): Promise<void> {
    if (!this.started || this.stopping) throw new Error('not taking in events.*');
    await this.started;
    if (this.deps.subscriber.status !== 'ready') throw new Error(`bus subscriber ${this.deps.subscriber.status}`);
  }

  /** Messages claimed and not yet stored. */
  get pending(): number {
    return this.inFlight.size;
  }

  private receive(channel: string, raw: string): void {
    const event = this.parse(channel, raw);
    if (!event) return;
    const task = this.take(this.claimKey(channel, raw), event);
    this.inFlight.add(task);
    void task.finally(() => this.inFlight.delete(task));
  }

  private parse(channel: string, raw: string): OmoiosForeignEvent | undefined {
    if (hasRelayFraming(raw)) {
      bridgeMessages.inc({ outcome: 'relay' });
      return undefined;
    }
    let message: unknown;
    try {
      message = JSON.parse(raw);
    } catch {
      return this.invalid(channel, { size: raw.length }, 'dropping a non-JSON message on the bus');
    }
    if (typeof message !== 'object' || message === null || Array.isArray(message)) {
      return this.invalid(
        channel,
        { kind: Array.isArray(message) ? 'array' : typeof message },
        'dropping a bus message that is not a JSON object',
      );
    }
    if (isRelayPublished(message as Record<string, unknown>)) {
      bridgeMessages.inc({ outcome: 'relay' });
      return undefined;
    }
    const result = OmoiosForeignEvent.safeParse(message);
    if (!result.success) {
      const issues = result.error.issues
        .slice(0, 3)
        .map((issue) => ({ path: issue.path.join('.'), message: issue.message }));
      return this.invalid(channel, { issues }, 'dropping a bus message that is not a SystemEvent the relay can store');
    }
    return result.data;
  }

  private invalid(channel: string, details: Record<string, unknown>, message: string): undefined {
    bridgeMessages.inc({ outcome: 'invalid' });
    // The channel is the publisher's event type (bounded by Redis, not by us): cut it for the log line.
    this.log.warn({ channel: channel.slice(0, 250), ...details }, message);
    return undefined;
  }

  /** The claim key of this copy: digest of channel and text, and which copy of it within the window this is. */
  private claimKey(channel: string, raw: string): string {
    const digest = createHash('sha256').update(channel).update('\n').update(raw).digest('hex');
    const now = Date.now();
    const entry = this.seen.get(digest);
    if (entry && now - entry.last < this.windowMs) {
      entry.count += 1;
      entry.last = now;
    } else {
      this.seen.set(digest, { count: 1, last: now });
    }
    return `${this.keyPrefix}${digest}:${this.seen.get(digest)!.count}`;
  }

  /**
   * Claims, then stores. Claims go out in arrival order on one connection and their answers come back in
   * that order, so this replica hands what it won to the log in bus order.
   */
  private async take(key: string, event: OmoiosForeignEvent): Promise<void> {
    let won: boolean;
    try {
      won = (await this.deps.claims.set(key, this.replica, 'PX', this.claimTtlMs, 'NX')) === 'OK';
    } catch (error) {
      bridgeMessages.inc({ outcome: 'failed' });
      this.log.warn(
        { err: (error as Error).message, eventType: event.event_type, entityId: event.entity_id },
        'could not claim a bus message; not taken in',
      );
      return;
    }
    if (!won) {
      bridgeMessages.inc({ outcome: 'duplicate' });
      return;
    }
    try {
      await this.deps.store(event);
      bridgeMessages.inc({ outcome: 'stored' });
    } catch (error) {
      bridgeMessages.inc({ outcome: 'failed' });
      this.log.error(
        { err: error, eventType: event.event_type, entityId: event.entity_id },
        'could not store a bus message; it is lost',
      );
    }
  }

  private prune(now: number): void {
    for (const [digest, entry] of this.seen) if (now - entry.last >= this.windowMs) this.seen.delete(digest);
  }
}

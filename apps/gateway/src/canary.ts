import { randomUUID } from 'node:crypto';
import {
  CANARY_EVENT_TYPE,
  CANARY_SANDBOX_ID,
  ENTITY_TYPES,
  RELAY_EVENT_SOURCES,
  isCanaryEvent,
  type EventEnvelope,
} from '@sandbox-relay/contracts';
import { EventPublisher, type EventSubscriber, type Redis } from '@sandbox-relay/bus';
import { counter, sampledGauge, type Logger } from '@sandbox-relay/service-kit';
import { EventRepository, createEventSink, type EventSink, type Store } from '@sandbox-relay/store';

const canarySent = counter<'outcome'>({
  name: 'relay_canary_sent_total',
  help: 'Canary events this gateway stored and handed to the publisher (ok), or failed to store (failed).',
  labelNames: ['outcome'],
});

const canaryReceived = counter({
  name: 'relay_canary_received_total',
  help: "This gateway's own canary events received back through its Redis subscription.",
});

const canaryPruned = counter({
  name: 'relay_canary_pruned_total',
  help: 'Stored canary events deleted for being older than CANARY_RETENTION_MS.',
});

const canaryAge = sampledGauge({
  name: 'relay_canary_age_seconds',
  help: "Seconds since this gateway's last canary event arrived through its subscription (since start when none has yet).",
});

export interface CanaryOptions {
  /** How often a canary event is stored and published. */
  intervalMs: number;
  /** Readiness turns red when no canary event has arrived for this long. */
  maxAgeMs: number;
  /** Stores the canary events, then publishes them (the gateway's event sink, source `relay-canary`). */
  sink: Pick<EventSink, 'emit'>;
  /**
   * Retention of the canary's stored rows: after each stored event, the canary entity's rows older
   * than `maxAgeMs` are deleted (every replica's, one indexed DELETE touching no other entity).
   */
  retention?: { maxAgeMs: number; events: Pick<EventRepository, 'deleteEntityEventsBefore'> };
  /** The subscription the gateway's clients are fed from. */
  subscriber: Pick<EventSubscriber, 'onEvent'>;
  logger: Logger;
  now?: () => number;
}

/**
 * The gateway's end-to-end canary. Every `intervalMs` it stores an event for the reserved sandbox
 * `CANARY_SANDBOX_ID` through the same event log → Redis publish path as ingest, and watches for it
 * on the same subscription its WebSocket clients are fed from. `check()` (a readiness check) fails
 * while none of its own events (matched by a per-process nonce, so replicas do not vouch for each
 * other) has arrived within `maxAgeMs`: a wedged or lost Redis subscription, a stalled publish or an
 * unwritable store turn the gateway red instead of leaving it green and silent.
 */
export class Canary {
  readonly nonce = randomUUID();
  private readonly now: () => number;
  private readonly startedAt: number;
  private lastArrival: number | undefined;
  private timer: NodeJS.Timeout | undefined;
  private inFlight = false;
  private sequence = 0;
  private readonly unsubscribe: () => void;
  private readonly unregisterGauge: () => void;
  private firstArrived!: () => void;
  /** Resolves when the first of its own events has come back through the subscription. */
  readonly firstArrival = new Promise<void>((resolve) => (this.firstArrived = resolve));

  constructor(private readonly options: CanaryOptions) {
    if (options.maxAgeMs <= options.intervalMs) throw new Error('the canary bound must be longer than its interval');
    this.now = options.now ?? Date.now;
    this.startedAt = this.now();
    this.unsubscribe = options.subscriber.onEvent(({ event }) => this.observe(event));
    this.unregisterGauge = canaryAge.add(() => (this.now() - (this.lastArrival ?? this.startedAt)) / 1000);
  }

  /** Sends one canary event now and then every interval. */
  start(): void {
    if (this.timer) return;
    void this.beat();
    this.timer = setInterval(() => void this.beat(), this.options.intervalMs);
    this.timer.unref();
  }

  stop(): void {
    clearInterval(this.timer);
    this.timer = undefined;
    this.unsubscribe();
    this.unregisterGauge();
  }

  /** Resolves while the live path works; rejects with what is wrong otherwise. */
  async check(): Promise<void> {
    if (this.lastArrival === undefined) {
      throw new Error(
        `no canary event has arrived through the subscription yet (started ${this.now() - this.startedAt} ms ago)`,
      );
    }
    const age = this.now() - this.lastArrival;
    if (age > this.options.maxAgeMs)
      throw new Error(`the last canary event arrived ${age} ms ago (bound ${this.options.maxAgeMs} ms)`);
  }

  /** One canary event; skipped while the previous one is still being stored (a slow store must not pile them up). */
  async beat(): Promise<void> {
    if (this.inFlight) return;
    this.inFlight = true;
    const data = { nonce: this.nonce, sequence: (this.sequence += 1), sent_at: new Date(this.now()).toISOString() };
    try {
      await this.options.sink.emit(
        CANARY_EVENT_TYPE,
        { entityType: ENTITY_TYPES.SANDBOX, entityId: CANARY_SANDBOX_ID },
        data,
      );
      canarySent.inc({ outcome: 'ok' });
      await this.prune();
    } catch (error) {
      canarySent.inc({ outcome: 'failed' });
      this.options.logger.warn({ err: (error as Error).message }, 'canary event could not be stored');
    } finally {
      this.inFlight = false;
    }
  }

  /** Deletes the canary entity's rows older than the retention bound; a failure is logged, the next beat tries again. */
  private async prune(): Promise<void> {
    const retention = this.options.retention;
    if (!retention) return;
    try {
      const deleted = await retention.events.deleteEntityEventsBefore(
        ENTITY_TYPES.SANDBOX,
        CANARY_SANDBOX_ID,
        new Date(this.now() - retention.maxAgeMs),
      );
      if (deleted > 0) canaryPruned.inc(deleted);
    } catch (error) {
      this.options.logger.warn({ err: (error as Error).message }, 'old canary events could not be deleted');
    }
  }

  private observe(event: EventEnvelope): void {
    if (!isCanaryEvent(event) || event.event_type !== CANARY_EVENT_TYPE || event.payload['nonce'] !== this.nonce)
      return;
    if (this.lastArrival !== undefined && this.now() - this.lastArrival > this.options.maxAgeMs) {
      this.options.logger.info('canary events arrive again');
    }
    this.lastArrival = this.now();
    this.firstArrived();
    canaryReceived.inc();
  }
}

export interface GatewayCanaryDeps {
  store: Store;
  /** A fail-fast publisher connection of the gateway's own (not the subscriber's). */
  publisherRedis: Redis;
  subscriber: Pick<EventSubscriber, 'onEvent'>;
  logger: Logger;
  config: { intervalMs: number; maxAgeMs: number; retentionMs: number };
}

/** The canary wired to the gateway's store and Redis: its own event log and publisher, as ingest has. */
export function createGatewayCanary({ store, publisherRedis, subscriber, logger, config }: GatewayCanaryDeps): {
  canary: Canary;
  drain: () => Promise<void>;
} {
  const log = logger.child({ component: 'canary' });
  // The canary's probes are the relay's business alone: never published on the original's bus.
  const publisher = new EventPublisher(publisherRedis, log, { omoiosBus: false });
  const events = new EventRepository(store.pool);
  const sink = createEventSink({
    events,
    source: RELAY_EVENT_SOURCES.CANARY,
    publish: (stored) => publisher.publish(stored),
    logger: log,
  });
  const { retentionMs, ...timing } = config;
  const canary = new Canary({ ...timing, sink, retention: { maxAgeMs: retentionMs, events }, subscriber, logger: log });
  return { canary, drain: () => sink.whenIdle() };
}

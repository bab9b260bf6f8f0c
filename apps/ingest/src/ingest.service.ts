import { EdgeAuth, SandboxRateLimiter } from '@sandbox-relay/auth';
import { EventPublisher, OmoiosBridge, type Redis } from '@sandbox-relay/bus';
import { RELAY_EVENT_SOURCES, serializeEventData, type OmoiosForeignEvent } from '@sandbox-relay/contracts';
import type { Logger } from '@sandbox-relay/service-kit';
import { EventLog, EventRepository, type NewEvent, type Store } from '@sandbox-relay/store';
import type { Router } from 'express';
import { eventLogAppendSeconds, eventLogQueueDepth, eventLogStatementSeconds } from './ingest.metrics';
import { ingestRouter } from './ingest.routes';

export interface IngestServiceDeps {
  store: Store;
  /** Publisher connection (fail-fast role): a Redis outage must not hold up acknowledgements. */
  publisherRedis: Redis;
  logger: Logger;
  config: {
    eventBodyLimit: string;
    batchBodyLimit: string;
    groupCommitMaxEvents: number;
    /** Event POSTs per sandbox per window (0 or absent: no limit); the budget lives in Redis. */
    rateLimit?: { points: number; windowS: number };
  };
  /**
   * Token checks of every route. Absent means off (`EdgeAuth.off()`): only for tests and benches that
   * are not about auth; every main passes the one built from its env, where off needs a loopback HOST.
   */
  auth?: EdgeAuth;
  /** The OMOIOS_BRIDGE switch (default on): publish on the original's bus too, and take it in (given the connection below). */
  omoiosBridge?: boolean;
  /**
   * A dedicated subscriber connection on which this ingest takes in the original's bus (`events.*`).
   * Without it (tests of the edge alone) it takes in nothing; it still publishes there when the switch is on.
   */
  bridgeSubscriberRedis?: Redis;
}

export interface IngestService {
  router: Router;
  eventLog: EventLog;
  publisher: EventPublisher;
  /** Takes the original's bus into the event log: `start()` it once serving, `stop()` it before draining. Null when off. */
  bridge: OmoiosBridge | null;
  /** Resolves once every accepted event is committed and handed to the publisher. */
  drain(): Promise<void>;
}

/**
 * Wires the ingest capability: group-committed event log → Redis publish after commit → HTTP routes.
 * Used by the ingest service's own main and by the standalone launcher.
 */
export function createIngestService(deps: IngestServiceDeps): IngestService {
  const { store, publisherRedis, logger, config, auth = EdgeAuth.off(), omoiosBridge = true } = deps;
  const publisher = new EventPublisher(publisherRedis, logger.child({ component: 'event-publisher' }), {
    omoiosBus: omoiosBridge,
  });
  const events = new EventRepository(store.pool);
  const eventLog = new EventLog(events, {
    maxBatchEvents: config.groupCommitMaxEvents,
    // Publishing is not awaited: the event is durable, and a live subscriber that misses it resumes from the store.
    onCommitted: (stored) => void publisher.publish(stored),
    timings: {
      statement: (seconds) => eventLogStatementSeconds.observe(seconds),
      append: (seconds) => eventLogAppendSeconds.observe(seconds),
    },
    logger: logger.child({ component: 'event-log' }),
  });
  eventLogQueueDepth.add(() => eventLog.queuedEventCount);
  const router = ingestRouter({
    eventLog,
    events,
    limits: { eventBody: config.eventBodyLimit, batchBody: config.batchBodyLimit },
    auth,
    rateLimiter: new SandboxRateLimiter({
      redis: publisherRedis,
      keyPrefix: 'relay:ratelimit:events',
      points: config.rateLimit?.points ?? 0,
      windowS: config.rateLimit?.windowS ?? 1,
      what: 'event requests',
      logger: logger.child({ component: 'rate-limit' }),
    }),
  });
  // The ingest owns event writes, so it is the one that takes the original's bus in: stored first, then
  // published on the relay's channel by the log like any event (and not back on the bus: its source).
  const bridge =
    omoiosBridge && deps.bridgeSubscriberRedis
      ? new OmoiosBridge({
          subscriber: deps.bridgeSubscriberRedis,
          claims: publisherRedis,
          store: (event) => eventLog.append([fromOmoiosBus(event)]),
          logger: logger.child({ component: 'omoios-bridge' }),
        })
      : null;
  return { router, eventLog, publisher, bridge, drain: () => eventLog.whenIdle() };
}

/** A message taken in from the original's bus, as the event log stores it: its fields as given. */
function fromOmoiosBus(event: OmoiosForeignEvent): NewEvent {
  return {
    entityType: event.entity_type,
    entityId: event.entity_id,
    eventType: event.event_type,
    data: event.payload,
    dataJson: serializeEventData(event.payload),
    source: RELAY_EVENT_SOURCES.OMOIOS_BUS,
  };
}

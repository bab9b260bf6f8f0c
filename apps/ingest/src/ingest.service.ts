import { EdgeAuth, SandboxRateLimiter } from '@sandbox-relay/auth';
import { EventPublisher, type Redis } from '@sandbox-relay/bus';
import type { Logger } from '@sandbox-relay/service-kit';
import { EventLog, EventRepository, type Store } from '@sandbox-relay/store';
import type { Router } from 'express';
import { eventLogQueueDepth } from './ingest.metrics';
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
}

export interface IngestService {
  router: Router;
  eventLog: EventLog;
  publisher: EventPublisher;
  /** Resolves once every accepted event is committed and handed to the publisher. */
  drain(): Promise<void>;
}

/**
 * Wires the ingest capability: group-committed event log → Redis publish after commit → HTTP routes.
 * Used by the ingest service's own main and by the standalone launcher.
 */
export function createIngestService({ store, publisherRedis, logger, config, auth = EdgeAuth.off() }: IngestServiceDeps): IngestService {
  const publisher = new EventPublisher(publisherRedis, logger.child({ component: 'event-publisher' }));
  const events = new EventRepository(store.pool);
  const eventLog = new EventLog(events, {
    maxBatchEvents: config.groupCommitMaxEvents,
    // Publishing is not awaited: the event is durable, and a live subscriber that misses it resumes from the store.
    onCommitted: (stored) => void publisher.publish(stored),
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
  return { router, eventLog, publisher, drain: () => eventLog.whenIdle() };
}

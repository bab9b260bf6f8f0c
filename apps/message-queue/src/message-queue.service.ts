import { QUEUE_NAMES, RELAY_EVENT_SOURCES } from '@sandbox-relay/contracts';
import { EdgeAuth, SandboxRateLimiter } from '@sandbox-relay/auth';
import { EventPublisher, UnrecoverableError, createConsumer, type Redis } from '@sandbox-relay/bus';
import { AppError, type Logger } from '@sandbox-relay/service-kit';
import { createEventSink, EventRepository, MessageRepository, type Store } from '@sandbox-relay/store';
import type { Router } from 'express';
import { messageRouter } from './message.routes';
import { MessageService } from './message.service';

export interface MessageQueueServiceDeps {
  store: Store;
  /** Fail-fast connection for publishing events behind HTTP requests. */
  publisherRedis: Redis;
  /** Patient connection for the BullMQ worker (role 'worker'). */
  workerRedis: Redis;
  logger: Logger;
  config: {
    queuePrefix: string;
    concurrency: number;
    bodyLimit: string;
    /** Message POSTs per sandbox per window (0 or absent: no limit). */
    rateLimit?: { points: number; windowS: number };
  };
  /**
   * Token checks of the HTTP routes (the BullMQ path is inside the system and not checked). Absent
   * means off: only for tests and benches that are not about auth; every main passes its env's.
   */
  auth?: EdgeAuth;
  /** The OMOIOS_BRIDGE switch (default on): publish its events on the original's bus too. */
  omoiosBridge?: boolean;
}

export interface MessageQueueService {
  router: Router;
  service: MessageService;
  /** Starts consuming `sandbox-messages` (the worker is created paused so nothing runs before readiness). */
  start(): void;
  /** Whether the BullMQ worker is consuming. */
  running(): boolean;
  /** Waits for active jobs to finish, then stops consuming. */
  close(): Promise<void>;
}

export function createMessageQueueService(deps: MessageQueueServiceDeps): MessageQueueService {
  const { store, publisherRedis, workerRedis, logger, config, auth = EdgeAuth.off(), omoiosBridge = true } = deps;
  const log = logger.child({ component: 'message-queue' });
  const publisher = new EventPublisher(publisherRedis, log, { omoiosBus: omoiosBridge });
  const events = new EventRepository(store.pool);
  const sink = createEventSink({
    events,
    source: RELAY_EVENT_SOURCES.MESSAGE_QUEUE,
    publish: (stored) => publisher.publish(stored),
    logger: log,
  });
  const service = new MessageService(new MessageRepository(store.pool), sink, events, log);
  const worker = createConsumer(
    QUEUE_NAMES.SANDBOX_MESSAGES,
    (job) =>
      service
        .queue({
          sandboxId: job.sandbox_id,
          body: { content: job.content, message_type: job.message_type },
          idempotencyKey: job.idempotency_key,
          sender: job.sender,
        })
        .catch((error: unknown) => {
          // A refusal (4xx) answers the same on every retry: fail the job now, with its reason.
          if (error instanceof AppError && error.status < 500)
            throw new UnrecoverableError(`${error.code}: ${error.message}`);
          throw error;
        }),
    {
      connection: workerRedis,
      prefix: config.queuePrefix,
      logger: log,
      concurrency: config.concurrency,
      autorun: false,
    },
  );
  return {
    router: messageRouter(service, {
      bodyLimit: config.bodyLimit,
      auth,
      rateLimiter: new SandboxRateLimiter({
        redis: publisherRedis,
        keyPrefix: `${config.queuePrefix}:ratelimit:messages`,
        points: config.rateLimit?.points ?? 0,
        windowS: config.rateLimit?.windowS ?? 1,
        what: 'message requests',
        logger: log,
      }),
    }),
    service,
    start: () => void worker.run().catch((error: unknown) => log.error({ err: error }, 'message worker stopped')),
    running: () => worker.isRunning(),
    async close() {
      await worker.close();
      await sink.whenIdle();
    },
  };
}

import { EventPublisher, EventSubscriber, JobProducer, type Redis } from '@sandbox-relay/bus';
import { RELAY_EVENT_SOURCES } from '@sandbox-relay/contracts';
import type { Logger } from '@sandbox-relay/service-kit';
import { createEventSink, EventRepository, type Store } from '@sandbox-relay/store';
import { TaskRepository } from '@sandbox-relay/store';
import { EventInterventionRecorder, QueueSandboxMessageSink, RedisCooldownGate } from './guardian.adapters';
import { Guardian, type GuardianConfig } from './guardian';
import { eventLag } from './guardian.metrics';
import { ConversationFileSink } from './steering/legacy-conversation-sink';
import { InterventionRouter } from './steering/routing';

export interface GuardianServiceDeps {
  store: Store;
  /** Live events; owned (started, stopped) by the process, which may share it with other services. */
  subscriber: EventSubscriber;
  /** Publishes the guardian's events and holds cooldown keys (role 'publisher'). */
  publisherRedis: Redis;
  /** Enqueues `sandbox-messages` jobs (role 'worker': patient, a guardian decision must not be lost to a blip). */
  queueRedis: Redis;
  logger: Logger;
  config: Partial<GuardianConfig> & { queuePrefix: string; sweepIntervalMs: number; conversationsRoot?: string };
  /** The OMOIOS_BRIDGE switch (default on): publish its events on the original's bus too. */
  omoiosBridge?: boolean;
}

export interface GuardianService {
  guardian: Guardian;
  /** Observes live events (the process starts the subscriber) and starts the stuck sweep. */
  start(): void;
  /** Stops observing, lets in-flight interventions finish, closes the queue producer. */
  close(): Promise<void>;
}

/** Wires the guardian: live events in, interventions out through BullMQ or a conversation file, each recorded as an event. */
export function createGuardianService({
  store,
  subscriber,
  publisherRedis,
  queueRedis,
  logger,
  config,
  omoiosBridge = true,
}: GuardianServiceDeps): GuardianService {
  const log = logger.child({ component: 'guardian' });
  const publisher = new EventPublisher(publisherRedis, log, { omoiosBus: omoiosBridge });
  const sink = createEventSink({
    events: new EventRepository(store.pool),
    source: RELAY_EVENT_SOURCES.GUARDIAN,
    publish: (stored) => publisher.publish(stored),
    logger: log,
  });
  const producer = new JobProducer({ connection: queueRedis, prefix: config.queuePrefix, logger: log });
  const guardian = new Guardian({
    tasks: new TaskRepository(store.prisma),
    gate: new RedisCooldownGate(publisherRedis, config.queuePrefix),
    router: new InterventionRouter(
      new QueueSandboxMessageSink(producer),
      new ConversationFileSink({ root: config.conversationsRoot }),
    ),
    recorder: new EventInterventionRecorder(sink),
    logger: log,
    config,
  });
  let sweepTimer: NodeJS.Timeout | undefined;
  let stopObserving: (() => void) | undefined;

  return {
    guardian,
    start() {
      stopObserving = subscriber.onEvent(({ event }) => {
        void guardian.observe(event);
        // The trajectory is updated synchronously in observe(): the event is handled as of now.
        const lagMs = Date.now() - Date.parse(event.timestamp);
        if (lagMs >= 0) eventLag.observe(lagMs / 1000);
      });
      sweepTimer = setInterval(() => void guardian.sweep(), config.sweepIntervalMs);
      sweepTimer.unref();
    },
    async close() {
      clearInterval(sweepTimer);
      stopObserving?.();
      await guardian.whenIdle();
      await sink.whenIdle();
      await producer.close();
    },
  };
}

import { QUEUE_NAMES, RELAY_EVENT_SOURCES } from '@sandbox-relay/contracts';
import { EdgeAuth } from '@sandbox-relay/auth';
import { EventPublisher, JobProducer, createConsumer, type EventSubscriber, type Redis } from '@sandbox-relay/bus';
import { OctokitGitHubClient, parseRepo, type GitHubClient } from '@sandbox-relay/github';
import type { Logger } from '@sandbox-relay/service-kit';
import { createEventSink, EventRepository, type Store } from '@sandbox-relay/store';
import type { Router } from 'express';
import { TaskRepository } from '@sandbox-relay/store';
import { AnthropicBranchNamer } from './anthropic-namer';
import type { BranchNamer } from './branch-naming';
import { BranchWorkRepository, TicketLocks } from './branch-work.repository';
import { BranchWorkflow } from './branch-workflow';
import { TaskEventTriggers, branchWorkflowJobHandler } from './branch-workflow.jobs';
import { branchWorkflowRouter } from './branch-workflow.routes';
import type { BranchWorkflowConfig } from './env';

export interface BranchWorkflowServiceDeps {
  store: Store;
  /**
   * Live events, for the task triggers; owned (started, stopped) by the process, which may share it. Null
   * only without GitHub: there are no triggers then, and nothing to observe.
   */
  subscriber: EventSubscriber | null;
  /** Publishes the workflow's events (role 'publisher'). */
  publisherRedis: Redis;
  /** The BullMQ consumer's and producer's connection (role 'worker'). */
  workerRedis: Redis;
  logger: Logger;
  config: BranchWorkflowConfig;
  /** The slug suggester; default: the one `config.namer` describes, if any (the deterministic slug of the title works without). */
  namer?: BranchNamer;
  /** The OMOIOS_BRIDGE switch (default on): publish its events on the original's bus too. */
  omoiosBridge?: boolean;
  /**
   * Token checks of every HTTP route (`branches:manage`), mounted inside the router. Absent means off:
   * only for tests that are not about auth; every main passes its env's.
   */
  auth?: EdgeAuth;
}

export interface BranchWorkflowService {
  router: Router;
  workflow: BranchWorkflow;
  /** Starts consuming `branch-workflow` and observing task events (the worker is created paused); without GitHub, neither. */
  start(): void;
  /** Whether it consumes `branch-workflow` (true when GitHub is not configured: there is nothing to consume then). */
  running(): boolean;
  /** Stops observing, lets in-flight jobs finish, then closes the producer and drains the event log. */
  close(): Promise<void>;
}

function gitHubClient(
  config: BranchWorkflowConfig,
  logger: Logger,
): { client: GitHubClient; repo: ReturnType<typeof parseRepo> } | null {
  const github = config.github;
  if (!github) return null;
  return {
    repo: parseRepo(github.repository),
    client: new OctokitGitHubClient({
      token: github.token,
      baseUrl: github.apiUrl,
      logger: logger.child({ component: 'github' }),
      rateLimitRetries: github.rateLimitRetries,
      writeIntervalMs: github.writeIntervalMs,
      notificationIntervalMs: github.notificationIntervalMs,
    }),
  };
}

/** Wires the branch workflow: the HTTP edge, the `branch-workflow` consumer, and the task-event triggers. */
export function createBranchWorkflowService({
  store,
  subscriber,
  publisherRedis,
  workerRedis,
  logger,
  config,
  namer,
  omoiosBridge = true,
  auth = EdgeAuth.off(),
}: BranchWorkflowServiceDeps): BranchWorkflowService {
  if (config.github && !subscriber)
    throw new Error('the branch workflow with GitHub needs the live stream (a subscriber)');
  const log = logger.child({ component: 'branch-workflow' });
  const publisher = new EventPublisher(publisherRedis, log, { omoiosBus: omoiosBridge });
  const events = new EventRepository(store.pool);
  const sink = createEventSink({
    events,
    source: RELAY_EVENT_SOURCES.BRANCH_WORKFLOW,
    publish: (stored) => publisher.publish(stored),
    logger: log,
  });
  const github = gitHubClient(config, log);
  if (!github)
    log.warn(
      'GitHub is not configured (GITHUB_TOKEN, GITHUB_REPOSITORY): the branch workflow answers 503 github_not_configured',
    );
  const tasks = new TaskRepository(store.prisma);
  const workflow = new BranchWorkflow({
    github,
    works: new BranchWorkRepository(store.prisma),
    locks: new TicketLocks(store.pool),
    tasks,
    events,
    sink,
    namer: namer ?? (config.namer ? new AnthropicBranchNamer(config.namer) : undefined),
    logger: log,
    config: { mergeMethod: config.mergeMethod, mergeablePoll: config.mergeablePoll },
  });
  const producer = new JobProducer({ connection: workerRedis, prefix: config.queuePrefix, logger: log });
  const triggers = new TaskEventTriggers(tasks, producer, log);
  const worker = createConsumer(QUEUE_NAMES.BRANCH_WORKFLOW, branchWorkflowJobHandler(workflow, log), {
    connection: workerRedis,
    prefix: config.queuePrefix,
    logger: log,
    concurrency: config.concurrency,
    autorun: false,
  });
  const observing = new Set<Promise<void>>();
  let stopObserving: (() => void) | undefined;

  return {
    router: branchWorkflowRouter(workflow, { repository: config.github?.repository ?? '', auth }),
    workflow,
    start() {
      // Without GitHub every job would fail: leave them waiting for a replica that has it, and enqueue none.
      if (!github || !subscriber) return;
      void worker.run().catch((error: unknown) => log.error({ err: error }, 'branch-workflow worker stopped'));
      stopObserving = subscriber.onEvent(({ event }) => {
        const pending = triggers.observe(event).finally(() => observing.delete(pending));
        observing.add(pending);
      });
    },
    running: () => !github || worker.isRunning(),
    async close() {
      stopObserving?.();
      await Promise.all(observing);
      await worker.close();
      await producer.close();
      await sink.whenIdle();
    },
  };
}

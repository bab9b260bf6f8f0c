// Test helpers shared by this app's specs (excluded from the app's build by tsconfig.json).
import type { EventEnvelope } from '@sandbox-relay/contracts';
import { closeRedis, createRedisClient, type Redis } from '@sandbox-relay/bus';
import { FakeSandboxProvider } from '@sandbox-relay/sandbox/testing';
import { Readiness, createHttpApp, finishHttpApp, type Logger } from '@sandbox-relay/service-kit';
import { EventRepository, createStore, type Store } from '@sandbox-relay/store';
import { testInfra, uniqueId, waitFor } from '@sandbox-relay/testing';
import type { Express } from 'express';
import type { SupervisorConfig } from './supervisor';
import { createSupervisorService, type SupervisorService, type SupervisorServiceDeps } from './supervisor.service';

/** A clock the test moves by hand. */
export class ManualClock {
  constructor(public time = 1_700_000_000_000) {}
  readonly now = (): number => this.time;
  advance(ms: number): void {
    this.time += ms;
  }
}

/** Builds envelopes as EventRepository.list returns them: ascending ids across every sandbox. */
export class EnvelopeFactory {
  private nextId = 1;

  constructor(private readonly clock = new ManualClock()) {}

  event(
    eventType: string,
    payload: Record<string, unknown> = {},
    sandboxId = 'sb-1',
    source: string | null = 'worker',
  ): EventEnvelope {
    this.clock.advance(1_000);
    return {
      id: String(this.nextId++),
      event_type: eventType,
      entity_type: 'sandbox',
      entity_id: sandboxId,
      payload,
      source,
      timestamp: new Date(this.clock.now()).toISOString(),
    };
  }

  /** A shell-agent command: `agent.tool_use` then its `agent.tool_completed`, paired by `call_id`. */
  command(command: string, result: Record<string, unknown>, sandboxId = 'sb-1'): EventEnvelope[] {
    const callId = `call-${this.nextId}`;
    return [
      this.event('agent.tool_use', { tool: 'bash', input: { command }, call_id: callId }, sandboxId, 'agent'),
      this.event('agent.tool_completed', { tool: 'bash', call_id: callId, ...result }, sandboxId, 'agent'),
    ];
  }
}

/** Short-interval supervisor configuration for the integration specs; each call gets its own key prefix. */
export function testSupervisorConfig(overrides: Partial<SupervisorConfig> = {}, prefix = 'sup'): SupervisorConfig {
  const heartbeat = overrides.heartbeat ?? { intervalMs: 300, graceMs: 100 };
  return {
    provider: 'local',
    keyPrefix: uniqueId(prefix),
    sweepIntervalMs: 50,
    restart: { maxRestarts: 3, windowMs: 60_000, baseBackoffMs: 1, maxBackoffMs: 10 },
    terminateGraceMs: 50,
    idleAfterMs: 0,
    lockTtlMs: 10_000,
    ...overrides,
    // Sessions that never beat are restarted as soon as they miss, unless a spec asks for a startup grace.
    // The original worker's cadence keeps its production ratio to the relay's (30 s to 15 s).
    heartbeat: { startupGraceMs: 0, omoiosIntervalMs: 2 * heartbeat.intervalMs, ...heartbeat },
  };
}

/**
 * The real PostgreSQL and Redis of the integration specs, and the supervisor services a spec builds on
 * them (each with its router mounted on an app of its own). `open()` in beforeAll, `close()` in afterAll.
 */
export class SupervisorHarness {
  store!: Store;
  redis!: Redis;
  events!: EventRepository;
  private readonly services: SupervisorService[] = [];

  constructor(
    private readonly name: string,
    private readonly logger: Logger,
  ) {}

  /** @param databaseUrl PostgreSQL by another way than the tests' own (a proxy a spec cuts). */
  async open(databaseUrl = testInfra().databaseUrl): Promise<void> {
    this.store = createStore({ databaseUrl });
    this.redis = createRedisClient(testInfra().redisUrl, { name: this.name, role: 'publisher', logger: this.logger });
    this.events = new EventRepository(this.store.pool);
    await waitFor(() => this.redis.status === 'ready', 'redis');
  }

  async close(): Promise<void> {
    await Promise.all(this.services.map((svc) => svc.close()));
    await closeRedis(this.redis);
    await this.store.close();
  }

  /** The events the supervisor emitted about an entity (a sandbox, a task), oldest first. */
  readonly supervisorEvents = async (entityId: string): Promise<EventEnvelope[]> =>
    (await this.events.list({ entityIds: [entityId], limit: 1000 })).filter((event) => event.source === 'supervisor');

  /** Their types. */
  readonly supervisorEventTypes = async (entityId: string): Promise<string[]> =>
    (await this.supervisorEvents(entityId)).map((event) => event.event_type);

  /** A supervisor service (closed by `close()`) and an HTTP app serving its routes. */
  service<P extends FakeSandboxProvider = FakeSandboxProvider>(
    config: SupervisorConfig,
    provider: P = new FakeSandboxProvider(uniqueId('fake')) as P,
    extra: Pick<SupervisorServiceDeps, 'auth' | 'sandboxTokenTtlS'> = {},
  ): { svc: SupervisorService; sup: SupervisorService['supervisor']; app: Express; provider: P } {
    const svc = createSupervisorService({
      store: this.store,
      publisherRedis: this.redis,
      provider,
      logger: this.logger,
      config,
      relayUrl: () => 'http://127.0.0.1:18000',
      ...extra,
    });
    this.services.push(svc);
    const app = createHttpApp({ logger: this.logger, readiness: new Readiness() });
    app.use(svc.router);
    finishHttpApp(app);
    return { svc, sup: svc.supervisor, app, provider };
  }
}

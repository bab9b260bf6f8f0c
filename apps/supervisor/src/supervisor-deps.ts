import { ENTITY_TYPES, RELAY_EVENT_SOURCES } from '@sandbox-relay/contracts';
import type { SandboxProvider } from '@sandbox-relay/sandbox';
import type { Logger } from '@sandbox-relay/service-kit';
import type { EventLog, EventRepository, Store } from '@sandbox-relay/store';
import type { HeartbeatPolicy } from './heartbeat-ladder';
import type { SupervisorState } from './redis-state';
import type { RestartIntensityPolicy } from './restart-intensity';
import type { SessionStore } from './session-store';

export interface SupervisorConfig {
  provider: 'local' | 'daytona';
  /** Prefix of the Redis keys (escalation levels, locks). */
  keyPrefix: string;
  heartbeat: Pick<HeartbeatPolicy, 'intervalMs' | 'graceMs'> & Partial<Pick<HeartbeatPolicy, 'startupGraceMs' | 'omoiosIntervalMs'>>;
  sweepIntervalMs: number;
  restart: RestartIntensityPolicy;
  terminateGraceMs: number;
  /** 0 turns the idle monitor off. */
  idleAfterMs: number;
  /**
   * How long a per-sandbox lock lives. A spawn holds its sandbox's lock, so this is also the bound past
   * which a session still `starting` without a lock is taken for a spawn that never reported.
   */
  lockTtlMs: number;
}

export interface SupervisorDeps {
  store: Store;
  sessions: SessionStore;
  state: SupervisorState;
  events: EventRepository;
  /** Durable, then published: the gateway streams every supervisor event. */
  eventLog: EventLog;
  provider: SandboxProvider;
  logger: Logger;
  config: SupervisorConfig;
  /** The relay URL handed to workers (the standalone knows its own only once it listens). */
  relayUrl: () => string;
  /**
   * Issues the worker's RELAY_TOKEN, scoped to exactly the sandbox being spawned (auth on). The
   * supervisor names every sandbox itself, so the token can exist before the sandbox does.
   */
  sandboxTokens?: { issue(sandboxId: string): Promise<string>; ttlSeconds: number };
}

/** The supervisor's events: stored once per entity they concern (in one statement), then published. */
export class SupervisorEvents {
  constructor(private readonly eventLog: EventLog) {}

  emit(eventType: string, data: Record<string, unknown>, sandboxId: string, taskId?: string): Promise<void> {
    const targets: [string, string][] = [[ENTITY_TYPES.SANDBOX, sandboxId]];
    if (taskId) targets.push([ENTITY_TYPES.TASK, taskId]);
    return this.emitMany(eventType, data, targets);
  }

  async emitMany(eventType: string, data: Record<string, unknown>, targets: readonly [string, string][]): Promise<void> {
    const dataJson = JSON.stringify(data);
    await this.eventLog.append(targets.map(([entityType, entityId]) => ({ entityType, entityId, eventType, data, dataJson, source: RELAY_EVENT_SOURCES.SUPERVISOR })));
  }
}

/** What the supervisor's parts share: its deps, its events, its log. */
export interface SupervisorContext extends SupervisorDeps {
  emitter: SupervisorEvents;
  log: Logger;
}

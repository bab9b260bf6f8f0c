import { ENTITY_TYPES, type EventPayloads, type SupervisorEventType } from '@sandbox-relay/contracts';
import type { SandboxProvider } from '@sandbox-relay/sandbox';
import type { Logger } from '@sandbox-relay/service-kit';
import type { EventRepository, EventSink, EventTarget, Store } from '@sandbox-relay/store';
import type { HeartbeatPolicy } from './sweep/heartbeat-ladder';
import type { SupervisorState } from './redis-state';
import type { RestartIntensityPolicy } from './policy/restart-intensity';
import type { SessionStore } from './session-store';

export interface SupervisorConfig {
  provider: 'local' | 'daytona';
  /** Prefix of the Redis keys (escalation levels, locks). */
  keyPrefix: string;
  heartbeat: Pick<HeartbeatPolicy, 'intervalMs' | 'graceMs'> &
    Partial<Pick<HeartbeatPolicy, 'startupGraceMs' | 'omoiosIntervalMs'>>;
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
  /** Durable, then published: the gateway streams every supervisor event. Source `supervisor`. */
  sink: EventSink;
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
  constructor(private readonly sink: EventSink) {}

  emit<T extends SupervisorEventType>(
    eventType: T,
    data: EventPayloads[T],
    sandboxId: string,
    taskId?: string,
  ): Promise<void> {
    const targets: EventTarget[] = [{ entityType: ENTITY_TYPES.SANDBOX, entityId: sandboxId }];
    if (taskId) targets.push({ entityType: ENTITY_TYPES.TASK, entityId: taskId });
    return this.emitMany(eventType, data, targets);
  }

  async emitMany<T extends SupervisorEventType>(
    eventType: T,
    data: EventPayloads[T],
    targets: readonly EventTarget[],
  ): Promise<void> {
    await this.sink.emit(eventType, targets, data);
  }
}

/** What the supervisor's parts share: its deps, its events, its log. */
export interface SupervisorContext extends SupervisorDeps {
  emitter: SupervisorEvents;
  log: Logger;
}

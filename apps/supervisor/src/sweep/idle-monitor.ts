import { HEARTBEAT_STATUSES, isHeartbeatEventType } from '@sandbox-relay/contracts';
import { afterBlindSpan, requireInteger, systemClock, type BlindSpan, type Clock, type Instant } from '../clock';

export interface IdlePolicy {
  /** Time without agent activity after which a sandbox is stopped to save cost. */
  idleAfterMs: number;
  /** Heartbeat statuses that mean the agent is working: such a sandbox is never idle. */
  busyStatuses: readonly string[];
}

/** The original stopped a sandbox after 15 minutes without activity (REFERENCE.md, "Fault tolerance"). */
export const DEFAULT_IDLE_POLICY: IdlePolicy = {
  idleAfterMs: 15 * 60_000,
  busyStatuses: [HEARTBEAT_STATUSES.RUNNING],
};

/** One live sandbox as the idle sweep reads it. */
export interface IdleCandidate {
  sandboxId: string;
  taskId: string | null;
  startedAt: Instant;
  /** Time of the sandbox's latest event other than a heartbeat; null when it has reported none. */
  lastActivityAt: Instant | null;
  /** `status` of its latest heartbeat, when known (`running` while a turn is in progress). */
  lastHeartbeatStatus: string | null;
  /** A span the supervisor could not read the event store in: not counted as idle time. */
  unobserved?: BlindSpan | null;
}

export interface IdleStop {
  sandboxId: string;
  taskId: string | null;
  idleForMs: number;
  /** The instant idleness is measured from (last activity, else the sandbox's start). */
  idleSince: Instant;
}

/**
 * Whether an event shows the sandbox in use. Heartbeats (the relay worker's `heartbeat`, the original
 * worker's `agent.heartbeat`) come from the worker's own timer whether or not the agent does anything,
 * so they prove only that the process lives.
 */
export function isActivityEvent(eventType: string): boolean {
  return !isHeartbeatEventType(eventType);
}

/** Throws a RangeError for a threshold that would stop sandboxes as soon as they start. */
export function validateIdlePolicy(policy: IdlePolicy): IdlePolicy {
  requireInteger('idleAfterMs', policy.idleAfterMs, 1);
  return policy;
}

/**
 * Picks the sandboxes to stop for idleness (event `SANDBOX_IDLE_STOPPED`). A sandbox whose agent is
 * working (last heartbeat `running`) is never picked, however long its command has been silent: a
 * long build is work, and a worker that is really stuck is the heartbeat ladder's and the guardian's
 * business, not a cost saving. A sandbox that never reported activity is measured from its start.
 */
export class IdleMonitor {
  readonly policy: IdlePolicy;

  constructor(
    policy: Partial<IdlePolicy> = {},
    private readonly clock: Clock = systemClock,
  ) {
    this.policy = validateIdlePolicy({ ...DEFAULT_IDLE_POLICY, ...policy });
  }

  /** The sandboxes to stop at `now`, in input order. */
  select(candidates: readonly IdleCandidate[], now: Instant = this.clock()): IdleStop[] {
    const stops: IdleStop[] = [];
    for (const candidate of candidates) {
      const stop = this.assess(candidate, now);
      if (stop) stops.push(stop);
    }
    return stops;
  }

  /** The stop one sandbox calls for at `now`, or null when it is busy or recently active. */
  assess(candidate: IdleCandidate, now: Instant = this.clock()): IdleStop | null {
    if (candidate.lastHeartbeatStatus !== null && this.policy.busyStatuses.includes(candidate.lastHeartbeatStatus))
      return null;
    // Activity recorded before the start (a replacement inherits its predecessor's events) still
    // leaves the new sandbox its full allowance.
    const idleSince = Math.max(candidate.lastActivityAt ?? candidate.startedAt, candidate.startedAt);
    const idleForMs = now - afterBlindSpan(idleSince, candidate.unobserved);
    if (idleForMs < this.policy.idleAfterMs) return null;
    return { sandboxId: candidate.sandboxId, taskId: candidate.taskId, idleForMs, idleSince };
  }
}

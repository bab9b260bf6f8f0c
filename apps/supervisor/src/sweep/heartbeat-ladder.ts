import { HEARTBEAT_EVENT_TYPES, HEARTBEAT_STATUSES } from '@sandbox-relay/contracts';
import { afterBlindSpan, requireInteger, systemClock, type BlindSpan, type Clock, type Instant } from '../clock';

/**
 * How far the supervisor has escalated a session, as stored on it (`SandboxSession.status` or a Redis
 * field): the ladder acts on a change of level, never twice on the same one.
 */
export const ESCALATION_LEVELS = ['none', 'warning', 'degraded', 'restarting'] as const;
export type EscalationLevel = (typeof ESCALATION_LEVELS)[number];

/** What a number of missed heartbeats calls for. */
export type LadderStep = 'healthy' | 'warning' | 'degraded' | 'restart';

export interface HeartbeatPolicy {
  /** How often a worker beats (the worker's `HEARTBEAT_INTERVAL_MS`). */
  intervalMs: number;
  /**
   * How often the original system's (OmoiOS) worker beats (`agent.heartbeat`, 30 s, only between
   * turns): the interval a sandbox is measured in once its newest beat is of that kind, or while it
   * has reported events but never beaten (`livenessOf`).
   */
  omoiosIntervalMs: number;
  /** Slack on top of each interval for network and event-loop delay before a beat counts as missed. */
  graceMs: number;
  /**
   * Extra time a sandbox that has not beaten yet gets before its misses count: booting a sandbox and
   * starting its worker takes longer than one beat (a Daytona sandbox, a loaded machine). Without it a
   * slow start is restarted, and the slow start of the replacement restarted again, into quarantine.
   */
  startupGraceMs: number;
  /** Missed intervals that raise a warning, mark the session degraded, restart it (ascending). */
  warnAfterMisses: number;
  degradeAfterMisses: number;
  restartAfterMisses: number;
  /**
   * Statuses of a session's last heartbeat that exempt it from the ladder. A worker that finished its
   * task sends a last `completed` beat and exits: its silence is not a fault.
   */
  exemptStatuses: readonly string[];
}

/** The seed's ladder (1 miss → warn, 2 → DEGRADED, 3 → restart) over the worker's 15 s beat. */
export const DEFAULT_HEARTBEAT_POLICY: HeartbeatPolicy = {
  intervalMs: 15_000,
  omoiosIntervalMs: 30_000,
  graceMs: 5_000,
  startupGraceMs: 60_000,
  warnAfterMisses: 1,
  degradeAfterMisses: 2,
  restartAfterMisses: 3,
  exemptStatuses: [HEARTBEAT_STATUSES.COMPLETED],
};

/** One live sandbox session as the sweep reads it. */
export interface SupervisedSession {
  sandboxId: string;
  taskId: string | null;
  /** Null until the first heartbeat: the session is then measured from `startedAt` plus the startup grace. */
  lastHeartbeatAt: Instant | null;
  startedAt: Instant;
  escalation: EscalationLevel;
  /** `status` of the last heartbeat's payload, when known. */
  lastHeartbeatStatus?: string | null;
  /** The last heartbeat's event type (`heartbeat`, or the original worker's `agent.heartbeat`); absent means `heartbeat`. */
  lastHeartbeatType?: string | null;
  /** The newest event the worker itself reported other than a beat: a sign of life for the original's worker. */
  lastActivityAt?: Instant | null;
  /** A span the supervisor could not read the event store in: it does not count as the session's silence. */
  unobserved?: BlindSpan | null;
}

/** How a session's silence is measured: since when, in which interval. */
export interface Liveness {
  /** The instant the misses are counted from. */
  lastSeenAt: Instant;
  intervalMs: number;
  /** `relay`: the relay worker's `heartbeat` alone; `omoios`: the original's beats and its other events. */
  cadence: 'relay' | 'omoios';
}

/**
 * When a session last showed life, and the interval its silence counts in.
 * - Newest beat `heartbeat` (the relay's worker beats every 15 s, mid-turn too): that beat alone, on
 *   `intervalMs`, exactly as before the original's worker was supported.
 * - Newest beat `agent.heartbeat` (the original's worker beats every 30 s and only between turns; mid-turn
 *   it sends its other `agent.*` events instead): the later of that beat and the worker's newest other
 *   event, on `omoiosIntervalMs`. A worker beating every 30 s is never restarted, and one busy in a turn
 *   counts as alive while it reports.
 * - Never beaten: measured from the end of the startup grace, or from the worker's newest event when that
 *   is later (the original's worker sends `agent.started`, then only turn events until its first turn
 *   ends), on `omoiosIntervalMs` once it has reported any event, else on `intervalMs`.
 */
export function livenessOf(
  session: SupervisedSession,
  policy: Pick<HeartbeatPolicy, 'intervalMs' | 'omoiosIntervalMs' | 'startupGraceMs'>,
): Liveness {
  const activity = session.lastActivityAt ?? null;
  if (session.lastHeartbeatAt !== null) {
    if (session.lastHeartbeatType !== HEARTBEAT_EVENT_TYPES.OMOIOS)
      return { lastSeenAt: session.lastHeartbeatAt, intervalMs: policy.intervalMs, cadence: 'relay' };
    return {
      lastSeenAt: Math.max(session.lastHeartbeatAt, activity ?? -Infinity),
      intervalMs: policy.omoiosIntervalMs,
      cadence: 'omoios',
    };
  }
  const graceEnds = session.startedAt + policy.startupGraceMs;
  if (activity === null) return { lastSeenAt: graceEnds, intervalMs: policy.intervalMs, cadence: 'relay' };
  return { lastSeenAt: Math.max(graceEnds, activity), intervalMs: policy.omoiosIntervalMs, cadence: 'omoios' };
}

export type LadderActionKind = 'warn' | 'degrade' | 'restart' | 'recover';

/** A change of a session's escalation the service must carry out (emit the event, store `to`). */
export interface LadderAction {
  kind: LadderActionKind;
  sandboxId: string;
  taskId: string | null;
  from: EscalationLevel;
  to: EscalationLevel;
  missed: number;
  /** The instant the misses are counted from (last heartbeat, else session start). */
  lastSeenAt: Instant;
}

const LEVEL_OF_STEP: Record<LadderStep, EscalationLevel> = {
  healthy: 'none',
  warning: 'warning',
  degraded: 'degraded',
  restart: 'restarting',
};

const KIND_OF_LEVEL: Record<EscalationLevel, LadderActionKind> = {
  none: 'recover',
  warning: 'warn',
  degraded: 'degrade',
  restarting: 'restart',
};

/**
 * Whole intervals without a beat at `now`: interval n counts as missed once `n * intervalMs + graceMs`
 * has passed since `lastSeenAt` (so 15 s + 5 s grace: 0 up to 20 s, 1 after 20 s, 2 after 35 s, 3 after
 * 50 s). A `lastSeenAt` in the future (clock skew between replicas) counts as no miss.
 */
export function missedIntervals(
  lastSeenAt: Instant,
  now: Instant,
  policy: Pick<HeartbeatPolicy, 'intervalMs' | 'graceMs'>,
): number {
  const silentFor = now - lastSeenAt - policy.graceMs;
  if (silentFor <= 0) return 0;
  return Math.ceil(silentFor / policy.intervalMs) - 1;
}

/** The rung of the ladder a number of misses reaches. */
export function ladderStep(
  missed: number,
  policy: Pick<HeartbeatPolicy, 'warnAfterMisses' | 'degradeAfterMisses' | 'restartAfterMisses'>,
): LadderStep {
  if (missed >= policy.restartAfterMisses) return 'restart';
  if (missed >= policy.degradeAfterMisses) return 'degraded';
  if (missed >= policy.warnAfterMisses) return 'warning';
  return 'healthy';
}

/** Throws a RangeError for a policy whose rungs are not positive and strictly ascending. */
export function validateHeartbeatPolicy(policy: HeartbeatPolicy): HeartbeatPolicy {
  requireInteger('intervalMs', policy.intervalMs, 1);
  requireInteger('omoiosIntervalMs', policy.omoiosIntervalMs, 1);
  requireInteger('graceMs', policy.graceMs, 0);
  requireInteger('startupGraceMs', policy.startupGraceMs, 0);
  requireInteger('warnAfterMisses', policy.warnAfterMisses, 1);
  requireInteger('degradeAfterMisses', policy.degradeAfterMisses, policy.warnAfterMisses + 1);
  requireInteger('restartAfterMisses', policy.restartAfterMisses, policy.degradeAfterMisses + 1);
  return policy;
}

/**
 * The escalation ladder. A sweep compares the rung each session's silence reaches with the level stored
 * on it and returns one action per change, so a session already warned is not warned again on the next
 * sweep, and a session whose heartbeats came back is reported `recover` once. State lives with the
 * sessions (Postgres/Redis), not here: any replica can sweep, and a restarted supervisor resumes.
 */
export class HeartbeatLadder {
  readonly policy: HeartbeatPolicy;

  constructor(
    policy: Partial<HeartbeatPolicy> = {},
    private readonly clock: Clock = systemClock,
  ) {
    this.policy = validateHeartbeatPolicy({ ...DEFAULT_HEARTBEAT_POLICY, ...policy });
  }

  /** The actions a sweep at `now` calls for, in input order; sessions needing none are left out. */
  sweep(sessions: readonly SupervisedSession[], now: Instant = this.clock()): LadderAction[] {
    const actions: LadderAction[] = [];
    for (const session of sessions) {
      const action = this.assess(session, now);
      if (action) actions.push(action);
    }
    return actions;
  }

  /** The action one session needs at `now`, or null. */
  assess(session: SupervisedSession, now: Instant = this.clock()): LadderAction | null {
    // A restart is under way: the restarter owns the session until it stores the outcome.
    if (session.escalation === 'restarting') return null;
    if (session.lastHeartbeatStatus && this.policy.exemptStatuses.includes(session.lastHeartbeatStatus)) return null;
    const liveness = livenessOf(session, this.policy);
    // Reported as the last sign of life (the last beat, else the start), as before; the misses count from `liveness`.
    const lastSeenAt =
      liveness.cadence === 'omoios' ? liveness.lastSeenAt : (session.lastHeartbeatAt ?? session.startedAt);
    const missed = missedIntervals(afterBlindSpan(liveness.lastSeenAt, session.unobserved), now, {
      intervalMs: liveness.intervalMs,
      graceMs: this.policy.graceMs,
    });
    const to = LEVEL_OF_STEP[ladderStep(missed, this.policy)];
    if (to === session.escalation) return null;
    // Any other change is reported, downward too: a degraded session that beat again and is now one
    // interval late is warned afresh rather than left looking degraded.
    return {
      kind: KIND_OF_LEVEL[to],
      sandboxId: session.sandboxId,
      taskId: session.taskId,
      from: session.escalation,
      to,
      missed,
      lastSeenAt,
    };
  }
}

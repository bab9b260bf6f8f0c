import { requireInteger, systemClock, type Clock, type Instant } from '../clock';

export interface RestartIntensityPolicy {
  /** Restarts of one task allowed within `windowMs`; one more quarantines the task (OTP's MaxR). */
  maxRestarts: number;
  /** The sliding window restarts are counted in (OTP's MaxT). */
  windowMs: number;
  /** Delay before the first restart in a window; doubles with each restart already in the window. */
  baseBackoffMs: number;
  /** Upper bound of that delay. */
  maxBackoffMs: number;
}

/** 3 restarts in 10 minutes, then quarantine; 1 s, 2 s, 4 s … at most 30 s between restarts. */
export const DEFAULT_RESTART_INTENSITY: RestartIntensityPolicy = {
  maxRestarts: 3,
  windowMs: 10 * 60_000,
  baseBackoffMs: 1_000,
  maxBackoffMs: 30_000,
};

export type RestartDecision =
  | {
      kind: 'restart';
      /** Wait this long before spawning the replacement (0 is never returned: the base is at least 1 ms). */
      delayMs: number;
      /** Restarts of the task already in the window, this one not included. */
      restartsInWindow: number;
      /** 1 for the first restart in the window, and so on. */
      attempt: number;
    }
  | {
      kind: 'quarantine';
      restartsInWindow: number;
      /** For the task's status and the quarantine event. */
      reason: string;
    };

/** Throws a RangeError for a policy that would restart forever or never. */
export function validateRestartIntensity(policy: RestartIntensityPolicy): RestartIntensityPolicy {
  requireInteger('maxRestarts', policy.maxRestarts, 0);
  requireInteger('windowMs', policy.windowMs, 1);
  requireInteger('baseBackoffMs', policy.baseBackoffMs, 1);
  requireInteger('maxBackoffMs', policy.maxBackoffMs, policy.baseBackoffMs);
  return policy;
}

/**
 * Past restarts that count at `now`: those less than `windowMs` old. A time in the future (clock skew
 * between replicas) counts too, so skew can make the supervisor stricter, never laxer.
 */
export function restartsInWindow(pastRestarts: readonly Instant[], now: Instant, windowMs: number): number {
  return pastRestarts.filter((at) => now - at < windowMs).length;
}

/** `base * 2^n`, capped; computed without overflowing for any n. */
export function backoffDelay(
  restartsSoFar: number,
  policy: Pick<RestartIntensityPolicy, 'baseBackoffMs' | 'maxBackoffMs'>,
): number {
  const doublings = Math.max(0, restartsSoFar);
  if (doublings >= 31) return policy.maxBackoffMs;
  return Math.min(policy.maxBackoffMs, policy.baseBackoffMs * 2 ** doublings);
}

/**
 * Whether a task whose sandbox just failed may get another one. Like an OTP supervisor, a task that
 * already had `maxRestarts` restarts within the window is not restarted again but quarantined: a
 * worker that dies on every start would otherwise loop, burning a sandbox each time. Otherwise the
 * restart waits a backoff that doubles with each restart in the window.
 *
 * @param pastRestarts when the task was restarted before (`RestartEvent.createdAt`), in any order.
 */
export function decideRestart(
  pastRestarts: readonly Instant[],
  now: Instant,
  policy: RestartIntensityPolicy = DEFAULT_RESTART_INTENSITY,
): RestartDecision {
  const recent = restartsInWindow(pastRestarts, now, policy.windowMs);
  if (recent >= policy.maxRestarts) {
    const minutes = Math.round(policy.windowMs / 60_000);
    const window = minutes >= 1 ? `${minutes} min` : `${policy.windowMs} ms`;
    return {
      kind: 'quarantine',
      restartsInWindow: recent,
      reason: `restart intensity exceeded: ${recent} restarts within ${window} (limit ${policy.maxRestarts})`,
    };
  }
  return { kind: 'restart', delayMs: backoffDelay(recent, policy), restartsInWindow: recent, attempt: recent + 1 };
}

/** The restart-intensity rule with its policy and clock bound, as the service uses it. */
export class RestartIntensity {
  readonly policy: RestartIntensityPolicy;

  constructor(
    policy: Partial<RestartIntensityPolicy> = {},
    private readonly clock: Clock = systemClock,
  ) {
    this.policy = validateRestartIntensity({ ...DEFAULT_RESTART_INTENSITY, ...policy });
  }

  /** The decision for a task with these past restart times (epoch ms or `Date`s of RestartEvent rows). */
  decide(pastRestarts: readonly (Instant | Date)[], now: Instant = this.clock()): RestartDecision {
    return decideRestart(pastRestarts.map(toInstant), now, this.policy);
  }

  /**
   * The oldest restart that can still count at `now`: load only `RestartEvent`s with `createdAt`
   * greater than this (the `(task_id, created_at)` index serves exactly that query).
   */
  windowStart(now: Instant = this.clock()): Date {
    return new Date(now - this.policy.windowMs);
  }
}

function toInstant(at: Instant | Date): Instant {
  return typeof at === 'number' ? at : at.getTime();
}

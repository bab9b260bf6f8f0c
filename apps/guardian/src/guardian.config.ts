import type { GuardianEnv } from './env';
import type { GuardianServiceDeps } from './guardian.service';

/** The guardian's tunables, from its validated env. */
export function guardianConfig(env: GuardianEnv): GuardianServiceDeps['config'] {
  return {
    stuckAfterMs: env.GUARDIAN_STUCK_AFTER_MS,
    loopingAt: env.GUARDIAN_LOOPING_AT,
    errorStormAt: env.GUARDIAN_ERROR_STORM_AT,
    cooldownMs: env.GUARDIAN_COOLDOWN_MS,
    sweepIntervalMs: env.GUARDIAN_SWEEP_INTERVAL_MS,
    queuePrefix: env.QUEUE_PREFIX,
    conversationsRoot: env.GUARDIAN_CONVERSATIONS_ROOT,
  };
}

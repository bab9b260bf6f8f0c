import { randomUUID } from 'node:crypto';
import type { Redis } from '@sandbox-relay/bus';
import type { EscalationLevel } from './sweep/heartbeat-ladder';

const CAS_SCRIPT = `
local current = redis.call('HGET', KEYS[1], ARGV[1]) or ''
if current ~= ARGV[2] then return 0 end
if ARGV[3] == '' then redis.call('HDEL', KEYS[1], ARGV[1]) else redis.call('HSET', KEYS[1], ARGV[1], ARGV[3]) end
return 1`;

const RELEASE_SCRIPT = `
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0`;

/** A held per-sandbox lock; `release` is safe to call twice and never frees another holder's lock. */
export interface SandboxLock {
  readonly token: string;
  release(): Promise<void>;
}

/**
 * The supervisor's shared state in Redis: each sandbox's escalation level (one hash) and per-sandbox
 * locks. Every replica reads and writes the same keys, so a restarted supervisor continues the ladder
 * where the levels stand, and of several replicas exactly one acts on each change.
 */
export class SupervisorState {
  private readonly escalationKey: string;

  constructor(
    private readonly redis: Redis,
    private readonly prefix: string,
  ) {
    this.escalationKey = `${prefix}:supervisor:escalation`;
  }

  /** Stored levels by sandbox id ('' entries are absent: a sandbox never escalated). */
  async escalations(): Promise<Map<string, EscalationLevel>> {
    const all = await this.redis.hgetall(this.escalationKey);
    return new Map(Object.entries(all) as [string, EscalationLevel][]);
  }

  /**
   * Sets a sandbox's level from `from` (undefined: no level stored) to `to` (`none` clears it) only if
   * it still is `from`: of several replicas that saw the same change, exactly one gets true and acts.
   */
  async compareAndSetEscalation(
    sandboxId: string,
    from: EscalationLevel | undefined,
    to: EscalationLevel,
  ): Promise<boolean> {
    const result = await this.redis.eval(
      CAS_SCRIPT,
      1,
      this.escalationKey,
      sandboxId,
      from ?? '',
      to === 'none' ? '' : to,
    );
    return result === 1;
  }

  async setEscalation(sandboxId: string, level: EscalationLevel): Promise<void> {
    if (level === 'none') await this.redis.hdel(this.escalationKey, sandboxId);
    else await this.redis.hset(this.escalationKey, sandboxId, level);
  }

  async clearEscalation(sandboxId: string): Promise<void> {
    await this.redis.hdel(this.escalationKey, sandboxId);
  }

  /** `SET NX PX`: the lock for acting on one sandbox (restart, idle stop, stop), or null when another holds it. */
  async lock(sandboxId: string, ttlMs: number): Promise<SandboxLock | null> {
    const key = this.lockKey(sandboxId);
    const token = randomUUID();
    const ok = await this.redis.set(key, token, 'PX', ttlMs, 'NX');
    if (ok !== 'OK') return null;
    let released = false;
    return {
      token,
      release: async () => {
        if (released) return;
        released = true;
        await this.redis.eval(RELEASE_SCRIPT, 1, key, token);
      },
    };
  }

  async isLocked(sandboxId: string): Promise<boolean> {
    return (await this.redis.exists(this.lockKey(sandboxId))) === 1;
  }

  private lockKey(sandboxId: string): string {
    return `${this.prefix}:supervisor:lock:${sandboxId}`;
  }
}

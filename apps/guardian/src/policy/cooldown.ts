/**
 * At most one intervention per key (sandbox) per window. Implementations must be atomic across every
 * guardian replica (Redis `SET key 1 NX PX windowMs`), so two replicas seeing the same loop send one.
 */
export interface CooldownGate {
  /** True when the caller may intervene now; the window then starts and refuses everyone else. */
  tryAcquire(key: string, windowMs: number): Promise<boolean>;
  /**
   * Optional: frees the window again (Redis `DEL`). The guardian calls it when delivering the
   * intervention failed, so the next finding retries instead of waiting out a window that sent nothing.
   */
  release?(key: string): Promise<void>;
}

/** A single-process gate, for unit tests and a guardian that runs as one replica. */
export class MemoryCooldownGate implements CooldownGate {
  private readonly until = new Map<string, number>();

  /** `maxKeys` bounds memory: past it, expired windows are pruned before a new one is added. */
  constructor(
    private readonly now: () => number,
    private readonly maxKeys = 10_000,
  ) {}

  tryAcquire(key: string, windowMs: number): Promise<boolean> {
    const now = this.now();
    const held = this.until.get(key);
    if (held !== undefined && held > now) return Promise.resolve(false);
    if (this.until.size >= this.maxKeys) this.prune(now);
    this.until.set(key, now + windowMs);
    return Promise.resolve(true);
  }

  release(key: string): Promise<void> {
    this.until.delete(key);
    return Promise.resolve();
  }

  private prune(now: number): void {
    for (const [key, expires] of this.until) if (expires <= now) this.until.delete(key);
  }
}

import type { Logger } from 'pino';

/** A dependency check: resolves when healthy, rejects (or times out) when not. */
export interface ReadinessCheck {
  name: string;
  check: () => Promise<unknown>;
}

export interface ReadinessReport {
  ready: boolean;
  status: 'ready' | 'starting' | 'draining' | 'unavailable';
  checks: Record<string, { ok: boolean; error?: string; ms: number }>;
}

/**
 * What `/readyz` answers. Starts not ready; `markReady()` after start-up, `markDraining()` first thing on
 * shutdown, so the load balancer stops sending traffic before the server stops accepting it.
 */
export class Readiness {
  private state: 'starting' | 'ready' | 'draining' = 'starting';
  private readonly checks: ReadinessCheck[] = [];

  constructor(private readonly timeoutMs = 1000, private readonly logger?: Logger) {}

  add(check: ReadinessCheck): this {
    this.checks.push(check);
    return this;
  }

  markReady(): void {
    if (this.state === 'starting') this.state = 'ready';
  }

  markDraining(): void {
    this.state = 'draining';
  }

  get draining(): boolean {
    return this.state === 'draining';
  }

  async report(): Promise<ReadinessReport> {
    const results = await Promise.all(this.checks.map((check) => this.run(check)));
    const checks = Object.fromEntries(results);
    const healthy = results.every(([, result]) => result.ok);
    const status = this.state !== 'ready' ? this.state : healthy ? 'ready' : 'unavailable';
    return { ready: status === 'ready', status, checks };
  }

  private async run(check: ReadinessCheck): Promise<[string, { ok: boolean; error?: string; ms: number }]> {
    const started = performance.now();
    let timer: NodeJS.Timeout | undefined;
    try {
      await Promise.race([
        check.check(),
        new Promise((_, reject) => {
          timer = setTimeout(() => reject(new Error(`timed out after ${this.timeoutMs} ms`)), this.timeoutMs);
        }),
      ]);
      return [check.name, { ok: true, ms: Math.round(performance.now() - started) }];
    } catch (error) {
      const message = error instanceof Error ? error.message : String(error);
      this.logger?.warn({ check: check.name, err: message }, 'readiness check failed');
      return [check.name, { ok: false, error: message, ms: Math.round(performance.now() - started) }];
    } finally {
      clearTimeout(timer);
    }
  }
}

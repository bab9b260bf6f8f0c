import type { Logger } from 'pino';
import { sampledGauge } from './metrics';

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
 * 1 while the process answers `/readyz` with 200, 0 otherwise (starting, draining, or a check failed at
 * the last probe): what the load balancer sees, for the alert rules (deploy/prometheus/alerts.yaml).
 * Read at scrape time from the state and the last probe's checks, so a scrape runs no check itself.
 */
const readyGauge = sampledGauge({
  name: 'relay_ready',
  help: 'Whether this process is ready (1) or not (0: starting, draining, or a readiness check failed at the last /readyz probe); summed over the Readiness objects of a process, of which a service has one.',
});

/**
 * What `/readyz` answers. Starts not ready; `markReady()` after start-up, `markDraining()` first thing on
 * shutdown, so the load balancer stops sending traffic before the server stops accepting it.
 */
export class Readiness {
  private state: 'starting' | 'ready' | 'draining' = 'starting';
  private readonly checks: ReadinessCheck[] = [];
  /** Whether every check passed at the last report (a process no one has probed yet counts as healthy). */
  private lastChecksOk = true;

  constructor(
    private readonly timeoutMs = 1000,
    private readonly logger?: Logger,
  ) {
    readyGauge.add(() => (this.state === 'ready' && this.lastChecksOk ? 1 : 0));
  }

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
    this.lastChecksOk = healthy;
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

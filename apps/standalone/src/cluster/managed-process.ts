import { spawn, type ChildProcess } from 'node:child_process';
import { closeSync, openSync } from 'node:fs';
import type { ClusterExit, ClusterProcessStatus } from '@sandbox-relay/contracts';
import type { Logger } from '@sandbox-relay/service-kit';

export interface ManagedProcessSpec {
  /** `ingest-0`, `edge`: for logs. */
  name: string;
  command: string;
  args: string[];
  env: Record<string, string | undefined>;
  cwd: string;
  /** stdout and stderr are appended here, across restarts. */
  logFile: string;
  /** The readiness probe: true when the process serves. Bounded by the caller's timeout. */
  probe: () => Promise<boolean>;
  probeIntervalMs: number;
  /** What a graceful stop sends (SIGTERM for the services, SIGQUIT for nginx). */
  stopSignal: NodeJS.Signals;
  backoff: { baseMs: number; maxMs: number };
}

/** A run this long resets the backoff: the process is no longer crash-looping (Kubernetes uses 10 min). */
const STABLE_RUN_MS = 10_000;

/**
 * One process the launcher keeps running, as a Deployment keeps a pod: started, probed for readiness,
 * started again after any exit with a doubling backoff, stopped gracefully (then by force) on shutdown.
 */
export class ManagedProcess {
  status: ClusterProcessStatus = 'starting';
  restarts = 0;
  startedAt: Date | null = null;
  lastExit: ClusterExit | null = null;
  private child: ChildProcess | null = null;
  private crashes = 0;
  private stopping = false;
  private restartTimer: NodeJS.Timeout | null = null;
  private probeTimer: NodeJS.Timeout | null = null;
  private exited: Promise<void> = Promise.resolve();

  constructor(
    readonly spec: ManagedProcessSpec,
    private readonly logger: Logger,
    private readonly onChange: () => void,
  ) {}

  get pid(): number | null {
    return this.child?.pid ?? null;
  }

  start(): void {
    const log = openSync(this.spec.logFile, 'a');
    try {
      const child = spawn(this.spec.command, this.spec.args, {
        cwd: this.spec.cwd,
        env: this.spec.env,
        stdio: ['ignore', log, log],
        // A process group of its own, as a pod is isolated: Ctrl-C in the launcher's terminal reaches only
        // the launcher, which stops every replica in order (a second signal would make a service exit at once).
        detached: true,
      });
      this.child = child;
      this.startedAt = new Date();
      this.setStatus('starting');
      this.exited = new Promise((resolve) => child.once('exit', (code, signal) => resolve(this.onExit(code, signal))));
      child.once('error', (error) => this.logger.error({ err: error, process: this.spec.name }, 'could not spawn'));
    } finally {
      closeSync(log);
    }
    this.scheduleProbe(0);
  }

  /** Graceful stop: the stop signal, then SIGKILL once `deadlineMs` has passed. No restart follows. */
  async stop(deadlineMs: number): Promise<void> {
    this.stopping = true;
    if (this.restartTimer) clearTimeout(this.restartTimer);
    if (this.probeTimer) clearTimeout(this.probeTimer);
    const child = this.child;
    if (!child || child.exitCode !== null || child.signalCode !== null) {
      this.setStatus('stopped');
      return;
    }
    this.setStatus('stopping');
    child.kill(this.spec.stopSignal);
    const timer = setTimeout(() => {
      this.logger.warn({ process: this.spec.name, deadlineMs }, 'did not stop in time; killing it');
      child.kill('SIGKILL');
    }, deadlineMs);
    await this.exited;
    clearTimeout(timer);
  }

  private onExit(code: number | null, signal: NodeJS.Signals | null): void {
    this.child = null;
    if (this.probeTimer) clearTimeout(this.probeTimer);
    this.lastExit = { code, signal, at: new Date().toISOString() };
    if (this.stopping) {
      this.setStatus('stopped');
      return;
    }
    const ranMs = Date.now() - (this.startedAt?.getTime() ?? Date.now());
    this.crashes = ranMs >= STABLE_RUN_MS ? 0 : this.crashes + 1;
    const delayMs = Math.min(this.spec.backoff.maxMs, this.spec.backoff.baseMs * 2 ** this.crashes);
    this.logger.warn(
      { process: this.spec.name, code, signal, ranMs, delayMs, log: this.spec.logFile },
      'exited; restarting after backoff',
    );
    this.setStatus('restarting');
    this.restartTimer = setTimeout(() => {
      this.restartTimer = null;
      if (this.stopping) return;
      this.restarts += 1;
      this.start();
    }, delayMs);
  }

  private scheduleProbe(delayMs: number): void {
    this.probeTimer = setTimeout(() => void this.probeOnce(), delayMs);
  }

  private async probeOnce(): Promise<void> {
    const child = this.child;
    if (!child || this.stopping) return;
    const ok = await this.spec.probe().catch(() => false);
    if (this.child !== child || this.stopping) return;
    // Not ready yet after a (re)start stays `starting`; once it was ready, a failing probe is `unready`.
    if (ok) this.setStatus('ready');
    else if (this.status === 'ready') this.setStatus('unready');
    this.scheduleProbe(
      this.status === 'starting' ? Math.min(200, this.spec.probeIntervalMs) : this.spec.probeIntervalMs,
    );
  }

  private setStatus(status: ClusterProcessStatus): void {
    if (this.status === status && status !== 'starting') return;
    this.status = status;
    this.onChange();
  }
}

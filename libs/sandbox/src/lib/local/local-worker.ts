import { spawn, type ChildProcess } from 'node:child_process';
import type { SandboxStatus } from '../sandbox-provider';
import { OutputRing } from '../output-ring';
import { killMarked } from './marked-processes';

export interface LocalWorkerLaunch {
  nodePath: string;
  args: string[];
  cwd: string;
  env: Record<string, string>;
  logLimitBytes: number;
  /** The value of `SANDBOX_MARK_VARIABLE` in `env`: finds the commands the worker started. */
  mark: string;
}

/** How long to wait for the kernel to reap a SIGKILLed child before giving up on it. */
const KILL_REAP_MS = 5_000;

/** One worker child process: its output tail, its state, and how to stop it. */
export class LocalWorker {
  readonly output: OutputRing;
  private exit?: { code: number | null; signal: NodeJS.Signals | null };
  private stopRequested = false;
  private readonly exited: Promise<void>;

  private constructor(
    private readonly child: ChildProcess,
    logLimitBytes: number,
    /** This worker's `SANDBOX_MARK_VARIABLE` value. */
    readonly mark: string,
  ) {
    this.output = new OutputRing(logLimitBytes);
    child.stdout?.on('data', (chunk: Buffer) => this.output.write(chunk));
    child.stderr?.on('data', (chunk: Buffer) => this.output.write(chunk));
    // A ChildProcess 'error' without a listener would crash the relay; record it for forensics.
    child.on('error', (error) => this.output.write(`\n[sandbox-relay] worker process error: ${error.message}\n`));
    // State follows 'exit': 'close' also waits for grandchildren that inherited the pipes, and a
    // worker must not look alive (or need forcing) because a command it started still runs.
    this.exited = new Promise((resolve) => {
      child.once('exit', (code, signal) => {
        this.exit = { code, signal };
        resolve();
      });
    });
    // The marker goes in on 'close', after the last bytes of output.
    child.once('close', (code, signal) => {
      this.output.write(`\n[sandbox-relay] worker exited (code ${code ?? '-'}, signal ${signal ?? '-'})\n`);
    });
  }

  /** Starts the child and resolves once the OS has created it (rejects if it could not be). */
  static start(launch: LocalWorkerLaunch): Promise<LocalWorker> {
    // detached: the worker leads its own process group, so a forced stop can also kill the shell
    // commands the agent started (they would otherwise outlive a SIGKILLed worker).
    const child = spawn(launch.nodePath, launch.args, {
      cwd: launch.cwd,
      env: launch.env,
      stdio: ['ignore', 'pipe', 'pipe'],
      detached: true,
    });
    const worker = new LocalWorker(child, launch.logLimitBytes, launch.mark);
    return new Promise((resolve, reject) => {
      child.once('spawn', () => resolve(worker));
      child.once('error', reject);
    });
  }

  get pid(): number | undefined {
    return this.child.pid;
  }

  get hasExited(): boolean {
    return this.exit !== undefined;
  }

  get status(): SandboxStatus {
    if (!this.exit) return 'running';
    // A worker that exits 0 on its own finished its task; one we asked to stop was stopped.
    return this.stopRequested || this.exit.code === 0 ? 'stopped' : 'failed';
  }

  /**
   * SIGTERM, wait `graceMs`, then SIGKILL the whole process group. Either way, and also when the
   * worker had already exited, what it started and left running (in groups of their own) is killed.
   */
  async stop(graceMs: number): Promise<{ forced: boolean; alreadyGone: boolean }> {
    if (this.hasExited) {
      killMarked(this.mark);
      return { forced: false, alreadyGone: true };
    }
    this.stopRequested = true;
    if (graceMs > 0) {
      // Only the worker gets SIGTERM: it stops its own commands and flushes its event backlog.
      this.child.kill('SIGTERM');
      if (await this.waitForExit(graceMs)) {
        // Sweep what the worker left in its group, right after its exit (before its pid can be reused).
        this.killGroup();
        return { forced: false, alreadyGone: false };
      }
    }
    this.killGroup();
    if (!(await this.waitForExit(KILL_REAP_MS)))
      throw new Error(`worker pid ${this.pid} survived SIGKILL for ${KILL_REAP_MS} ms`);
    return { forced: true, alreadyGone: false };
  }

  private async waitForExit(ms: number): Promise<boolean> {
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<false>((resolve) => {
      timer = setTimeout(() => resolve(false), ms);
    });
    try {
      return await Promise.race([this.exited.then(() => true as const), timeout]);
    } finally {
      clearTimeout(timer);
    }
  }

  /** SIGKILL to the process group (the worker and what stayed in it) and to every marked process. */
  private killGroup(): void {
    killMarked(this.mark);
    if (this.child.pid === undefined) return;
    try {
      process.kill(-this.child.pid, 'SIGKILL');
    } catch (error) {
      // ESRCH: the group is already empty, which is the outcome we wanted.
      if ((error as NodeJS.ErrnoException).code !== 'ESRCH') throw error;
    }
  }
}

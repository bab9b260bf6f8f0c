import { randomBytes } from 'node:crypto';
import { access, constants, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { basename, dirname, join } from 'node:path';
import { SandboxProviderError, parseSandboxSpec, workerBundleMissing } from '../sandbox-errors';
import {
  DEFAULT_GRACE_MS,
  PROVIDER_ENV,
  type SandboxProvider,
  type SandboxSpec,
  type SandboxStatus,
  type SpawnedSandbox,
  type TerminateOptions,
  type TerminateResult,
} from '../sandbox-provider';
import { gitClone } from './git-clone';
import { killLeftovers, LocalHandles, stopAdopted } from './local-handles';
import { LocalWorker } from './local-worker';
import { SANDBOX_MARK_VARIABLE } from './marked-processes';

export interface LocalProcessProviderOptions {
  /** Absolute path of the bundled worker (e.g. dist/worker/worker.js). Checked at every spawn. */
  workerScript: string;
  /**
   * Env every worker starts from, before the spec's env (typically PATH, HOME, LANG taken from the
   * relay's own parsed config). Required because libs never read `process.env` (STYLE rule 5).
   */
  baseEnv: Record<string, string | undefined>;
  /** The node binary that runs the worker. Default: the relay's own (`process.execPath`). */
  nodePath?: string;
  /** Extra node flags, e.g. `--enable-source-maps`. */
  nodeArgs?: string[];
  /** Parent of the per-sandbox workspaces. Default: the OS temp dir. */
  workspaceRoot?: string;
  /** Keep workspaces after terminate, for forensics. Default false. */
  keepWorkspaces?: boolean;
  /** Tail of worker output kept for `logs`. Default 1 MiB. */
  logLimitBytes?: number;
  /** Default `git` (looked up on `baseEnv.PATH`). */
  gitPath?: string;
  /** Default 120 s. */
  cloneTimeoutMs?: number;
  /** How many terminated sandboxes keep their status and logs in memory. Default 20. */
  retainTerminated?: number;
}

interface LocalSandbox {
  worker: LocalWorker;
  workspaceDir: string;
  terminated: boolean;
}

const LOCAL_ID_PREFIX = 'local-';

/**
 * Runs each worker as a child process of this relay in a fresh temp workspace: the embedded
 * default, so the whole system runs without a cloud account. Workers, their output and status live
 * in memory; each worker's handle (pid = process group, start time, workspace, mark) is also written under
 * the workspace root, so a relay restarted on the same root adopts its predecessor's live workers:
 * `status` sees them `running` and `terminate` stops them (their output is gone with the old process).
 */
export class LocalProcessProvider implements SandboxProvider {
  readonly kind = 'local' as const;
  private readonly sandboxes = new Map<string, LocalSandbox>();
  private readonly settings: Required<Omit<LocalProcessProviderOptions, 'baseEnv'>> & {
    baseEnv: Record<string, string>;
  };
  private readonly handles: LocalHandles;

  constructor(options: LocalProcessProviderOptions) {
    this.settings = {
      workerScript: options.workerScript,
      baseEnv: definedOnly(options.baseEnv),
      nodePath: options.nodePath ?? process.execPath,
      nodeArgs: options.nodeArgs ?? [],
      workspaceRoot: options.workspaceRoot ?? tmpdir(),
      keepWorkspaces: options.keepWorkspaces ?? false,
      logLimitBytes: options.logLimitBytes ?? 1024 * 1024,
      gitPath: options.gitPath ?? 'git',
      cloneTimeoutMs: options.cloneTimeoutMs ?? 120_000,
      retainTerminated: options.retainTerminated ?? 20,
    };
    this.handles = new LocalHandles(this.settings.workspaceRoot);
  }

  async spawn(input: SandboxSpec): Promise<SpawnedSandbox> {
    const spec = parseSandboxSpec(input, 'local');
    await this.assertWorkerScript();
    const sandboxId = spec.sandboxId ?? `${LOCAL_ID_PREFIX}${randomBytes(8).toString('hex')}`;
    const workspaceDir = await mkdtemp(join(this.settings.workspaceRoot, `sandbox-relay-${sandboxId}-`));
    try {
      if (spec.repository) {
        await gitClone({
          repository: spec.repository,
          destination: workspaceDir,
          env: this.settings.baseEnv,
          gitPath: this.settings.gitPath,
          timeoutMs: this.settings.cloneTimeoutMs,
          sandboxId,
        });
      }
      const worker = await this.startWorker(spec, sandboxId, workspaceDir);
      this.sandboxes.set(sandboxId, { worker, workspaceDir, terminated: false });
      // Best effort: without its handle the worker runs as before, it just cannot be adopted after a restart.
      if (worker.pid !== undefined) {
        await this.handles
          .write(sandboxId, worker.pid, workspaceDir, worker.mark)
          .catch((error: unknown) =>
            worker.output.write(`[sandbox-relay] could not record the worker's handle: ${(error as Error).message}\n`),
          );
      }
      return { sandboxId, provider: 'local', workspaceDir, externalId: String(worker.pid) };
    } catch (error) {
      await rm(workspaceDir, { recursive: true, force: true });
      throw error;
    }
  }

  async terminate(sandboxId: string, options: TerminateOptions = {}): Promise<TerminateResult> {
    const sandbox = this.sandboxes.get(sandboxId);
    if (!sandbox) return this.terminateAdopted(sandboxId, options);
    const result = await sandbox.worker.stop(options.graceMs ?? DEFAULT_GRACE_MS);
    await this.handles.remove(sandboxId);
    if (!sandbox.terminated) {
      sandbox.terminated = true;
      if (!this.settings.keepWorkspaces) await rm(sandbox.workspaceDir, { recursive: true, force: true });
      this.forgetOldTerminated();
    }
    return result;
  }

  async status(sandboxId: string): Promise<SandboxStatus> {
    const sandbox = this.sandboxes.get(sandboxId);
    if (sandbox) return sandbox.worker.status;
    return (await this.handles.live(sandboxId)) ? 'running' : 'unknown';
  }

  async logs(sandboxId: string): Promise<string> {
    const sandbox = this.sandboxes.get(sandboxId);
    if (!sandbox) {
      throw new SandboxProviderError({
        code: 'not_found',
        message: `no local sandbox ${sandboxId}`,
        provider: 'local',
        operation: 'logs',
        retryable: false,
        sandboxId,
      });
    }
    return sandbox.worker.output.toString();
  }

  /** For the composition root's shutdown: stops every worker still running (in parallel). */
  async terminateAll(options: TerminateOptions = {}): Promise<void> {
    const live = [...this.sandboxes.entries()].filter(([, sandbox]) => !sandbox.terminated).map(([id]) => id);
    await Promise.allSettled(live.map((id) => this.terminate(id, options)));
  }

  /** A worker spawned by a predecessor on the same workspace root (its handle on disk), or nothing. */
  private async terminateAdopted(sandboxId: string, options: TerminateOptions): Promise<TerminateResult> {
    const recorded = await this.handles.read(sandboxId);
    const handle = await this.handles.live(sandboxId);
    await this.handles.remove(sandboxId);
    if (!handle) {
      // The worker is gone, but commands it left running in groups of their own may not be.
      if (recorded) killLeftovers(recorded);
      return { forced: false, alreadyGone: true };
    }
    const { forced } = await stopAdopted(handle, options.graceMs ?? DEFAULT_GRACE_MS);
    // Only a workspace this provider would have made (a handle file names it; never trust it further).
    const ours =
      dirname(handle.workspaceDir) === this.settings.workspaceRoot &&
      basename(handle.workspaceDir).startsWith('sandbox-relay-');
    if (!this.settings.keepWorkspaces && ours) await rm(handle.workspaceDir, { recursive: true, force: true });
    return { forced, alreadyGone: false };
  }

  private async assertWorkerScript(): Promise<void> {
    try {
      await access(this.settings.workerScript, constants.R_OK);
    } catch (error) {
      throw workerBundleMissing(this.settings.workerScript, 'local', error);
    }
  }

  private async startWorker(spec: SandboxSpec, sandboxId: string, workspaceDir: string): Promise<LocalWorker> {
    const mark = randomBytes(16).toString('hex');
    const env = {
      ...this.settings.baseEnv,
      ...spec.env,
      [PROVIDER_ENV.sandboxId]: sandboxId,
      [PROVIDER_ENV.taskId]: spec.taskId,
      [PROVIDER_ENV.workspaceDir]: workspaceDir,
      [SANDBOX_MARK_VARIABLE]: mark,
    };
    const args = [...this.settings.nodeArgs, this.settings.workerScript];
    try {
      return await LocalWorker.start({
        nodePath: this.settings.nodePath,
        args,
        cwd: workspaceDir,
        env,
        logLimitBytes: this.settings.logLimitBytes,
        mark,
      });
    } catch (error) {
      const message = `could not start ${this.settings.nodePath}: ${(error as Error).message}`;
      throw new SandboxProviderError({
        code: 'worker_start_failed',
        message,
        provider: 'local',
        operation: 'spawn',
        retryable: false,
        sandboxId,
        cause: error,
      });
    }
  }

  /** Bounds memory: each terminated sandbox keeps up to `logLimitBytes` of output for forensics. */
  private forgetOldTerminated(): void {
    const terminated = [...this.sandboxes.entries()].filter(([, sandbox]) => sandbox.terminated);
    const excess = terminated.length - this.settings.retainTerminated;
    for (const [id] of terminated.slice(0, Math.max(0, excess))) this.sandboxes.delete(id);
  }
}

function definedOnly(env: Record<string, string | undefined>): Record<string, string> {
  return Object.fromEntries(Object.entries(env).filter((entry): entry is [string, string] => entry[1] !== undefined));
}

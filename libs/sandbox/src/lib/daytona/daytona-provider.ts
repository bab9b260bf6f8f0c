import { randomBytes } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { setTimeout as sleep } from 'node:timers/promises';
import { posix } from 'node:path';
import {
  Daytona,
  type CreateSandboxFromImageParams,
  type CreateSandboxFromSnapshotParams,
  type Sandbox,
} from '@daytonaio/sdk';
import { OutputRing } from '../output-ring';
import { SandboxProviderError, parseSandboxSpec, workerBundleMissing } from '../sandbox-errors';
import {
  DEFAULT_GRACE_MS,
  PROVIDER_ENV,
  type SandboxProvider,
  type SandboxResources,
  type SandboxSpec,
  type SandboxStatus,
  type SpawnedSandbox,
  type TerminateOptions,
  type TerminateResult,
} from '../sandbox-provider';
import { isDaytonaNotFound, isDaytonaStateChangeInProgress, toSandboxProviderError } from './daytona-errors';
import {
  AsyncCommand,
  CommandLogs,
  CreatedSandbox,
  WorkDir,
  WorkerSession,
  validateUpstream,
} from './daytona-responses';
import { statusFromDaytonaState } from './daytona-state';

export interface DaytonaProviderOptions {
  apiKey: string;
  /** e.g. https://app.daytona.io/api */
  apiUrl: string;
  /** Daytona region (`us`, `eu`); the SDK falls back to DAYTONA_TARGET, then the org default. */
  target?: string;
  /** Snapshot to create from. Default `ai-agent-dev-light`. Sizing comes from the snapshot. */
  snapshot?: string;
  /** Create from this image instead of a snapshot; only then are `resources` sent (Daytona's rule). */
  image?: string;
  /** Local path of the bundled worker (dist/worker/worker.js); read at each spawn. */
  workerBundlePath: string;
  /** Image mode only. Default 2 CPU / 4 GiB / 8 GiB (REFERENCE.md). */
  resources?: Partial<SandboxResources>;
  /** Default 30 (Daytona's own default is 15). */
  autoStopMinutes?: number;
  /** Create + start deadline. Default 120 s. */
  startTimeoutSeconds?: number;
  /** Per-HTTP-request deadline. Default 60 s (the SDK's own default is 24 h). */
  requestTimeoutMs?: number;
  /**
   * Let the SDK stream state changes over its WebSocket instead of polling. Default false: we only
   * wait for state inside spawn and terminate, where polling costs a few requests, while the event
   * connection is one more long-lived socket to keep healthy and to close (TOOLCHAIN.md §4).
   */
  eventStream?: boolean;
  /** Repository checkout dir, relative to the sandbox work dir. Default `workspace`. */
  repositoryDir?: string;
  /** Command that runs the worker inside the sandbox. Default `node`. */
  nodeCommand?: string;
  /** Tail of the worker log returned by `logs`. Default 1 MiB. */
  logLimitBytes?: number;
  /**
   * How long terminate keeps retrying a delete Daytona refuses with 409 "state change in progress"
   * (a stop it accepted, or a start, still under way). Default 30 s.
   */
  stateChangeWaitMs?: number;
}

export const DEFAULT_DAYTONA_SNAPSHOT = 'ai-agent-dev-light';
export const DEFAULT_DAYTONA_RESOURCES: SandboxResources = { cpu: 2, memoryGiB: 4, diskGiB: 8 };
export const DAYTONA_LABELS = { relay: 'sandbox-relay', taskId: 'task-id', agentId: 'agent-id' } as const;
/** One fixed session per sandbox, so `logs` finds the worker again after a relay restart. */
export const WORKER_SESSION_ID = 'sandbox-relay-worker';
const WORKER_FILE = 'sandbox-relay-worker.js';
const UPLOAD_TIMEOUT_SECONDS = 120;
/** Between deletes refused because a state change is under way. */
const STATE_CHANGE_POLL_MS = 250;

/** Runs each worker in its own Daytona sandbox through @daytonaio/sdk (the only place that imports it). */
export class DaytonaProvider implements SandboxProvider {
  readonly kind = 'daytona' as const;
  private readonly client: Daytona;

  constructor(private readonly options: DaytonaProviderOptions) {
    if (options.image && options.snapshot)
      throw new Error('DaytonaProvider: give either `image` or `snapshot`, not both');
    this.client = new Daytona({
      apiKey: options.apiKey,
      apiUrl: options.apiUrl,
      target: options.target,
      useDeprecatedPolling: !(options.eventStream ?? false),
      requestTimeoutMs: options.requestTimeoutMs ?? 60_000,
    });
  }

  async spawn(input: SandboxSpec): Promise<SpawnedSandbox> {
    const spec = parseSandboxSpec(input, 'daytona');
    if (spec.resources && !this.options.image) {
      throw new SandboxProviderError({
        code: 'invalid_spec',
        message:
          'sandboxes created from a snapshot take its sizing; Daytona rejects explicit resources (configure `image` to size them)',
        provider: 'daytona',
        operation: 'spawn',
        retryable: false,
      });
    }
    // Read before creating anything billable: a missing bundle is a deployment bug, not Daytona's.
    const bundle = await this.readWorkerBundle();
    // We name the sandbox ourselves so SANDBOX_ID can be in its env from the first second.
    const sandboxId = spec.sandboxId ?? `relay-${randomBytes(8).toString('hex')}`;
    let created = false;
    try {
      const sandbox = await this.client.create(this.createParams(spec, sandboxId), {
        timeout: this.options.startTimeoutSeconds ?? 120,
      });
      created = true;
      validateUpstream(CreatedSandbox, { id: sandbox.id, state: sandbox.state }, 'create', 'spawn', sandboxId);
      const workDir = validateUpstream(WorkDir, await sandbox.getWorkDir(), 'GET /work-dir', 'spawn', sandboxId);
      const workspaceDir = await this.checkout(sandbox, spec, workDir, sandboxId);
      await this.startWorker(sandbox, bundle, workDir, workspaceDir, sandboxId);
      return { sandboxId, provider: 'daytona', workspaceDir, externalId: sandbox.id };
    } catch (error) {
      const failure = toSandboxProviderError(error, 'spawn', sandboxId);
      // A create the API rejected (4xx) made nothing; anything later may have left a sandbox behind.
      const rejected = !created && failure.upstreamStatus !== undefined && failure.upstreamStatus < 500;
      if (!rejected) await this.deleteQuietly(sandboxId);
      throw failure;
    }
  }

  async terminate(sandboxId: string, options: TerminateOptions = {}): Promise<TerminateResult> {
    const sandbox = await this.find(sandboxId, 'terminate');
    if (!sandbox || sandbox.state === 'destroyed' || sandbox.state === 'destroying')
      return { forced: false, alreadyGone: true };
    const stopped =
      sandbox.state === 'stopped' || (await this.stopWithin(sandbox, options.graceMs ?? DEFAULT_GRACE_MS));
    // Deleting a sandbox that did not stop in time is the force: Daytona kills it regardless of state.
    await this.deleteOnceSettled(sandbox, sandboxId);
    return { forced: !stopped, alreadyGone: false };
  }

  async status(sandboxId: string): Promise<SandboxStatus> {
    const sandbox = await this.find(sandboxId, 'status');
    return sandbox ? statusFromDaytonaState(sandbox.state) : 'unknown';
  }

  async logs(sandboxId: string): Promise<string> {
    const sandbox = await this.find(sandboxId, 'logs');
    if (!sandbox) {
      throw new SandboxProviderError({
        code: 'not_found',
        message: `no daytona sandbox ${sandboxId}`,
        provider: 'daytona',
        operation: 'logs',
        retryable: false,
        sandboxId,
      });
    }
    try {
      const session = validateUpstream(
        WorkerSession,
        await sandbox.process.getSession(WORKER_SESSION_ID),
        'GET session',
        'logs',
        sandboxId,
      );
      const worker = session.commands?.at(-1);
      if (!worker) return '';
      const logs = validateUpstream(
        CommandLogs,
        await sandbox.process.getSessionCommandLogs(WORKER_SESSION_ID, worker.id),
        'GET command logs',
        'logs',
        sandboxId,
      );
      const tail = new OutputRing(this.options.logLimitBytes ?? 1024 * 1024);
      tail.write(logs.output);
      return tail.toString();
    } catch (error) {
      throw toSandboxProviderError(error, 'logs', sandboxId);
    }
  }

  /** Closes the SDK client (its event socket, when enabled). Sandboxes keep running. */
  async close(): Promise<void> {
    await this.client[Symbol.asyncDispose]();
  }

  private createParams(
    spec: SandboxSpec,
    sandboxId: string,
  ): CreateSandboxFromSnapshotParams | CreateSandboxFromImageParams {
    const common = {
      name: sandboxId,
      language: 'javascript',
      envVars: { ...spec.env, [PROVIDER_ENV.sandboxId]: sandboxId, [PROVIDER_ENV.taskId]: spec.taskId },
      labels: {
        ...spec.labels,
        [DAYTONA_LABELS.relay]: 'worker',
        [DAYTONA_LABELS.taskId]: spec.taskId,
        [DAYTONA_LABELS.agentId]: spec.agentId,
      },
      autoStopInterval: spec.autoStopMinutes ?? this.options.autoStopMinutes ?? 30,
    };
    if (!this.options.image) return { ...common, snapshot: this.options.snapshot ?? DEFAULT_DAYTONA_SNAPSHOT };
    const size = { ...DEFAULT_DAYTONA_RESOURCES, ...this.options.resources, ...spec.resources };
    return {
      ...common,
      image: this.options.image,
      resources: { cpu: size.cpu, memory: size.memoryGiB, disk: size.diskGiB },
    };
  }

  /** Clones the repository (when given) and returns the worker's working directory. */
  private async checkout(sandbox: Sandbox, spec: SandboxSpec, workDir: string, sandboxId: string): Promise<string> {
    if (!spec.repository) return workDir;
    const repositoryDir = posix.join(workDir, this.options.repositoryDir ?? 'workspace');
    try {
      await sandbox.git.clone(spec.repository.url, repositoryDir, spec.repository.branch);
    } catch (error) {
      // The daemon's 404/401 here are about the repository, not the sandbox: say so, keep retryability.
      const upstream = toSandboxProviderError(error, 'spawn', sandboxId);
      throw new SandboxProviderError({
        code: 'repository_clone_failed',
        message: `git clone of ${spec.repository.url} failed: ${upstream.message}`,
        provider: 'daytona',
        operation: 'spawn',
        retryable: upstream.retryable,
        upstreamStatus: upstream.upstreamStatus,
        sandboxId,
        cause: error,
      });
    }
    return repositoryDir;
  }

  private async startWorker(
    sandbox: Sandbox,
    bundle: Buffer,
    workDir: string,
    workspaceDir: string,
    sandboxId: string,
  ): Promise<void> {
    const workerPath = posix.join(workDir, WORKER_FILE);
    await sandbox.fs.uploadFile(bundle, workerPath, UPLOAD_TIMEOUT_SECONDS);
    await sandbox.process.createSession(WORKER_SESSION_ID);
    // WORKSPACE_DIR goes on the command line: the work dir is only known once the sandbox runs.
    const node = this.options.nodeCommand ?? 'node';
    const command = `cd ${shellQuote(workspaceDir)} && ${PROVIDER_ENV.workspaceDir}=${shellQuote(workspaceDir)} ${node} ${shellQuote(workerPath)}`;
    const started = await sandbox.process.executeSessionCommand(WORKER_SESSION_ID, { command, runAsync: true });
    validateUpstream(AsyncCommand, started, 'session exec', 'spawn', sandboxId);
  }

  /** Graceful stop bounded by `graceMs`; false when it failed or did not finish in time. */
  private async stopWithin(sandbox: Sandbox, graceMs: number): Promise<boolean> {
    if (graceMs <= 0) return false;
    const stop = sandbox.stop(graceMs / 1000).then(
      () => true,
      () => false,
    );
    let timer: NodeJS.Timeout | undefined;
    // The SDK bounds each step by graceMs, not the sum (POST, refresh, wait): enforce the total here.
    const deadline = new Promise<false>((resolve) => {
      timer = setTimeout(() => resolve(false), graceMs);
    });
    try {
      return await Promise.race([stop, deadline]);
    } finally {
      clearTimeout(timer);
    }
  }

  /**
   * Deletes, retrying while Daytona answers 409 "state change in progress": a delete is refused
   * while the stop we just asked for is still running, which is exactly when a stop is too slow.
   * A 409 that outlasts the wait is retryable (the sandbox still runs and bills); not a refusal.
   */
  private async deleteOnceSettled(sandbox: Sandbox, sandboxId: string): Promise<void> {
    const deadline = Date.now() + (this.options.stateChangeWaitMs ?? 30_000);
    for (;;) {
      try {
        await sandbox.delete();
        return;
      } catch (error) {
        if (isDaytonaNotFound(error)) return;
        const failure = toSandboxProviderError(error, 'terminate', sandboxId);
        if (!isDaytonaStateChangeInProgress(error)) throw failure;
        if (Date.now() + STATE_CHANGE_POLL_MS > deadline) {
          const { message, upstreamStatus } = failure;
          throw new SandboxProviderError({
            code: 'upstream_unavailable',
            message,
            provider: 'daytona',
            operation: 'terminate',
            retryable: true,
            upstreamStatus,
            sandboxId,
            cause: error,
          });
        }
      }
      await sleep(STATE_CHANGE_POLL_MS);
    }
  }

  /** The sandbox, or undefined when Daytona does not know it (404). */
  private async find(sandboxId: string, operation: 'terminate' | 'status' | 'logs'): Promise<Sandbox | undefined> {
    try {
      return await this.client.get(sandboxId);
    } catch (error) {
      if (isDaytonaNotFound(error)) return undefined;
      throw toSandboxProviderError(error, operation, sandboxId);
    }
  }

  private async deleteQuietly(sandboxId: string): Promise<void> {
    try {
      await (await this.client.get(sandboxId)).delete();
    } catch {
      // Best effort after a failed spawn; the auto-stop interval bounds the cost of a leak.
    }
  }

  private async readWorkerBundle(): Promise<Buffer> {
    try {
      return await readFile(this.options.workerBundlePath);
    } catch (error) {
      throw workerBundleMissing(this.options.workerBundlePath, 'daytona', error);
    }
  }
}

/** POSIX single-quoting: the only characters a single-quoted word cannot hold are single quotes. */
function shellQuote(word: string): string {
  return `'${word.replace(/'/g, `'\\''`)}'`;
}

import { z } from 'zod';

/**
 * The narrow door between the relay and wherever workers run (STYLE rule 21). The supervisor and
 * the standalone app depend on this interface only; the composition root picks Daytona or local.
 */
export interface SandboxProvider {
  /** Which implementation this is, for logs and metrics. */
  readonly kind: SandboxProviderKind;

  /**
   * Creates a sandbox for one task and starts the worker in it. The provider assigns the sandbox id
   * and hands it to the worker as `SANDBOX_ID`, with `TASK_ID` and `WORKSPACE_DIR` (overriding the
   * same names in `spec.env`, so a restart may reuse the previous env as it is).
   * @throws SandboxProviderError (`retryable` says whether spawning again may succeed)
   */
  spawn(spec: SandboxSpec): Promise<SpawnedSandbox>;

  /**
   * Stops the worker gracefully, waits at most `graceMs`, then forces it. Idempotent: an unknown or
   * already finished sandbox resolves with `alreadyGone: true`.
   * @throws SandboxProviderError when the upstream refuses or cannot be reached
   */
  terminate(sandboxId: string, options?: TerminateOptions): Promise<TerminateResult>;

  /** Where the sandbox is in its life; `unknown` for ids the provider does not know (any more). */
  status(sandboxId: string): Promise<SandboxStatus>;

  /**
   * The worker's combined stdout/stderr (bounded), for forensics after a failure.
   * @throws SandboxProviderError with code `not_found` for unknown ids
   */
  logs(sandboxId: string): Promise<string>;
}

export const SANDBOX_PROVIDER_KINDS = ['local', 'daytona'] as const;
export type SandboxProviderKind = (typeof SANDBOX_PROVIDER_KINDS)[number];

export const SANDBOX_STATUSES = ['starting', 'running', 'stopped', 'failed', 'unknown'] as const;
export type SandboxStatus = (typeof SANDBOX_STATUSES)[number];

/** Env var names a POSIX shell accepts; anything else would be silently dropped by some runtimes. */
const ENV_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;

/** Sizes follow REFERENCE.md ("Sandboxes (Daytona)"): whole CPUs and GiB. */
export const SandboxResources = z.object({
  cpu: z.number().int().positive(),
  memoryGiB: z.number().int().positive(),
  diskGiB: z.number().int().positive(),
});
export type SandboxResources = z.infer<typeof SandboxResources>;

export const SandboxRepository = z.object({
  /** Anything `git clone` accepts: https URL, ssh URL or (locally) a path. */
  url: z
    .string()
    .min(1)
    .refine((url) => !url.startsWith('-'), 'must not start with "-"'),
  branch: z
    .string()
    .min(1)
    .refine((branch) => !branch.startsWith('-'), 'must not start with "-"')
    .optional(),
});
export type SandboxRepository = z.infer<typeof SandboxRepository>;

/** What the caller asks for. Validated by every provider before anything is created. */
export const SandboxSpec = z.object({
  taskId: z.string().min(1).max(128),
  agentId: z.string().min(1).max(128),
  /** The worker's env (RELAY_URL, RELAY_TOKEN, TASK_PROMPT…). The provider adds PROVIDER_ENV. */
  env: z.record(z.string().regex(ENV_NAME, 'must be a valid env var name'), z.string()),
  repository: SandboxRepository.optional(),
  /** Partial overrides of the provider's defaults (2 CPU / 4 GiB / 8 GiB on Daytona). */
  resources: SandboxResources.partial().optional(),
  /** Extra labels; the provider's own labels (task, agent, `sandbox-relay`) win on conflict. */
  labels: z.record(z.string().min(1).max(63), z.string().max(63)).optional(),
  /** Idle minutes before the sandbox stops itself; 0 disables. Daytona only. */
  autoStopMinutes: z.number().int().min(0).optional(),
  /**
   * A fresh id chosen by the caller instead of a generated one, so it can issue the worker's relay
   * token (scoped to exactly this sandbox) before the sandbox exists.
   */
  sandboxId: z
    .string()
    .regex(/^[A-Za-z0-9._-]{1,128}$/, 'must match [A-Za-z0-9._-]{1,128}')
    .optional(),
});
export type SandboxSpec = z.infer<typeof SandboxSpec>;

/** What spawn hands back. `sandboxId` is the id the relay uses everywhere (URLs, events, tasks). */
export interface SpawnedSandbox {
  sandboxId: string;
  provider: SandboxProviderKind;
  /** The worker's working directory inside the sandbox (the cloned repository when one was given). */
  workspaceDir: string;
  /** The provider's own handle (Daytona's sandbox UUID, the local child's pid), for operators. */
  externalId: string;
}

export interface TerminateOptions {
  /** How long the worker gets after the graceful stop before it is forced. Default 10 s. */
  graceMs?: number;
}

export interface TerminateResult {
  /** True when the graceful stop did not finish within `graceMs` and the sandbox was forced. */
  forced: boolean;
  /** True when there was nothing left to stop (unknown id, or the worker had already exited). */
  alreadyGone: boolean;
}

export const DEFAULT_GRACE_MS = 10_000;

/** Env vars the provider always sets itself (over `spec.env`): the worker reads them (libs/worker env). */
export const PROVIDER_ENV = {
  sandboxId: 'SANDBOX_ID',
  /** From `spec.taskId`, so the worker and the labels can never disagree about the task. */
  taskId: 'TASK_ID',
  workspaceDir: 'WORKSPACE_DIR',
} as const;

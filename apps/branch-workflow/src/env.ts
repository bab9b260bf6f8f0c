import { AuthEnv, refineAuthEnv } from '@sandbox-relay/auth';
import { BaseEnv, OmoiosBridgeEnv, parseEnv } from '@sandbox-relay/service-kit';
import { z } from 'zod';
import type { AnthropicBranchNamerOptions } from './anthropic-namer';

const Repository = z.string().regex(/^[A-Za-z0-9][A-Za-z0-9-]{0,38}\/[A-Za-z0-9._-]{1,100}$/, 'must be owner/name');
const HttpUrl = z.string().refine((value) => {
  try {
    return ['http:', 'https:'].includes(new URL(value).protocol);
  } catch {
    return false;
  }
}, 'must be an http(s) URL');

/** The variables, without the cross-field rule (the standalone launcher extends its env with these). */
export const BranchWorkflowEnvFields = BaseEnv.extend(AuthEnv.shape)
  .extend(OmoiosBridgeEnv.shape)
  .extend({
    PORT: z.coerce.number().int().min(0).max(65535).default(8086),
    QUEUE_PREFIX: z
      .string()
      .regex(/^[A-Za-z0-9_-]{1,50}$/)
      .default('relay'),
    /**
     * A GitHub App installation token or a personal access token with contents + pull requests write.
     * Without it (and GITHUB_REPOSITORY) the service still runs and answers 503 `github_not_configured`.
     */
    GITHUB_TOKEN: z.string().min(1).optional(),
    /** The repository tickets' branches live in, `owner/name`. */
    GITHUB_REPOSITORY: Repository.optional(),
    /** `https://api.github.com`, or `https://<host>/api/v3` for GitHub Enterprise Server. */
    GITHUB_API_URL: HttpUrl.default('https://api.github.com'),
    /** How pull requests are merged when the request does not say (REFERENCE.md: squash). */
    GITHUB_MERGE_METHOD: z.enum(['squash', 'merge', 'rebase']).default('squash'),
    /** Retries of one GitHub request after a rate limit, each after the wait GitHub names. */
    GITHUB_RATE_LIMIT_RETRIES: z.coerce.number().int().min(0).max(10).default(3),
    /** Least time between two GitHub writes (GitHub's guidance against secondary rate limits: 1 s). */
    GITHUB_WRITE_INTERVAL_MS: z.coerce.number().int().min(0).default(1_000),
    /** Least time between writes that notify people (opening, merging a pull request; GitHub's guidance: 3 s). */
    GITHUB_NOTIFICATION_INTERVAL_MS: z.coerce.number().int().min(0).default(3_000),
    /** Reads of a pull request while GitHub still computes its mergeability, and the pause between them. */
    MERGEABLE_POLL_ATTEMPTS: z.coerce.number().int().min(1).max(60).default(10),
    MERGEABLE_POLL_INTERVAL_MS: z.coerce.number().int().min(0).default(1_000),
    /**
     * How a new branch's slug is chosen: `title` (deterministic, from the ticket's title) or `anthropic`
     * (a Claude model suggests one from the title and description; on any failure the title's is used).
     */
    BRANCH_NAMER: z.enum(['title', 'anthropic']).default('title'),
    /** Needed by BRANCH_NAMER=anthropic. */
    ANTHROPIC_API_KEY: z.string().min(1).optional(),
    /** The Messages API origin; default Anthropic's. */
    ANTHROPIC_BASE_URL: HttpUrl.optional(),
    BRANCH_NAMER_MODEL: z.string().min(1).default('claude-haiku-4-5'),
    /** Per request to the model; a branch waits for a suggestion at most about this long per attempt. */
    BRANCH_NAMER_TIMEOUT_MS: z.coerce.number().int().min(100).max(60_000).default(5_000),
    BRANCH_NAMER_RETRIES: z.coerce.number().int().min(0).max(5).default(1),
    /** Parallel `branch-workflow` jobs per replica. */
    BRANCH_WORKFLOW_CONCURRENCY: z.coerce.number().int().min(1).max(50).default(2),
    DB_POOL_SIZE: z.coerce.number().int().min(2).max(100).default(4),
  });

/** GitHub is configured by both variables or by neither; one alone is a mistake worth stopping for. */
export function requireGitHubPair(
  env: { GITHUB_TOKEN?: string; GITHUB_REPOSITORY?: string },
  ctx: z.RefinementCtx,
): void {
  if (Boolean(env.GITHUB_TOKEN) !== Boolean(env.GITHUB_REPOSITORY)) {
    const missing = env.GITHUB_TOKEN ? 'GITHUB_REPOSITORY' : 'GITHUB_TOKEN';
    ctx.addIssue({
      code: 'custom',
      path: [missing],
      message: 'GITHUB_TOKEN and GITHUB_REPOSITORY go together: set both, or neither to run without GitHub',
    });
  }
}

/** The AI namer is asked for by BRANCH_NAMER and needs its key; a key alone changes nothing. */
export function requireNamerKey(
  env: { BRANCH_NAMER: 'title' | 'anthropic'; ANTHROPIC_API_KEY?: string },
  ctx: z.RefinementCtx,
): void {
  if (env.BRANCH_NAMER === 'anthropic' && !env.ANTHROPIC_API_KEY) {
    ctx.addIssue({
      code: 'custom',
      path: ['ANTHROPIC_API_KEY'],
      message: 'BRANCH_NAMER=anthropic needs ANTHROPIC_API_KEY',
    });
  }
}

/** The rules between the branch workflow's variables (the standalone launcher applies them to its env too). */
export function refineBranchWorkflowEnv(env: z.infer<typeof BranchWorkflowEnvFields>, ctx: z.RefinementCtx): void {
  requireGitHubPair(env, ctx);
  requireNamerKey(env, ctx);
}

export const BranchWorkflowEnv =
  BranchWorkflowEnvFields.superRefine(refineBranchWorkflowEnv).superRefine(refineAuthEnv);
export type BranchWorkflowEnv = z.infer<typeof BranchWorkflowEnv>;

export function parseBranchWorkflowEnv(source: Record<string, string | undefined> = process.env): BranchWorkflowEnv {
  return parseEnv(BranchWorkflowEnv, source);
}

export interface BranchWorkflowConfig {
  queuePrefix: string;
  concurrency: number;
  mergeMethod: 'squash' | 'merge' | 'rebase';
  mergeablePoll: { attempts: number; intervalMs: number };
  /** The AI branch namer's settings; absent with BRANCH_NAMER=title. */
  namer?: AnthropicBranchNamerOptions;
  /** Absent when GitHub is not configured. */
  github?: {
    token: string;
    repository: string;
    apiUrl: string;
    rateLimitRetries: number;
    writeIntervalMs: number;
    notificationIntervalMs: number;
  };
}

/** The branch workflow's tunables, from its validated env (the standalone passes its own env through it too). */
export function branchWorkflowConfig(env: Omit<BranchWorkflowEnv, keyof BaseEnv>): BranchWorkflowConfig {
  return {
    queuePrefix: env.QUEUE_PREFIX,
    concurrency: env.BRANCH_WORKFLOW_CONCURRENCY,
    mergeMethod: env.GITHUB_MERGE_METHOD,
    mergeablePoll: { attempts: env.MERGEABLE_POLL_ATTEMPTS, intervalMs: env.MERGEABLE_POLL_INTERVAL_MS },
    namer:
      env.BRANCH_NAMER === 'anthropic' && env.ANTHROPIC_API_KEY
        ? {
            apiKey: env.ANTHROPIC_API_KEY,
            ...(env.ANTHROPIC_BASE_URL ? { baseUrl: env.ANTHROPIC_BASE_URL } : {}),
            model: env.BRANCH_NAMER_MODEL,
            timeoutMs: env.BRANCH_NAMER_TIMEOUT_MS,
            maxRetries: env.BRANCH_NAMER_RETRIES,
          }
        : undefined,
    github:
      env.GITHUB_TOKEN && env.GITHUB_REPOSITORY
        ? {
            token: env.GITHUB_TOKEN,
            repository: env.GITHUB_REPOSITORY,
            apiUrl: env.GITHUB_API_URL,
            rateLimitRetries: env.GITHUB_RATE_LIMIT_RETRIES,
            writeIntervalMs: env.GITHUB_WRITE_INTERVAL_MS,
            notificationIntervalMs: env.GITHUB_NOTIFICATION_INTERVAL_MS,
          }
        : undefined,
  };
}

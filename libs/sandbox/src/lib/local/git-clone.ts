import { spawn } from 'node:child_process';
import { SandboxProviderError } from '../sandbox-errors';
import type { SandboxRepository } from '../sandbox-provider';
import { OutputRing } from '../output-ring';

export interface GitCloneOptions {
  repository: SandboxRepository;
  /** An existing, empty directory: git clones into it. */
  destination: string;
  env: Record<string, string>;
  gitPath: string;
  timeoutMs: number;
  sandboxId: string;
}

interface ProcessOutcome {
  code: number | null;
  signal: NodeJS.Signals | null;
  output: string;
  timedOut: boolean;
  spawnError?: Error;
}

/** Runs a short-lived command to completion with a hard deadline (SIGKILL once it passes). */
function runToCompletion(
  command: string,
  args: string[],
  env: Record<string, string>,
  timeoutMs: number,
): Promise<ProcessOutcome> {
  return new Promise((resolve) => {
    const output = new OutputRing(16 * 1024);
    const child = spawn(command, args, { env, stdio: ['ignore', 'pipe', 'pipe'] });
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      child.kill('SIGKILL');
    }, timeoutMs);
    child.stdout.on('data', (chunk: Buffer) => output.write(chunk));
    child.stderr.on('data', (chunk: Buffer) => output.write(chunk));
    child.once('error', (spawnError) => {
      clearTimeout(timer);
      resolve({ code: null, signal: null, output: output.toString(), timedOut, spawnError });
    });
    child.once('close', (code, signal) => {
      clearTimeout(timer);
      resolve({ code, signal, output: output.toString(), timedOut });
    });
  });
}

/** `git clone` with the real git binary. Never prompts: a private repo without credentials fails fast. */
export async function gitClone(options: GitCloneOptions): Promise<void> {
  const { repository, destination, gitPath, timeoutMs, sandboxId } = options;
  const branchArgs = repository.branch ? ['--branch', repository.branch] : [];
  // `--` keeps a hostile URL from being read as an option; GIT_TERMINAL_PROMPT=0 stops a credential
  // prompt from hanging the spawn until the deadline.
  const args = ['clone', '--quiet', ...branchArgs, '--', repository.url, destination];
  const env = { ...options.env, GIT_TERMINAL_PROMPT: '0' };
  const outcome = await runToCompletion(gitPath, args, env, timeoutMs);
  if (outcome.code === 0) return;
  const base = { provider: 'local' as const, operation: 'spawn' as const, sandboxId };
  if (outcome.timedOut) {
    throw new SandboxProviderError({
      ...base,
      code: 'timeout',
      retryable: true,
      message: `git clone of ${repository.url} took longer than ${timeoutMs} ms`,
    });
  }
  const reason = outcome.spawnError
    ? outcome.spawnError.message
    : `exit ${outcome.code ?? outcome.signal}: ${outcome.output.trim()}`;
  throw new SandboxProviderError({
    ...base,
    code: 'repository_clone_failed',
    retryable: false,
    message: `git clone of ${repository.url} failed (${reason})`,
    cause: outcome.spawnError,
  });
}

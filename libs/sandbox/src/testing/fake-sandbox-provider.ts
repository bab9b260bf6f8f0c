import { SandboxProviderError, parseSandboxSpec } from '../lib/sandbox-errors';
import type {
  SandboxProvider,
  SandboxSpec,
  SandboxStatus,
  SpawnedSandbox,
  TerminateOptions,
  TerminateResult,
} from '../lib/sandbox-provider';

interface FakeEntry {
  spec: SandboxSpec;
  status: SandboxStatus;
  logs: string;
}

/**
 * In-memory SandboxProvider for specs of the provider's callers (supervisor, standalone): no
 * processes, no network. Records spawns and terminations; tests steer status, logs and failures.
 */
export class FakeSandboxProvider implements SandboxProvider {
  readonly kind = 'local' as const;
  readonly spawned: Array<{ sandboxId: string; spec: SandboxSpec }> = [];
  readonly terminated: Array<{ sandboxId: string; graceMs?: number }> = [];
  private readonly entries = new Map<string, FakeEntry>();
  private readonly spawnFailures: SandboxProviderError[] = [];
  private counter = 0;

  /** @param idPrefix sandbox ids are `<idPrefix>-1`, `-2`, …; give each instance its own when ids must be unique across a shared database. */
  constructor(private readonly idPrefix = 'fake') {}

  async spawn(input: SandboxSpec): Promise<SpawnedSandbox> {
    const spec = parseSandboxSpec(input, 'local');
    const failure = this.spawnFailures.shift();
    if (failure) throw failure;
    const sandboxId = spec.sandboxId ?? `${this.idPrefix}-${++this.counter}`;
    this.entries.set(sandboxId, { spec, status: 'running', logs: '' });
    this.spawned.push({ sandboxId, spec });
    return { sandboxId, provider: 'local', workspaceDir: `/fake/${sandboxId}`, externalId: sandboxId };
  }

  async terminate(sandboxId: string, options: TerminateOptions = {}): Promise<TerminateResult> {
    this.terminated.push({ sandboxId, graceMs: options.graceMs });
    const entry = this.entries.get(sandboxId);
    if (!entry || entry.status === 'stopped') return { forced: false, alreadyGone: true };
    entry.status = 'stopped';
    return { forced: false, alreadyGone: false };
  }

  async status(sandboxId: string): Promise<SandboxStatus> {
    return this.entries.get(sandboxId)?.status ?? 'unknown';
  }

  async logs(sandboxId: string): Promise<string> {
    const entry = this.entries.get(sandboxId);
    if (!entry)
      throw new SandboxProviderError({
        code: 'not_found',
        message: `no fake sandbox ${sandboxId}`,
        provider: 'local',
        operation: 'logs',
        retryable: false,
        sandboxId,
      });
    return entry.logs;
  }

  /** The next spawn throws this (e.g. a retryable upstream failure). */
  failNextSpawn(error: SandboxProviderError): void {
    this.spawnFailures.push(error);
  }

  setStatus(sandboxId: string, status: SandboxStatus): void {
    const entry = this.entries.get(sandboxId);
    if (!entry) throw new Error(`no fake sandbox ${sandboxId}`);
    entry.status = status;
  }

  appendLogs(sandboxId: string, text: string): void {
    const entry = this.entries.get(sandboxId);
    if (!entry) throw new Error(`no fake sandbox ${sandboxId}`);
    entry.logs += text;
  }
}

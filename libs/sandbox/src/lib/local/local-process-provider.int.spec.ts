import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SANDBOX_ID_PATTERN } from '@sandbox-relay/contracts';
import { waitFor } from '@sandbox-relay/testing';
import { writeFakeWorkerScript, type FakeWorkerScriptOptions } from '../../testing/fake-worker-script';
import { SandboxProviderError } from '../sandbox-errors';
import type { SandboxSpec } from '../sandbox-provider';
import { LocalProcessProvider, type LocalProcessProviderOptions } from './local-process-provider';

describe('LocalProcessProvider (real child processes, real git)', () => {
  let dir: string;
  const providers: LocalProcessProvider[] = [];

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'local-provider-spec-'));
  });
  afterEach(async () => {
    await Promise.all(providers.splice(0).map((provider) => provider.terminateAll({ graceMs: 0 })));
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  async function provider(
    script: FakeWorkerScriptOptions = {},
    overrides: Partial<LocalProcessProviderOptions> = {},
  ): Promise<LocalProcessProvider> {
    const workerScript = await writeFakeWorkerScript(dir, script);
    const created = new LocalProcessProvider({
      workerScript,
      baseEnv: { PATH: process.env['PATH'] },
      workspaceRoot: dir,
      ...overrides,
    });
    providers.push(created);
    return created;
  }

  function spec(overrides: Partial<SandboxSpec> = {}): SandboxSpec {
    // A stale SANDBOX_ID (e.g. copied from the previous sandbox on restart) must be overridden.
    return {
      taskId: 'task-1',
      agentId: 'agent-1',
      env: { RELAY_URL: 'http://127.0.0.1:9999', SANDBOX_ID: 'stale' },
      ...overrides,
    };
  }

  async function workerEnv(subject: LocalProcessProvider, sandboxId: string): Promise<Record<string, string>> {
    const line = await waitFor(
      async () => (await subject.logs(sandboxId)).split('\n').find((text) => text.startsWith('ENV ')),
      'the ENV line',
    );
    return JSON.parse(line.slice('ENV '.length)) as Record<string, string>;
  }

  /** READY is the last stdout line; stderr travels through its own pipe, so wait for it too. */
  const ready = (subject: LocalProcessProvider, sandboxId: string) =>
    waitFor(async () => {
      const logs = await subject.logs(sandboxId);
      return logs.includes('READY') && logs.includes('STDERR hello from the worker');
    }, 'READY and the stderr line');

  async function expectProviderError(promise: Promise<unknown>): Promise<SandboxProviderError> {
    const error = await promise.then(
      () => undefined,
      (caught: unknown) => caught,
    );
    expect(error).toBeInstanceOf(SandboxProviderError);
    return error as SandboxProviderError;
  }

  it('spawns the worker in a fresh workspace with the spec env, SANDBOX_ID and WORKSPACE_DIR', async () => {
    const subject = await provider();
    const spawned = await subject.spawn(spec());

    expect(spawned.sandboxId).toMatch(/^local-[0-9a-f]{16}$/);
    expect(spawned.sandboxId).toMatch(SANDBOX_ID_PATTERN);
    expect(spawned).toMatchObject({ provider: 'local', externalId: expect.stringMatching(/^\d+$/) });
    expect(existsSync(spawned.workspaceDir)).toBe(true);
    await ready(subject, spawned.sandboxId);
    const env = await workerEnv(subject, spawned.sandboxId);
    expect(env).toMatchObject({
      RELAY_URL: 'http://127.0.0.1:9999',
      SANDBOX_ID: spawned.sandboxId,
      TASK_ID: 'task-1',
      WORKSPACE_DIR: spawned.workspaceDir,
      PATH: process.env['PATH'],
    });
    const logs = await subject.logs(spawned.sandboxId);
    expect(logs).toContain(`CWD ${spawned.workspaceDir}`);
    expect(logs).toContain('STDERR hello from the worker');
    expect(await subject.status(spawned.sandboxId)).toBe('running');
  });

  it('terminates gracefully on SIGTERM and removes the workspace', async () => {
    const subject = await provider({ onSigterm: 'exit' });
    const { sandboxId, workspaceDir } = await subject.spawn(spec());
    await ready(subject, sandboxId);

    await expect(subject.terminate(sandboxId, { graceMs: 5_000 })).resolves.toEqual({
      forced: false,
      alreadyGone: false,
    });
    expect(await subject.logs(sandboxId)).toContain('GOT SIGTERM');
    expect(await subject.status(sandboxId)).toBe('stopped');
    expect(existsSync(workspaceDir)).toBe(false);
    await expect(subject.terminate(sandboxId)).resolves.toEqual({ forced: false, alreadyGone: true });
  });

  it('forces a worker that ignores SIGTERM, with everything it started', async () => {
    const subject = await provider({ onSigterm: 'ignore', spawnGrandchild: true });
    const { sandboxId } = await subject.spawn(spec());
    await ready(subject, sandboxId);
    const grandchild = Number(/GRANDCHILD (\d+)/.exec(await subject.logs(sandboxId))?.[1]);

    await expect(subject.terminate(sandboxId, { graceMs: 300 })).resolves.toEqual({ forced: true, alreadyGone: false });
    expect(await subject.logs(sandboxId)).toContain('IGNORING SIGTERM');
    expect(await subject.status(sandboxId)).toBe('stopped');
    await waitFor(() => isGone(grandchild), `grandchild ${grandchild} to die`, 2_000);
  });

  it('forces a worker that ignores SIGTERM, with the commands it started in process groups of their own', async () => {
    const subject = await provider({ onSigterm: 'ignore', spawnGrandchild: 'detached' });
    const { sandboxId } = await subject.spawn(spec());
    await ready(subject, sandboxId);
    const command = Number(/GRANDCHILD (\d+)/.exec(await subject.logs(sandboxId))?.[1]);
    expect(isGone(command)).toBe(false);

    await expect(subject.terminate(sandboxId, { graceMs: 300 })).resolves.toEqual({ forced: true, alreadyGone: false });
    await waitFor(() => isGone(command), `command ${command} to die`, 2_000);
  });

  it('terminating a worker that already exited still stops the commands it left running', async () => {
    const subject = await provider({ exitCode: 3, spawnGrandchild: 'detached' });
    const { sandboxId } = await subject.spawn(spec());
    await waitFor(async () => (await subject.status(sandboxId)) === 'failed', 'the worker to exit');
    const command = Number(/GRANDCHILD (\d+)/.exec(await subject.logs(sandboxId))?.[1]);
    expect(isGone(command)).toBe(false);

    await expect(subject.terminate(sandboxId)).resolves.toEqual({ forced: false, alreadyGone: true });
    await waitFor(() => isGone(command), `command ${command} to die`, 2_000);
  });

  it('keeps the workspace after terminate when asked to (forensics)', async () => {
    const subject = await provider({}, { keepWorkspaces: true });
    const { sandboxId, workspaceDir } = await subject.spawn(spec());
    await subject.terminate(sandboxId, { graceMs: 2_000 });
    expect(existsSync(workspaceDir)).toBe(true);
    await rm(workspaceDir, { recursive: true, force: true });
  });

  it.each([
    [0, 'stopped'],
    [3, 'failed'],
  ] as const)('reports a worker that exits with code %i on its own as %s', async (exitCode, status) => {
    const subject = await provider({ exitCode });
    const { sandboxId } = await subject.spawn(spec());
    await waitFor(async () => (await subject.status(sandboxId)) === status, `status ${status}`);
    await waitFor(
      async () => (await subject.logs(sandboxId)).includes(`worker exited (code ${exitCode}`),
      'the exit marker',
    );
    await expect(subject.terminate(sandboxId)).resolves.toEqual({ forced: false, alreadyGone: true });
  });

  it('keeps only the tail of a chatty worker', async () => {
    const subject = await provider({}, { logLimitBytes: 256 });
    const { sandboxId } = await subject.spawn(spec({ env: { PADDING: 'x'.repeat(4_000) } }));
    // Not ready(): the stderr line may land before the huge ENV line and be rotated out.
    await waitFor(async () => (await subject.logs(sandboxId)).includes('READY'), 'READY');
    const logs = await subject.logs(sandboxId);
    expect(Buffer.byteLength(logs)).toBeLessThanOrEqual(256);
    expect(logs).toContain('READY');
  });

  it('clones the repository into the workspace with real git', async () => {
    const bare = createBareRepository(join(dir, 'origin.git'), { 'README.md': '# hello from git\n' });
    const subject = await provider();
    const { sandboxId, workspaceDir } = await subject.spawn(spec({ repository: { url: bare, branch: 'main' } }));

    expect(readFileSync(join(workspaceDir, 'README.md'), 'utf8')).toBe('# hello from git\n');
    expect((await workerEnv(subject, sandboxId))['WORKSPACE_DIR']).toBe(workspaceDir);
  });

  it('fails a clone of a missing branch without leaving a workspace behind', async () => {
    const bare = createBareRepository(join(dir, 'origin-2.git'), { 'a.txt': 'a\n' });
    const workspaceRoot = await mkdtemp(join(dir, 'workspaces-'));
    const subject = await provider({}, { workspaceRoot });
    const error = await expectProviderError(
      subject.spawn(spec({ repository: { url: bare, branch: 'no-such-branch' } })),
    );
    expect(error).toMatchObject({ code: 'repository_clone_failed', retryable: false, provider: 'local' });
    expect(error.message).toContain('no-such-branch');
    expect(readdirSync(workspaceRoot)).toEqual([]);
  });

  it('rejects an invalid spec and a missing worker script before starting anything', async () => {
    const subject = await provider();
    const invalid = await expectProviderError(subject.spawn({ ...spec(), taskId: '', env: { 'NOT VALID': 'x' } }));
    expect(invalid).toMatchObject({ code: 'invalid_spec', retryable: false, status: 400 });
    expect(invalid.message).toContain('taskId');

    const missing = new LocalProcessProvider({
      workerScript: join(dir, 'missing.js'),
      baseEnv: {},
      workspaceRoot: dir,
    });
    await expect(expectProviderError(missing.spawn(spec()))).resolves.toMatchObject({ code: 'worker_bundle_missing' });
  });

  it('adopts a live worker its predecessor spawned on the same workspace root: status, graceful terminate, workspace removed', async () => {
    const before = await provider({ onSigterm: 'exit' });
    const { sandboxId, workspaceDir, externalId } = await before.spawn(spec());
    await ready(before, sandboxId);
    // A relay restarted after a crash: a new provider that never spawned this worker.
    const after = new LocalProcessProvider({ workerScript: join(dir, 'unused.js'), baseEnv: {}, workspaceRoot: dir });
    expect(await after.status(sandboxId)).toBe('running');
    await expect(after.terminate(sandboxId, { graceMs: 5_000 })).resolves.toEqual({
      forced: false,
      alreadyGone: false,
    });
    expect(isGone(Number(externalId))).toBe(true);
    await waitFor(async () => (await before.logs(sandboxId)).includes('GOT SIGTERM'), 'the worker to get SIGTERM');
    expect(existsSync(workspaceDir)).toBe(false);
    expect(await after.status(sandboxId)).toBe('unknown');
    await expect(after.terminate(sandboxId)).resolves.toEqual({ forced: false, alreadyGone: true });
  });

  it('forces an adopted worker that ignores SIGTERM, with its process group; never takes a reused pid for the worker', async () => {
    const before = await provider({ onSigterm: 'ignore', spawnGrandchild: true });
    const { sandboxId } = await before.spawn(spec());
    await ready(before, sandboxId);
    const grandchild = Number(/GRANDCHILD (\d+)/.exec(await before.logs(sandboxId))?.[1]);
    const after = new LocalProcessProvider({ workerScript: join(dir, 'unused.js'), baseEnv: {}, workspaceRoot: dir });
    await expect(after.terminate(sandboxId, { graceMs: 300 })).resolves.toEqual({ forced: true, alreadyGone: false });
    await waitFor(() => isGone(grandchild), `grandchild ${grandchild} to die`, 2_000);

    // A handle whose pid now belongs to another process (here: this test's own) is not a live worker.
    const handles = join(dir, '.sandbox-relay-handles');
    writeFileSync(
      join(handles, 'local-reused.json'),
      JSON.stringify({ pid: process.pid, startTime: '1', workspaceDir: join(dir, 'sandbox-relay-x') }),
    );
    expect(await after.status('local-reused')).toBe('unknown');
    await expect(after.terminate('local-reused')).resolves.toEqual({ forced: false, alreadyGone: true });
    expect(existsSync(join(handles, 'local-reused.json'))).toBe(false);
  });

  it('an adopted worker, forced or already exited, takes the commands it started in their own groups with it', async () => {
    const forcedBefore = await provider({ onSigterm: 'ignore', spawnGrandchild: 'detached' });
    const forced = await forcedBefore.spawn(spec());
    await ready(forcedBefore, forced.sandboxId);
    const exitedBefore = await provider({ exitCode: 0, spawnGrandchild: 'detached' });
    const exited = await exitedBefore.spawn(spec());
    await waitFor(async () => (await exitedBefore.status(exited.sandboxId)) === 'stopped', 'the worker to exit');
    const commands = await Promise.all(
      [
        [forcedBefore, forced.sandboxId],
        [exitedBefore, exited.sandboxId],
      ].map(async ([before, id]) =>
        Number(/GRANDCHILD (\d+)/.exec(await (before as LocalProcessProvider).logs(id as string))?.[1]),
      ),
    );
    expect(commands.filter((pid) => !isGone(pid))).toEqual(commands);

    const after = new LocalProcessProvider({ workerScript: join(dir, 'unused.js'), baseEnv: {}, workspaceRoot: dir });
    await expect(after.terminate(forced.sandboxId, { graceMs: 300 })).resolves.toEqual({
      forced: true,
      alreadyGone: false,
    });
    await expect(after.terminate(exited.sandboxId, { graceMs: 300 })).resolves.toEqual({
      forced: false,
      alreadyGone: true,
    });
    await waitFor(() => commands.every(isGone), `commands ${commands.join(', ')} to die`, 2_000);
  });

  it('knows nothing about unknown ids', async () => {
    const subject = await provider();
    expect(await subject.status('local-unknown')).toBe('unknown');
    await expect(subject.terminate('local-unknown')).resolves.toEqual({ forced: false, alreadyGone: true });
    await expect(expectProviderError(subject.logs('local-unknown'))).resolves.toMatchObject({
      code: 'not_found',
      status: 404,
    });
  });
});

/** A bare repository with one commit on `main`, built with the real git binary. */
function createBareRepository(barePath: string, files: Record<string, string>): string {
  const work = `${barePath}-work`;
  const git = (cwd: string, ...args: string[]) =>
    execFileSync('git', ['-c', 'user.name=spec', '-c', 'user.email=spec@example.test', ...args], {
      cwd,
      stdio: 'pipe',
    });
  execFileSync('git', ['init', '--quiet', '-b', 'main', work]);
  for (const [name, content] of Object.entries(files)) writeFileSync(join(work, name), content);
  git(work, 'add', '.');
  git(work, 'commit', '--quiet', '-m', 'initial');
  execFileSync('git', ['clone', '--quiet', '--bare', work, barePath]);
  return barePath;
}

/** Dead, or a zombie nobody has reaped yet (PID 1 in a container may not reap). */
function isGone(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch {
    return true;
  }
  return / Z /.test(readFileSync(`/proc/${pid}/stat`, 'utf8'));
}

import { SandboxProviderError } from '../lib/sandbox-errors';
import { FakeSandboxProvider } from './fake-sandbox-provider';

describe('FakeSandboxProvider', () => {
  const spec = { taskId: 't-1', agentId: 'a-1', env: { RELAY_URL: 'http://relay' } };

  it('records spawns and terminations and lets tests steer status and logs', async () => {
    const provider = new FakeSandboxProvider();
    const { sandboxId } = await provider.spawn(spec);
    expect(await provider.status(sandboxId)).toBe('running');
    provider.setStatus(sandboxId, 'failed');
    provider.appendLogs(sandboxId, 'boom\n');
    expect([await provider.status(sandboxId), await provider.logs(sandboxId)]).toEqual(['failed', 'boom\n']);
    await expect(provider.terminate(sandboxId, { graceMs: 5 })).resolves.toEqual({ forced: false, alreadyGone: false });
    expect(provider.spawned).toEqual([{ sandboxId, spec }]);
    expect(provider.terminated).toEqual([{ sandboxId, graceMs: 5 }]);
  });

  it('fails the next spawn on demand, once', async () => {
    const provider = new FakeSandboxProvider();
    const failure = new SandboxProviderError({
      code: 'upstream_unavailable',
      message: 'down',
      provider: 'daytona',
      operation: 'spawn',
      retryable: true,
    });
    provider.failNextSpawn(failure);
    await expect(provider.spawn(spec)).rejects.toBe(failure);
    await expect(provider.spawn(spec)).resolves.toMatchObject({ sandboxId: 'fake-1' });
  });
});

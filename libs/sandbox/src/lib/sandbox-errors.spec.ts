import { AppError } from '@sandbox-relay/service-kit';
import { SandboxProviderError, parseSandboxSpec } from './sandbox-errors';

describe('SandboxProviderError', () => {
  it('is an AppError whose HTTP status follows the code and retryability', () => {
    const base = { message: 'x', provider: 'daytona', operation: 'spawn' } as const;
    expect(
      new SandboxProviderError({ ...base, code: 'upstream_unavailable', retryable: true, upstreamStatus: 500 }),
    ).toMatchObject({ status: 503, expose: false });
    expect(
      new SandboxProviderError({ ...base, code: 'upstream_rejected', retryable: false, upstreamStatus: 400 }),
    ).toMatchObject({ status: 502 });
    expect(new SandboxProviderError({ ...base, code: 'not_found', retryable: false })).toMatchObject({
      status: 404,
      expose: true,
    });
    const error = new SandboxProviderError({ ...base, code: 'invalid_spec', retryable: false });
    expect(error).toBeInstanceOf(AppError);
    expect(error).toMatchObject({
      status: 400,
      name: 'SandboxProviderError',
      details: { provider: 'daytona', operation: 'spawn', retryable: false },
    });
  });
});

describe('parseSandboxSpec', () => {
  const valid = { taskId: 't-1', agentId: 'a-1', env: { RELAY_URL: 'http://relay', _UNDERSCORE1: 'ok' } };

  it('accepts a minimal spec and an optional repository', () => {
    expect(parseSandboxSpec(valid, 'local')).toEqual(valid);
    expect(
      parseSandboxSpec({ ...valid, repository: { url: 'https://x/y.git', branch: 'main' } }, 'local').repository,
    ).toEqual({ url: 'https://x/y.git', branch: 'main' });
  });

  it.each([
    ['an env name with a space', { env: { 'A B': 'x' } }, 'env'],
    ['an empty task id', { taskId: '' }, 'taskId'],
    [
      'a repository url that git would read as an option',
      { repository: { url: '--upload-pack=evil' } },
      'repository.url',
    ],
    ['a fractional CPU count', { resources: { cpu: 1.5 } }, 'resources.cpu'],
    ['a negative auto-stop', { autoStopMinutes: -1 }, 'autoStopMinutes'],
  ])('rejects %s as invalid_spec (not retryable)', (_what, override, path) => {
    const attempt = () => parseSandboxSpec({ ...valid, ...override }, 'daytona');
    expect(attempt).toThrow(SandboxProviderError);
    expect(attempt).toThrow(path);
  });
});

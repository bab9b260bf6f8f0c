import { DaytonaConnectionError, DaytonaConnectionTimeoutError, DaytonaError, SandboxState } from '@daytonaio/sdk';
import { SANDBOX_STATUSES } from '../sandbox-provider';
import { toSandboxProviderError } from './daytona-errors';
import { statusFromDaytonaState } from './daytona-state';

describe('statusFromDaytonaState', () => {
  it('maps every state the SDK knows to one of ours, and nothing to a wrong guess', () => {
    for (const state of Object.values(SandboxState)) expect(SANDBOX_STATUSES).toContain(statusFromDaytonaState(state));
    expect(statusFromDaytonaState('started')).toBe('running');
    expect(statusFromDaytonaState('pulling_snapshot')).toBe('starting');
    expect(statusFromDaytonaState('destroyed')).toBe('stopped');
    expect(statusFromDaytonaState('build_failed')).toBe('failed');
    expect(statusFromDaytonaState('a_state_from_the_future')).toBe('unknown');
    expect(statusFromDaytonaState(undefined)).toBe('unknown');
  });
});

describe('toSandboxProviderError', () => {
  it.each([
    [400, 'upstream_rejected', false],
    [401, 'unauthorized', false],
    [403, 'unauthorized', false],
    [404, 'not_found', false],
    [409, 'upstream_rejected', false],
    [429, 'upstream_unavailable', true],
    [502, 'upstream_unavailable', true],
  ] as const)('maps HTTP %i to %s (retryable %s)', (status, code, retryable) => {
    const mapped = toSandboxProviderError(new DaytonaError('upstream said no', status), 'spawn', 'relay-1');
    expect(mapped).toMatchObject({
      code,
      retryable,
      upstreamStatus: status,
      sandboxId: 'relay-1',
      provider: 'daytona',
    });
    expect(mapped.message).toContain('upstream said no');
  });

  it('treats transport failures and timeouts as retryable', () => {
    expect(toSandboxProviderError(new DaytonaConnectionError('ECONNREFUSED'), 'status')).toMatchObject({
      code: 'upstream_unavailable',
      retryable: true,
    });
    expect(toSandboxProviderError(new DaytonaConnectionTimeoutError('timed out'), 'status')).toMatchObject({
      code: 'timeout',
      retryable: true,
    });
  });

  it('treats a sandbox that failed to start as retryable and SDK crashes as not', () => {
    expect(
      toSandboxProviderError(new DaytonaError('Sandbox x failed to start with status: error'), 'spawn'),
    ).toMatchObject({ code: 'sandbox_failed', retryable: true });
    expect(
      toSandboxProviderError(new TypeError("Cannot read properties of undefined (reading 'id')"), 'spawn'),
    ).toMatchObject({ code: 'invalid_response', retryable: false });
  });
});

import { ConfigError } from '@sandbox-relay/service-kit';
import { parseSupervisorEnv, supervisorConfig } from './env';

describe('supervisor config', () => {
  it("defaults to the seed's ladder, the local provider and port 8085", () => {
    const env = parseSupervisorEnv({});
    expect(env.PORT).toBe(8085);
    expect(supervisorConfig(env)).toEqual({
      provider: 'local',
      keyPrefix: 'relay',
      heartbeat: { intervalMs: 15_000, omoiosIntervalMs: 30_000, graceMs: 5_000, startupGraceMs: 60_000 },
      sweepIntervalMs: 5_000,
      restart: { maxRestarts: 3, windowMs: 600_000, baseBackoffMs: 1_000, maxBackoffMs: 30_000 },
      terminateGraceMs: 10_000,
      idleAfterMs: 900_000,
      lockTtlMs: 300_000,
    });
  });

  it('picks Daytona when its key is configured, and refuses Daytona without one', () => {
    expect(supervisorConfig(parseSupervisorEnv({ DAYTONA_API_KEY: 'k' })).provider).toBe('daytona');
    expect(supervisorConfig(parseSupervisorEnv({ DAYTONA_API_KEY: 'k', SANDBOX_PROVIDER: 'local' })).provider).toBe(
      'local',
    );
    expect(() => supervisorConfig(parseSupervisorEnv({ SANDBOX_PROVIDER: 'daytona' }))).toThrow(
      /DAYTONA_API_KEY: is required when SANDBOX_PROVIDER=daytona/,
    );
  });

  it('names every bad variable at once', () => {
    let error: unknown;
    try {
      parseSupervisorEnv({
        SUPERVISOR_HEARTBEAT_INTERVAL_MS: 'soon',
        SANDBOX_PROVIDER: 'cloud',
        SUPERVISOR_IDLE_AFTER_MS: '-1',
      });
    } catch (caught) {
      error = caught;
    }
    expect(error).toBeInstanceOf(ConfigError);
    expect((error as ConfigError).problems.map((problem) => problem.split(':')[0]).sort()).toEqual([
      'SANDBOX_PROVIDER',
      'SUPERVISOR_HEARTBEAT_INTERVAL_MS',
      'SUPERVISOR_IDLE_AFTER_MS',
    ]);
    expect(() =>
      supervisorConfig(
        parseSupervisorEnv({ SUPERVISOR_RESTART_BACKOFF_MS: '5000', SUPERVISOR_RESTART_BACKOFF_MAX_MS: '1000' }),
      ),
    ).toThrow(/SUPERVISOR_RESTART_BACKOFF_MAX_MS: must be at least SUPERVISOR_RESTART_BACKOFF_MS/);
  });

  it('refuses a lock that could expire during a restart’s backoff and graceful stop', () => {
    const short = {
      SUPERVISOR_LOCK_TTL_MS: '40000',
      SUPERVISOR_RESTART_BACKOFF_MAX_MS: '30000',
      SUPERVISOR_TERMINATE_GRACE_MS: '10000',
    };
    expect(() => supervisorConfig(parseSupervisorEnv(short))).toThrow(
      /SUPERVISOR_LOCK_TTL_MS: must exceed .* \(40000 ms\)/,
    );
    expect(supervisorConfig(parseSupervisorEnv({ ...short, SUPERVISOR_LOCK_TTL_MS: '40001' })).keyPrefix).toBe('relay');
  });
});

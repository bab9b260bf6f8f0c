import { ConfigError } from '@sandbox-relay/service-kit';
import { parseStandaloneEnv } from './env';

describe('parseStandaloneEnv', () => {
  it('defaults to the one port a newcomer opens, on loopback', () => {
    const env = parseStandaloneEnv({});
    expect(env.PORT).toBe(18000);
    expect(env.HOST).toBe('127.0.0.1');
    expect(env.WS_PING_INTERVAL_MS).toBe(30_000);
    expect(env.EVENT_BODY_LIMIT).toBe('1mb');
  });

  it("bridges the original's bus unless OMOIOS_BRIDGE=off, and refuses any other value", () => {
    expect(parseStandaloneEnv({}).OMOIOS_BRIDGE).toBe(true);
    expect(parseStandaloneEnv({ OMOIOS_BRIDGE: 'off' }).OMOIOS_BRIDGE).toBe(false);
    expect(() => parseStandaloneEnv({ OMOIOS_BRIDGE: 'disabled' })).toThrow(/OMOIOS_BRIDGE/);
  });

  it('fails fast naming each bad variable', () => {
    expect(() => parseStandaloneEnv({ PORT: '-1', WS_PING_INTERVAL_MS: 'often' })).toThrow(ConfigError);
    try {
      parseStandaloneEnv({ PORT: '-1', WS_PING_INTERVAL_MS: 'often' });
    } catch (error) {
      expect((error as ConfigError).problems.map((problem) => problem.split(':')[0]).sort()).toEqual([
        'PORT',
        'WS_PING_INTERVAL_MS',
      ]);
    }
  });
});

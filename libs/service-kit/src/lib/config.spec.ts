import { z } from 'zod';
import { BaseEnv, BoolEnv, ConfigError, OmoiosBridgeEnv, parseEnv, redactUrl } from './config';

describe('parseEnv', () => {
  it('applies defaults and coerces numbers', () => {
    const env = parseEnv(BaseEnv, { PORT: '9000' });
    expect(env.PORT).toBe(9000);
    expect(env.HOST).toBe('127.0.0.1');
    expect(env.REDIS_URL).toBe('redis://127.0.0.1:6379');
  });

  it('lists every bad variable by name in one readable error', () => {
    let error: unknown;
    try {
      parseEnv(BaseEnv, { PORT: 'eighty', DATABASE_URL: 'mysql://db/x', REDIS_URL: 'not a url' });
    } catch (caught) {
      error = caught;
    }
    expect(error).toBeInstanceOf(ConfigError);
    const message = (error as ConfigError).message;
    expect(message).toMatch(/^invalid configuration:/);
    expect(message).toContain('PORT:');
    expect(message).toContain('DATABASE_URL: must be a postgres');
    expect(message).toContain('REDIS_URL: must be a redis:// or rediss:// URL');
    expect((error as ConfigError).problems).toHaveLength(3);
  });

  it('parses booleans strictly', () => {
    const schema = z.object({ FLAG: BoolEnv });
    expect(parseEnv(schema, { FLAG: 'yes' }).FLAG).toBe(true);
    expect(parseEnv(schema, { FLAG: 'FALSE' }).FLAG).toBe(false);
    expect(() => parseEnv(schema, { FLAG: 'maybe' })).toThrow(ConfigError);
  });
});

describe('OmoiosBridgeEnv', () => {
  it('is on by default, off when told, and refuses anything else', () => {
    expect(parseEnv(OmoiosBridgeEnv, {}).OMOIOS_BRIDGE).toBe(true);
    expect(parseEnv(OmoiosBridgeEnv, { OMOIOS_BRIDGE: 'on' }).OMOIOS_BRIDGE).toBe(true);
    expect(parseEnv(OmoiosBridgeEnv, { OMOIOS_BRIDGE: 'off' }).OMOIOS_BRIDGE).toBe(false);
    for (const bad of ['false', 'OFF', 'no', '']) {
      expect(() => parseEnv(OmoiosBridgeEnv, { OMOIOS_BRIDGE: bad })).toThrow(/OMOIOS_BRIDGE/);
    }
  });
});

describe('redactUrl', () => {
  it('hides passwords and keeps the rest', () => {
    expect(redactUrl('postgresql://relay:s3cret@db:5432/relay')).toBe('postgresql://relay:***@db:5432/relay');
    expect(redactUrl('redis://127.0.0.1:6379')).toBe('redis://127.0.0.1:6379');
  });
});

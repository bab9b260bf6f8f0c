import { z } from 'zod';
import { BaseEnv, BoolEnv, ConfigError, OmoiosBridgeEnv, parseEnv, redactUrl } from './config';
import { parseRedisUrl } from './redis-url';

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

describe('REDIS_URL: one node or a cluster', () => {
  it('is one node unless it says cluster=true', () => {
    expect(parseRedisUrl('redis://127.0.0.1:6379')).toEqual({ mode: 'single', url: 'redis://127.0.0.1:6379' });
    expect(parseRedisUrl('redis://127.0.0.1:6379/2?cluster=false')).toEqual({
      mode: 'single',
      url: 'redis://127.0.0.1:6379/2?cluster=false',
    });
  });

  it('reads the seeds, the shard count and the credentials of a cluster', () => {
    expect(
      parseRedisUrl('rediss://relay:s%40cret@10.0.0.5:7000?cluster=true&nodes=10.0.0.6:7000,[::1]:7001&shards=32'),
    ).toEqual({
      mode: 'cluster',
      seeds: [
        { host: '10.0.0.5', port: 7000 },
        { host: '10.0.0.6', port: 7000 },
        { host: '::1', port: 7001 },
      ],
      shards: 32,
      username: 'relay',
      password: 's@cret',
      tls: true,
    });
    expect(parseRedisUrl('redis://redis-0.redis?cluster=true')).toEqual({
      mode: 'cluster',
      seeds: [{ host: 'redis-0.redis', port: 6379 }],
      shards: 16,
      tls: false,
    });
  });

  it('stops the service at start on a malformed cluster URL, naming the problem', () => {
    const problems = (url: string) => {
      try {
        parseEnv(BaseEnv, { REDIS_URL: url });
        return [];
      } catch (error) {
        return (error as ConfigError).problems;
      }
    };
    expect(problems('redis://h:1?cluster=yes')).toEqual(['REDIS_URL: cluster= must be true or false']);
    expect(problems('redis://h:1?shards=4')).toEqual(['REDIS_URL: shards= needs cluster=true']);
    expect(problems('redis://h:1/3?cluster=true')).toEqual([
      'REDIS_URL: a cluster has only database 0: no /<db> in the URL',
    ]);
    expect(problems('redis://h:1?cluster=true&shards=0')).toEqual([
      'REDIS_URL: shards= must be a whole number from 1 to 1024',
    ]);
    expect(problems('redis://h:1?cluster=true&nodes=h2')).toEqual(['REDIS_URL: nodes= entry "h2" is not host:port']);
    expect(problems('redis://h:1?cluster=true&family=6')).toEqual([
      'REDIS_URL: unknown parameter family= for a cluster',
    ]);
    expect(problems('redis://h:1?cluster=true&nodes=h2:2,h3:3')).toEqual([]);
  });
});

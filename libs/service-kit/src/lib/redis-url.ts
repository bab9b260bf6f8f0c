import { DEFAULT_EVENT_SHARDS } from '@sandbox-relay/contracts';

const MAX_EVENT_SHARDS = 1024;

export interface RedisNodeAddress {
  host: string;
  port: number;
}

/**
 * Where Redis is, read from REDIS_URL. One node: the URL as is. A cluster: `?cluster=true` on the URL
 * of one node (the seed), optionally more seeds in `nodes=host:port,host:port` (tried when the first is
 * down at start) and the number of live-event shard channels in `shards=` (default 16; every service of
 * a deployment must use the same number). Credentials and `rediss:` apply to every node of the cluster.
 */
export type RedisConnectionSpec =
  | { mode: 'single'; url: string }
  | {
      mode: 'cluster';
      seeds: RedisNodeAddress[];
      shards: number;
      username?: string;
      password?: string;
      tls: boolean;
    };

const CLUSTER_PARAMS = new Set(['cluster', 'nodes', 'shards']);

function address(value: string, what: string): RedisNodeAddress {
  const match = /^([^\s:/,]+|\[[0-9a-fA-F:]+\]):(\d{1,5})$/.exec(value);
  const port = Number(match?.[2]);
  if (!match || port < 1 || port > 65535) throw new Error(`${what} "${value}" is not host:port`);
  return { host: match[1]!.replace(/^\[|\]$/g, ''), port };
}

/** Parses REDIS_URL; throws an Error saying what is wrong (BaseEnv turns it into a start-up error). */
export function parseRedisUrl(value: string): RedisConnectionSpec {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    throw new Error('must be a redis:// or rediss:// URL');
  }
  if (url.protocol !== 'redis:' && url.protocol !== 'rediss:') throw new Error('must be a redis:// or rediss:// URL');
  const cluster = url.searchParams.get('cluster');
  if (cluster === null || cluster === 'false') {
    for (const name of CLUSTER_PARAMS)
      if (name !== 'cluster' && url.searchParams.has(name)) throw new Error(`${name}= needs cluster=true`);
    return { mode: 'single', url: value };
  }
  if (cluster !== 'true') throw new Error('cluster= must be true or false');
  for (const name of url.searchParams.keys())
    if (!CLUSTER_PARAMS.has(name)) throw new Error(`unknown parameter ${name}= for a cluster`);
  // A cluster has only database 0.
  if (url.pathname !== '' && url.pathname !== '/' && url.pathname !== '/0')
    throw new Error('a cluster has only database 0: no /<db> in the URL');
  const seed = address(`${url.hostname}:${url.port || '6379'}`, 'the seed');
  const others = (url.searchParams.get('nodes') ?? '')
    .split(',')
    .filter((entry) => entry !== '')
    .map((entry) => address(entry, 'nodes= entry'));
  const shardsText = url.searchParams.get('shards');
  const shards = shardsText === null ? DEFAULT_EVENT_SHARDS : Number(shardsText);
  if (!Number.isInteger(shards) || shards < 1 || shards > MAX_EVENT_SHARDS)
    throw new Error(`shards= must be a whole number from 1 to ${MAX_EVENT_SHARDS}`);
  return {
    mode: 'cluster',
    seeds: [seed, ...others],
    shards,
    ...(url.username ? { username: decodeURIComponent(url.username) } : {}),
    ...(url.password ? { password: decodeURIComponent(url.password) } : {}),
    tls: url.protocol === 'rediss:',
  };
}

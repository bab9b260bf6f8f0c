import IORedis, { Cluster, type ClusterOptions, type RedisOptions } from 'ioredis';
import { DEFAULT_EVENT_SHARDS } from '@sandbox-relay/contracts';
import { Readiness, parseRedisUrl } from '@sandbox-relay/service-kit';
import type { Logger } from 'pino';

/**
 * A connection to the relay's Redis: one node, or a Redis Cluster (REDIS_URL with `?cluster=true`).
 * Both answer the same single-key commands and scripts; what differs (pipelines, sharded pub/sub,
 * BullMQ's hash-tagged prefix, readiness) is handled in this lib.
 */
export type Redis = IORedis | Cluster;

/** What a connection is for; each role gets its own connection and its own defaults. */
export type RedisRole = 'command' | 'publisher' | 'subscriber' | 'worker';

export interface RedisClientOptions {
  name: string;
  role: RedisRole;
  logger: Logger;
}

/** Live-event shard channels of each cluster client made here (from `shards=` in its URL). */
const clusterShards = new WeakMap<Cluster, number>();

/** Whether `client` talks to a Redis Cluster. */
export function isCluster(client: Redis): client is Cluster {
  return client instanceof Cluster;
}

/** The number of live-event shard channels of a cluster client; undefined on one node (classic pub/sub). */
export function eventShardsOf(client: Redis): number | undefined {
  return isCluster(client) ? (clusterShards.get(client) ?? DEFAULT_EVENT_SHARDS) : undefined;
}

/** Back off up to 2 s between reconnects; never give up (Kubernetes restarts Redis, we wait). */
const backoff = (attempt: number): number => Math.min(50 * 2 ** attempt, 2_000);

/**
 * How long a publisher's or command connection's command may wait for its answer. A node that stops
 * answering with its connection open (a partition, a stalled VM) closes nothing, so without a bound the
 * command, and whatever waits on it (a publish, with the events it holds), would wait for good.
 */
export const REDIS_COMMAND_TIMEOUT_MS = 5_000;

/**
 * The one Redis client factory. Defaults, by role:
 * - publisher / command sit behind HTTP requests: no offline queue, one retry per request and each
 *   command answered within `REDIS_COMMAND_TIMEOUT_MS`, so a Redis outage, or a node that stops
 *   answering, surfaces as an error instead of requests and publishes piling up in memory.
 * - subscriber / worker are patient: they wait and reconnect forever (BullMQ requires
 *   `maxRetriesPerRequest: null` for blocking connections).
 * On a cluster the same defaults apply to every node's connection; a subscriber also gets ioredis's
 * sharded subscribers (one connection per master, for SSUBSCRIBE).
 * Every client gets an `error` listener: an unhandled 'error' event would crash the process.
 */
export function createRedisClient(url: string, { name, role, logger }: RedisClientOptions): Redis {
  const patient = role === 'subscriber' || role === 'worker';
  const options: RedisOptions = {
    connectionName: `${name}:${role}`,
    lazyConnect: false,
    enableOfflineQueue: patient,
    maxRetriesPerRequest: patient ? null : 1,
    ...(patient ? {} : { commandTimeout: REDIS_COMMAND_TIMEOUT_MS }),
    connectTimeout: 5_000,
    retryStrategy: backoff,
    // A failover promotes a replica; READONLY means we still talk to the old primary: reconnect.
    reconnectOnError: (error) => error.message.startsWith('READONLY'),
  };
  const spec = parseRedisUrl(url);
  let client: Redis;
  if (spec.mode === 'single') {
    client = new IORedis(url, options);
  } else {
    const clusterOptions: ClusterOptions = {
      redisOptions: {
        connectionName: options.connectionName,
        connectTimeout: options.connectTimeout,
        maxRetriesPerRequest: options.maxRetriesPerRequest,
        commandTimeout: options.commandTimeout,
        ...(spec.username ? { username: spec.username } : {}),
        ...(spec.password ? { password: spec.password } : {}),
        ...(spec.tls ? { tls: {} } : {}),
      },
      enableOfflineQueue: patient,
      clusterRetryStrategy: backoff,
      // Sharded pub/sub has no patterns and no broadcast: a subscriber holds one connection per master.
      shardedSubscribers: role === 'subscriber',
      // A command for a node that just went away is retried this often (100 ms apart) before it fails.
      maxRedirections: patient ? 16 : 4,
    };
    const cluster = new Cluster(spec.seeds, clusterOptions);
    clusterShards.set(cluster, spec.shards);
    client = cluster;
  }
  watchErrors(client, logger.child({ component: 'redis', role }));
  return client;
}

function watchErrors(client: Redis, log: Logger): void {
  let lastError = '';
  client.on('error', (error: Error) => {
    // ioredis repeats the same error on every reconnect attempt; log each distinct one once.
    if (error.message !== lastError) log.warn({ err: error.message }, 'redis connection error');
    lastError = error.message;
  });
  client.on('ready', () => {
    if (lastError) log.info('redis connection restored');
    lastError = '';
  });
}

/**
 * Readiness probe: PING must answer; on a cluster, CLUSTER INFO must say `cluster_state:ok` (a cluster
 * with a slot uncovered refuses the commands of that slot).
 */
export async function pingRedis(client: Redis): Promise<void> {
  if (client.status !== 'ready') throw new Error(`redis ${client.status}`);
  if (!isCluster(client)) {
    await client.ping();
    return;
  }
  const info = String(await client.cluster('INFO'));
  if (!/cluster_state:ok/.test(info))
    throw new Error(`redis cluster ${/cluster_state:(\w+)/.exec(info)?.[1] ?? 'state unknown'}`);
}

/**
 * What every service's `/readyz` checks, each within 1 s: its PostgreSQL (`store.ping()`) and its Redis
 * (`pingRedis` on `redis`, the connection its requests or its work use).
 */
export function dependencyReadiness(store: { ping(): Promise<unknown> }, redis: Redis, logger: Logger): Readiness {
  return new Readiness(1_000, logger)
    .add({ name: 'postgres', check: () => store.ping() })
    .add({ name: 'redis', check: () => pingRedis(redis) });
}

/** Closes politely (QUIT), or hard if the server is gone. */
export async function closeRedis(client: Redis): Promise<void> {
  if (client.status === 'end') return;
  try {
    if (client.status === 'ready') await client.quit();
    else client.disconnect();
  } catch {
    client.disconnect();
  }
}

import Redis, { type RedisOptions } from 'ioredis';
import type { Logger } from 'pino';

export type { Redis };

/** What a connection is for; each role gets its own connection and its own defaults. */
export type RedisRole = 'command' | 'publisher' | 'subscriber' | 'worker';

export interface RedisClientOptions {
  name: string;
  role: RedisRole;
  logger: Logger;
}

/**
 * The one Redis client factory. Defaults, by role:
 * - publisher / command sit behind HTTP requests: no offline queue and one retry per request, so a
 *   Redis outage surfaces as a fast error instead of requests piling up in memory.
 * - subscriber / worker are patient: they wait and reconnect forever (BullMQ requires
 *   `maxRetriesPerRequest: null` for blocking connections).
 * Every client gets an `error` listener: an unhandled 'error' event would crash the process.
 */
export function createRedisClient(url: string, { name, role, logger }: RedisClientOptions): Redis {
  const patient = role === 'subscriber' || role === 'worker';
  const options: RedisOptions = {
    connectionName: `${name}:${role}`,
    lazyConnect: false,
    enableOfflineQueue: patient,
    maxRetriesPerRequest: patient ? null : 1,
    connectTimeout: 5_000,
    // Back off up to 2 s between reconnects; never give up (Kubernetes restarts Redis, we wait).
    retryStrategy: (attempt) => Math.min(50 * 2 ** attempt, 2_000),
    // A failover promotes a replica; READONLY means we still talk to the old primary: reconnect.
    reconnectOnError: (error) => error.message.startsWith('READONLY'),
  };
  const client = new Redis(url, options);
  const log = logger.child({ component: 'redis', role });
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
  return client;
}

/** Readiness probe: PING must answer. */
export async function pingRedis(client: Redis): Promise<void> {
  if (client.status !== 'ready') throw new Error(`redis ${client.status}`);
  await client.ping();
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

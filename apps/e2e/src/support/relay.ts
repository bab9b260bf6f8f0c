import { RELAY_EVENT_SOURCES } from '@sandbox-relay/contracts';
import { EventPublisher, createRedisClient, closeRedis, type Redis } from '@sandbox-relay/bus';
import { EdgeAuth, generateRelayKey, type TokenIssuer } from '@sandbox-relay/auth';
import { parseStandaloneEnv, startStandalone, type Standalone } from '@sandbox-relay/standalone';
import { EventLog, EventRepository, createStore, type NewEvent, type Store } from '@sandbox-relay/store';
import { testInfra, testLogger } from '@sandbox-relay/testing';

export interface RunningRelay {
  standalone: Standalone;
  http: string;
  ws: string;
  stop(): Promise<void>;
}

/** The whole system as `npm start` runs it, on an ephemeral port, against the test Redis and Postgres. */
export async function startRelay(overrides: Record<string, string> = {}): Promise<RunningRelay> {
  const { databaseUrl, redisUrl } = testInfra();
  const env = parseStandaloneEnv({
    PORT: '0',
    DATABASE_URL: databaseUrl,
    REDIS_URL: redisUrl,
    LOG_LEVEL: 'silent',
    ...overrides,
  });
  const standalone = await startStandalone(env, testLogger());
  return {
    standalone,
    http: standalone.url,
    ws: standalone.url.replace(/^http/, 'ws'),
    stop: async () => void (await standalone.close()),
  };
}

/** The whole system with auth on (one EdDSA key signing), and an issuer of its tokens. */
export async function startRelayWithAuth(
  overrides: Record<string, string> = {},
  logger = testLogger(),
): Promise<{ relay: Standalone; issuer: TokenIssuer }> {
  const keys = [await generateRelayKey('eddsa', 'k1')];
  const { databaseUrl, redisUrl } = testInfra();
  const env = parseStandaloneEnv({
    PORT: '0',
    DATABASE_URL: databaseUrl,
    REDIS_URL: redisUrl,
    LOG_LEVEL: 'silent',
    AUTH_MODE: 'on',
    AUTH_KEYS: JSON.stringify(keys),
    AUTH_SIGNING_KID: 'k1',
    ...overrides,
  });
  const relay = await startStandalone(env, logger);
  const issuer = (await EdgeAuth.fromSettings({ mode: 'on', keys, signingKid: 'k1', maxTokenAgeS: 3600 })).issuer!;
  return { relay, issuer };
}

/**
 * Emits a server-side event the way a relay service does (store, then publish): the TypeScript
 * counterpart of the seed's `EventBusService.publish(SystemEvent(...))`.
 */
export class ServerEventEmitter {
  private readonly store: Store;
  private readonly redis: Redis;
  private readonly log: EventLog;

  constructor() {
    const logger = testLogger();
    this.store = createStore({ databaseUrl: testInfra().databaseUrl });
    this.redis = createRedisClient(testInfra().redisUrl, { name: 'e2e', role: 'publisher', logger });
    const publisher = new EventPublisher(this.redis, logger);
    this.log = new EventLog(new EventRepository(this.store.pool), {
      onCommitted: (events) => void publisher.publish(events),
    });
  }

  async emit(event: { event_type: string; entity_type: string; entity_id: string; payload: Record<string, unknown> }) {
    const row: NewEvent = {
      entityType: event.entity_type,
      entityId: event.entity_id,
      eventType: event.event_type,
      data: event.payload,
      dataJson: JSON.stringify(event.payload),
      // A relay service's event (not a worker's): the original's bus sees it under its own name.
      source: RELAY_EVENT_SOURCES.SUPERVISOR,
    };
    const [stored] = await this.log.append([row]);
    return stored!;
  }

  async close(): Promise<void> {
    await this.log.whenIdle();
    await closeRedis(this.redis);
    await this.store.close();
  }
}

export async function postEvent(
  http: string,
  sandboxId: string,
  body: unknown,
): Promise<{ status: number; body: any }> {
  const res = await fetch(`${http}/api/v1/sandboxes/${sandboxId}/events`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
  return { status: res.status, body: await res.json() };
}

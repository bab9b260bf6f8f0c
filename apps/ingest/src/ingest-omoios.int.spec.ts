import { EdgeAuth } from '@sandbox-relay/auth';
import { OMOIOS_CHANNEL_PATTERN, RELAY_EVENT_SOURCES, omoiosChannel } from '@sandbox-relay/contracts';
import { closeRedis, createRedisClient, type Redis } from '@sandbox-relay/bus';
import { Readiness, createHttpApp, finishHttpApp } from '@sandbox-relay/service-kit';
import { createStore, type Store } from '@sandbox-relay/store';
import { testInfra, testLogger, uniqueId, waitFor } from '@sandbox-relay/testing';
import type { Express } from 'express';
import request from 'supertest';
import { createIngestService, type IngestService } from './ingest.service';

const logger = testLogger();
const config = { eventBodyLimit: '1mb', batchBodyLimit: '16mb', groupCommitMaxEvents: 1000 };
const { databaseUrl, redisUrl } = testInfra();

describe("ingest and the original's bus (OMOIOS_BRIDGE)", () => {
  let store: Store;
  const connections: Redis[] = [];
  const services: IngestService[] = [];
  const connect = (role: 'publisher' | 'subscriber') => {
    const redis = createRedisClient(redisUrl, { name: 'ingest-omoios-test', role, logger });
    connections.push(redis);
    return redis;
  };
  let busMessages: Array<{ channel: string; message: Record<string, unknown> }>;

  /** An ingest as its main wires it, the bridge started. */
  async function ingest(omoiosBridge: boolean): Promise<{ app: Express; service: IngestService }> {
    const service = createIngestService({
      store,
      publisherRedis: connect('publisher'),
      logger,
      config,
      auth: EdgeAuth.off(),
      omoiosBridge,
      bridgeSubscriberRedis: connect('subscriber'),
    });
    services.push(service);
    await service.bridge?.start();
    const app = createHttpApp({ logger, readiness: new Readiness() });
    app.use(service.router);
    finishHttpApp(app);
    return { app, service };
  }

  beforeAll(async () => {
    store = createStore({ databaseUrl });
    busMessages = [];
    const listener = connect('subscriber');
    listener.on('pmessage', (_pattern: string, channel: string, raw: string) =>
      busMessages.push({ channel, message: JSON.parse(raw) }),
    );
    await listener.psubscribe(OMOIOS_CHANNEL_PATTERN);
  });
  afterAll(async () => {
    for (const service of services) await service.bridge?.stop();
    await Promise.all(services.map((service) => service.drain()));
    await Promise.all(connections.map(closeRedis));
    await store.close();
  });

  const rows = (entityId: string) =>
    store.prisma.sandboxEvent.findMany({ where: { entityId }, orderBy: { id: 'asc' } });

  it.each(Object.values(RELAY_EVENT_SOURCES))(
    'refuses a posted source %s with 422 naming body.source, single and batch, and stores nothing',
    async (source) => {
      const { app } = await ingest(false);
      const sandbox = uniqueId('sb');
      const single = await request(app)
        .post(`/api/v1/sandboxes/${sandbox}/events`)
        .send({ event_type: 'agent.started', source });
      expect(single.status).toBe(422);
      expect(single.body.error.details).toEqual([
        { field: 'body.source', message: expect.stringMatching(/relay's own sources/) },
      ]);
      const batch = await request(app)
        .post(`/api/v1/sandboxes/${sandbox}/events/batch`)
        .send([{ event_type: 'a' }, { event_type: 'b', source }]);
      expect(batch.status).toBe(422);
      expect(batch.body.error.details[0].field).toBe('body.1.source');
      expect(await rows(sandbox)).toEqual([]);
    },
  );

  it("publishes a posted event on the original's bus as SANDBOX_<type>, and takes in a SystemEvent once, not publishing it back", async () => {
    const { app } = await ingest(true);
    const sandbox = uniqueId('sb');
    const posted = await request(app)
      .post(`/api/v1/sandboxes/${sandbox}/events`)
      .send({ event_type: 'agent.tool_use', event_data: { tool: 'Bash' }, source: 'worker' });
    expect(posted.status).toBe(200);
    await waitFor(() => busMessages.some((m) => m.message['entity_id'] === sandbox), 'the bus message');
    expect(busMessages.filter((m) => m.message['entity_id'] === sandbox)).toEqual([
      {
        channel: 'events.SANDBOX_agent.tool_use',
        message: {
          event_type: 'SANDBOX_agent.tool_use',
          entity_type: 'sandbox',
          entity_id: sandbox,
          payload: { tool: 'Bash', source: 'worker', original_event_type: 'agent.tool_use' },
          id: posted.body.id,
          timestamp: posted.body.timestamp,
        },
      },
    ]);

    const task = uniqueId('task');
    const publisher = connect('publisher');
    await waitFor(() => publisher.status === 'ready', 'the test publisher');
    await publisher.publish(
      omoiosChannel('TASK_ASSIGNED'),
      JSON.stringify({
        event_type: 'TASK_ASSIGNED',
        entity_type: 'task',
        entity_id: task,
        payload: { agent_id: 'a-1' },
      }),
    );
    await waitFor(async () => (await rows(task)).length > 0, 'the event taken in');
    const [row] = await rows(task);
    expect(row).toMatchObject({
      entityType: 'task',
      eventType: 'TASK_ASSIGNED',
      data: { agent_id: 'a-1' },
      source: RELAY_EVENT_SOURCES.OMOIOS_BUS,
    });
    // Its own echo would have come back on the bus by now (the relay's channel is published in the same pipeline).
    const witness = uniqueId('sb');
    await request(app).post(`/api/v1/sandboxes/${witness}/events`).send({ event_type: 'agent.started' });
    await waitFor(() => busMessages.some((m) => m.message['entity_id'] === witness), 'a later bus message');
    expect(busMessages.filter((m) => m.message['entity_id'] === task).map((m) => m.message['id'])).toEqual([]);
    expect(await rows(task)).toHaveLength(1);
  });

  it('switched off, publishes nothing on the bus and takes nothing in', async () => {
    const off = await ingest(false);
    expect(off.service.bridge).toBeNull();
    const on = await ingest(true);
    const sandbox = uniqueId('sb');
    expect(
      (await request(off.app).post(`/api/v1/sandboxes/${sandbox}/events`).send({ event_type: 'agent.started' })).status,
    ).toBe(200);
    // A bridged ingest's event published after it: once it is on the bus, the first would have been too.
    const witness = uniqueId('sb');
    expect(
      (await request(on.app).post(`/api/v1/sandboxes/${witness}/events`).send({ event_type: 'agent.started' })).status,
    ).toBe(200);
    await waitFor(() => busMessages.some((m) => m.message['entity_id'] === witness), 'the bridged witness');
    expect(busMessages.filter((m) => m.message['entity_id'] === sandbox)).toEqual([]);
  });
});

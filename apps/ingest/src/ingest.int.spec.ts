import { EdgeAuth } from '@sandbox-relay/auth';
import { EVENT_LIMITS } from '@sandbox-relay/contracts';
import { createRedisClient, type Redis } from '@sandbox-relay/bus';
import { Readiness, createHttpApp, finishHttpApp } from '@sandbox-relay/service-kit';
import { createStore, type Store } from '@sandbox-relay/store';
import { CLOSED_PORT, testInfra, testLogger, uniqueId, waitFor } from '@sandbox-relay/testing';
import type { Express } from 'express';
import request from 'supertest';
import { createIngestService, type IngestService } from './ingest.service';

const logger = testLogger();
const config = { eventBodyLimit: '1mb', batchBodyLimit: '16mb', groupCommitMaxEvents: 1000 };

interface Harness {
  app: Express;
  ingest: IngestService;
  store: Store;
  redis: Redis;
  readiness: Readiness;
  close(): Promise<void>;
}

function harness({ databaseUrl = testInfra().databaseUrl, redisUrl = testInfra().redisUrl } = {}): Harness {
  const store = createStore({ databaseUrl, connectTimeoutMs: 500 });
  const redis = createRedisClient(redisUrl, { name: 'ingest-test', role: 'publisher', logger });
  const readiness = new Readiness(500)
    .add({ name: 'postgres', check: () => store.ping() })
    .add({ name: 'redis', check: () => redis.ping() });
  const ingest = createIngestService({ store, publisherRedis: redis, logger, config, auth: EdgeAuth.off() });
  const app = createHttpApp({ logger, readiness });
  app.use(ingest.router);
  finishHttpApp(app);
  readiness.markReady();
  return {
    app,
    ingest,
    store,
    redis,
    readiness,
    async close() {
      await ingest.drain();
      redis.disconnect();
      await store.close();
    },
  };
}

describe('ingest edge', () => {
  let h: Harness;
  beforeAll(() => {
    h = harness();
  });
  afterAll(() => h.close());

  it('stores an event and answers 200 with its envelope (seed 1.1)', async () => {
    const sandbox = uniqueId('sb');
    const res = await request(h.app)
      .post(`/api/v1/sandboxes/${sandbox}/events`)
      .send({ event_type: 'agent.started', event_data: { task_id: 'task-456' }, source: 'agent' });
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({
      id: expect.stringMatching(/^\d+$/),
      event_type: 'agent.started',
      entity_type: 'sandbox',
      entity_id: sandbox,
      payload: { task_id: 'task-456' },
      source: 'agent',
    });
    const rows = await h.store.prisma.sandboxEvent.findMany({ where: { entityId: sandbox } });
    expect(rows.map((row) => row.id.toString())).toEqual([res.body.id]);
  });

  it('answers 422 naming event_type when it is missing, and stores nothing (seed 1.3)', async () => {
    const sandbox = uniqueId('sb');
    const res = await request(h.app).post(`/api/v1/sandboxes/${sandbox}/events`).send({ event_data: {} });
    expect(res.status).toBe(422);
    expect(res.body.error.details).toEqual([{ field: 'body.event_type', message: 'is required' }]);
    expect(await h.store.prisma.sandboxEvent.count({ where: { entityId: sandbox } })).toBe(0);
  });

  it.each([
    ['a wrong event_data type', { event_type: 'a', event_data: 'x' }, 'body.event_data'],
    ['a wrong source type', { event_type: 'a', source: 1 }, 'body.source'],
    ['a NUL character', { event_type: 'a', event_data: { out: 'a\u0000' } }, 'body.event_data'],
    ['a non-object body', [1, 2], 'body'],
  ])('answers 422 for %s', async (_name, body, field) => {
    const res = await request(h.app)
      .post(`/api/v1/sandboxes/${uniqueId('sb')}/events`)
      .send(body as object);
    expect(res.status).toBe(422);
    expect(res.body.error.details[0].field).toBe(field);
  });

  it('answers malformed JSON with 400', async () => {
    const res = await request(h.app)
      .post('/api/v1/sandboxes/sb-1/events')
      .set('content-type', 'application/json')
      .send('{"event_type":');
    expect(res.status).toBe(400);
    expect(res.body.error.code).toBe('malformed_json');
  });

  it('answers an oversize body with 413 and event_data over its own limit with 422', async () => {
    const huge = { event_type: 'a', event_data: { blob: 'x'.repeat(1_100_000) } };
    expect((await request(h.app).post('/api/v1/sandboxes/sb-1/events').send(huge)).status).toBe(413);
    const big = { event_type: 'a', event_data: { blob: 'x'.repeat(EVENT_LIMITS.EVENT_DATA_MAX_BYTES + 1) } };
    const res = await request(h.app).post('/api/v1/sandboxes/sb-1/events').send(big);
    expect(res.status).toBe(422);
    expect(res.body.error.details[0]).toEqual({
      field: 'body.event_data',
      message: expect.stringContaining('at most'),
    });
  });

  it('answers event_data nested deeper than JSON.stringify can recurse with 422 naming it, single and batch', async () => {
    const sandbox = uniqueId('sb');
    // 10 KB of brackets: far under the body limit, far past the recursion JSON.stringify manages.
    const deep = `{"a":${'['.repeat(5_000)}${']'.repeat(5_000)}}`;
    const single = await request(h.app)
      .post(`/api/v1/sandboxes/${sandbox}/events`)
      .set('content-type', 'application/json')
      .send(`{"event_type":"a","event_data":${deep}}`);
    expect(single.status).toBe(422);
    expect(single.body.error.details[0]).toEqual({
      field: 'body.event_data',
      message: expect.stringContaining('nest'),
    });
    const batch = await request(h.app)
      .post(`/api/v1/sandboxes/${sandbox}/events/batch`)
      .set('content-type', 'application/json')
      .send(`[{"event_type":"ok"},{"event_type":"a","event_data":${deep}}]`);
    expect(batch.status).toBe(422);
    expect(batch.body.error.details[0].field).toBe('body.1.event_data');
    expect(await h.store.prisma.sandboxEvent.count({ where: { entityId: sandbox } })).toBe(0);
  });

  it.each(['..%2F..%2Fetc%2Fpasswd', 'a%00b', 'x'.repeat(129), '%E2%80%AEevil', 'a%20b', 'semi%3Bcolon'])(
    'answers a hostile sandbox id %s with 400',
    async (id) => {
      const res = await request(h.app).post(`/api/v1/sandboxes/${id}/events`).send({ event_type: 'a' });
      expect(res.status).toBe(400);
      expect(res.body.error.details[0].field).toBe('params.sandboxId');
      expect((await request(h.app).get(`/api/v1/sandboxes/${id}/events`)).status).toBe(400);
    },
  );

  it('stores a batch in order and answers its ids', async () => {
    const sandbox = uniqueId('sb');
    const batch = Array.from({ length: 250 }, (_, seq) => ({ event_type: 'agent.message', event_data: { seq } }));
    const res = await request(h.app).post(`/api/v1/sandboxes/${sandbox}/events/batch`).send(batch);
    expect(res.status).toBe(200);
    expect(res.body.count).toBe(250);
    const stored = await request(h.app).get(`/api/v1/sandboxes/${sandbox}/events?limit=1000`);
    expect(stored.body.events.map((event: { id: string }) => event.id)).toEqual(res.body.ids);
    expect(stored.body.events.map((event: { payload: { seq: number } }) => event.payload.seq)).toEqual(
      batch.map((_, seq) => seq),
    );
  });

  it('refuses a batch with one bad event as a whole, naming it', async () => {
    const sandbox = uniqueId('sb');
    const res = await request(h.app)
      .post(`/api/v1/sandboxes/${sandbox}/events/batch`)
      .send([{ event_type: 'ok' }, { event_data: {} }]);
    expect(res.status).toBe(422);
    expect(res.body.error.details[0].field).toBe('body.1.event_type');
    expect(await h.store.prisma.sandboxEvent.count({ where: { entityId: sandbox } })).toBe(0);
  });

  it('refuses an empty or over-long batch', async () => {
    expect((await request(h.app).post('/api/v1/sandboxes/sb-1/events/batch').send([])).status).toBe(422);
    const tooMany = Array.from({ length: EVENT_LIMITS.BATCH_MAX + 1 }, () => ({ event_type: 'a' }));
    expect((await request(h.app).post('/api/v1/sandboxes/sb-1/events/batch').send(tooMany)).status).toBe(422);
  });

  it('pages history with after/limit and filters by event_type', async () => {
    const sandbox = uniqueId('sb');
    const types = ['agent.started', 'heartbeat', 'agent.tool_use', 'heartbeat', 'agent.completed'];
    await request(h.app)
      .post(`/api/v1/sandboxes/${sandbox}/events/batch`)
      .send(types.map((event_type) => ({ event_type })));

    const first = await request(h.app).get(`/api/v1/sandboxes/${sandbox}/events?limit=2`);
    expect(first.body.events.map((event: { event_type: string }) => event.event_type)).toEqual(types.slice(0, 2));
    expect(first.body.next_after).toBe(first.body.events[1].id);
    const second = await request(h.app).get(
      `/api/v1/sandboxes/${sandbox}/events?limit=2&after=${first.body.next_after}`,
    );
    expect(second.body.events.map((event: { event_type: string }) => event.event_type)).toEqual(types.slice(2, 4));
    const last = await request(h.app).get(
      `/api/v1/sandboxes/${sandbox}/events?limit=2&after=${second.body.next_after}`,
    );
    expect(last.body.events.map((event: { event_type: string }) => event.event_type)).toEqual(types.slice(4));
    expect(last.body.next_after).toBeNull();

    const beats = await request(h.app).get(`/api/v1/sandboxes/${sandbox}/events?event_type=heartbeat,agent.completed`);
    expect(beats.body.events.map((event: { event_type: string }) => event.event_type)).toEqual([
      'heartbeat',
      'heartbeat',
      'agent.completed',
    ]);
  });

  it('reads history newest first with order=desc and pages older with before, without gap or duplicate', async () => {
    const sandbox = uniqueId('sb');
    const types = ['e0', 'e1', 'e2', 'e3', 'e4'];
    const stored = await request(h.app)
      .post(`/api/v1/sandboxes/${sandbox}/events/batch`)
      .send(types.map((event_type) => ({ event_type })));
    const ids: string[] = stored.body.ids;
    const typesOf = (res: request.Response) => res.body.events.map((event: { event_type: string }) => event.event_type);

    const newest = await request(h.app).get(`/api/v1/sandboxes/${sandbox}/events?order=desc&limit=2`);
    expect(newest.status).toBe(200);
    expect(typesOf(newest)).toEqual(['e4', 'e3']);
    expect(newest.body.next_before).toBe(ids[3]);
    expect(newest.body.next_after).toBeNull();
    const older = await request(h.app).get(
      `/api/v1/sandboxes/${sandbox}/events?order=desc&limit=2&before=${newest.body.next_before}`,
    );
    expect(typesOf(older)).toEqual(['e2', 'e1']);
    const oldest = await request(h.app).get(
      `/api/v1/sandboxes/${sandbox}/events?order=desc&limit=2&before=${older.body.next_before}`,
    );
    expect(typesOf(oldest)).toEqual(['e0']);
    expect(oldest.body.next_before).toBeNull();

    // A window between two cursors, ascending (the default order is unchanged).
    const window = await request(h.app).get(`/api/v1/sandboxes/${sandbox}/events?after=${ids[0]}&before=${ids[3]}`);
    expect(typesOf(window)).toEqual(['e1', 'e2']);
    expect(window.body.next_after).toBeNull();
    expect(window.body).not.toHaveProperty('next_before');
  });

  it('answers a bad history query with 422', async () => {
    const bad = await request(h.app).get('/api/v1/sandboxes/sb-1/events?order=newest&before=x');
    expect(bad.status).toBe(422);
    expect(bad.body.error.details.map((issue: { field: string }) => issue.field).sort()).toEqual([
      'query.before',
      'query.order',
    ]);
    const res = await request(h.app).get('/api/v1/sandboxes/sb-1/events?after=abc&limit=0');
    expect(res.status).toBe(422);
    expect(res.body.error.details.map((issue: { field: string }) => issue.field).sort()).toEqual([
      'query.after',
      'query.limit',
    ]);
  });
});

describe('ingest with a dependency down', () => {
  it('answers 503 (never 200) when Postgres is unreachable, and /readyz is red', async () => {
    const h = harness({ databaseUrl: `postgresql://postgres@127.0.0.1:${CLOSED_PORT}/relay` });
    try {
      const res = await request(h.app).post('/api/v1/sandboxes/sb-1/events').send({ event_type: 'agent.started' });
      expect(res.status).toBe(503);
      expect(res.body.error.code).toBe('service_unavailable');
      expect((await request(h.app).get('/api/v1/sandboxes/sb-1/events')).status).toBe(503);
      const ready = await request(h.app).get('/readyz');
      expect(ready.status).toBe(503);
      expect(ready.body.checks.postgres.ok).toBe(false);
      expect((await request(h.app).get('/healthz')).status).toBe(200);
    } finally {
      await h.close();
    }
  });

  it('still stores and acknowledges when Redis is unreachable; /readyz is red', async () => {
    const h = harness({ redisUrl: `redis://127.0.0.1:${CLOSED_PORT}` });
    try {
      const sandbox = uniqueId('sb');
      const res = await request(h.app)
        .post(`/api/v1/sandboxes/${sandbox}/events`)
        .send({ event_type: 'agent.started' });
      expect(res.status).toBe(200);
      expect(await h.store.prisma.sandboxEvent.count({ where: { entityId: sandbox } })).toBe(1);
      await waitFor(() => h.ingest.publisher.failedPublishes >= 1, 'the failed publish to be counted');
      const ready = await request(h.app).get('/readyz');
      expect(ready.status).toBe(503);
      expect(ready.body.checks.redis.ok).toBe(false);
    } finally {
      await h.close();
    }
  });
});

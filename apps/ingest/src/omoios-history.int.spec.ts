import { EdgeAuth } from '@sandbox-relay/auth';
import { OmoiosEventList, TrajectorySummary } from '@sandbox-relay/contracts';
import { closeRedis, createRedisClient, type Redis } from '@sandbox-relay/bus';
import { Readiness, createHttpApp, finishHttpApp } from '@sandbox-relay/service-kit';
import { EventRepository, createStore, type Store } from '@sandbox-relay/store';
import { testInfra, testLogger, uniqueId } from '@sandbox-relay/testing';
import type { Express } from 'express';
import request from 'supertest';
import { createIngestService, type IngestService } from './ingest.service';

const logger = testLogger();

/** A sandbox's history read the original system's (OmoiOS) way, as its frontend calls it, on the real store. */
describe("ingest: history the original's way (offset) and the trajectory", () => {
  let store: Store;
  let redis: Redis;
  let ingest: IngestService;
  let app: Express;

  beforeAll(() => {
    store = createStore({ databaseUrl: testInfra().databaseUrl });
    redis = createRedisClient(testInfra().redisUrl, { name: 'ingest-history-test', role: 'publisher', logger });
    ingest = createIngestService({
      store,
      publisherRedis: redis,
      logger,
      config: { eventBodyLimit: '1mb', batchBodyLimit: '16mb', groupCommitMaxEvents: 1000 },
      auth: EdgeAuth.off(),
    });
    app = createHttpApp({ logger, readiness: new Readiness() });
    app.use(ingest.router);
    finishHttpApp(app);
  });

  afterAll(async () => {
    await ingest.drain();
    await closeRedis(redis);
    await store.close();
  });

  /** Stores `bodies` in order through the batch edge; answers their ids. */
  const seed = async (sandbox: string, bodies: object[]): Promise<string[]> =>
    (await request(app).post(`/api/v1/sandboxes/${sandbox}/events/batch`).send(bodies).expect(200)).body.ids;
  const get = (path: string) => request(app).get(path);
  const createdAt = async (ids: string[]): Promise<string[]> =>
    (
      await store.pool.query<{ created_at: Date }>(
        'SELECT created_at FROM sandbox_events WHERE id = ANY($1::bigint[]) ORDER BY id',
        [ids],
      )
    ).rows.map((row) => row.created_at.toISOString());

  describe('GET …/events with offset', () => {
    it("answers {events, total_count, sandbox_id} newest first, in the original's item shape, paged by offset", async () => {
      const sandbox = uniqueId('sb-omoios-list');
      const ids = await seed(sandbox, [
        { event_type: 'agent.started', event_data: { task_id: 't-1' }, source: 'worker' },
        { event_type: 'agent.tool_use', event_data: { tool: 'Bash', command: 'npm test' } },
        { event_type: 'agent.heartbeat', event_data: { status: 'alive' }, source: 'worker' },
        { event_type: 'agent.tool_use', event_data: { tool: 'Read' }, source: 'agent' },
        { event_type: 'agent.completed', event_data: { success: true }, source: 'agent' },
      ]);
      const times = await createdAt(ids);
      const first = await get(`/api/v1/sandboxes/${sandbox}/events?limit=2&offset=0`).expect(200);
      expect(OmoiosEventList.parse(first.body)).toEqual(first.body);
      expect(first.body).toEqual({
        events: [
          {
            id: ids[4],
            sandbox_id: sandbox,
            event_type: 'agent.completed',
            event_data: { success: true },
            source: 'agent',
            created_at: times[4],
          },
          {
            id: ids[3],
            sandbox_id: sandbox,
            event_type: 'agent.tool_use',
            event_data: { tool: 'Read' },
            source: 'agent',
            created_at: times[3],
          },
        ],
        total_count: 5,
        sandbox_id: sandbox,
      });
      const rest = await get(`/api/v1/sandboxes/${sandbox}/events?limit=10&offset=2`).expect(200);
      // An event stored without a source reads as the original's default, `agent`.
      expect(rest.body.events.map((event: { id: string; source: string }) => [event.id, event.source])).toEqual([
        [ids[2], 'worker'],
        [ids[1], 'agent'],
        [ids[0], 'worker'],
      ]);
      expect(rest.body.total_count).toBe(5);
      const beyond = await get(`/api/v1/sandboxes/${sandbox}/events?offset=5`).expect(200);
      expect(beyond.body).toEqual({ events: [], total_count: 5, sandbox_id: sandbox });
    });

    it('filters by one event_type, counting only that type; an empty event_type filters nothing', async () => {
      const sandbox = uniqueId('sb-omoios-type');
      const ids = await seed(
        sandbox,
        ['agent.tool_use', 'heartbeat', 'agent.tool_use', 'agent.message'].map((event_type) => ({ event_type })),
      );
      const tools = await get(`/api/v1/sandboxes/${sandbox}/events?offset=0&event_type=agent.tool_use`).expect(200);
      expect(tools.body.events.map((event: { id: string }) => event.id)).toEqual([ids[2], ids[0]]);
      expect(tools.body.total_count).toBe(2);
      // One type matched exactly, as the original's filter: a comma is part of the name.
      expect(
        (await get(`/api/v1/sandboxes/${sandbox}/events?offset=0&event_type=agent.tool_use,heartbeat`).expect(200))
          .body,
      ).toMatchObject({ events: [], total_count: 0 });
      expect((await get(`/api/v1/sandboxes/${sandbox}/events?offset=0&event_type=`).expect(200)).body.total_count).toBe(
        4,
      );
    });

    it("counts and lists the sandbox's events only, not another entity's under the same id", async () => {
      const sandbox = uniqueId('sb-omoios-entity');
      await seed(sandbox, [{ event_type: 'agent.started' }]);
      await new EventRepository(store.pool).appendMany([
        {
          entityType: 'ticket',
          entityId: sandbox,
          eventType: 'BRANCH_CREATED',
          data: {},
          dataJson: '{}',
          source: 'branch-workflow',
        },
      ]);
      const res = await get(`/api/v1/sandboxes/${sandbox}/events?offset=0`).expect(200);
      expect(res.body.total_count).toBe(1);
      expect(res.body.events.map((event: { event_type: string }) => event.event_type)).toEqual(['agent.started']);
    });

    it("answers the relay's way without offset (after/before/order, or nothing that names offset), as before", async () => {
      const sandbox = uniqueId('sb-relay-way');
      const ids = await seed(
        sandbox,
        ['a', 'b', 'c'].map((event_type) => ({ event_type })),
      );
      const plain = await get(`/api/v1/sandboxes/${sandbox}/events?limit=2`).expect(200);
      expect(plain.body).toEqual({
        events: [expect.objectContaining({ id: ids[0], entity_id: sandbox }), expect.objectContaining({ id: ids[1] })],
        next_after: ids[1],
      });
      const desc = await get(`/api/v1/sandboxes/${sandbox}/events?order=desc&limit=1`).expect(200);
      expect(desc.body).toEqual({
        events: [expect.objectContaining({ id: ids[2], payload: {} })],
        next_after: null,
        next_before: ids[2],
      });
    });

    it('refuses offset beside the relay cursors, and bad values, with 422 naming each field', async () => {
      const mixed = await get('/api/v1/sandboxes/sb-1/events?offset=0&after=1&order=desc').expect(422);
      expect(mixed.body.error.details.map((issue: { field: string }) => issue.field).sort()).toEqual([
        'query.after',
        'query.order',
      ]);
      expect(mixed.body.error.details[0].message).toContain('cannot be combined with offset');
      const bad = await get('/api/v1/sandboxes/sb-1/events?offset=-1&limit=501').expect(422);
      expect(bad.body.error.details.map((issue: { field: string }) => issue.field).sort()).toEqual([
        'query.limit',
        'query.offset',
      ]);
      for (const query of ['offset=abc', 'offset=', 'offset=1.5', 'offset=1&offset=2', 'offset=99999999999999999999']) {
        const res = await get(`/api/v1/sandboxes/sb-1/events?${query}`);
        expect({ query, status: res.status, field: res.body.error?.details?.[0]?.field }).toEqual({
          query,
          status: 422,
          field: 'query.offset',
        });
      }
    });
  });

  describe('GET …/trajectory', () => {
    it('pages the events without heartbeats newest first, with the cursors and the heartbeat summary of the original', async () => {
      const sandbox = uniqueId('sb-trajectory');
      const types = [
        'agent.started',
        'heartbeat',
        'agent.tool_use',
        'agent.heartbeat',
        'agent.tool_result',
        'heartbeat',
        'agent.message',
        'agent.completed',
      ];
      const ids = await seed(
        sandbox,
        types.map((event_type, i) => ({ event_type, event_data: { i } })),
      );
      const times = await createdAt(ids);
      const work = [0, 2, 4, 6, 7].map((i) => ids[i]!);
      const idsOf = (res: request.Response) => res.body.events.map((event: { id: string }) => event.id);
      const summary = { count: 3, first_heartbeat: times[1], last_heartbeat: times[5] };

      const newest = await get(`/api/v1/sandboxes/${sandbox}/trajectory?limit=2`).expect(200);
      expect(TrajectorySummary.parse(newest.body)).toEqual(newest.body);
      expect(newest.body).toEqual({
        sandbox_id: sandbox,
        events: [
          {
            id: ids[7],
            sandbox_id: sandbox,
            event_type: 'agent.completed',
            event_data: { i: 7 },
            source: 'agent',
            created_at: times[7],
          },
          {
            id: ids[6],
            sandbox_id: sandbox,
            event_type: 'agent.message',
            event_data: { i: 6 },
            source: 'agent',
            created_at: times[6],
          },
        ],
        heartbeat_summary: summary,
        total_events: 8,
        trajectory_events: 2,
        next_cursor: ids[6],
        prev_cursor: ids[7],
        has_more: true,
      });
      const older = await get(
        `/api/v1/sandboxes/${sandbox}/trajectory?limit=2&cursor=${newest.body.next_cursor}&direction=older`,
      ).expect(200);
      expect(idsOf(older)).toEqual([work[2], work[1]]);
      expect(older.body).toMatchObject({
        next_cursor: work[1],
        prev_cursor: work[2],
        has_more: true,
        heartbeat_summary: summary,
        total_events: 8,
      });
      const oldest = await get(
        `/api/v1/sandboxes/${sandbox}/trajectory?limit=2&cursor=${older.body.next_cursor}&direction=older`,
      ).expect(200);
      expect(idsOf(oldest)).toEqual([work[0]]);
      expect(oldest.body).toMatchObject({
        next_cursor: null,
        prev_cursor: work[0],
        has_more: false,
        trajectory_events: 1,
      });

      // Back up: newer than the oldest page's prev_cursor, still newest first.
      const newer = await get(
        `/api/v1/sandboxes/${sandbox}/trajectory?limit=2&cursor=${oldest.body.prev_cursor}&direction=newer`,
      ).expect(200);
      expect(idsOf(newer)).toEqual([work[2], work[1]]);
      expect(newer.body).toMatchObject({ has_more: true, next_cursor: work[1], prev_cursor: work[2] });
      const newest2 = await get(
        `/api/v1/sandboxes/${sandbox}/trajectory?limit=5&cursor=${work[2]}&direction=newer`,
      ).expect(200);
      expect(idsOf(newest2)).toEqual([work[4], work[3]]);
      expect(newest2.body).toMatchObject({ has_more: false, next_cursor: null, prev_cursor: work[4] });
      // Without a cursor, `newer` starts from the oldest (as the original does).
      expect(idsOf(await get(`/api/v1/sandboxes/${sandbox}/trajectory?limit=2&direction=newer`).expect(200))).toEqual([
        work[1],
        work[0],
      ]);
      // The whole trajectory in one page.
      const all = await get(`/api/v1/sandboxes/${sandbox}/trajectory`).expect(200);
      expect(idsOf(all)).toEqual([...work].reverse());
      expect(all.body).toMatchObject({ has_more: false, next_cursor: null, trajectory_events: 5 });
    });

    it('answers an unknown sandbox with an empty trajectory', async () => {
      const sandbox = uniqueId('sb-trajectory-none');
      expect((await get(`/api/v1/sandboxes/${sandbox}/trajectory`).expect(200)).body).toEqual({
        sandbox_id: sandbox,
        events: [],
        heartbeat_summary: { count: 0, first_heartbeat: null, last_heartbeat: null },
        total_events: 0,
        trajectory_events: 0,
        next_cursor: null,
        prev_cursor: null,
        has_more: false,
      });
    });

    it('refuses a bad query with 422 naming each field, and a bad sandbox id with 400', async () => {
      const res = await get('/api/v1/sandboxes/sb-1/trajectory?limit=1001&cursor=abc&direction=sideways').expect(422);
      expect(res.body.error.details.map((issue: { field: string }) => issue.field).sort()).toEqual([
        'query.cursor',
        'query.direction',
        'query.limit',
      ]);
      expect((await get('/api/v1/sandboxes/sb-1/trajectory?cursor=9223372036854775808')).status).toBe(422);
      expect((await get('/api/v1/sandboxes/a%20b/trajectory')).status).toBe(400);
    });
  });
});

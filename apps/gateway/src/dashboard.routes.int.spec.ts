import { EdgeAuth, generateRelayKey } from '@sandbox-relay/auth';
import { mkdtemp, mkdir, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { SandboxList, SandboxSummary } from '@sandbox-relay/contracts';
import { Readiness, createHttpApp, finishHttpApp } from '@sandbox-relay/service-kit';
import { createStore, type Store } from '@sandbox-relay/store';
import { CLOSED_PORT, testInfra, testLogger, uniqueId } from '@sandbox-relay/testing';
import type { Express } from 'express';
import request from 'supertest';
import { dashboardRouter } from './dashboard.routes';
import { SandboxListRepository } from './sandbox-list.repository';

const logger = testLogger();

function appFor(store: Store, dashboardDir: string, auth?: EdgeAuth): Express {
  const app = createHttpApp({ logger, readiness: new Readiness(500) });
  app.use(dashboardRouter({ sandboxes: new SandboxListRepository(store), dashboardDir, auth }));
  return finishHttpApp(app);
}

/** Stores an event `agoSeconds` in the past (the figures are about time). */
async function storeEvent(store: Store, sandboxId: string, eventType: string, agoSeconds = 0): Promise<string> {
  const { rows } = await store.pool.query<{ id: string }>(
    `INSERT INTO sandbox_events (entity_type, entity_id, event_type, data, source, created_at)
     VALUES ('sandbox', $1, $2, '{}', 'test', now() - make_interval(secs => $3)) RETURNING id::text AS id`,
    [sandboxId, eventType, agoSeconds],
  );
  return rows[0]!.id;
}

describe('dashboard routes', () => {
  let store: Store;
  let app: Express;
  let dashboardDir: string;

  beforeAll(async () => {
    store = createStore({ databaseUrl: testInfra().databaseUrl });
    dashboardDir = await mkdtemp(path.join(os.tmpdir(), 'dashboard-'));
    app = appFor(store, dashboardDir);
  });
  afterAll(async () => {
    await store.close();
    await rm(dashboardDir, { recursive: true, force: true });
  });

  it('lists a sandbox known only from its events, with its last heartbeat and the events of the last minute', async () => {
    const sandbox = uniqueId('sb-list');
    await storeEvent(store, sandbox, 'heartbeat', 120);
    const heartbeat = await storeEvent(store, sandbox, 'heartbeat', 30);
    await storeEvent(store, sandbox, 'agent.tool_use', 10);
    const last = await storeEvent(store, sandbox, 'agent.tool_completed', 5);

    const res = await request(app).get('/api/v1/sandboxes?limit=50').expect(200);
    expect(res.headers['cache-control']).toBe('no-store');
    const list = SandboxList.parse(res.body);
    const found = list.sandboxes.find((item) => item.sandbox_id === sandbox);
    expect(found).toMatchObject({
      status: null,
      task: null,
      restart_count: null,
      last_event_id: last,
      last_event_type: 'agent.tool_completed',
      events_last_minute: 3,
    });
    const { rows } = await store.pool.query<{ created_at: Date }>(
      'SELECT created_at FROM sandbox_events WHERE id = $1',
      [heartbeat],
    );
    expect(found!.last_heartbeat_at).toBe(rows[0]!.created_at.toISOString());
    expect(Date.parse(list.generated_at)).toBeGreaterThan(Date.parse(found!.last_event_at!));
  });

  it('joins the supervisor session and task, and lists a session without events', async () => {
    const withEvents = uniqueId('sb-session');
    const quiet = uniqueId('sb-quiet');
    const task = await store.prisma.task.create({
      data: { title: 'Refactor the parser', sandboxId: withEvents, status: 'running' },
    });
    const recorded = new Date(Date.now() - 3_000);
    await store.prisma.sandboxSession.create({
      data: {
        sandboxId: withEvents,
        taskId: task.id,
        status: 'restarting',
        restartCount: 2,
        lastHeartbeatAt: recorded,
      },
    });
    await store.prisma.sandboxSession.create({ data: { sandboxId: quiet, status: 'quarantined' } });
    await storeEvent(store, withEvents, 'heartbeat', 60);

    const list = SandboxList.parse((await request(app).get('/api/v1/sandboxes').expect(200)).body);
    const session = list.sandboxes.find((item) => item.sandbox_id === withEvents);
    // The session's recorded heartbeat is newer than the last heartbeat event: the newer one wins.
    expect(session).toMatchObject({
      status: 'restarting',
      restart_count: 2,
      task: { id: task.id, title: 'Refactor the parser', status: 'running' },
      last_heartbeat_at: recorded.toISOString(),
    });
    expect(list.sandboxes.find((item) => item.sandbox_id === quiet)).toMatchObject({
      status: 'quarantined',
      last_event_id: null,
      events_last_minute: 0,
    });

    const one = SandboxSummary.parse((await request(app).get(`/api/v1/sandboxes/${withEvents}`).expect(200)).body);
    expect(one).toEqual(session);
  });

  it('names a task of a sandbox without a session', async () => {
    const sandbox = uniqueId('sb-task');
    await store.prisma.task.create({ data: { title: 'Local task', sandboxId: sandbox } });
    await storeEvent(store, sandbox, 'agent.started');
    const one = SandboxSummary.parse((await request(app).get(`/api/v1/sandboxes/${sandbox}`).expect(200)).body);
    expect(one).toMatchObject({ status: null, task: { title: 'Local task', status: 'pending' } });
  });

  it('lists the most recently active first, at most `limit`', async () => {
    const older = uniqueId('sb-older');
    const newer = uniqueId('sb-newer');
    await storeEvent(store, older, 'agent.message');
    await storeEvent(store, newer, 'agent.message');
    const list = SandboxList.parse((await request(app).get('/api/v1/sandboxes?limit=2').expect(200)).body);
    expect(list.sandboxes.length).toBeLessThanOrEqual(2);
    const ids = SandboxList.parse(
      (await request(app).get('/api/v1/sandboxes?limit=500').expect(200)).body,
    ).sandboxes.map((item) => item.sandbox_id);
    expect(ids.indexOf(newer)).toBeGreaterThanOrEqual(0);
    expect(ids.indexOf(newer)).toBeLessThan(ids.indexOf(older));
  });

  it('lists a scoped viewer its own most recently active sandboxes, however many others are busier', async () => {
    const mine = uniqueId('sb-mine');
    const mineQuiet = uniqueId('sb-mine-quiet');
    const mineTask = await store.prisma.task.create({
      data: { title: 'Scoped task', sandboxId: mine, ticketId: 'ABC-7' },
    });
    await storeEvent(store, mine, 'agent.message', 30);
    await store.prisma.sandboxSession.create({ data: { sandboxId: mineQuiet, status: 'running' } });
    // 120 busier sandboxes, each with a newer event than `mine`: the global list's first 100 leave it out.
    const busyPrefix = uniqueId('sb-busy');
    await store.pool.query(
      `INSERT INTO sandbox_events (entity_type, entity_id, event_type, data, source)
       SELECT 'sandbox', $1 || '-' || n, 'agent.message', '{}', 'test' FROM generate_series(1, 120) AS n`,
      [busyPrefix],
    );
    const global = SandboxList.parse(
      (await request(app).get('/api/v1/sandboxes?limit=100').expect(200)).body,
    ).sandboxes.map((item) => item.sandbox_id);
    expect(global).not.toContain(mine);

    const key = await generateRelayKey('eddsa', 'k-dash');
    const auth = await EdgeAuth.fromSettings({ mode: 'on', keys: [key], maxTokenAgeS: 3600 });
    const scopedApp = appFor(store, dashboardDir, auth);
    const token = await auth.issuer!.issue(
      { kind: 'viewer', sandboxes: [mine, mineQuiet, uniqueId('sb-never-seen')] },
      { subject: 'viewer', ttlSeconds: 60 },
    );
    const scoped = SandboxList.parse(
      (await request(scopedApp).get('/api/v1/sandboxes?limit=100').set('authorization', `Bearer ${token}`).expect(200))
        .body,
    );
    // The session was written after `mine`'s event: it is the more recently active.
    expect(scoped.sandboxes.map((item) => item.sandbox_id)).toEqual([mineQuiet, mine]);
    expect(scoped.sandboxes[1]!.task).toEqual({
      id: mineTask.id,
      title: 'Scoped task',
      status: 'pending',
      ticket_id: 'ABC-7',
      cost_usd: 0,
      input_tokens: 0,
      output_tokens: 0,
    });
    const first = SandboxList.parse(
      (await request(scopedApp).get('/api/v1/sandboxes?limit=1').set('authorization', `Bearer ${token}`).expect(200))
        .body,
    );
    expect(first.sandboxes.map((item) => item.sandbox_id)).toEqual([mineQuiet]);

    // An operator token for every sandbox gets the global list.
    const operator = await auth.issuer!.issue({ kind: 'operator', sandboxes: '*' }, { subject: 'op', ttlSeconds: 60 });
    const all = SandboxList.parse(
      (
        await request(scopedApp)
          .get('/api/v1/sandboxes?limit=100')
          .set('authorization', `Bearer ${operator}`)
          .expect(200)
      ).body,
    );
    expect(all.sandboxes.map((item) => item.sandbox_id)).not.toContain(mine);
    expect(all.sandboxes.length).toBe(100);
  });

  it('answers bad queries and unknown sandboxes with clear errors', async () => {
    const limit = await request(app).get('/api/v1/sandboxes?limit=0').expect(422);
    expect(limit.body.error).toMatchObject({ code: 'validation_failed', details: [{ field: 'query.limit' }] });
    await request(app).get('/api/v1/sandboxes?limit=501').expect(422);
    const badId = await request(app).get('/api/v1/sandboxes/bad%20id').expect(400);
    expect(badId.body.error.details[0].field).toBe('params.sandboxId');
    const unknown = await request(app)
      .get(`/api/v1/sandboxes/${uniqueId('sb-none')}`)
      .expect(404);
    expect(unknown.body.error.code).toBe('not_found');
  });

  it('answers 503 when PostgreSQL is unreachable', async () => {
    const url = new URL(testInfra().databaseUrl);
    url.port = String(CLOSED_PORT);
    const down = createStore({ databaseUrl: url.toString(), connectTimeoutMs: 500 });
    try {
      const res = await request(appFor(down, dashboardDir)).get('/api/v1/sandboxes').expect(503);
      expect(res.body.error.code).toBe('service_unavailable');
    } finally {
      await down.close();
    }
  });

  it('serves the built page at / and its hashed assets as immutable', async () => {
    const missing = await request(appFor(store, path.join(dashboardDir, 'nowhere')))
      .get('/')
      .expect(503);
    expect(missing.body.error.code).toBe('dashboard_not_built');
    expect(missing.body.error.message).toContain('npm run build:dashboard');

    await writeFile(path.join(dashboardDir, 'index.html'), '<!doctype html><title>Sandbox Relay</title>');
    await mkdir(path.join(dashboardDir, 'assets'), { recursive: true });
    await writeFile(path.join(dashboardDir, 'assets', 'index-abc123.js'), 'console.log(1)');
    const page = await request(app).get('/').expect(200);
    expect(page.headers['content-type']).toMatch(/^text\/html/);
    expect(page.headers['cache-control']).toBe('no-cache');
    expect(page.text).toContain('<title>Sandbox Relay</title>');
    const asset = await request(app).get('/assets/index-abc123.js').expect(200);
    expect(asset.headers['cache-control']).toBe('public, max-age=31536000, immutable');
    const absent = await request(app).get('/assets/nope.js').expect(404);
    expect(absent.body.error.code).toBe('not_found');
  });
});

import { closeRedis, createRedisClient, type Redis } from '@sandbox-relay/bus';
import { FakeSandboxProvider } from '@sandbox-relay/sandbox/testing';
import { Readiness, createHttpApp, finishHttpApp } from '@sandbox-relay/service-kit';
import { createStore, type Store } from '@sandbox-relay/store';
import { metricValue, testInfra, testLogger, uniqueId, waitFor } from '@sandbox-relay/testing';
import request from 'supertest';
import { createSupervisorService, type SupervisorService } from './supervisor.service';

const logger = testLogger();

// A silent worker climbs the ladder, is restarted once, then quarantined; /metrics counts each step.
describe('supervisor /metrics', () => {
  let store: Store;
  let redis: Redis;
  let service: SupervisorService;

  beforeAll(async () => {
    store = createStore({ databaseUrl: testInfra().databaseUrl });
    redis = createRedisClient(testInfra().redisUrl, { name: 'sup-metrics-test', role: 'publisher', logger });
    await waitFor(() => redis.status === 'ready', 'redis');
    service = createSupervisorService({
      store,
      publisherRedis: redis,
      provider: new FakeSandboxProvider(uniqueId('fake')),
      logger,
      relayUrl: () => 'http://127.0.0.1:18000',
      config: {
        provider: 'local',
        keyPrefix: uniqueId('sup-metrics'),
        heartbeat: { intervalMs: 300, graceMs: 100 },
        sweepIntervalMs: 50,
        restart: { maxRestarts: 1, windowMs: 60_000, baseBackoffMs: 1, maxBackoffMs: 10 },
        terminateGraceMs: 50,
        idleAfterMs: 0,
        lockTtlMs: 10_000,
      },
    });
  });
  afterAll(async () => {
    await service.close();
    await closeRedis(redis);
    await store.close();
  });

  it('counts missed heartbeats, ladder steps, restarts and the quarantine, with no task or sandbox id in a label', async () => {
    const app = createHttpApp({ logger, readiness: new Readiness() });
    app.use(service.router);
    finishHttpApp(app);
    const scrape = async () => (await request(app).get('/metrics').expect(200)).text;
    const before = await scrape();
    const value = (text: string, name: string, labels: Record<string, string> = {}) => metricValue(text, name, labels) ?? 0;

    const created = await request(app).post('/api/v1/tasks').send({ title: 'never beats', plan: [{ run: 'true' }] }).expect(201);
    const taskId = (created.body as { id: string }).id;
    await waitFor(
      async () => (await service.supervisor.sweep(), await service.supervisor.settled(), (await store.prisma.task.findUnique({ where: { id: taskId } }))?.status === 'quarantined'),
      'the quarantine',
      15_000,
    );

    const after = await scrape();
    expect(value(after, 'relay_supervisor_heartbeats_missed_total')).toBeGreaterThanOrEqual(value(before, 'relay_supervisor_heartbeats_missed_total') + 1);
    expect(value(after, 'relay_supervisor_heartbeat_escalations_total', { step: 'degrade' })).toBeGreaterThanOrEqual(value(before, 'relay_supervisor_heartbeat_escalations_total', { step: 'degrade' }) + 1);
    expect(value(after, 'relay_supervisor_restarts_total', { outcome: 'restarted' })).toBe(value(before, 'relay_supervisor_restarts_total', { outcome: 'restarted' }) + 1);
    expect(value(after, 'relay_supervisor_restarts_total', { outcome: 'quarantined' })).toBe(value(before, 'relay_supervisor_restarts_total', { outcome: 'quarantined' }) + 1);
    expect(value(after, 'relay_supervisor_quarantines_total')).toBe(value(before, 'relay_supervisor_quarantines_total') + 1);
    expect(after).toContain('relay_supervisor_live_sessions');
    expect(after).not.toContain(taskId);
  });
});

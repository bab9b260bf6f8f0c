import type { Store } from '@sandbox-relay/store';
import { metricValue, testLogger, waitFor } from '@sandbox-relay/testing';
import request from 'supertest';
import type { SupervisorService } from './supervisor.service';
import type { Express } from 'express';
import { SupervisorHarness, testSupervisorConfig } from './spec-support';

const logger = testLogger();

// A silent worker climbs the ladder, is restarted once, then quarantined; /metrics counts each step.
describe('supervisor /metrics', () => {
  const harness = new SupervisorHarness('sup-metrics-test', logger);
  let store: Store;
  let service: SupervisorService;
  let app: Express;

  beforeAll(async () => {
    await harness.open();
    ({ store } = harness);
    const restart = { maxRestarts: 1, windowMs: 60_000, baseBackoffMs: 1, maxBackoffMs: 10 };
    ({ svc: service, app } = harness.service(testSupervisorConfig({ restart }, 'sup-metrics')));
  });
  afterAll(() => harness.close());

  it('counts missed heartbeats, ladder steps, restarts and the quarantine, with no task or sandbox id in a label', async () => {
    const scrape = async () => (await request(app).get('/metrics').expect(200)).text;
    const before = await scrape();
    const value = (text: string, name: string, labels: Record<string, string> = {}) =>
      metricValue(text, name, labels) ?? 0;

    const created = await request(app)
      .post('/api/v1/tasks')
      .send({ title: 'never beats', plan: [{ run: 'true' }] })
      .expect(201);
    const taskId = (created.body as { id: string }).id;
    await waitFor(
      async () => (
        await service.supervisor.sweep(),
        await service.supervisor.settled(),
        (await store.prisma.task.findUnique({ where: { id: taskId } }))?.status === 'quarantined'
      ),
      'the quarantine',
      15_000,
    );

    const after = await scrape();
    expect(value(after, 'relay_supervisor_heartbeats_missed_total')).toBeGreaterThanOrEqual(
      value(before, 'relay_supervisor_heartbeats_missed_total') + 1,
    );
    expect(value(after, 'relay_supervisor_heartbeat_escalations_total', { step: 'degrade' })).toBeGreaterThanOrEqual(
      value(before, 'relay_supervisor_heartbeat_escalations_total', { step: 'degrade' }) + 1,
    );
    expect(value(after, 'relay_supervisor_restarts_total', { outcome: 'restarted' })).toBe(
      value(before, 'relay_supervisor_restarts_total', { outcome: 'restarted' }) + 1,
    );
    expect(value(after, 'relay_supervisor_restarts_total', { outcome: 'quarantined' })).toBe(
      value(before, 'relay_supervisor_restarts_total', { outcome: 'quarantined' }) + 1,
    );
    expect(value(after, 'relay_supervisor_quarantines_total')).toBe(
      value(before, 'relay_supervisor_quarantines_total') + 1,
    );
    expect(after).toContain('relay_supervisor_live_sessions');
    expect(after).not.toContain(taskId);
  });
});

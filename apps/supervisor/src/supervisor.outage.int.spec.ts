import { SUPERVISOR_EVENT_TYPES, type TaskView } from '@sandbox-relay/contracts';
import { TcpProxy, testInfra, testLogger, waitFor } from '@sandbox-relay/testing';
import request from 'supertest';
import { SupervisorHarness, testSupervisorConfig } from './spec-support';
import type { SweepReport } from './supervisor';

const logger = testLogger();

// PostgreSQL goes away for longer than the whole ladder (the supervisor reaches it through a proxy the
// spec cuts; the database itself, shared with other suites, is untouched). The workers could not have
// stored a beat meanwhile either, so that silence is nobody's: the first sweep after it restarts no one.
describe('supervisor across an outage of PostgreSQL', () => {
  const harness = new SupervisorHarness('sup-outage', logger);
  let proxy: TcpProxy;

  beforeAll(async () => {
    const database = new URL(testInfra().databaseUrl);
    proxy = await TcpProxy.start({ host: database.hostname, port: Number(database.port || 5432) });
    database.port = String(proxy.port);
    await harness.open(database.toString());
  });
  afterAll(async () => {
    await harness.close();
    await proxy.close();
  });

  const { supervisorEventTypes } = harness;

  it('counts no silence while it could not read the store, and still restarts a sandbox that stays silent after', async () => {
    // The ladder restarts after 3 × 300 ms + 100 ms of silence.
    const { app, sup } = harness.service(testSupervisorConfig({ heartbeat: { intervalMs: 300, graceMs: 100 } }));
    const view = (
      await request(app)
        .post('/api/v1/tasks')
        .send({ title: 'outage', plan: [{ run: 'true' }] })
        .expect(201)
    ).body as TaskView;
    const sandboxId = view.sandbox_id!;
    const beat = { status: 'running' };
    await harness.events.appendMany([
      {
        entityType: 'sandbox',
        entityId: sandboxId,
        eventType: 'heartbeat',
        data: beat,
        dataJson: JSON.stringify(beat),
        source: 'worker',
      },
    ]);
    expect((await sup.sweep()).actions.filter((action) => action.sandboxId === sandboxId)).toEqual([]);

    proxy.cut();
    await expect(sup.sweep()).rejects.toThrow();
    await new Promise((resolve) => setTimeout(resolve, 2_000));
    await expect(sup.sweep()).rejects.toThrow();
    proxy.restore();

    // The first sweep that reads the store again (the pools reconnect): no action for the silence of the outage.
    const first = await waitFor(
      () => sup.sweep().catch(() => undefined as SweepReport | undefined),
      'a sweep through the restored connection',
      10_000,
    );
    expect(first.actions.filter((action) => action.sandboxId === sandboxId)).toEqual([]);
    expect(await supervisorEventTypes(sandboxId)).toEqual([SUPERVISOR_EVENT_TYPES.TASK_STARTED]);

    // Silent after the outage too: the ladder runs its course from there, to a restart.
    await waitFor(
      async () => (
        await sup.sweep(),
        await sup.settled(),
        (await supervisorEventTypes(sandboxId)).includes(SUPERVISOR_EVENT_TYPES.AGENT_RESTARTED)
      ),
      'the restart of the sandbox that stayed silent',
      10_000,
    );
    expect(await supervisorEventTypes(sandboxId)).toEqual([
      SUPERVISOR_EVENT_TYPES.TASK_STARTED,
      SUPERVISOR_EVENT_TYPES.HEARTBEAT_MISSED,
      SUPERVISOR_EVENT_TYPES.SANDBOX_DEGRADED,
      SUPERVISOR_EVENT_TYPES.AGENT_RESTARTED,
    ]);
  });
});

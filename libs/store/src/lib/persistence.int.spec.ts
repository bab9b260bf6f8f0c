import { ServiceUnavailableError } from '@sandbox-relay/service-kit';
import { testInfra, uniqueId } from '@sandbox-relay/testing';
import { Pool } from 'pg';
import { EventRepository } from './event-repository';
import { holdIdCounter } from './spec-support';
import { createStore, statementTimeoutFor, type Store } from './store';
import { withStoreErrors } from './store-errors';

// The seed's phase 4: sessions and events survive a new connection (a restart of the service).
describe('persistence through the Prisma client (seed phase 4)', () => {
  let writer: Store;
  let reader: Store;
  beforeAll(() => {
    writer = createStore({ databaseUrl: testInfra().databaseUrl });
    reader = createStore({ databaseUrl: testInfra().databaseUrl });
  });
  afterAll(async () => {
    await writer.close();
    await reader.close();
  });

  it('persists a sandbox session with its task', async () => {
    const sandboxId = uniqueId('persist');
    const task = await writer.prisma.task.create({ data: { title: 'persist test', sandboxId } });
    await writer.prisma.sandboxSession.create({
      data: { sandboxId, taskId: task.id, agentId: 'agent-789', status: 'running' },
    });

    const session = await reader.prisma.sandboxSession.findUnique({ where: { sandboxId }, include: { task: true } });
    expect(session).toMatchObject({ sandboxId, agentId: 'agent-789', status: 'running', restartCount: 0 });
    expect(session?.task?.sandboxId).toBe(sandboxId);
  });

  it('makes events queryable with a bigint id', async () => {
    const sandboxId = uniqueId('event-persist');
    await writer.prisma.sandboxEvent.create({
      data: { entityId: sandboxId, eventType: 'agent.tool_use', data: { tool: 'bash' }, source: 'agent' },
    });
    const events = await reader.prisma.sandboxEvent.findMany({ where: { entityId: sandboxId } });
    expect(events).toHaveLength(1);
    expect(events[0]).toMatchObject({ entityType: 'sandbox', eventType: 'agent.tool_use', data: { tool: 'bash' } });
    expect(typeof events[0]!.id).toBe('bigint');
  });
});

// A write the caller was told failed (503 on a timeout) must not commit later: the retry would store it twice.
describe('a write that times out', () => {
  it('is cancelled in Postgres before the client gives up, so what was answered 503 is never stored', async () => {
    const store = createStore({ databaseUrl: testInfra().databaseUrl, queryTimeoutMs: 500 });
    const blocker = new Pool({ connectionString: testInfra().databaseUrl, max: 1 });
    const sandboxId = uniqueId('timeout');
    // Another writer holds the id counter (as a stuck replica's insert would); briefly, since every
    // writer of the log waits on it.
    const counter = await holdIdCounter(blocker);
    try {
      const append = new EventRepository(store.pool).appendMany([
        {
          entityType: 'sandbox',
          entityId: sandboxId,
          eventType: 'agent.message',
          data: {},
          dataJson: '{}',
          source: 'agent',
        },
      ]);
      await expect(withStoreErrors(append)).rejects.toBeInstanceOf(ServiceUnavailableError);
      await counter.release();
      // The lock is free now: a statement still running in Postgres would insert the row at this point.
      await new Promise((resolve) => setTimeout(resolve, 300));
      const { rows } = await blocker.query('SELECT count(*)::int AS n FROM sandbox_events WHERE entity_id = $1', [
        sandboxId,
      ]);
      expect(rows[0].n).toBe(0);
    } finally {
      await counter.release();
      await blocker.end();
      await store.close();
    }
  });

  it('puts the server-side limit just under the client-side one', () => {
    expect(statementTimeoutFor(15_000)).toBe(14_000);
    expect(statementTimeoutFor(1_000)).toBe(800);
  });
});

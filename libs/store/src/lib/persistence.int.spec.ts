import { testInfra, uniqueId } from '@sandbox-relay/testing';
import { createStore, type Store } from './store';

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
    await writer.prisma.sandboxSession.create({ data: { sandboxId, taskId: task.id, agentId: 'agent-789', status: 'running' } });

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

import { EventEnvelope, ENTITY_TYPES } from '@sandbox-relay/contracts';
import { LocalProcessProvider } from '@sandbox-relay/sandbox';
import { createLogger, parseEnv, runMain } from '@sandbox-relay/service-kit';
import { createStore } from '@sandbox-relay/store';
import { workerBundlePath } from '@sandbox-relay/worker';
import { readFile } from 'node:fs/promises';
import WebSocket from 'ws';
import { z } from 'zod';

/**
 * `npm run task -- [plan.json]`: starts a task on the local sandbox provider against a running relay
 * (`npm start`), and streams the agent's events until it completes or you press Ctrl-C.
 */
const TaskCliEnv = z.object({
  RELAY_URL: z.string().url().default('http://127.0.0.1:18000'),
  DATABASE_URL: z.string().default('postgresql://postgres@127.0.0.1:5432/sandbox_relay'),
  WORKER_BUNDLE: z.string().optional(),
});

function describe(event: EventEnvelope): string {
  const data = event.payload;
  const detail =
    data.content ?? data.command ?? (data.input as { command?: string } | undefined)?.command ?? data.path ?? data.reason ?? data.message_type ?? '';
  const exit = event.event_type === 'agent.tool_completed' ? ` exit=${String(data.exit_code)}` : '';
  return `${event.id.padStart(6)}  ${event.event_type.padEnd(24)} ${String(detail).replace(/\s+/g, ' ').slice(0, 100)}${exit}`;
}

async function main(): Promise<void> {
  const env = parseEnv(TaskCliEnv, process.env);
  const planFile = process.argv[2] ?? 'examples/hello-plan.json';
  const plan = await readFile(planFile, 'utf8');
  const logger = createLogger({ name: 'task', level: 'warn' });
  const store = createStore({ databaseUrl: env.DATABASE_URL, poolSize: 2 });
  const provider = new LocalProcessProvider({
    workerScript: workerBundlePath(env.WORKER_BUNDLE),
    baseEnv: { PATH: process.env.PATH, HOME: process.env.HOME, LANG: process.env.LANG },
    keepWorkspaces: true,
  });

  const task = await store.prisma.task.create({ data: { title: `local task from ${planFile}`, agentId: 'shell-agent' } });
  const sandbox = await provider.spawn({
    taskId: task.id,
    agentId: 'shell-agent',
    env: { RELAY_URL: env.RELAY_URL, TASK_ID: task.id, TASK_PLAN: plan },
  });
  await store.prisma.task.update({ where: { id: task.id }, data: { sandboxId: sandbox.sandboxId, status: 'running' } });
  await store.prisma.sandboxSession.create({ data: { sandboxId: sandbox.sandboxId, taskId: task.id, agentId: 'shell-agent', status: 'running' } });

  const messages = `${env.RELAY_URL}/api/v1/sandboxes/${sandbox.sandboxId}/messages`;
  process.stdout.write(
    [
      `task ${task.id} running in sandbox ${sandbox.sandboxId} (workspace ${sandbox.workspaceDir ?? '?'})`,
      `steer it from another terminal:`,
      `  curl -s -XPOST ${messages} -H 'content-type: application/json' -d '{"message_type":"user_message","content":"[{\\"run\\":\\"date\\"}]"}'`,
      `  curl -s -XPOST ${messages} -H 'content-type: application/json' -d '{"message_type":"interrupt","content":"stop"}'`,
      `Ctrl-C stops the sandbox.`,
      '',
    ].join('\n'),
  );

  const wsUrl = `${env.RELAY_URL.replace(/^http/, 'ws')}/api/v1/events/ws/events?entity_types=${ENTITY_TYPES.SANDBOX}&entity_ids=${sandbox.sandboxId}&since=0`;
  const ws = new WebSocket(wsUrl);
  const stop = async (code: number) => {
    ws.close();
    await provider.terminate(sandbox.sandboxId, { graceMs: 5_000 }).catch((error: unknown) => logger.warn({ err: error }, 'terminate failed'));
    await store.prisma.task.update({ where: { id: task.id }, data: { status: code === 0 ? 'completed' : 'stopped' } }).catch(() => undefined);
    await store.close();
    process.exit(code);
  };
  ws.on('message', (raw) => {
    const parsed = EventEnvelope.safeParse(JSON.parse(String(raw)));
    if (!parsed.success || parsed.data.event_type === 'heartbeat') return;
    process.stdout.write(`${describe(parsed.data)}\n`);
    if (parsed.data.event_type === 'agent.completed') void stop(0);
  });
  ws.on('error', (error) => logger.error({ err: error.message }, 'event stream failed; is `npm start` running?'));
  process.once('SIGINT', () => void stop(130));
  process.once('SIGTERM', () => void stop(143));
}

runMain(main);

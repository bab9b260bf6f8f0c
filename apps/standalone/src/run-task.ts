import { EventEnvelope, SUPERVISOR_EVENT_TYPES, TaskView } from '@sandbox-relay/contracts';
import { createLogger, parseEnv, runMain } from '@sandbox-relay/service-kit';
import { readFile } from 'node:fs/promises';
import WebSocket from 'ws';
import { z } from 'zod';

/**
 * `npm run task -- [plan.json]`: starts a task through the supervisor's edge (`POST /api/v1/tasks`)
 * of a running relay (`npm start`), streams its agent's events (following restarts to the replacement
 * sandbox) until it completes, and stops it on Ctrl-C.
 */
const TaskCliEnv = z.object({
  RELAY_URL: z.string().url().default('http://127.0.0.1:18000'),
  /** Needed when the relay runs with auth on: an operator token (`npm run token -- operator`). */
  OPERATOR_TOKEN: z.string().min(1).optional(),
});

let operatorToken: string | undefined;

function describe(event: EventEnvelope): string {
  const data = event.payload;
  const detail =
    data.content ??
    data.command ??
    (data.input as { command?: string } | undefined)?.command ??
    data.path ??
    data.reason ??
    data.message_type ??
    (data.new_sandbox_id ? `→ ${String(data.new_sandbox_id)}` : '');
  const exit = event.event_type === 'agent.tool_completed' ? ` exit=${String(data.exit_code)}` : '';
  return `${event.id.padStart(6)}  ${event.event_type.padEnd(24)} ${String(detail).replace(/\s+/g, ' ').slice(0, 100)}${exit}`;
}

async function call(url: string, init: RequestInit = {}): Promise<TaskView> {
  const auth: Record<string, string> = operatorToken ? { authorization: `Bearer ${operatorToken}` } : {};
  const res = await fetch(url, {
    ...init,
    headers: { 'content-type': 'application/json', ...auth, ...(init.headers ?? {}) },
  });
  const body: unknown = await res.json().catch(() => null);
  if (!res.ok) throw new Error(`${init.method ?? 'GET'} ${url} answered ${res.status}: ${JSON.stringify(body)}`);
  return TaskView.parse(body);
}

async function main(): Promise<void> {
  const env = parseEnv(TaskCliEnv, process.env);
  operatorToken = env.OPERATOR_TOKEN;
  const bearer = operatorToken ? ` -H "Authorization: Bearer $OPERATOR_TOKEN"` : '';
  const planFile = process.argv[2] ?? 'examples/hello-plan.json';
  const plan: unknown = JSON.parse(await readFile(planFile, 'utf8'));
  const logger = createLogger({ name: 'task', level: 'warn' });

  const task = await call(`${env.RELAY_URL}/api/v1/tasks`, {
    method: 'POST',
    body: JSON.stringify({ title: `local task from ${planFile}`, plan }),
  });
  let sandboxId = task.sandbox_id ?? '';
  const messages = () => `${env.RELAY_URL}/api/v1/sandboxes/${sandboxId}/messages`;
  process.stdout.write(
    [
      `task ${task.id} running in sandbox ${sandboxId} (GET ${env.RELAY_URL}/api/v1/tasks/${task.id})`,
      `steer it from another terminal:`,
      `  curl -s -XPOST ${messages()}${bearer} -H 'content-type: application/json' -d '{"message_type":"user_message","content":"[{\\"run\\":\\"date\\"}]"}'`,
      `  curl -s -XPOST ${messages()}${bearer} -H 'content-type: application/json' -d '{"message_type":"interrupt","content":"stop"}'`,
      `Ctrl-C stops the sandbox.`,
      '',
    ].join('\n'),
  );

  // The task's own stream carries the supervisor's events (a restart names the new sandbox); the
  // sandbox's stream carries the agent's. On a restart, follow the new sandbox from the last id seen.
  let ws: WebSocket | undefined;
  let lastId = '0';
  let finished = false;
  const stop = async (code: number) => {
    if (finished) return;
    finished = true;
    ws?.close();
    if (code !== 0)
      await call(`${env.RELAY_URL}/api/v1/tasks/${task.id}/stop`, {
        method: 'POST',
        body: JSON.stringify({ reason: 'stopped from npm run task' }),
      }).catch((error: unknown) => logger.warn({ err: error }, 'stop failed'));
    process.exit(code);
  };
  const watch = () => {
    ws?.removeAllListeners();
    ws?.close();
    ws = new WebSocket(
      `${env.RELAY_URL.replace(/^http/, 'ws')}/api/v1/events/ws/events?entity_ids=${task.id},${sandboxId}&since=${lastId}`,
    );
    // With auth on the token is the first frame (never the URL); with auth off it is simply acknowledged.
    const socket = ws;
    if (operatorToken) socket.once('open', () => socket.send(JSON.stringify({ type: 'auth', token: operatorToken })));
    ws.on('message', (raw) => {
      const parsed = EventEnvelope.safeParse(JSON.parse(String(raw)));
      if (!parsed.success) return;
      const event = parsed.data;
      lastId = event.id;
      if (event.event_type === 'heartbeat') return;
      // Task-level copies of sandbox events would print twice.
      if (
        event.entity_type === 'task' &&
        event.event_type !== SUPERVISOR_EVENT_TYPES.AGENT_RESTARTED &&
        event.event_type !== SUPERVISOR_EVENT_TYPES.TASK_QUARANTINED
      )
        return;
      process.stdout.write(`${describe(event)}\n`);
      if (event.event_type === SUPERVISOR_EVENT_TYPES.AGENT_RESTARTED && event.entity_type === 'task') {
        sandboxId = String(event.payload.new_sandbox_id);
        watch();
      }
      if (event.event_type === 'agent.completed') void stop(0);
      if (event.event_type === SUPERVISOR_EVENT_TYPES.TASK_QUARANTINED) void stop(1);
    });
    ws.on('error', (error) => logger.error({ err: error.message }, 'event stream failed; is `npm start` running?'));
  };
  watch();
  process.once('SIGINT', () => void stop(130));
  process.once('SIGTERM', () => void stop(143));
}

runMain(main);

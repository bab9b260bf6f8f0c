// Test helpers shared by this app's specs (excluded from the app's build by tsconfig.json).
import type { EventEnvelope } from '@sandbox-relay/contracts';
import pino, { type Logger } from 'pino';

let nextId = 1;

/** An envelope as the event bus delivers it; ids increase across calls like the store's sequence. */
export function envelope(
  eventType: string,
  payload: Record<string, unknown> = {},
  entity: { type?: string; id?: string } = {},
): EventEnvelope {
  return {
    id: String(nextId++),
    event_type: eventType,
    entity_type: entity.type ?? 'sandbox',
    entity_id: entity.id ?? 'sb-1',
    payload,
    source: 'agent',
    timestamp: new Date(0).toISOString(),
  };
}

export const toolUse = (command: string, extra: Record<string, unknown> = {}, entityId = 'sb-1') =>
  envelope('agent.tool_use', { tool: 'bash', input: { command }, ...extra }, { id: entityId });

export const toolFailed = (tool = 'bash', error = 'boom', entityId = 'sb-1') =>
  envelope('agent.tool_completed', { tool, success: false, error }, { id: entityId });

/** A clock the test moves by hand. */
export class ManualClock {
  constructor(public time = 1_700_000_000_000) {}
  readonly now = (): number => this.time;
  advance(ms: number): void {
    this.time += ms;
  }
}

/** A pino logger whose lines land in `lines`, to assert that a failure was logged. */
export function captureLogger(): { logger: Logger; lines: Array<Record<string, unknown>> } {
  const lines: Array<Record<string, unknown>> = [];
  const logger = pino(
    { level: 'debug' },
    { write: (line: string) => lines.push(JSON.parse(line) as Record<string, unknown>) },
  );
  return { logger, lines };
}

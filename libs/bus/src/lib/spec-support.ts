import type { EventEnvelope } from '@sandbox-relay/contracts';

/** A worker's tool call on `entityId` with the given id, as the bus's specs publish it. */
export function toolUseEnvelope(entityId: string, id: string, payload: Record<string, unknown> = {}): EventEnvelope {
  return {
    id,
    event_type: 'agent.tool_use',
    entity_type: 'sandbox',
    entity_id: entityId,
    payload,
    source: 'agent',
    timestamp: new Date().toISOString(),
  };
}

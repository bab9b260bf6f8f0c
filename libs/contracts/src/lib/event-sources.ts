import { EVENT_SOURCES } from './event-types';

// The `source` a stored event carries is part of the wire: the original's frontend and bus read it, the
// relay's own services tell the agent's activity from their own by it. Renaming one needs a migration of
// the rows that carry it.

/**
 * Sources the relay's own services store their events with. An event posted at the sandbox edge
 * carries the worker's source (`agent`, `worker`, `system`, free text) and may not name one of these
 * (the edge refuses it), so a stored event's source tells whether a worker reported it.
 */
export const RELAY_EVENT_SOURCES = {
  SUPERVISOR: 'supervisor',
  GUARDIAN: 'guardian',
  MESSAGE_QUEUE: 'message-queue',
  BRANCH_WORKFLOW: 'branch-workflow',
  CANARY: 'relay-canary',
  /** Taken in from the original's bus (`events.*`): published there by an OmoiOS service, never published back. */
  OMOIOS_BUS: 'omoios-bus',
} as const;
export type RelayEventSource = (typeof RELAY_EVENT_SOURCES)[keyof typeof RELAY_EVENT_SOURCES];

const relaySources: ReadonlySet<string> = new Set(Object.values(RELAY_EVENT_SOURCES));

/**
 * Sources whose events are not the agent's activity: the relay's own services, and a worker's `system`
 * notes about itself. The supervisor's idle monitor and task-status reader skip events from these.
 */
export const NON_AGENT_EVENT_SOURCES: readonly string[] = [...Object.values(RELAY_EVENT_SOURCES), EVENT_SOURCES.SYSTEM];

export function isRelayEventSource(source: string | null | undefined): source is RelayEventSource {
  return source != null && relaySources.has(source);
}

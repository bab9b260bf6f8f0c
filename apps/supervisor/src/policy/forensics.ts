import { ENTITY_TYPES, toStorableText } from '@sandbox-relay/contracts';
import type { SandboxProvider } from '@sandbox-relay/sandbox';
import type { EventRepository } from '@sandbox-relay/store';
import { tail } from '../history/text-bounds';

/** Characters (code points) of the log's end kept. */
const FORENSIC_LOG_CHARS = 4_096;
const FORENSIC_EVENTS = 20;

/**
 * What a failed sandbox left behind, collected before it is terminated (the provider may forget it
 * afterwards): its worker log tail when the provider still has it, and its last events. Never throws:
 * a restart must not be blocked by missing forensics.
 */
export async function collectForensics(
  provider: SandboxProvider,
  events: EventRepository,
  sandboxId: string,
): Promise<Record<string, unknown>> {
  const logs = await provider.logs(sandboxId).then(
    // Logs are whatever the sandbox printed: NUL bytes and half an emoji at the cut would make the
    // restart's event unstorable, and with it the record of why the sandbox was replaced.
    (text) => ({ logs_tail: toStorableText(tail(text, FORENSIC_LOG_CHARS)) }),
    (error: unknown) => ({ logs_error: (error as Error).message }),
  );
  const last = await events
    .list({ entityTypes: [ENTITY_TYPES.SANDBOX], entityIds: [sandboxId], order: 'desc', limit: FORENSIC_EVENTS })
    .catch(() => []);
  return {
    ...logs,
    last_events: last.map((event) => ({ id: event.id, event_type: event.event_type, timestamp: event.timestamp })),
  };
}

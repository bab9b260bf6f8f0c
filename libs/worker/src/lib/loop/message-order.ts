import type { MessageType, SandboxMessage } from '@sandbox-relay/contracts';

/**
 * Handling order within one poll. The relay already hands interrupts out first; steering comes
 * next so the agent has it before it starts on any user message of the same poll. The sort is
 * stable: within a type, the relay's order (oldest first) is kept.
 */
const HANDLING_RANK: Record<MessageType, number> = {
  interrupt: 0,
  guardian_intervention: 1,
  // The original system's (OmoiOS) guardian sends its steering under this name.
  guardian_nudge: 1,
  system: 2,
  user_message: 3,
};

export function orderForHandling(messages: readonly SandboxMessage[]): SandboxMessage[] {
  return [...messages].sort((a, b) => HANDLING_RANK[a.message_type] - HANDLING_RANK[b.message_type]);
}

/** Guardian steering, under the relay's name or the original system's (OmoiOS): handed to the agent at once. */
export function isSteering(type: MessageType): boolean {
  return type === 'guardian_intervention' || type === 'guardian_nudge';
}

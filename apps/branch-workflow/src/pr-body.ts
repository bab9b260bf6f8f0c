import {
  AGENT_EVENT_TYPES,
  ENTITY_TYPES,
  clipUnits,
  completionSummary,
  messageText,
  type EventEnvelope,
} from '@sandbox-relay/contracts';
import type { Comparison } from '@sandbox-relay/github';
import type { EventRepository } from '@sandbox-relay/store';

const SUMMARY_MAX_CHARS = 4_000;
const FILES_LISTED = 100;

export interface PullRequestBodyInput {
  ticketId: string;
  title: string;
  description?: string | null;
  taskId?: string | null;
  /** A summary given by the caller; otherwise the agent's own, from the task's events. */
  summary?: string | null;
  comparison: Comparison;
}

/** GitHub refuses a pull request whose title is longer than this many characters (422 "title is too long"). */
export const PULL_TITLE_MAX_CHARS = 256;

const ZWSP = '\u200b';
const CLOSING_KEYWORDS = /\b(clos|fix|resolv)(e[sd]?|es|ed)?(?=:?[ \t]+(?:[\w.-]+\/[\w.-]+)?#\d|:?[ \t]+https?:\/\/)/gi;

/** Fenced blocks and inline code spans: GitHub links nothing inside them, and code must stay byte for byte. */
const CODE = /(```[\s\S]*?(?:```|$)|`[^`\n]+`)/;

/**
 * Text from a ticket or from the agent, made inert on GitHub: an `@user` or `@org/team` would notify
 * them, `#12`, `owner/repo#12` and `GH-12` would cross-reference (and, after "fixes", close on merge)
 * issues nobody asked to touch. A zero-width space after the `@`/`#` (and inside a closing keyword
 * followed by a link) keeps the text as it reads while GitHub no longer links it. Code is left as is.
 */
export function inertOnGitHub(text: string): string {
  return text
    .split(CODE)
    .map((part, index) => (index % 2 === 1 ? part : inertProse(part)))
    .join('');
}

function inertProse(text: string): string {
  return text
    .replace(CLOSING_KEYWORDS, (keyword) => `${keyword.slice(0, 1)}${ZWSP}${keyword.slice(1)}`)
    .replace(/(^|[^\w])@(?=[A-Za-z0-9])/g, `$1@${ZWSP}`)
    .replace(/#(?=\d)/g, `#${ZWSP}`)
    .replace(/\bGH-(?=\d)/gi, (prefix) => `${prefix}${ZWSP}`);
}

/** `<ticket title> (<ticket id>)`, the title cut at a character boundary with `…` when the whole would not fit. */
export function pullRequestTitle(ticketTitle: string, ticketId: string): string {
  const title = inertOnGitHub(ticketTitle);
  const suffix = ` (${ticketId})`;
  const chars = [...title];
  const room = PULL_TITLE_MAX_CHARS - [...suffix].length;
  if (chars.length <= room) return `${title}${suffix}`;
  return `${chars
    .slice(0, room - 1)
    .join('')
    .trimEnd()}…${suffix}`;
}

/**
 * The PR body: the ticket, a summary of the work, the files changed. Markdown, as GitHub renders it;
 * the ticket's and the agent's text made inert (no mentions, no issue references).
 */
export function pullRequestBody(input: PullRequestBodyInput): string {
  const { comparison } = input;
  const files = comparison.files
    .slice(0, FILES_LISTED)
    .map((file) => `- \`${file.filename}\` (${file.status}, +${file.additions} −${file.deletions})`);
  if (comparison.files.length > FILES_LISTED) files.push(`- … and ${comparison.files.length - FILES_LISTED} more`);
  const summary = input.summary?.trim()
    ? inertOnGitHub(clipUnits(input.summary.trim(), SUMMARY_MAX_CHARS, ''))
    : '_The agent reported no summary._';
  return [
    `Ticket **${input.ticketId}**: ${inertOnGitHub(input.title)}`,
    ...(input.description?.trim() ? ['', inertOnGitHub(input.description.trim())] : []),
    '',
    '## Summary',
    '',
    summary,
    '',
    `## Files changed (${comparison.files.length}, ${comparison.totalCommits} commit${comparison.totalCommits === 1 ? '' : 's'})`,
    '',
    ...(files.length > 0 ? files : ['_none_']),
    '',
    '---',
    `Opened by Sandbox Relay's branch workflow${input.taskId ? ` for task \`${input.taskId}\`` : ''}.`,
  ].join('\n');
}

/** An event's text for the summary: a completion's summary (`completionSummary`), a message's text (`messageText`). */
function textOf(event: EventEnvelope): string | undefined {
  const text =
    event.event_type === AGENT_EVENT_TYPES.COMPLETED ? completionSummary(event.payload) : messageText(event.payload);
  return text ?? undefined;
}

/**
 * The agent's own summary of a task's work: the text of its `agent.completed` event if it carries one,
 * else its last `agent.message`. Worker events are stored on the sandbox, local agents' on the task.
 */
export async function agentSummary(
  events: EventRepository,
  task: { id: string; sandboxId: string | null },
): Promise<string | undefined> {
  const recent = await events.list({
    entityTypes: [ENTITY_TYPES.TASK, ENTITY_TYPES.SANDBOX],
    entityIds: task.sandboxId ? [task.id, task.sandboxId] : [task.id],
    eventTypes: [AGENT_EVENT_TYPES.COMPLETED, AGENT_EVENT_TYPES.MESSAGE],
    order: 'desc',
    limit: 50,
  });
  const completed = recent.find((event) => event.event_type === AGENT_EVENT_TYPES.COMPLETED && textOf(event));
  const chosen = completed ?? recent.find((event) => event.event_type === AGENT_EVENT_TYPES.MESSAGE && textOf(event));
  return chosen ? textOf(chosen) : undefined;
}

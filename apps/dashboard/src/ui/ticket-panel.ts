import type { EventEnvelope } from '@sandbox-relay/contracts';
import { ENTITY_TYPES } from '@sandbox-relay/contracts/event-types';
import { EventStream, type StreamState } from '../api/event-stream';
import { viewOf } from '../render/event-view';
import { h } from './dom';

/**
 * The branch workflow of the sandbox's task's ticket: its events (BRANCH_CREATED, PR_OPENED with a
 * link to the pull request, PR_MERGED, BRANCH_WORKFLOW_FAILED) live on entity `ticket/<id>`, not on
 * the sandbox. A ticket has a handful of them, so the panel subscribes from the start (`since` 0: the
 * gateway replays them, then continues live) and lists them oldest first, one line each.
 */
export class TicketPanel {
  readonly element: HTMLElement;
  private readonly list: HTMLElement;
  private readonly heading: HTMLElement;
  private readonly note: HTMLElement;
  private stream: EventStream | undefined;
  private ticketId: string | null = null;

  constructor() {
    this.heading = h('span', { class: 'ticket-id' });
    this.note = h('span', { class: 'muted', 'data-testid': 'ticket-note' });
    this.list = h('ol', { class: 'ticket-events' });
    this.element = h(
      'section',
      { class: 'ticket-panel', 'data-testid': 'ticket-panel', hidden: true },
      h('header', {}, this.heading, this.note),
      this.list,
    );
  }

  /** Shows `ticketId`'s events (re-subscribing only when it changed); null hides the panel. */
  follow(ticketId: string | null): void {
    if (ticketId === this.ticketId) return;
    this.close();
    this.ticketId = ticketId;
    this.list.replaceChildren();
    this.element.hidden = ticketId === null;
    if (ticketId === null) return;
    this.heading.textContent = `Ticket ${ticketId}`;
    this.note.textContent = 'no branch yet';
    this.stream = new EventStream({
      entityTypes: [ENTITY_TYPES.TICKET],
      entityIds: [ticketId],
      since: '0',
      // A token scoped to sandboxes may not watch tickets: say so here, never ask for another token.
      askForToken: false,
      onEvent: (event) => this.add(event),
      onState: (state: StreamState) => {
        if (state === 'unauthorized') this.note.textContent = 'this token may not read the ticket’s events';
      },
    });
  }

  close(): void {
    this.stream?.close();
    this.stream = undefined;
  }

  private add(event: EventEnvelope): void {
    const view = viewOf(event);
    const link = view.blocks.find((block) => block.type === 'link');
    const failure = view.blocks.find((block) => block.type === 'text');
    this.note.textContent = '';
    this.list.appendChild(
      h(
        'li',
        { class: `ticket-event tone-${view.tone}`, 'data-event-id': event.id, 'data-event-type': event.event_type },
        h('span', { class: 'icon', 'aria-hidden': 'true' }, view.icon),
        h('span', { class: 'title' }, view.title),
        view.detail ? h('span', { class: 'detail' }, view.detail) : null,
        link && link.type === 'link'
          ? h(
              'a',
              link.external ? { href: link.href, target: '_blank', rel: 'noopener noreferrer' } : { href: link.href },
              link.text,
            )
          : null,
        failure && failure.type === 'text' ? h('span', { class: 'detail' }, failure.text) : null,
        h(
          'time',
          { datetime: event.timestamp },
          new Date(event.timestamp).toLocaleTimeString(undefined, { hour12: false }),
        ),
      ),
    );
  }
}

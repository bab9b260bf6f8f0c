import { h } from './dom';
import { SandboxComposer } from './sandbox-composer';
import { SandboxFeed } from './sandbox-feed';
import { SandboxHeader } from './sandbox-header';
import { TicketPanel } from './ticket-panel';

/**
 * One sandbox: its header (status, task, cost, last heartbeat), its task's ticket (branch and pull
 * request), its activity feed, and a composer for a `user_message` or an interrupt. Returns the view's
 * teardown. Each part owns its state; this only wires them: the feed's events reach the composer (to
 * confirm a queued message), the header's ticket reaches the ticket panel.
 */
export function sandboxView(root: HTMLElement, sandboxId: string): () => void {
  const ticket = new TicketPanel();
  const composer = new SandboxComposer(sandboxId);
  const feed = new SandboxFeed(sandboxId, (events) => events.forEach((event) => composer.observe(event)));
  const header = new SandboxHeader(sandboxId, feed.controls, (ticketId) => ticket.follow(ticketId));

  root.replaceChildren(
    h('section', { class: 'sandbox-view' }, header.element, ticket.element, feed.element, composer.element),
  );
  header.start();
  feed.start();

  return () => {
    header.close();
    feed.close();
    ticket.close();
  };
}

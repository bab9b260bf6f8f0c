import type { SandboxSummary } from '@sandbox-relay/contracts';
import { getSandbox } from '../api/relay-client';
import { formatAge, formatCost } from '../render/format';
import { h } from './dom';
import { statusBadge } from './sandbox-list.view';

/** How often the header asks for the sandbox's summary again (status, task, cost, last heartbeat). */
const SUMMARY_EVERY_MS = 5_000;

/**
 * The sandbox view's header: a way back, the sandbox id, its status, its task's title and cost and its
 * last heartbeat (polled), then the feed's own controls (`controls`, shown at the end). Tells the view
 * which ticket the task works on, so the ticket panel can follow it.
 */
export class SandboxHeader {
  readonly element: HTMLElement;
  private readonly status = h('span', { 'data-testid': 'sandbox-status' });
  private readonly task = h('span', { class: 'task' });
  private readonly cost = h('span', { class: 'muted cost', 'data-testid': 'task-cost' });
  private readonly heartbeat = h('span', { class: 'muted' });
  private timer: number | undefined;
  private stopped = false;

  constructor(
    private readonly sandboxId: string,
    controls: HTMLElement[],
    private readonly onTicket: (ticketId: string | null) => void,
  ) {
    this.element = h(
      'header',
      { class: 'sandbox-header' },
      h('a', { href: '#/' }, '← Sandboxes'),
      h('h1', {}, sandboxId),
      this.status,
      this.task,
      this.cost,
      this.heartbeat,
      h('span', { class: 'spacer' }),
      ...controls,
    );
  }

  /** Shows the summary now and every SUMMARY_EVERY_MS until `close()`. */
  start(): void {
    this.timer = window.setInterval(() => void this.refresh(), SUMMARY_EVERY_MS);
    void this.refresh();
  }

  close(): void {
    this.stopped = true;
    window.clearInterval(this.timer);
  }

  private async refresh(): Promise<void> {
    try {
      const found: SandboxSummary = await getSandbox(this.sandboxId);
      if (this.stopped) return;
      this.status.replaceChildren(statusBadge(found.status));
      this.task.textContent = found.task ? found.task.title : '';
      this.cost.textContent = found.task ? formatCost(found.task) : '';
      // The task's ticket: its branch workflow's events (entity `ticket`) in a panel above the feed.
      this.onTicket(found.task?.ticket_id ?? null);
      this.heartbeat.textContent = found.last_heartbeat_at
        ? `♥ ${formatAge(found.last_heartbeat_at, Date.now())} ago`
        : '';
    } catch {
      // The header is a convenience; the feed works without it.
    }
  }
}

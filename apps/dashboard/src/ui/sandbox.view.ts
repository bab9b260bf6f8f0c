import type { EventEnvelope, MessageType, SandboxSummary } from '@sandbox-relay/contracts';
import { EventStream, type StreamState } from '../api/event-stream';
import { getSandbox, historyPage, RelayError, sendMessage } from '../api/relay-client';
import { formatAge, formatCost } from '../render/format';
import { h } from './dom';
import { estimateRowHeight, eventRow } from './event-row';
import { statusBadge } from './sandbox-list.view';
import { TicketPanel } from './ticket-panel';
import { VirtualFeed } from './virtual-feed';

const QUEUED = 'SANDBOX_MESSAGE_QUEUED';
const HEARTBEAT = 'heartbeat';
/** Events per history page: the newest page on open, then one older page per scroll to the top. */
export const HISTORY_PAGE = 500;
const STATE_TEXT: Record<StreamState, string> = {
  connecting: 'connecting…',
  live: 'live',
  reconnecting: 'reconnecting…',
  unauthorized: 'token needed',
  closed: 'closed',
};

/**
 * One sandbox: its activity feed (the newest page of history first, older pages as the reader scrolls
 * up, live over the WebSocket from the newest id shown), its task's ticket (branch and pull request),
 * and a composer for a `user_message` or an interrupt.
 */
export function sandboxView(root: HTMLElement, sandboxId: string): () => void {
  const ticket = new TicketPanel();
  const feed: VirtualFeed<EventEnvelope> = new VirtualFeed<EventEnvelope>({
    renderItem: (event, index) => eventRow(event, () => feed.remeasure(index)),
    estimateHeight: estimateRowHeight,
  });
  const state = h('span', { class: 'stream-state state-connecting', 'data-testid': 'stream-state' }, 'loading history…');
  const count = h('span', { class: 'muted', 'data-testid': 'event-count' }, '0 events');
  const status = h('span', { 'data-testid': 'sandbox-status' });
  const task = h('span', { class: 'task' });
  const cost = h('span', { class: 'muted cost', 'data-testid': 'task-cost' });
  const heartbeat = h('span', { class: 'muted' });
  const latest = h('button', { class: 'jump', type: 'button', hidden: true }, '↓ latest');
  latest.addEventListener('click', () => feed.scrollToBottom());
  const oldest = h('button', { class: 'link', type: 'button', title: 'scroll to the top; older events load as you reach it' }, '⇡ older');
  const olderState = h('span', { class: 'muted', 'data-testid': 'older-state' });
  // Heartbeats arrive every 15 s per worker; the header shows the last one, the feed hides them unless asked.
  const showBeats = h('input', { type: 'checkbox', 'data-testid': 'show-heartbeats' });
  const beatsToggle = h('label', { class: 'muted toggle' }, showBeats, ' heartbeats');
  oldest.addEventListener('click', () => feed.scrollToTop());
  feed.onFollowChange = (following) => (latest.hidden = following);

  const input = h('textarea', { rows: 2, placeholder: 'Message the agent (Ctrl+Enter sends)', 'aria-label': 'message', 'data-testid': 'message-input' });
  const send = h('button', { type: 'submit', class: 'primary', 'data-testid': 'send' }, 'Send');
  const interrupt = h('button', { type: 'button', class: 'danger', 'data-testid': 'interrupt' }, 'Interrupt');
  const feedback = h('div', { class: 'feedback', 'data-testid': 'send-feedback', role: 'status' });
  const form = h('form', { class: 'composer' }, input, h('div', { class: 'actions' }, send, interrupt), feedback);

  root.replaceChildren(
    h('section', { class: 'sandbox-view' },
      h('header', { class: 'sandbox-header' },
        h('a', { href: '#/' }, '← Sandboxes'),
        h('h1', {}, sandboxId),
        status,
        task,
        cost,
        heartbeat,
        h('span', { class: 'spacer' }),
        count,
        olderState,
        beatsToggle,
        oldest,
        state,
      ),
      ticket.element,
      h('div', { class: 'feed-wrap' }, feed.element, latest),
      form,
    ),
  );

  // Messages sent from here, and the queue events seen, matched by message id in either order.
  const awaiting = new Map<string, MessageType>();
  const queuedSeen = new Set<string>();
  const confirm = (messageId: string, type: MessageType) => {
    feedback.className = 'feedback ok';
    feedback.textContent = `✓ ${type.replace('_', ' ')} #${messageId} queued for the agent`;
  };
  const onEvent = (event: EventEnvelope) => {
    if (event.event_type !== QUEUED) return;
    const id = String(event.payload['message_id'] ?? '');
    queuedSeen.add(id);
    const type = awaiting.get(id);
    if (type) {
      awaiting.delete(id);
      confirm(id, type);
    }
  };
  // Every event loaded, oldest first: the newest page, older pages in front, live ones behind.
  let all: EventEnvelope[] = [];
  /** `before` for the next older page; null once the oldest event is loaded (or before the first page). */
  let olderCursor: string | null = null;
  let firstPageLoaded = false;
  const shown = (event: EventEnvelope) => showBeats.checked || event.event_type !== HEARTBEAT;
  const showCounts = () => {
    count.textContent = `${all.length.toLocaleString()} event${all.length === 1 ? '' : 's'}`;
    olderState.textContent = !firstPageLoaded ? '' : olderCursor === null ? 'from the start' : 'older: scroll up';
  };
  const add = (events: EventEnvelope[]) => {
    events.forEach(onEvent);
    for (const event of events) all.push(event);
    feed.append(events.filter(shown));
    showCounts();
  };
  const addOlder = (events: EventEnvelope[]) => {
    events.forEach(onEvent);
    all = events.concat(all);
    feed.prepend(events.filter(shown));
    showCounts();
  };
  showBeats.addEventListener('change', () => feed.replaceAll(all.filter(shown)));

  const submit = async (type: MessageType) => {
    const content = input.value.trim() || (type === 'interrupt' ? 'Interrupted from the dashboard' : '');
    if (!content) {
      input.focus();
      return;
    }
    feedback.className = 'feedback';
    feedback.textContent = type === 'interrupt' ? 'sending interrupt…' : 'sending…';
    try {
      const queued = await sendMessage(sandboxId, content, type);
      if (type === 'user_message') input.value = '';
      if (queuedSeen.has(queued.message_id)) confirm(queued.message_id, type);
      else {
        awaiting.set(queued.message_id, type);
        feedback.textContent = `#${queued.message_id} stored; waiting for the queue event…`;
      }
    } catch (error) {
      feedback.className = 'feedback bad';
      feedback.textContent = error instanceof RelayError ? `not sent: ${error.message}` : `not sent: the relay is unreachable`;
    }
  };
  form.addEventListener('submit', (event) => {
    event.preventDefault();
    void submit('user_message');
  });
  input.addEventListener('keydown', (event) => {
    if (event.key === 'Enter' && (event.ctrlKey || event.metaKey)) {
      event.preventDefault();
      void submit('user_message');
    }
  });
  interrupt.addEventListener('click', () => void submit('interrupt'));

  let stream: EventStream | undefined;
  let stopped = false;
  const setState = (next: StreamState, detail?: string) => {
    state.className = `stream-state state-${next}`;
    state.textContent = STATE_TEXT[next];
    state.title = detail ?? '';
  };

  const summary = async () => {
    try {
      const found: SandboxSummary = await getSandbox(sandboxId);
      if (stopped) return;
      status.replaceChildren(statusBadge(found.status));
      task.textContent = found.task ? found.task.title : '';
      cost.textContent = found.task ? formatCost(found.task) : '';
      // The task's ticket: its branch workflow's events (entity `ticket`) in a panel above the feed.
      ticket.follow(found.task?.ticket_id ?? null);
      heartbeat.textContent = found.last_heartbeat_at ? `♥ ${formatAge(found.last_heartbeat_at, Date.now())} ago` : '';
    } catch {
      // The header is a convenience; the feed works without it.
    }
  };
  const summaryTimer = window.setInterval(() => void summary(), 5_000);
  void summary();

  // The newest page first, then live from its newest id: the gateway replays whatever was stored after
  // it, so nothing is missed between the page and the socket, and the stream drops any id already seen.
  const open = async () => {
    for (;;) {
      try {
        const page = await historyPage(sandboxId, { order: 'desc', limit: HISTORY_PAGE });
        if (stopped) return;
        olderCursor = page.next_before ?? null;
        firstPageLoaded = true;
        add(page.events.slice().reverse());
        stream = new EventStream({
          entityTypes: ['sandbox'],
          entityIds: [sandboxId],
          since: page.events[0]?.id ?? '0',
          onEvent: (event) => add([event]),
          onState: setState,
          // The relay's log was reset under us: what is shown belongs to the old one. Open the view afresh.
          onLogReset: () => window.dispatchEvent(new HashChangeEvent('hashchange')),
        });
        return;
      } catch (error) {
        state.className = 'stream-state state-reconnecting';
        state.textContent = error instanceof RelayError && error.status === 401 ? 'token needed' : 'history unavailable; retrying…';
        await new Promise((resolve) => setTimeout(resolve, 2_000));
        if (stopped) return;
      }
    }
  };

  // Older pages, one at a time, when the reader nears the top (or the loaded events fill less than a screen).
  // Each page ends just before the oldest event loaded: ids only grow, so pages neither overlap nor skip.
  let loadingOlder = false;
  let olderRetry: number | undefined;
  const loadOlder = async () => {
    if (loadingOlder || olderCursor === null || stopped) return;
    loadingOlder = true;
    olderState.textContent = 'loading older…';
    try {
      const page = await historyPage(sandboxId, { order: 'desc', before: olderCursor, limit: HISTORY_PAGE });
      if (stopped) return;
      olderCursor = page.next_before ?? null;
      addOlder(page.events.slice().reverse());
      loadingOlder = false;
    } catch {
      olderState.textContent = 'older events unavailable; retrying…';
      olderRetry = window.setTimeout(() => {
        loadingOlder = false;
        void loadOlder();
      }, 2_000);
    }
  };
  feed.onNearTop = () => void loadOlder();
  void open();

  return () => {
    stopped = true;
    window.clearInterval(summaryTimer);
    window.clearTimeout(olderRetry);
    stream?.close();
    ticket.close();
  };
}

import type { EventEnvelope, MessageType, SandboxSummary } from '@sandbox-relay/contracts';
import { EventStream, type StreamState } from '../api/event-stream';
import { getSandbox, historyPage, RelayError, sendMessage } from '../api/relay-client';
import { formatAge } from '../render/format';
import { h } from './dom';
import { estimateRowHeight, eventRow } from './event-row';
import { statusBadge } from './sandbox-list.view';
import { VirtualFeed } from './virtual-feed';

const QUEUED = 'SANDBOX_MESSAGE_QUEUED';
const HEARTBEAT = 'heartbeat';
const STATE_TEXT: Record<StreamState, string> = {
  connecting: 'connecting…',
  live: 'live',
  reconnecting: 'reconnecting…',
  unauthorized: 'token needed',
  closed: 'closed',
};

/**
 * One sandbox: its activity feed (history first, then live over the WebSocket from the last id
 * shown), and a composer for a `user_message` or an interrupt.
 */
export function sandboxView(root: HTMLElement, sandboxId: string): () => void {
  const feed: VirtualFeed<EventEnvelope> = new VirtualFeed<EventEnvelope>({
    renderItem: (event, index) => eventRow(event, () => feed.remeasure(index)),
    estimateHeight: estimateRowHeight,
  });
  const state = h('span', { class: 'stream-state state-connecting', 'data-testid': 'stream-state' }, 'loading history…');
  const count = h('span', { class: 'muted', 'data-testid': 'event-count' }, '0 events');
  const status = h('span', { 'data-testid': 'sandbox-status' });
  const task = h('span', { class: 'task' });
  const heartbeat = h('span', { class: 'muted' });
  const latest = h('button', { class: 'jump', type: 'button', hidden: true }, '↓ latest');
  latest.addEventListener('click', () => feed.scrollToBottom());
  const oldest = h('button', { class: 'link', type: 'button' }, '⇡ oldest');
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
        heartbeat,
        h('span', { class: 'spacer' }),
        count,
        beatsToggle,
        oldest,
        state,
      ),
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
  const all: EventEnvelope[] = [];
  const shown = (event: EventEnvelope) => showBeats.checked || event.event_type !== HEARTBEAT;
  const add = (events: EventEnvelope[]) => {
    events.forEach(onEvent);
    for (const event of events) all.push(event);
    feed.append(events.filter(shown));
    count.textContent = `${all.length.toLocaleString()} events`;
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
      status.replaceChildren(statusBadge(found.status));
      task.textContent = found.task ? found.task.title : '';
      heartbeat.textContent = found.last_heartbeat_at ? `♥ ${formatAge(found.last_heartbeat_at, Date.now())} ago` : '';
    } catch {
      // The header is a convenience; the feed works without it.
    }
  };
  const summaryTimer = window.setInterval(() => void summary(), 5_000);
  void summary();

  // History in pages of 1,000, shown as they arrive; then live from the last id shown.
  const backfill = async () => {
    let after: string | undefined;
    for (;;) {
      try {
        const page = await historyPage(sandboxId, after);
        if (stopped) return;
        add(page.events);
        if (page.events.length > 0) after = page.events[page.events.length - 1]!.id;
        state.textContent = `loading history… ${all.length.toLocaleString()}`;
        if (page.next_after === null) break;
      } catch (error) {
        state.className = 'stream-state state-reconnecting';
        state.textContent = error instanceof RelayError && error.status === 401 ? 'token needed' : 'history unavailable; retrying…';
        await new Promise((resolve) => setTimeout(resolve, 2_000));
        if (stopped) return;
      }
    }
    stream = new EventStream({ entityTypes: ['sandbox'], entityIds: [sandboxId], since: after ?? '0', onEvent: (event) => add([event]), onState: setState });
  };
  void backfill();

  return () => {
    stopped = true;
    window.clearInterval(summaryTimer);
    stream?.close();
  };
}

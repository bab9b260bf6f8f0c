import type { EventEnvelope } from '@sandbox-relay/contracts';
import { EventStream, type StreamState } from '../api/event-stream';
import { historyPage, RelayError } from '../api/relay-client';
import { h } from './dom';
import { estimateRowHeight, eventRow } from './event-row';
import { VirtualFeed } from './virtual-feed';

const HEARTBEAT = 'heartbeat';
/** Events per history page: the newest page on open, then one older page per scroll to the top. */
export const HISTORY_PAGE = 500;
const RETRY_MS = 2_000;
const STATE_TEXT: Record<StreamState, string> = {
  connecting: 'connecting…',
  live: 'live',
  reconnecting: 'reconnecting…',
  unauthorized: 'token needed',
  closed: 'closed',
};

/**
 * A sandbox's activity feed: the newest page of history first, older pages as the reader scrolls up,
 * live over the WebSocket from the newest id shown. `element` is the feed itself; `controls` (event
 * count, how far back it goes, the heartbeat toggle, "older", the stream's state) go in the header.
 * `onEvents` sees every event loaded, heartbeats included, before it is shown.
 */
export class SandboxFeed {
  readonly element: HTMLElement;
  readonly controls: HTMLElement[];
  private readonly feed: VirtualFeed<EventEnvelope>;
  private readonly state = h(
    'span',
    { class: 'stream-state state-connecting', 'data-testid': 'stream-state' },
    'loading history…',
  );
  private readonly count = h('span', { class: 'muted', 'data-testid': 'event-count' }, '0 events');
  private readonly olderState = h('span', { class: 'muted', 'data-testid': 'older-state' });
  // Heartbeats arrive every 15 s per worker; the header shows the last one, the feed hides them unless asked.
  private readonly showBeats = h('input', { type: 'checkbox', 'data-testid': 'show-heartbeats' });
  /** Every event loaded, oldest first: the newest page, older pages in front, live ones behind. */
  private all: EventEnvelope[] = [];
  /** `before` for the next older page; null once the oldest event is loaded (or before the first page). */
  private olderCursor: string | null = null;
  private firstPageLoaded = false;
  private loadingOlder = false;
  private olderRetry: number | undefined;
  private stream: EventStream | undefined;
  private stopped = false;

  constructor(
    private readonly sandboxId: string,
    private readonly onEvents: (events: EventEnvelope[]) => void,
  ) {
    const feed: VirtualFeed<EventEnvelope> = new VirtualFeed<EventEnvelope>({
      renderItem: (event, index) => eventRow(event, () => feed.remeasure(index)),
      estimateHeight: estimateRowHeight,
    });
    this.feed = feed;
    const latest = h('button', { class: 'jump', type: 'button', hidden: true }, '↓ latest');
    latest.addEventListener('click', () => feed.scrollToBottom());
    const oldest = h(
      'button',
      { class: 'link', type: 'button', title: 'scroll to the top; older events load as you reach it' },
      '⇡ older',
    );
    oldest.addEventListener('click', () => feed.scrollToTop());
    feed.onFollowChange = (following) => (latest.hidden = following);
    this.showBeats.addEventListener('change', () => feed.replaceAll(this.all.filter((event) => this.shown(event))));
    const beatsToggle = h('label', { class: 'muted toggle' }, this.showBeats, ' heartbeats');
    this.element = h('div', { class: 'feed-wrap' }, feed.element, latest);
    this.controls = [this.count, this.olderState, beatsToggle, oldest, this.state];
  }

  /** Loads the newest page, then follows live; older pages load as the reader nears the top. */
  start(): void {
    this.feed.onNearTop = () => void this.loadOlder();
    void this.open();
  }

  close(): void {
    this.stopped = true;
    window.clearTimeout(this.olderRetry);
    this.stream?.close();
  }

  private shown(event: EventEnvelope): boolean {
    return this.showBeats.checked || event.event_type !== HEARTBEAT;
  }

  private showCounts(): void {
    const all = this.all.length;
    this.count.textContent = `${all.toLocaleString()} event${all === 1 ? '' : 's'}`;
    this.olderState.textContent = !this.firstPageLoaded
      ? ''
      : this.olderCursor === null
        ? 'from the start'
        : 'older: scroll up';
  }

  private add(events: EventEnvelope[]): void {
    this.onEvents(events);
    for (const event of events) this.all.push(event);
    this.feed.append(events.filter((event) => this.shown(event)));
    this.showCounts();
  }

  private addOlder(events: EventEnvelope[]): void {
    this.onEvents(events);
    this.all = events.concat(this.all);
    this.feed.prepend(events.filter((event) => this.shown(event)));
    this.showCounts();
  }

  private setState(next: StreamState, detail?: string): void {
    this.state.className = `stream-state state-${next}`;
    this.state.textContent = STATE_TEXT[next];
    this.state.title = detail ?? '';
  }

  // The newest page first, then live from its newest id: the gateway replays whatever was stored after
  // it, so nothing is missed between the page and the socket, and the stream drops any id already seen.
  private async open(): Promise<void> {
    for (;;) {
      try {
        const page = await historyPage(this.sandboxId, { order: 'desc', limit: HISTORY_PAGE });
        if (this.stopped) return;
        this.olderCursor = page.next_before ?? null;
        this.firstPageLoaded = true;
        this.add(page.events.slice().reverse());
        this.follow(page.events[0]?.id ?? '0');
        return;
      } catch (error) {
        this.state.className = 'stream-state state-reconnecting';
        this.state.textContent =
          error instanceof RelayError && error.status === 401 ? 'token needed' : 'history unavailable; retrying…';
        await new Promise((resolve) => setTimeout(resolve, RETRY_MS));
        if (this.stopped) return;
      }
    }
  }

  private follow(since: string): void {
    this.stream = new EventStream({
      entityTypes: ['sandbox'],
      entityIds: [this.sandboxId],
      since,
      onEvent: (event) => this.add([event]),
      onState: (next, detail) => this.setState(next, detail),
      // The relay's log was reset under us: what is shown belongs to the old one. Open the view afresh.
      onLogReset: () => window.dispatchEvent(new HashChangeEvent('hashchange')),
    });
  }

  // Older pages, one at a time, when the reader nears the top (or the loaded events fill less than a screen).
  // Each page ends just before the oldest event loaded: ids only grow, so pages neither overlap nor skip.
  private async loadOlder(): Promise<void> {
    if (this.loadingOlder || this.olderCursor === null || this.stopped) return;
    this.loadingOlder = true;
    this.olderState.textContent = 'loading older…';
    try {
      const page = await historyPage(this.sandboxId, { order: 'desc', before: this.olderCursor, limit: HISTORY_PAGE });
      if (this.stopped) return;
      this.olderCursor = page.next_before ?? null;
      this.addOlder(page.events.slice().reverse());
      this.loadingOlder = false;
    } catch {
      this.olderState.textContent = 'older events unavailable; retrying…';
      this.olderRetry = window.setTimeout(() => {
        this.loadingOlder = false;
        void this.loadOlder();
      }, RETRY_MS);
    }
  }
}

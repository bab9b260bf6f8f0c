import WebSocket from 'ws';

/**
 * A WebSocket client that behaves as the README tells clients to: it records every event frame's
 * id, and whenever the server closes the socket (or the connection fails) it reconnects with
 * `since` = the last id it saw (or `options.since`, where it started, before it saw any). Tests compare
 * what it received with what Postgres holds.
 */
export class ResumingClient {
  readonly ids: string[] = [];
  readonly closeCodes: number[] = [];
  connects = 0;
  private ws?: WebSocket;
  private stopped = false;

  constructor(
    private readonly baseUrl: string,
    private readonly query: string,
    private readonly options: { since?: string; reconnectDelayMs?: () => number } = {},
  ) {}

  get lastId(): string | undefined {
    return this.ids[this.ids.length - 1] ?? this.options.since;
  }

  get open(): boolean {
    return this.ws?.readyState === WebSocket.OPEN;
  }

  start(): void {
    this.connect();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    const ws = this.ws;
    if (!ws || ws.readyState === WebSocket.CLOSED) return;
    const closed = new Promise<void>((resolve) => ws.once('close', () => resolve()));
    ws.terminate();
    await closed;
  }

  private connect(): void {
    if (this.stopped) return;
    const since = this.lastId === undefined ? '' : `&since=${this.lastId}`;
    const ws = new WebSocket(`${this.baseUrl}/api/v1/events/ws/events?${this.query}${since}`);
    this.ws = ws;
    ws.on('open', () => {
      this.connects += 1;
    });
    ws.on('message', (data) => {
      // Event frames carry an id and no `type` (pings and acknowledgements have one).
      const frame = JSON.parse(String(data)) as { type?: string; id?: string };
      if (frame.type !== undefined || frame.id === undefined) return;
      this.ids.push(frame.id);
    });
    ws.on('error', () => undefined);
    ws.on('close', (code) => {
      this.closeCodes.push(code);
      if (!this.stopped) setTimeout(() => this.connect(), this.options.reconnectDelayMs?.() ?? 200);
    });
  }
}

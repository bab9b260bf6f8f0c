import WebSocket from 'ws';

export interface ProbeFrame {
  [key: string]: unknown;
  type?: string;
  id?: string;
  event_type?: string;
  entity_type?: string;
  entity_id?: string;
  payload?: Record<string, unknown>;
}

/**
 * A WebSocket test client that records every frame the server sends. Event frames (anything but
 * `{"type":"ping"}`) are what tests assert on, as the seed's clients skip pings.
 */
export class WsProbe {
  readonly frames: ProbeFrame[] = [];
  readonly pings: ProbeFrame[] = [];
  closeCode?: number;
  closeReason?: string;
  private waiters: Array<() => void> = [];

  private constructor(readonly ws: WebSocket) {
    ws.on('message', (data) => {
      const frame = JSON.parse(String(data)) as ProbeFrame;
      (frame.type === 'ping' ? this.pings : this.frames).push(frame);
      this.wake();
    });
    ws.on('close', (code, reason) => {
      this.closeCode = code;
      this.closeReason = reason.toString();
      this.wake();
    });
  }

  static async connect(url: string, options?: WebSocket.ClientOptions): Promise<WsProbe> {
    const ws = new WebSocket(url, options);
    const probe = new WsProbe(ws);
    await new Promise<void>((resolve, reject) => {
      ws.once('open', () => resolve());
      ws.once('error', reject);
      ws.once('unexpected-response', (_req, res) => reject(new Error(`upgrade refused with HTTP ${res.statusCode}`)));
    });
    return probe;
  }

  /** Resolves with the first `count` event frames, or throws after `timeoutMs`. */
  async events(count: number, timeoutMs = 5_000): Promise<ProbeFrame[]> {
    await this.until(
      () => this.frames.length >= count,
      `${count} event frames (have ${this.frames.length})`,
      timeoutMs,
    );
    return this.frames.slice(0, count);
  }

  /** Resolves once the server has closed the socket. */
  async closed(timeoutMs = 5_000): Promise<{ code: number; reason: string }> {
    await this.until(() => this.closeCode !== undefined, 'the socket to close', timeoutMs);
    return { code: this.closeCode!, reason: this.closeReason ?? '' };
  }

  async close(): Promise<void> {
    if (this.ws.readyState === WebSocket.CLOSED) return;
    const done = new Promise<void>((resolve) => this.ws.once('close', () => resolve()));
    this.ws.close();
    await done;
  }

  private until(condition: () => boolean, what: string, timeoutMs: number): Promise<void> {
    if (condition()) return Promise.resolve();
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.waiters = this.waiters.filter((waiter) => waiter !== check);
        reject(new Error(`timed out after ${timeoutMs} ms waiting for ${what}`));
      }, timeoutMs);
      const check = () => {
        if (!condition()) return;
        clearTimeout(timer);
        this.waiters = this.waiters.filter((waiter) => waiter !== check);
        resolve();
      };
      this.waiters.push(check);
    });
  }

  private wake(): void {
    for (const waiter of [...this.waiters]) waiter();
  }
}

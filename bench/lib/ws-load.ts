/*
 * WebSocket clients and a closed-loop event source for bench/capacity.ts's gateway figure. Not product code.
 * Every client counts the text frames of this run (frames carrying the run id); the last socket opened is the
 * sentinel: an event stops being outstanding once the sentinel has it, and the next one is posted.
 */
import WebSocket from 'ws';
import { sleep } from './common';

const WS_PATH = '/api/v1/events/ws/events';
const CONNECT_CONCURRENCY = 100;

export interface Sockets {
  count: number;
  close(): Promise<void>;
}

export class FrameCounter {
  frames = 0;
  private readonly marker: Buffer;
  private readonly waiting = new Map<number, () => void>();

  constructor(runId: string) {
    this.marker = Buffer.from(runId);
  }

  /** Opens `count` sockets with `query`, CONNECT_CONCURRENCY at a time; the last one is the sentinel when `sentinel`. */
  async open(baseUrl: string, count: number, query: string, sentinel = false): Promise<Sockets> {
    const url = `${baseUrl.replace(/^http/, 'ws')}${WS_PATH}?${query}`;
    const sockets: WebSocket[] = [];
    for (let start = 0; start < count; start += CONNECT_CONCURRENCY) {
      const batch = [];
      for (let i = start; i < Math.min(count, start + CONNECT_CONCURRENCY); i += 1) {
        batch.push(this.openOne(url, sentinel && i === count - 1));
      }
      sockets.push(...(await Promise.all(batch)));
    }
    return {
      count,
      close: async () => {
        await Promise.all(
          sockets.map(
            (ws) =>
              new Promise<void>((resolve) => {
                if (ws.readyState === WebSocket.CLOSED) return resolve();
                ws.once('close', () => resolve());
                ws.terminate();
              }),
          ),
        );
      },
    };
  }

  /** Resolves when the sentinel has the frame of event `seq`, or after `timeoutMs` (false then). */
  arrival(seq: number, timeoutMs = 5_000): Promise<boolean> {
    return new Promise((resolve) => {
      const timer = setTimeout(() => (this.waiting.delete(seq), resolve(false)), timeoutMs);
      this.waiting.set(seq, () => (clearTimeout(timer), resolve(true)));
    });
  }

  private openOne(url: string, sentinel: boolean): Promise<WebSocket> {
    return new Promise((resolve, reject) => {
      const ws = new WebSocket(url, { perMessageDeflate: false, skipUTF8Validation: true });
      ws.on('message', (data: Buffer, isBinary) => {
        if (isBinary || data.indexOf(this.marker) === -1) return;
        this.frames += 1;
        if (!sentinel) return;
        const seq = (JSON.parse(data.toString()) as { payload: { seq: number } }).payload.seq;
        this.waiting.get(seq)?.();
        this.waiting.delete(seq);
      });
      ws.on('error', () => undefined);
      ws.once('open', () => resolve(ws));
      ws.once('unexpected-response', (_req, res) => reject(new Error(`upgrade refused: HTTP ${res.statusCode}`)));
    });
  }
}

/**
 * `window` loops, each posting an event (`publish(seq)`) and waiting for the sentinel to get it, for `seconds`;
 * answers the events posted and those the sentinel never got within 5 s.
 */
export async function closedLoop(
  counter: FrameCounter,
  window: number,
  seconds: number,
  publish: (seq: number) => Promise<number>,
  firstSeq: number,
): Promise<{ events: number; lost: number; failed: number; nextSeq: number }> {
  let seq = firstSeq;
  let events = 0;
  let lost = 0;
  let failed = 0;
  const until = performance.now() + seconds * 1000;
  const loop = async () => {
    while (performance.now() < until) {
      const mine = seq++;
      const arrived = counter.arrival(mine);
      const status = await publish(mine);
      events += 1;
      if (status !== 200) {
        failed += 1;
        await sleep(10);
        continue;
      }
      if (!(await arrived)) lost += 1;
    }
  };
  await Promise.all(Array.from({ length: window }, loop));
  return { events, lost, failed, nextSeq: seq };
}

import type { Clock } from '../util/clock';

interface Timer {
  due: number;
  period: number | null;
  fire: () => void;
}

/** A clock that moves only when told to (`advance`), firing due timers and sleeps in time order. */
export class FakeClock implements Clock {
  private current: number;
  private timers: Timer[] = [];

  constructor(start = Date.UTC(2025, 0, 1)) {
    this.current = start;
  }

  now(): number {
    return this.current;
  }

  sleep(ms: number, signal?: AbortSignal): Promise<void> {
    return new Promise((resolve) => {
      const timer: Timer = { due: this.current + ms, period: null, fire: resolve };
      this.timers.push(timer);
      signal?.addEventListener('abort', () => {
        this.timers = this.timers.filter((candidate) => candidate !== timer);
        resolve();
      });
    });
  }

  every(ms: number, tick: () => void): () => void {
    const timer: Timer = { due: this.current + ms, period: ms, fire: tick };
    this.timers.push(timer);
    return () => {
      this.timers = this.timers.filter((candidate) => candidate !== timer);
    };
  }

  advance(ms: number): void {
    const end = this.current + ms;
    for (;;) {
      const next = this.timers.filter((timer) => timer.due <= end).sort((a, b) => a.due - b.due)[0];
      if (!next) break;
      this.current = next.due;
      if (next.period === null) this.timers = this.timers.filter((timer) => timer !== next);
      else next.due += next.period;
      next.fire();
    }
    this.current = end;
  }
}

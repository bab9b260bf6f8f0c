import { delay } from './delay';

/**
 * Time as the worker sees it, injectable so heartbeat cadence and backoff are testable without
 * waiting on the wall clock.
 */
export interface Clock {
  now(): number;
  /** Resolves after `ms`, or early when `signal` aborts; never rejects. */
  sleep(ms: number, signal?: AbortSignal): Promise<void>;
  /** Calls `tick` every `ms` until the returned function is called. */
  every(ms: number, tick: () => void): () => void;
}

export const systemClock: Clock = {
  now: () => Date.now(),
  sleep: delay,
  every(ms, tick) {
    const timer = setInterval(tick, ms);
    // The heartbeat alone must not keep a finished worker alive; the loop's own waits do that.
    timer.unref();
    return () => clearInterval(timer);
  },
};

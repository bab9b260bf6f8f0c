/**
 * Waits `ms`, or less when `signal` aborts first. Resolves in both cases (never rejects): callers
 * check `signal.aborted` themselves, and a rejected sleep is an unhandled rejection waiting to happen.
 */
export function delay(ms: number, signal?: AbortSignal): Promise<void> {
  if (signal?.aborted) return Promise.resolve();
  return new Promise((resolve) => {
    const done = () => {
      clearTimeout(timer);
      signal?.removeEventListener('abort', done);
      resolve();
    };
    const timer = setTimeout(done, ms);
    signal?.addEventListener('abort', done, { once: true });
  });
}

import pino from 'pino';
import { createShutdown } from './shutdown';

const logger = pino({ level: 'silent' });

describe('createShutdown', () => {
  it('runs steps in order, once, and keeps going past a failing step', async () => {
    const calls: string[] = [];
    const shutdown = createShutdown(
      logger,
      [
        { name: 'a', run: () => void calls.push('a') },
        { name: 'b', run: () => Promise.reject(new Error('b failed')) },
        { name: 'c', run: async () => void calls.push('c') },
      ],
      1_000,
    );
    const [first, second] = await Promise.all([shutdown(), shutdown()]);
    expect(calls).toEqual(['a', 'c']);
    expect(first).toBe(false);
    expect(second).toBe(false);
    expect(await shutdown()).toBe(false);
    expect(calls).toEqual(['a', 'c']);
  });

  it('reports success when every step finishes', async () => {
    expect(await createShutdown(logger, [{ name: 'a', run: () => undefined }], 1_000)()).toBe(true);
  });

  it('gives up at the deadline', async () => {
    const shutdown = createShutdown(logger, [{ name: 'stuck', run: () => new Promise(() => undefined) }], 50);
    expect(await shutdown()).toBe(false);
  });
});

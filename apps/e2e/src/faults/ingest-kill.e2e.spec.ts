import { uniqueId, waitFor } from '@sandbox-relay/testing';
import { EventLoad, NO_RATE_LIMITS, storedEventSeqs } from '../support/load';
import { PrivateRedis } from '../support/private-redis';
import { killSpawned, spawnApp } from '../support/process';

jest.setTimeout(120_000);

describe('fault: kill -9 of ingest under load', () => {
  let redis: PrivateRedis;
  beforeAll(async () => {
    redis = await PrivateRedis.start();
  });
  afterAll(async () => {
    await killSpawned();
    await redis.stop();
  });

  it('loses no acknowledged event, and a restarted ingest serves the rest', async () => {
    const sandbox = uniqueId('sb-ingest-kill');
    const first = await spawnApp('ingest', { REDIS_URL: redis.url, ...NO_RATE_LIMITS });
    const load = new EventLoad(first.http, sandbox);
    load.start();
    try {
      await waitFor(() => load.acked.size >= 400, 'the first 400 acknowledged events', 60_000, 20);
      first.child.kill('SIGKILL');
      expect((await first.exited).signal).toBe('SIGKILL');

      // Every event answered 2xx before the kill is in Postgres, with the id it was answered with.
      const ackedBeforeRestart = new Map(load.acked);
      const stored = await storedEventSeqs(sandbox);
      const storedBySeq = new Map([...stored].map(([id, seq]) => [seq, id]));
      const lost = [...ackedBeforeRestart].filter(([seq, id]) => storedBySeq.get(seq) !== id);
      expect(lost).toEqual([]);

      const second = await spawnApp('ingest', { REDIS_URL: redis.url, ...NO_RATE_LIMITS });
      load.target = second.http;
      const before = load.acked.size;
      await waitFor(() => load.acked.size >= before + 200, '200 events acknowledged by the restarted ingest', 60_000, 20);
    } finally {
      await load.stop();
    }

    const stored = await storedEventSeqs(sandbox);
    const storedSeqs = [...stored.values()];
    const storedBySeq = new Map([...stored].map(([id, seq]) => [seq, id]));
    // Everything acknowledged, before or after the kill, is stored under its answered id ...
    expect([...load.acked].filter(([seq, id]) => storedBySeq.get(seq) !== id)).toEqual([]);
    // ... nothing is stored twice, and nothing is stored that was never sent (an unanswered
    // request cut by the kill may or may not have committed: the sender could not know).
    expect(new Set(storedSeqs).size).toBe(storedSeqs.length);
    expect(storedSeqs.filter((seq) => !load.attempted.has(seq))).toEqual([]);
    expect(load.failures).toBeGreaterThan(0);
  });
});

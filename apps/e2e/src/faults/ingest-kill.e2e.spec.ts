import { uniqueId, waitFor } from '@sandbox-relay/testing';
import { killFaultSuite } from '../support/kill-fault';
import { EventLoad, storedEventSeqs } from '../support/load';

jest.setTimeout(120_000);

describe('fault: kill -9 of ingest under load', () => {
  const fault = killFaultSuite('ingest');

  it('loses no acknowledged event, and a restarted ingest serves the rest', async () => {
    const sandbox = uniqueId('sb-ingest-kill');
    const first = await fault.spawn();
    const load = new EventLoad(first.http, sandbox);
    load.start();
    try {
      await waitFor(() => load.acked.size >= 400, 'the first 400 acknowledged events', 60_000, 20);
      await fault.killHard(first);

      // Every event answered 2xx before the kill is in Postgres, with the id it was answered with.
      const ackedBeforeRestart = new Map(load.acked);
      const stored = await storedEventSeqs(sandbox);
      const storedBySeq = new Map([...stored].map(([id, seq]) => [seq, id]));
      const lost = [...ackedBeforeRestart].filter(([seq, id]) => storedBySeq.get(seq) !== id);
      expect(lost).toEqual([]);

      const second = await fault.spawn();
      load.target = second.http;
      const before = load.acked.size;
      await waitFor(
        () => load.acked.size >= before + 200,
        '200 events acknowledged by the restarted ingest',
        60_000,
        20,
      );
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

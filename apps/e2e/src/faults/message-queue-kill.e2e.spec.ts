import type { MessageQueued, SandboxMessage } from '@sandbox-relay/contracts';
import { testInfra, uniqueId, waitFor } from '@sandbox-relay/testing';
import pg from 'pg';
import { killFaultSuite } from '../support/kill-fault';

jest.setTimeout(120_000);

/**
 * Extends process.e2e.spec.ts (one message, kill, next process delivers it) to a kill under load:
 * senders and a draining worker keep going while message-queue is killed with SIGKILL and restarted.
 */
describe('fault: kill -9 of message-queue between POST and GET, under load', () => {
  const fault = killFaultSuite('message-queue');

  it('loses no acknowledged message, hands none out twice, and a retried send (same Idempotency-Key) queues once', async () => {
    const sandbox = uniqueId('sb-mq-kill');
    const firstProcess = await fault.spawn();
    let target = firstProcess.http;
    const url = () => `${target}/api/v1/sandboxes/${sandbox}/messages`;
    const acked = new Map<number, string>();
    const unanswered: number[] = [];
    const drained: string[] = [];
    const reread: string[] = [];
    let running = true;
    let nextSeq = 0;
    let drainFailures = 0;

    const send = async (seq: number) =>
      fetch(url(), {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'idempotency-key': `${sandbox}-${seq}` },
        body: JSON.stringify({ content: `message ${seq}`, message_type: 'user_message' }),
        signal: AbortSignal.timeout(10_000),
      });
    const sender = async () => {
      while (running) {
        const seq = nextSeq++;
        try {
          const res = await send(seq);
          if (res.status === 200) {
            acked.set(seq, ((await res.json()) as MessageQueued).message_id);
            continue;
          }
          await res.arrayBuffer();
        } catch {
          // no answer
        }
        unanswered.push(seq);
        await new Promise((resolve) => setTimeout(resolve, 25));
      }
    };
    // A worker that drains, and after a GET that got no answer re-reads (`since` = the last id it
    // has) what that GET may have been handed, as the README tells workers to.
    const drainer = async () => {
      let resync = false;
      while (running) {
        try {
          const seen = [...drained, ...reread];
          const last =
            seen.length > 0
              ? seen
                  .map(BigInt)
                  .reduce((a, b) => (a > b ? a : b))
                  .toString()
              : undefined;
          if (resync) {
            const res = await fetch(`${url()}?since=${last ?? '0'}&limit=1000`, {
              signal: AbortSignal.timeout(10_000),
            });
            if (res.status !== 200) throw new Error(`re-read answered ${res.status}`);
            const have = new Set(seen);
            reread.push(
              ...((await res.json()) as SandboxMessage[]).map((m) => m.message_id).filter((id) => !have.has(id)),
            );
            resync = false;
          }
          const res = await fetch(`${url()}?limit=20`, { signal: AbortSignal.timeout(10_000) });
          if (res.status !== 200) throw new Error(`drain answered ${res.status}`);
          drained.push(...((await res.json()) as SandboxMessage[]).map((m) => m.message_id));
        } catch {
          drainFailures += 1;
          resync = true;
          await new Promise((resolve) => setTimeout(resolve, 25));
          continue;
        }
        await new Promise((resolve) => setTimeout(resolve, 5));
      }
    };

    const workers = [sender(), sender(), sender(), drainer()];
    try {
      await waitFor(
        () => acked.size >= 150 && drained.length >= 50,
        '150 acknowledged and 50 drained messages',
        60_000,
      );
      await fault.killHard(firstProcess);
      target = (await fault.spawn()).http;
      const ackedAtRestart = acked.size;
      await waitFor(
        () => acked.size >= ackedAtRestart + 100,
        '100 messages acknowledged by the restarted process',
        60_000,
      );
    } finally {
      running = false;
      await Promise.all(workers);
    }

    // Sends that got no answer are retried with their key: each is queued at most once.
    for (const seq of unanswered) {
      const res = await send(seq);
      expect(res.status).toBe(200);
      acked.set(seq, ((await res.json()) as MessageQueued).message_id);
    }
    // Drain what is left.
    for (;;) {
      const rest = (await (await fetch(`${url()}?limit=1000`)).json()) as SandboxMessage[];
      if (rest.length === 0) break;
      drained.push(...rest.map((m) => m.message_id));
    }

    process.stdout.write(
      `[fault] message-queue kill: ${acked.size} acknowledged, ${unanswered.length} sends unanswered (retried with their key), ` +
        `${drainFailures} drains failed, ${reread.length} re-read with since\n`,
    );
    const received = new Set([...drained, ...reread]);
    expect([...acked.values()].filter((id) => !received.has(id))).toEqual([]);
    expect(drained.length).toBe(new Set(drained).size);
    expect(unanswered.length + drainFailures).toBeGreaterThan(0);

    const client = new pg.Client({ connectionString: testInfra().databaseUrl });
    await client.connect();
    try {
      const { rows } = await client.query<{ total: string; distinct_content: string; undelivered: string }>(
        `SELECT count(*) AS total, count(DISTINCT content) AS distinct_content, count(*) FILTER (WHERE delivered_at IS NULL) AS undelivered
           FROM sandbox_messages WHERE sandbox_id = $1`,
        [sandbox],
      );
      expect(rows[0]).toEqual({ total: String(acked.size), distinct_content: String(acked.size), undelivered: '0' });
    } finally {
      await client.end();
    }
  });
});

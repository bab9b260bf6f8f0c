import pg from 'pg';
import { testInfra } from '@sandbox-relay/testing';

/** One sandbox's events that carry a test `seq` in event_data, as Postgres holds them: id → seq. */
export async function storedEventSeqs(
  sandboxId: string,
  databaseUrl = testInfra().databaseUrl,
): Promise<Map<string, number>> {
  const client = new pg.Client({ connectionString: databaseUrl });
  await client.connect();
  try {
    const { rows } = await client.query<{ id: string; seq: string | null }>(
      `SELECT id::text AS id, data->>'seq' AS seq FROM sandbox_events WHERE entity_type = 'sandbox' AND entity_id = $1 AND data ? 'seq' ORDER BY id`,
      [sandboxId],
    );
    return new Map(rows.map((row) => [row.id, Number(row.seq)]));
  } finally {
    await client.end();
  }
}

/** Ids of all of one sandbox's events in Postgres, ascending. */
export async function storedEventIds(sandboxId: string, databaseUrl = testInfra().databaseUrl): Promise<string[]> {
  const client = new pg.Client({ connectionString: databaseUrl });
  await client.connect();
  try {
    const { rows } = await client.query<{ id: string }>(
      `SELECT id::text AS id FROM sandbox_events WHERE entity_type = 'sandbox' AND entity_id = $1 ORDER BY id`,
      [sandboxId],
    );
    return rows.map((row) => row.id);
  } finally {
    await client.end();
  }
}

/**
 * Event POSTs from a few concurrent senders (single events and batches of 20) against a target that
 * may change (a restarted process). Every event carries a unique `seq`; what a 2xx acknowledged is
 * recorded with its id, and nothing is retried, so each seq is sent once.
 */
export class EventLoad {
  readonly acked = new Map<number, string>();
  readonly attempted = new Set<number>();
  failures = 0;
  private nextSeq = 0;
  private running = false;
  private loops: Promise<void>[] = [];

  constructor(
    public target: string,
    readonly sandboxId: string,
    private readonly senders = { single: 4, batch: 2 },
  ) {}

  start(): void {
    this.running = true;
    for (let i = 0; i < this.senders.single; i += 1) this.loops.push(this.loop(false));
    for (let i = 0; i < this.senders.batch; i += 1) this.loops.push(this.loop(true));
  }

  async stop(): Promise<void> {
    this.running = false;
    await Promise.all(this.loops);
    this.loops = [];
  }

  private async loop(batch: boolean): Promise<void> {
    while (this.running) {
      const seqs = Array.from({ length: batch ? 20 : 1 }, () => this.nextSeq++);
      seqs.forEach((seq) => this.attempted.add(seq));
      const base = `${this.target}/api/v1/sandboxes/${this.sandboxId}/events`;
      try {
        const body = seqs.map((seq) => ({ event_type: 'agent.tool_use', event_data: { seq }, source: 'fault-test' }));
        const res = await fetch(batch ? `${base}/batch` : base, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify(batch ? body : body[0]),
          signal: AbortSignal.timeout(10_000),
        });
        if (res.status === 200) {
          const answer = (await res.json()) as { id?: string; ids?: string[] };
          const ids = batch ? answer.ids! : [answer.id!];
          seqs.forEach((seq, index) => this.acked.set(seq, ids[index]!));
          continue;
        }
        await res.arrayBuffer();
        this.failures += 1;
      } catch {
        this.failures += 1;
      }
      // The target is down or refusing: do not spin.
      await new Promise((resolve) => setTimeout(resolve, 25));
    }
  }
}

/**
 * Fault suites drive one sandbox far past the per-sandbox rate limits (a guard against a runaway
 * agent, not what they test); 0 turns them off, as the services' env documents.
 */
export const NO_RATE_LIMITS = { RATE_LIMIT_EVENTS_PER_WINDOW: '0', RATE_LIMIT_MESSAGES_PER_WINDOW: '0' } as const;

import type { BranchWorkState } from '@sandbox-relay/contracts';
import { ServiceUnavailableError } from '@sandbox-relay/service-kit';
import { isUniqueViolation, withStoreErrors, type PrismaClient, type Store } from '@sandbox-relay/store';

export interface BranchWorkRecord {
  id: string;
  ticketId: string;
  taskId: string | null;
  repo: string;
  branchName: string;
  baseBranch: string;
  baseSha: string | null;
  ticketTitle: string | null;
  ticketDescription: string | null;
  state: BranchWorkState;
  prNumber: number | null;
  prUrl: string | null;
  mergeSha: string | null;
}

export interface NewBranchWork {
  ticketId: string;
  taskId: string | null;
  repo: string;
  branchName: string;
  baseBranch: string;
  baseSha: string;
  ticketTitle: string;
  ticketDescription: string | null;
}

export type BranchWorkChanges = Partial<Pick<BranchWorkRecord, 'state' | 'prNumber' | 'prUrl' | 'mergeSha'>>;

const FIELDS = {
  id: true,
  ticketId: true,
  taskId: true,
  repo: true,
  branchName: true,
  baseBranch: true,
  baseSha: true,
  ticketTitle: true,
  ticketDescription: true,
  state: true,
  prNumber: true,
  prUrl: true,
  mergeSha: true,
} as const;

/**
 * The `branch_work` rows: one per branch the workflow made. `(repo, branch_name)` is unique, so two
 * workers racing for one name cannot both claim it.
 */
export class BranchWorkRepository {
  constructor(private readonly prisma: PrismaClient) {}

  /** The ticket's most recent work in this repository. */
  async latestForTicket(repo: string, ticketId: string): Promise<BranchWorkRecord | null> {
    return (await withStoreErrors(
      this.prisma.branchWork.findFirst({ where: { repo, ticketId }, orderBy: { createdAt: 'desc' }, select: FIELDS }),
    )) as BranchWorkRecord | null;
  }

  async byBranch(repo: string, branchName: string): Promise<BranchWorkRecord | null> {
    return (await withStoreErrors(
      this.prisma.branchWork.findUnique({ where: { repo_branchName: { repo, branchName } }, select: FIELDS }),
    )) as BranchWorkRecord | null;
  }

  /** Claims a branch name (state `creating`); `null` when another row holds the name already. */
  async claim(work: NewBranchWork): Promise<BranchWorkRecord | null> {
    try {
      return (await this.prisma.branchWork.create({
        data: { ...work, state: 'creating' },
        select: FIELDS,
      })) as BranchWorkRecord;
    } catch (error) {
      if (isUniqueViolation(error)) return null;
      return withStoreErrors(Promise.reject(error));
    }
  }

  async release(id: string): Promise<void> {
    await withStoreErrors(this.prisma.branchWork.deleteMany({ where: { id, state: 'creating' } }));
  }

  async update(id: string, changes: BranchWorkChanges): Promise<BranchWorkRecord> {
    return (await withStoreErrors(
      this.prisma.branchWork.update({ where: { id }, data: changes, select: FIELDS }),
    )) as BranchWorkRecord;
  }
}

/**
 * One step at a time per ticket, across every replica: a Postgres session-level advisory lock, taken
 * with `pg_try_advisory_lock` and polled, so a waiter holds no connection (a blocking lock would pin
 * one pool connection per waiter and could starve the holder). A holder that dies releases the lock
 * with its connection.
 */
export class TicketLocks {
  constructor(
    private readonly pool: Store['pool'],
    private readonly options: { waitMs: number; pollMs: number } = { waitMs: 60_000, pollMs: 50 },
  ) {}

  async withLock<T>(repo: string, ticketId: string, work: () => Promise<T>): Promise<T> {
    const key = `branch-workflow:${repo}:${ticketId}`;
    const deadline = Date.now() + this.options.waitMs;
    for (;;) {
      const client = await withStoreErrors(this.pool.connect());
      let locked = false;
      try {
        locked =
          (
            await client.query<{ locked: boolean }>('SELECT pg_try_advisory_lock(hashtextextended($1, 0)) AS locked', [
              key,
            ])
          ).rows[0]?.locked === true;
        if (locked) return await work();
      } finally {
        let broken: Error | undefined;
        if (locked)
          await client
            .query('SELECT pg_advisory_unlock(hashtextextended($1, 0))', [key])
            .catch((error: Error) => (broken = error));
        // A connection that could not unlock may still hold the lock: destroy it rather than pool it.
        client.release(broken);
      }
      if (Date.now() > deadline)
        throw new ServiceUnavailableError(`ticket ${ticketId} is busy with another branch-workflow step; retry later`);
      await new Promise((resolve) => setTimeout(resolve, this.options.pollMs));
    }
  }
}

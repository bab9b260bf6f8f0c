import type { Pool } from 'pg';

/** The id counter's row lock, held by another writer until `release()`. */
export interface HeldIdCounter {
  /** Commits the holder's transaction (the lock is free from then on) and returns its connection; once. */
  release(): Promise<void>;
}

/**
 * Takes the event id counter's row lock on a connection of `pool`, as another writer's long commit (or a
 * stuck replica's insert) would: every append waits in PostgreSQL until `release()`. Release it in a
 * `finally`: every writer of the shared test database waits on it.
 */
export async function holdIdCounter(pool: Pool): Promise<HeldIdCounter> {
  const holder = await pool.connect();
  try {
    await holder.query('BEGIN');
    await holder.query('SELECT last_id FROM sandbox_event_counter WHERE id = 1 FOR UPDATE');
  } catch (error) {
    holder.release(true);
    throw error;
  }
  let released = false;
  return {
    async release() {
      if (released) return;
      released = true;
      try {
        await holder.query('COMMIT');
      } finally {
        holder.release();
      }
    },
  };
}

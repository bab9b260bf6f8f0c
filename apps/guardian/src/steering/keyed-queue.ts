/**
 * Runs tasks one at a time per key, in submission order; different keys run concurrently. The guardian
 * uses it so two events of one sandbox cannot both pass the cooldown check before either records its
 * intervention. Entries are removed once a key's queue drains, so idle keys cost nothing.
 */
export class KeyedSerialQueue {
  private readonly tails = new Map<string, Promise<void>>();

  /** Runs `task` after every task queued before it under `key`; the result is the task's own. */
  run<T>(key: string, task: () => Promise<T>): Promise<T> {
    const previous = this.tails.get(key) ?? Promise.resolve();
    const result = previous.then(task);
    // The chain must survive a failing task, or every later task of the key would be skipped.
    const tail = result.then(
      () => undefined,
      () => undefined,
    );
    this.tails.set(key, tail);
    void tail.then(() => {
      if (this.tails.get(key) === tail) this.tails.delete(key);
    });
    return result;
  }

  /** Keys with queued or running tasks. */
  get activeKeys(): number {
    return this.tails.size;
  }

  /** Resolves once every queued task, including ones queued while waiting, has settled. */
  async idle(): Promise<void> {
    while (this.tails.size > 0) await Promise.all(this.tails.values());
  }
}

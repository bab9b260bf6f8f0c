/**
 * Keeps the last `limitBytes` bytes written to it. A worker may print for days; forensics only
 * need the tail, and the relay must not grow with a chatty child.
 */
export class OutputRing {
  private chunks: Buffer[] = [];
  private size = 0;
  private dropped = 0;

  constructor(private readonly limitBytes = 1024 * 1024) {
    if (!Number.isInteger(limitBytes) || limitBytes <= 0) throw new RangeError('limitBytes must be a positive integer');
  }

  write(chunk: Buffer | string): void {
    const buffer = typeof chunk === 'string' ? Buffer.from(chunk) : chunk;
    if (buffer.length === 0) return;
    this.chunks.push(buffer);
    this.size += buffer.length;
    this.trim();
  }

  /** Bytes discarded so far because the ring was full. */
  get droppedBytes(): number {
    return this.dropped;
  }

  /** The retained tail as text. A multi-byte character cut at the start decodes as U+FFFD. */
  toString(): string {
    return Buffer.concat(this.chunks, this.size).toString('utf8');
  }

  private trim(): void {
    while (this.size > this.limitBytes) {
      const first = this.chunks[0]!;
      const excess = this.size - this.limitBytes;
      if (first.length <= excess) {
        this.chunks.shift();
        this.size -= first.length;
        this.dropped += first.length;
      } else {
        // Keep the end of a chunk larger than the excess (a single huge write still leaves its tail),
        // copied so the dropped head's memory is released.
        this.chunks[0] = Buffer.from(first.subarray(excess));
        this.size -= excess;
        this.dropped += excess;
      }
    }
  }
}

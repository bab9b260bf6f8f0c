/** Milliseconds since the epoch. The policy works on numbers; adapters convert Prisma's `Date`s with `getTime()`. */
export type Instant = number;

/** The supervisor's time source, injected so tests move time by hand instead of sleeping. */
export type Clock = () => Instant;

export const systemClock: Clock = () => Date.now();

/**
 * Refuses a policy value that would make a rule meaningless (a zero interval counts every session as
 * missed forever; a negative window admits no restart). Thrown at construction, so a bad config fails
 * the process at start rather than mid-sweep.
 */
export function requireInteger(name: string, value: number, min: number): void {
  if (!Number.isSafeInteger(value) || value < min)
    throw new RangeError(`${name} must be an integer >= ${min}, got ${value}`);
}

/**
 * A span in which the supervisor could not read the event store (PostgreSQL down or cut off), from its
 * last sweep that read it to the first that did again. Workers most likely could not store their beats
 * either, so silence in it says nothing about them: without this, the first sweep after an outage longer
 * than the ladder restarted every sandbox at once.
 */
export interface BlindSpan {
  from: Instant;
  to: Instant;
}

/** `since` moved forward by the part of `span` after it: silence is counted outside the span only. */
export function afterBlindSpan(since: Instant, span: BlindSpan | null | undefined): Instant {
  if (!span || since >= span.to) return since;
  return since + (span.to - Math.max(span.from, since));
}

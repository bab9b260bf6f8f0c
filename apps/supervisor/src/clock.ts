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

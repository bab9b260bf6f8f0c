import type { BranchNameKind } from '@sandbox-relay/contracts';

/** REFERENCE.md: the slug is lowercase `[a-z0-9-]`, at most 25 characters. */
export const SLUG_MAX_CHARS = 25;

export interface TicketForNaming {
  id: string;
  title: string;
  description?: string | null;
}

/**
 * Suggests a short slug for a ticket's branch (an LLM, say). Whatever it answers goes through
 * `slugify`, so it can never produce an unsafe name; when it fails or answers nothing usable, the
 * deterministic slug of the title is used.
 */
export interface BranchNamer {
  suggestSlug(ticket: TicketForNaming): Promise<string | null>;
}

/** Lowercase words of `[a-z0-9]` joined by single hyphens, cut at a word boundary within the limit. */
export function slugify(text: string, max = SLUG_MAX_CHARS): string {
  const words = text
    .normalize('NFKD')
    .replace(/[\u0300-\u036f]/g, '')
    .toLowerCase()
    .split(/[^a-z0-9]+/)
    .filter(Boolean);
  let slug = '';
  for (const word of words) {
    const next = slug ? `${slug}-${word}` : word;
    if (next.length > max) {
      if (!slug) slug = word.slice(0, max);
      break;
    }
    slug = next;
  }
  return slug;
}

/** The ticket id as a branch-name segment: lowercase, `[a-z0-9-]`, no leading/trailing hyphen. */
export function ticketSegment(ticketId: string): string {
  return (
    ticketId
      .toLowerCase()
      .replace(/[^a-z0-9]+/g, '-')
      .replace(/^-+|-+$/g, '') || 'ticket'
  );
}

/** `feature/<ticket>-<slug>`; the n-th candidate (n ≥ 2) appends `-n` for a name already taken. */
export function branchName(kind: BranchNameKind, ticketId: string, slug: string, attempt = 1): string {
  const base = `${kind}/${ticketSegment(ticketId)}${slug ? `-${slug}` : ''}`;
  return attempt <= 1 ? base : `${base}-${attempt}`;
}

/** The slug for a ticket: the namer's suggestion when it gives a usable one, else the title's. */
export async function slugFor(
  ticket: TicketForNaming,
  namer?: BranchNamer,
  onError?: (error: unknown) => void,
): Promise<string> {
  if (namer) {
    try {
      const suggested = slugify((await namer.suggestSlug(ticket)) ?? '');
      if (suggested) return suggested;
    } catch (error) {
      onError?.(error);
    }
  }
  return slugify(ticket.title) || 'work';
}

import Anthropic from '@anthropic-ai/sdk';
import { clipUnits, firstLine } from '@sandbox-relay/contracts';
import type { BranchNamer, TicketForNaming } from './branch-naming';
import { SLUG_MAX_CHARS } from './branch-naming';

/** What of a ticket the model reads: enough to name it, never a whole specification. */
const DESCRIPTION_MAX_CHARS = 2_000;

const SYSTEM_PROMPT = [
  'You name git branches for tickets.',
  `Answer with one slug and nothing else: 2 to 4 lowercase English words joined by hyphens, at most ${SLUG_MAX_CHARS} characters,`,
  'naming the change the ticket asks for (for example: password-reset-email). No ticket id, no prefix, no punctuation, no explanation.',
].join(' ');

export interface AnthropicBranchNamerOptions {
  apiKey: string;
  /** The Messages API origin; default Anthropic's. */
  baseUrl?: string;
  model: string;
  /** Per request; the branch waits for the namer at most about this long (times the attempts). */
  timeoutMs: number;
  /** Retries after the first attempt (the SDK's own: 408/409/429/5xx and connection errors, with backoff). */
  maxRetries: number;
}

/**
 * A `BranchNamer` asking a Claude model through the official Anthropic SDK for a short slug. Its answer
 * is only a suggestion: `slugFor` passes it through `slugify`, and on any failure (API error, timeout,
 * an empty or unusable answer) the deterministic slug of the title is used.
 */
export class AnthropicBranchNamer implements BranchNamer {
  private readonly client: Anthropic;

  constructor(private readonly options: AnthropicBranchNamerOptions) {
    this.client = new Anthropic({
      apiKey: options.apiKey,
      ...(options.baseUrl ? { baseURL: options.baseUrl } : {}),
      timeout: options.timeoutMs,
      maxRetries: options.maxRetries,
    });
  }

  async suggestSlug(ticket: TicketForNaming): Promise<string | null> {
    const description = ticket.description?.trim()
      ? `\n\n${clipUnits(ticket.description.trim(), DESCRIPTION_MAX_CHARS, '')}`
      : '';
    const message = await this.client.messages.create({
      model: this.options.model,
      max_tokens: 32,
      system: SYSTEM_PROMPT,
      messages: [{ role: 'user', content: `Ticket ${ticket.id}: ${ticket.title}${description}` }],
    });
    const text = message.content
      .flatMap((block) => (block.type === 'text' ? [block.text] : []))
      .join(' ')
      .trim();
    // The first line only: a model that explains itself after the slug does not get its prose into the name.
    return firstLine(text).trim() || null;
  }
}

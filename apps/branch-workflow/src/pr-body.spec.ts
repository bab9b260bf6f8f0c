import type { EventEnvelope } from '@sandbox-relay/contracts';
import type { EventRepository } from '@sandbox-relay/store';
import { agentSummary, inertOnGitHub, pullRequestBody, pullRequestTitle } from './pr-body';

const ZWSP = '\u200b';
const comparison = {
  aheadBy: 1,
  behindBy: 0,
  totalCommits: 1,
  files: [{ filename: 'src/a.ts', status: 'modified', additions: 1, deletions: 1 }],
} as never;

describe('text from tickets and agents, made inert on GitHub', () => {
  it.each([
    ['ping @octocat please', `ping @${ZWSP}octocat please`],
    ['@octocat at the start', `@${ZWSP}octocat at the start`],
    ['cc @acme/security-team', `cc @${ZWSP}acme/security-team`],
    ['(@octocat)', `(@${ZWSP}octocat)`],
    ['see #12 and #3', `see #${ZWSP}12 and #${ZWSP}3`],
    ['as in acme/api#7', `as in acme/api#${ZWSP}7`],
    ['tracked in GH-42', `tracked in GH-${ZWSP}42`],
    ['Fixes #1', `F${ZWSP}ixes #${ZWSP}1`],
    ['closes: acme/api#9', `c${ZWSP}loses: acme/api#${ZWSP}9`],
    ['Resolved https://github.com/acme/api/issues/5', `R${ZWSP}esolved https://github.com/acme/api/issues/5`],
  ])('%j', (text, inert) => {
    expect(inertOnGitHub(text)).toBe(inert);
  });

  it.each([
    'mail me at dev@example.com',
    'the colour #fff, a heading ## Summary, issue #x',
    'it fixes the build; the fix is in',
    'run `npm i @types/node` then `git log #1`',
    '```\n@decorator\nclass A {} // fixes #2\n```',
  ])('leaves %j as it is', (text) => {
    expect(inertOnGitHub(text)).toBe(text);
  });

  it('only outside code: prose beside a code span is still made inert', () => {
    expect(inertOnGitHub('thanks @bob for `@types/node`, see #4')).toBe(
      `thanks @${ZWSP}bob for \`@types/node\`, see #${ZWSP}4`,
    );
  });

  it('applies to the PR title, the ticket description and the agent summary', () => {
    const body = pullRequestBody({
      ticketId: 'PROJ-1',
      title: 'Sign-in for @admins',
      description: 'Asked by @alice, see #12.',
      summary: 'Done. Fixes #12, cc @bob.',
      comparison,
    });
    expect(body).not.toMatch(/@[A-Za-z]|#\d/);
    expect(body).toContain(`Asked by @${ZWSP}alice, see #${ZWSP}12.`);
    expect(body).toContain('- `src/a.ts` (modified, +1 −1)');
    expect(pullRequestTitle('Follow-up to #12', 'PROJ-1')).toBe(`Follow-up to #${ZWSP}12 (PROJ-1)`);
  });
});

describe('agentSummary', () => {
  const envelope = (id: number, event_type: string, payload: Record<string, unknown>): EventEnvelope => ({
    id: String(id),
    event_type,
    entity_type: 'sandbox',
    entity_id: 'sb-1',
    payload,
    source: 'worker',
    timestamp: '2024-01-01T00:00:00Z',
  });
  const repository = (newestFirst: EventEnvelope[]) =>
    ({ list: async () => newestFirst }) as unknown as EventRepository;
  const task = { id: 't1', sandboxId: 'sb-1' };

  it("takes the completion's summary over any message", async () => {
    const events = [
      envelope(3, 'agent.completed', { summary: 'Added sign-in.', content: 'x' }),
      envelope(2, 'agent.message', { content: 'last words' }),
    ];
    expect(await agentSummary(repository(events), task)).toBe('Added sign-in.');
  });

  it('falls back to the last message with text when the completion says nothing', async () => {
    const events = [
      envelope(3, 'agent.completed', { turns: 2 }),
      envelope(2, 'agent.message', { content: '  ' }),
      envelope(1, 'agent.message', { text: 'Done: the tests pass.' }),
    ];
    expect(await agentSummary(repository(events), task)).toBe('Done: the tests pass.');
  });

  it('answers undefined for odd payloads', async () => {
    expect(await agentSummary(repository([envelope(1, 'agent.message', { content: 42 })]), task)).toBeUndefined();
  });
});

import { FakeAnthropicServer, lastUserText, testLogger, uniqueId } from '@sandbox-relay/testing';
import request from 'supertest';
import { AnthropicBranchNamer, type AnthropicBranchNamerOptions } from './anthropic-namer';
import { slugFor } from './branch-naming';
import { createBranchWorkflowService } from './branch-workflow.service';
import { BranchWorkflowInfra, serviceApp } from './spec-support';

const logger = testLogger();
const REPO = 'acme/namer';
const ticket = {
  id: 'PROJ-7',
  title: 'Users cannot reset their password when the e-mail has capitals',
  description: 'Reported by support.\nLower-case the address before the lookup.',
};

// The AI branch namer through the real Anthropic SDK against a local server speaking the Messages API,
// its error answers included; the branch workflow falls back to the title's slug whenever it fails.
describe('AnthropicBranchNamer', () => {
  const anthropic = new FakeAnthropicServer();
  const options = (overrides: Partial<AnthropicBranchNamerOptions> = {}): AnthropicBranchNamerOptions => ({
    apiKey: 'sk-ant-test',
    baseUrl: anthropic.url,
    model: 'claude-haiku-4-5',
    timeoutMs: 2_000,
    maxRetries: 0,
    ...overrides,
  });
  const failures: unknown[] = [];
  const slug = (namer: AnthropicBranchNamer) => slugFor(ticket, namer, (error) => failures.push(error));

  beforeAll(() => anthropic.start());
  afterAll(() => anthropic.close());
  beforeEach(() => {
    anthropic.reset();
    failures.length = 0;
  });

  it('asks the model with the ticket and uses its slug', async () => {
    anthropic.respond = () => ({ text: 'email-case-reset' });
    await expect(slug(new AnthropicBranchNamer(options()))).resolves.toBe('email-case-reset');
    const [asked] = anthropic.messageRequests;
    expect(asked).toMatchObject({ model: 'claude-haiku-4-5', max_tokens: 32 });
    expect(String(asked?.['system'])).toMatch(/one slug and nothing else/);
    expect(lastUserText(asked ?? {})).toBe(`Ticket PROJ-7: ${ticket.title}\n\n${ticket.description}`);
    expect(failures).toEqual([]);
  });

  it('keeps only the first line of a chatty answer, made safe by slugify', async () => {
    anthropic.respond = () => ({ text: 'Password Reset: E-mail Case!\nThis name describes the fix.' });
    await expect(slug(new AnthropicBranchNamer(options()))).resolves.toBe('password-reset-e-mail');
  });

  it('falls back to the title on an answer with nothing usable', async () => {
    anthropic.respond = () => ({ text: '???' });
    await expect(slug(new AnthropicBranchNamer(options()))).resolves.toBe('users-cannot-reset-their');
    expect(failures).toEqual([]);
  });

  it('falls back to the title on an API error, retrying the ones the SDK retries', async () => {
    anthropic.respond = () => ({ error: { status: 400, type: 'invalid_request_error', message: 'model: not found' } });
    await expect(slug(new AnthropicBranchNamer(options({ maxRetries: 2 })))).resolves.toBe('users-cannot-reset-their');
    expect(anthropic.messageRequests).toHaveLength(1); // a 400 cannot succeed: not retried
    expect(failures).toEqual([expect.objectContaining({ status: 400 })]);

    anthropic.reset();
    failures.length = 0;
    anthropic.respond = (_request, index) =>
      index === 0
        ? { error: { status: 529, type: 'overloaded_error', message: 'Overloaded' } }
        : { text: 'reset-email-case' };
    await expect(slug(new AnthropicBranchNamer(options({ maxRetries: 1 })))).resolves.toBe('reset-email-case');
    expect(anthropic.messageRequests).toHaveLength(2);
    expect(failures).toEqual([]);
  });

  it('falls back to the title when the model does not answer within the timeout', async () => {
    anthropic.respond = () => ({ hang: '' });
    await expect(slug(new AnthropicBranchNamer(options({ timeoutMs: 200 })))).resolves.toBe('users-cannot-reset-their');
    expect(failures).toEqual([expect.objectContaining({ name: 'APIConnectionTimeoutError' })]);
  });

  it('names the branch the workflow creates when BRANCH_NAMER=anthropic is configured', async () => {
    const infra = await BranchWorkflowInfra.open('bw-namer-test', REPO, { 'README.md': '# namer\n' }, logger);
    const service = createBranchWorkflowService({
      ...infra.deps(logger),
      config: {
        queuePrefix: uniqueId('bw-namer'),
        concurrency: 1,
        mergeMethod: 'squash',
        mergeablePoll: { attempts: 1, intervalMs: 0 },
        github: infra.githubConfig(REPO, 0),
        namer: options(),
      },
    });
    try {
      anthropic.respond = () => ({ text: 'email-case-reset' });
      const id = uniqueId('T').toUpperCase();
      const res = await request(serviceApp(service, logger))
        .post(`/api/v1/tickets/${id}/branch`)
        .send({ title: ticket.title });
      expect(res.status).toBe(201);
      expect(res.body.branch_name).toBe(`feature/${id.toLowerCase()}-email-case-reset`);
      expect(infra.github.branchSha(REPO, res.body.branch_name)).toEqual(expect.any(String));
    } finally {
      await service.close();
      await infra.close();
    }
  });
});

/// <reference path="../../../libs/auth/src/lib/jose.d.ts" />
import { EdgeAuth, generateRelayKey } from '@sandbox-relay/auth';
import { createStore } from '@sandbox-relay/store';
import { testInfra, uniqueId } from '@sandbox-relay/testing';
import { openBrowser, type HeadlessBrowser } from './support/browser';
import { DASHBOARD_DIR, UI_TIMEOUT, waitForCount, waitForText } from './support/dashboard-page';
import { ServerEventEmitter, startRelay, type RunningRelay } from './support/relay';

// The dashboard against a relay with auth on, as deployed: the page has no token until it asks for one.
jest.setTimeout(90_000);

describe('dashboard with auth on (browser)', () => {
  let relay: RunningRelay;
  let browser: HeadlessBrowser;
  let tokens: { operator: string; sandbox: (id: string) => Promise<string>; viewerOf: (id: string) => Promise<string> };

  beforeAll(async () => {
    const key = await generateRelayKey('eddsa', 'dash');
    relay = await startRelay({
      DASHBOARD_DIR,
      AUTH_MODE: 'on',
      AUTH_KEYS: JSON.stringify([key]),
      AUTH_SIGNING_KID: 'dash',
    });
    const issuer = (await EdgeAuth.fromSettings({ mode: 'on', keys: [key], signingKid: 'dash', maxTokenAgeS: 3600 }))
      .issuer!;
    tokens = {
      operator: await issuer.issue({ kind: 'operator', sandboxes: '*' }, { subject: 'dashboard-e2e', ttlSeconds: 600 }),
      sandbox: (id) => issuer.issueSandboxToken(id, 600),
      viewerOf: (id) =>
        issuer.issue({ kind: 'viewer', sandboxes: [id] }, { subject: 'dashboard-e2e-viewer', ttlSeconds: 600 }),
    };
    browser = await openBrowser();
  });
  afterAll(async () => {
    await browser?.close();
    await relay?.stop();
  });

  it("asks for a token, then sends it as a header and as the WebSocket's first frame, never in a URL", async () => {
    const sandbox = uniqueId('sb-auth');
    const worker = await tokens.sandbox(sandbox);
    const post = (body: unknown) =>
      fetch(`${relay.http}/api/v1/sandboxes/${sandbox}/events`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: `Bearer ${worker}` },
        body: JSON.stringify(body),
      });
    expect((await post({ event_type: 'agent.started', event_data: { agent: 'shell' } })).status).toBe(200);

    const page = await browser.context.newPage();
    const urls: string[] = [];
    page.on('request', (request) => urls.push(request.url()));
    page.on('websocket', (socket) => urls.push(socket.url()));
    try {
      await page.goto(`${relay.http}/#/sandboxes/${sandbox}`);
      await page.getByTestId('token-form').waitFor({ timeout: UI_TIMEOUT });
      await page.getByTestId('token-input').fill(tokens.operator);
      await page.getByRole('button', { name: 'Use token' }).click();

      await page.locator('[data-testid="stream-state"].state-live').waitFor({ timeout: UI_TIMEOUT });
      await waitForCount(page, 1);
      expect(
        (
          await post({
            event_type: 'agent.message',
            event_data: { content: 'seen live through an authenticated socket' },
          })
        ).status,
      ).toBe(200);
      await page
        .locator('.feed')
        .getByText('seen live through an authenticated socket')
        .waitFor({ timeout: UI_TIMEOUT });

      await page.getByTestId('message-input').fill('steer me');
      await page.getByTestId('send').click();
      await waitForText(
        page.getByTestId('send-feedback'),
        (text) => /✓ user message #\d+ queued/.test(text),
        'the message to be confirmed',
      );

      expect(urls.some((url) => url.includes('/api/v1/events/ws/events'))).toBe(true);
      expect(urls.filter((url) => url.includes(tokens.operator))).toEqual([]);
    } finally {
      await page.close();
    }
  });

  it('lists only the sandboxes a scoped viewer token may see', async () => {
    const mine = uniqueId('sb-mine');
    const other = uniqueId('sb-other');
    for (const id of [mine, other]) {
      const token = await tokens.sandbox(id);
      const res = await fetch(`${relay.http}/api/v1/sandboxes/${id}/events`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
        body: JSON.stringify({ event_type: 'heartbeat' }),
      });
      expect(res.status).toBe(200);
    }
    const page = await browser.context.newPage();
    try {
      await page.goto(relay.http);
      await page.getByTestId('token-form').waitFor({ timeout: UI_TIMEOUT });
      await page.getByTestId('token-input').fill(await tokens.viewerOf(mine));
      await page.getByRole('button', { name: 'Use token' }).click();
      await page.locator(`tr[data-sandbox-id="${mine}"]`).waitFor({ timeout: UI_TIMEOUT });
      expect(
        await page
          .locator('tr.sandbox-row')
          .evaluateAll((rows) => rows.map((row) => row.getAttribute('data-sandbox-id'))),
      ).toEqual([mine]);
      expect(await page.locator(`tr[data-sandbox-id="${other}"]`).count()).toBe(0);
    } finally {
      await page.close();
    }
  });

  it("keeps a scoped viewer's sandbox view working when the token may not watch the task's ticket", async () => {
    const sandbox = uniqueId('sb-scoped-ticket');
    const ticketId = uniqueId('TCK');
    const store = createStore({ databaseUrl: testInfra().databaseUrl });
    const emitter = new ServerEventEmitter();
    try {
      const task = await store.prisma.task.create({
        data: { title: 'Scoped ticket task', sandboxId: sandbox, status: 'running', ticketId },
      });
      await store.prisma.sandboxSession.create({ data: { sandboxId: sandbox, taskId: task.id, status: 'running' } });
      await emitter.emit({
        event_type: 'agent.started',
        entity_type: 'sandbox',
        entity_id: sandbox,
        payload: { agent: 'shell' },
      });
      await emitter.emit({
        event_type: 'BRANCH_CREATED',
        entity_type: 'ticket',
        entity_id: ticketId,
        payload: { ticket_id: ticketId, branch_name: `feature/${ticketId}-x` },
      });
    } finally {
      await emitter.close();
      await store.close();
    }
    const page = await browser.context.newPage();
    try {
      await page.goto(`${relay.http}/#/sandboxes/${sandbox}`);
      await page.getByTestId('token-input').fill(await tokens.viewerOf(sandbox));
      await page.getByRole('button', { name: 'Use token' }).click();
      await page.locator('[data-testid="stream-state"].state-live').waitFor({ timeout: UI_TIMEOUT });
      await waitForCount(page, 1);
      // The gateway refuses the ticket subscription (4403) to a sandbox-scoped token: the panel says so,
      // no token dialog comes back, and the sandbox's own feed stays live.
      await waitForText(
        page.getByTestId('ticket-note'),
        (text) => text === 'this token may not read the ticket’s events',
        'the ticket panel to say it is refused',
      );
      expect(await page.locator('.ticket-event').count()).toBe(0);
      expect(await page.getByTestId('token-form').count()).toBe(0);
      expect(await page.locator('[data-testid="stream-state"].state-live').count()).toBe(1);
    } finally {
      await page.close();
    }
  });
});

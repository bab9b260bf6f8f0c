import { createStore, type Store } from '@sandbox-relay/store';
import { testInfra, uniqueId, waitFor } from '@sandbox-relay/testing';
import type { Page } from 'playwright-core';
import { openBrowser, saveScreenshot, type HeadlessBrowser } from './support/browser';
import {
  DASHBOARD_DIR,
  eventCount,
  openSandbox,
  renderedIds,
  UI_TIMEOUT,
  waitForCount,
  waitForText,
} from './support/dashboard-page';
import { postEvent, ServerEventEmitter, startRelay, type RunningRelay } from './support/relay';

// The sandbox view on a big history (newest page first, older pages on scroll), the supervisor's
// events, and the task's ticket (branch workflow events on entity `ticket`), in Debian's chromium.
jest.setTimeout(120_000);

const PAGE = 500;

/** Stores `count` agent messages for `sandboxId` in one statement; answers their ids, oldest first. */
async function storeMessages(store: Store, sandboxId: string, count: number): Promise<string[]> {
  const { rows } = await store.pool.query<{ id: string }>(
    `INSERT INTO sandbox_events (entity_type, entity_id, event_type, data, source)
     SELECT 'sandbox', $1, 'agent.message', jsonb_build_object('content', 'message ' || n), 'agent' FROM generate_series(0, $2 - 1) AS n ORDER BY n
     RETURNING id::text AS id`,
    [sandboxId, count],
  );
  return rows.map((row) => row.id).sort((a, b) => a.length - b.length || (a < b ? -1 : 1));
}

/** The history requests the page made for `sandboxId`, as their query strings. */
function historyRequests(page: Page, sandboxId: string): URLSearchParams[] {
  const seen: URLSearchParams[] = [];
  page.on('request', (request) => {
    const url = new URL(request.url());
    if (url.pathname === `/api/v1/sandboxes/${sandboxId}/events` && request.method() === 'GET')
      seen.push(url.searchParams);
  });
  return seen;
}

/** True when `shown` is a run of consecutive entries of `ids` (no gap, no duplicate). */
function isRunOf(ids: string[], shown: string[]): boolean {
  const start = ids.indexOf(shown[0]!);
  return start >= 0 && shown.every((id, offset) => ids[start + offset] === id);
}

describe('dashboard history and supervisor/branch events (browser)', () => {
  let relay: RunningRelay;
  let browser: HeadlessBrowser;
  let store: Store;
  let emitter: ServerEventEmitter;

  beforeAll(async () => {
    relay = await startRelay({ DASHBOARD_DIR });
    browser = await openBrowser();
    store = createStore({ databaseUrl: testInfra().databaseUrl });
    emitter = new ServerEventEmitter();
  });
  afterAll(async () => {
    await emitter?.close();
    await browser?.close();
    await store?.close();
    await relay?.stop();
  });

  it('opens a sandbox of 20,000 events at its newest after one page, pages older ones in at the top, then continues live', async () => {
    const sandbox = uniqueId('sb-big');
    const ids = await storeMessages(store, sandbox, 20_000);
    const page = await browser.context.newPage();
    const requests = historyRequests(page, sandbox);
    try {
      await openSandbox(page, relay, sandbox);
      await page.locator(`.feed [data-event-id="${ids[19_999]}"]`).waitFor({ timeout: UI_TIMEOUT });
      await waitForCount(page, PAGE);
      expect(requests.map((query) => [query.get('order'), query.get('before'), query.get('limit')])).toEqual([
        ['desc', null, String(PAGE)],
      ]);
      expect(await page.getByTestId('older-state').textContent()).toBe('older: scroll up');
      expect(isRunOf(ids, await renderedIds(page))).toBe(true);
      // No task, so no ticket panel.
      expect(await page.getByTestId('ticket-panel').isHidden()).toBe(true);

      // The reader scrolls to the top: exactly one older page, ending just before the oldest shown.
      await page.locator('.feed').evaluate((feed) => (feed.scrollTop = 0));
      await waitForCount(page, 2 * PAGE);
      expect(requests).toHaveLength(2);
      expect([requests[1]!.get('order'), requests[1]!.get('before')]).toEqual(['desc', ids[20_000 - PAGE]]);
      // The reader's place is kept: the event that was at the top is still in view, after the older ones.
      await waitFor(
        async () => (await renderedIds(page)).includes(ids[20_000 - PAGE]!),
        'the former top row to stay rendered',
        UI_TIMEOUT,
      );
      expect(isRunOf(ids, await renderedIds(page))).toBe(true);
      // Scrolling up a little shows the older events, contiguous with the newer ones.
      await page.locator('.feed').evaluate((feed) => (feed.scrollTop -= 2_000));
      const olderPage = new Set(ids.slice(20_000 - 2 * PAGE, 20_000 - PAGE));
      await waitFor(
        async () => (await renderedIds(page)).filter((id) => olderPage.has(id)).length >= 10,
        'older events in view',
        UI_TIMEOUT,
      );
      const shown = await renderedIds(page);
      expect(isRunOf(ids, shown)).toBe(true);
      expect(shown.every((id) => ids.indexOf(id) >= 20_000 - 2 * PAGE)).toBe(true);
      expect(requests).toHaveLength(2);

      // Live from the newest id of the first page: nothing missed, nothing twice.
      const live = (
        await postEvent(relay.http, sandbox, {
          event_type: 'agent.message',
          event_data: { content: 'live after 20,000' },
        })
      ).body.id as string;
      await waitForCount(page, 2 * PAGE + 1);
      await page.getByRole('button', { name: '↓ latest' }).click();
      await page.locator(`.feed [data-event-id="${live}"]`).waitFor({ timeout: UI_TIMEOUT });
      expect(isRunOf([...ids, live], await renderedIds(page))).toBe(true);
      expect(await eventCount(page)).toBe(2 * PAGE + 1);
    } finally {
      await page.close();
    }
  });

  it("renders the supervisor's events for people: DEGRADED with missed beats and heartbeat age, restart links, quarantine, idle stop", async () => {
    const sandbox = uniqueId('sb-sup');
    const next = uniqueId('sb-next');
    const lastSeen = new Date(Date.now() - 45_000).toISOString();
    const emit = (event_type: string, payload: Record<string, unknown>) =>
      emitter.emit({ event_type, entity_type: 'sandbox', entity_id: sandbox, payload });
    await emit('TASK_STARTED', { task_id: 't-e2e', sandbox_id: sandbox, provider: 'local', agent_id: 'shell' });
    const page = await browser.context.newPage();
    try {
      await openSandbox(page, relay, sandbox);
      await waitForCount(page, 1);
      await emit('SANDBOX_DEGRADED', {
        task_id: 't-e2e',
        sandbox_id: sandbox,
        missed: 2,
        last_seen_at: lastSeen,
        heartbeat_interval_ms: 15_000,
      });
      await emit('AGENT_RESTARTED', {
        task_id: 't-e2e',
        old_sandbox_id: sandbox,
        new_sandbox_id: next,
        reason: 'missed 3 heartbeats',
        attempt: 1,
        forced: false,
      });
      await emit('TASK_QUARANTINED', {
        task_id: 't-e2e',
        sandbox_id: sandbox,
        reason: 'restart intensity exceeded: 4 restarts within 10 min (limit 3)',
        restarts_in_window: 4,
      });
      await emit('SANDBOX_IDLE_STOPPED', {
        task_id: 't-e2e',
        sandbox_id: sandbox,
        idle_for_ms: 1_800_000,
        idle_since: lastSeen,
      });
      await waitForCount(page, 5);
      const feed = page.locator('.feed');
      const degraded = feed.locator('[data-event-type="SANDBOX_DEGRADED"]');
      expect(await degraded.locator('.title').textContent()).toBe('sandbox DEGRADED');
      expect(await degraded.locator('.detail').textContent()).toMatch(
        /^2 missed heartbeats · last heartbeat 4\d(\.\d)? s before$/,
      );
      expect(await degraded.getAttribute('class')).toContain('tone-bad');
      const restart = feed.locator('[data-event-type="AGENT_RESTARTED"]');
      expect(await restart.locator('.detail').textContent()).toBe(`${sandbox} → ${next} · attempt 1`);
      expect(await restart.locator('a').evaluateAll((links) => links.map((link) => link.getAttribute('href')))).toEqual(
        [`#/sandboxes/${sandbox}`, `#/sandboxes/${next}`],
      );
      expect(await feed.locator('[data-event-type="TASK_QUARANTINED"] .detail').textContent()).toBe(
        '4 restarts in the window',
      );
      expect(await feed.locator('[data-event-type="SANDBOX_IDLE_STOPPED"] .title').textContent()).toBe(
        'stopped after 30 min 0 s idle',
      );
      expect(await feed.locator('[data-event-type="TASK_STARTED"] .title').textContent()).toBe('task started');
      // The restart's link opens the replacement sandbox's view.
      await restart.getByRole('link', { name: `open ${next} →` }).click();
      await page.waitForURL(`**/#/sandboxes/${next}`);
      expect(await page.locator('.sandbox-header h1').textContent()).toBe(next);
    } finally {
      await page.close();
    }
  });

  it("shows the task's ticket: its branch and pull request (linked), replayed on open and then live", async () => {
    const sandbox = uniqueId('sb-ticket');
    const ticketId = uniqueId('TCK');
    const task = await store.prisma.task.create({
      data: { title: 'Add the login form', sandboxId: sandbox, status: 'running', ticketId },
    });
    await store.prisma.sandboxSession.create({ data: { sandboxId: sandbox, taskId: task.id, status: 'running' } });
    await postEvent(relay.http, sandbox, { event_type: 'agent.started', event_data: { agent: 'shell' } });
    const onTicket = (event_type: string, payload: Record<string, unknown>) =>
      emitter.emit({
        event_type,
        entity_type: 'ticket',
        entity_id: ticketId,
        payload: {
          ticket_id: ticketId,
          task_id: null,
          repo: 'acme/app',
          branch_name: `feature/${ticketId}-login-form`,
          base_branch: 'main',
          ...payload,
        },
      });
    await onTicket('BRANCH_CREATED', {});
    const prUrl = 'https://github.example.test/acme/app/pull/12';
    await onTicket('PR_OPENED', { pr_number: 12, pr_url: prUrl, files_changed: 3 });

    const page = await browser.context.newPage();
    try {
      await openSandbox(page, relay, sandbox);
      const panel = page.getByTestId('ticket-panel');
      await panel.waitFor({ timeout: UI_TIMEOUT });
      expect(await panel.locator('.ticket-id').textContent()).toBe(`Ticket ${ticketId}`);
      const lines = panel.locator('.ticket-event');
      await waitFor(async () => (await lines.count()) === 2, 'the replayed ticket events', UI_TIMEOUT);
      expect(await lines.locator('.title').allTextContents()).toEqual([
        `branch feature/${ticketId}-login-form`,
        'PR #12 opened',
      ]);
      const link = lines.nth(1).getByRole('link');
      expect(await link.getAttribute('href')).toBe(prUrl);
      expect(await link.getAttribute('target')).toBe('_blank');
      expect(await link.textContent()).toBe('PR #12 on github.example.test ↗');

      // Live: the merge, then a failure of a later step, in order.
      await onTicket('PR_MERGED', {
        pr_number: 12,
        pr_url: prUrl,
        merge_sha: 'abcdef0123456789',
        branch_deleted: true,
      });
      await onTicket('BRANCH_WORKFLOW_FAILED', {
        pr_number: 12,
        step: 'merge',
        code: 'github_error',
        github_status: 405,
        message: 'Pull Request is not mergeable',
      });
      await waitFor(async () => (await lines.count()) === 4, 'the live ticket events', UI_TIMEOUT);
      expect(await lines.evaluateAll((items) => items.map((item) => item.getAttribute('data-event-type')))).toEqual([
        'BRANCH_CREATED',
        'PR_OPENED',
        'PR_MERGED',
        'BRANCH_WORKFLOW_FAILED',
      ]);
      expect(await lines.nth(2).locator('.title').textContent()).toBe('PR #12 merged');
      expect(await lines.nth(3).getAttribute('class')).toContain('tone-bad');
      await waitForText(lines.nth(3), (text) => text.includes('Pull Request is not mergeable'), 'the failure message');
      // The sandbox's own feed is unchanged by the ticket's events.
      expect(await eventCount(page)).toBe(1);
      await saveScreenshot(page, 'dashboard-ticket-panel.png');
    } finally {
      await page.close();
    }
  });
});

import { copyFile } from 'node:fs/promises';
import path from 'node:path';
import { createStore, type Store } from '@sandbox-relay/store';
import { testInfra, uniqueId, waitFor } from '@sandbox-relay/testing';
import { createTwoFilesPatch } from 'diff';
import { openBrowser, saveScreenshot, type HeadlessBrowser } from './support/browser';
import {
  DASHBOARD_DIR,
  eventCount,
  openSandbox,
  postBatch,
  renderedIds,
  UI_TIMEOUT,
  waitForCount,
  waitForText,
} from './support/dashboard-page';
import { postEvent, ServerEventEmitter, startRelay, type RunningRelay } from './support/relay';

// The dashboard against the whole system as `npm start` runs it, in Debian's chromium.
jest.setTimeout(90_000);

describe('dashboard (browser)', () => {
  let relay: RunningRelay;
  let browser: HeadlessBrowser;
  let store: Store;

  beforeAll(async () => {
    relay = await startRelay({ DASHBOARD_DIR });
    browser = await openBrowser();
    store = createStore({ databaseUrl: testInfra().databaseUrl });
  });
  afterAll(async () => {
    await browser?.close();
    await store?.close();
    await relay?.stop();
  });

  it('lists sandboxes with task, status, heartbeat age and event rate, including one known only from its events', async () => {
    const bare = uniqueId('sb-curl');
    await postEvent(relay.http, bare, { event_type: 'heartbeat', event_data: { status: 'running' }, source: 'worker' });
    await postEvent(relay.http, bare, {
      event_type: 'agent.tool_use',
      event_data: { tool: 'bash', input: { command: 'ls' } },
    });

    const supervised = uniqueId('sb-sup');
    // What its agents reported costing (summed by the supervisor from their agent.completed events).
    const task = await store.prisma.task.create({
      data: {
        title: 'Fix the flaky login test',
        sandboxId: supervised,
        status: 'running',
        costUsd: 0.625,
        inputTokens: 12_507n,
        outputTokens: 853n,
      },
    });
    // A sandbox of the original system's worker: it beats with agent.heartbeat (every 30 s, between turns).
    const original = uniqueId('sb-omoios');
    await postEvent(relay.http, original, {
      event_type: 'agent.started',
      event_data: { sdk: 'claude_agent_sdk' },
      source: 'worker',
    });
    await postEvent(relay.http, original, {
      event_type: 'agent.heartbeat',
      event_data: { timestamp: new Date().toISOString(), status: 'alive', event_count: 2 },
      source: 'worker',
    });
    await store.prisma.sandboxSession.create({
      data: {
        sandboxId: supervised,
        taskId: task.id,
        status: 'degraded',
        restartCount: 1,
        lastHeartbeatAt: new Date(Date.now() - 40_000),
      },
    });

    const { page } = browser;
    await page.goto(relay.http);
    const bareRow = page.locator(`tr[data-sandbox-id="${bare}"]`);
    await bareRow.waitFor({ timeout: UI_TIMEOUT });
    expect(await bareRow.locator('.status').textContent()).toBe('no session');
    expect(await bareRow.locator('.rate').textContent()).toBe('2/min');
    expect(await bareRow.getByTestId('heartbeat-age').textContent()).toMatch(/^\d+ s$/);

    const supervisedRow = page.locator(`tr[data-sandbox-id="${supervised}"]`);
    await supervisedRow.waitFor({ timeout: UI_TIMEOUT });
    expect(await supervisedRow.locator('.status').textContent()).toBe('DEGRADED');
    expect(await supervisedRow.locator('td.task > span').textContent()).toBe('Fix the flaky login test');
    expect(await supervisedRow.getByTestId('task-cost').textContent()).toBe('$0.63 · 12,507 in / 853 out tokens');
    expect(await supervisedRow.getByTestId('heartbeat-age').textContent()).toMatch(/^(3\d|4\d|5\d) s$/);

    const originalRow = page.locator(`tr[data-sandbox-id="${original}"]`);
    await originalRow.waitFor({ timeout: UI_TIMEOUT });
    expect(await originalRow.getByTestId('heartbeat-age').textContent()).toMatch(/^\d+ s$/);

    // The list updates live: a new event on the bare sandbox raises its rate without a reload.
    await postEvent(relay.http, bare, { event_type: 'agent.message', event_data: { content: 'hello' } });
    await waitForText(bareRow.locator('.rate'), (text) => text === '3/min', 'the rate to rise');
    await saveScreenshot(page, 'dashboard-sandbox-list.png');

    // The sandbox's own view says the same in its header.
    await page.goto(`${relay.http}/#/sandboxes/${encodeURIComponent(supervised)}`);
    await waitForText(
      page.locator('.sandbox-header').getByTestId('task-cost'),
      (text) => text === '$0.63 · 12,507 in / 853 out tokens',
      "the task's cost in the header",
    );
  });

  it('shows the sandbox feed for people: history on open, then live events rendered, not raw JSON', async () => {
    const sandbox = uniqueId('sb-view');
    const diff = createTwoFilesPatch(
      'a/src/login.ts',
      'b/src/login.ts',
      'export function login(user) {\n  return check(user);\n}\n',
      'export function login(user: User) {\n  if (!user) throw new Error("no user");\n  return check(user);\n}\n',
    );
    await postBatch(relay.http, sandbox, [
      { event_type: 'agent.started', event_data: { agent: 'shell', prompt_preview: 'Fix the flaky login test' } },
      {
        event_type: 'agent.tool_use',
        event_data: { tool: 'bash', input: { command: 'npm test -- login' }, call_id: 'c1' },
      },
      {
        event_type: 'agent.tool_completed',
        event_data: {
          tool: 'bash',
          call_id: 'c1',
          success: false,
          exit_code: 1,
          duration_ms: 2_400,
          stdout: 'FAIL src/login.spec.ts\n  ✕ rejects a missing user',
          stderr: '',
        },
      },
      {
        event_type: 'agent.file_edited',
        event_data: { path: 'src/login.ts', diff, created: false, additions: 2, deletions: 1, bytes: 96 },
      },
      {
        event_type: 'heartbeat',
        event_data: { status: 'running', current_action: 'bash npm test -- login', memory_rss_bytes: 52_428_800 },
      },
    ]);

    const { page } = browser;
    await openSandbox(page, relay, sandbox);
    await waitForCount(page, 5);
    const feed = page.locator('.feed');
    await feed.getByText('$ npm test -- login').waitFor();
    expect(await feed.locator('.kind-tool-result .detail').textContent()).toBe('exit 1 · 2.4 s');
    expect(await feed.locator('.kind-tool-result pre').first().textContent()).toContain('✕ rejects a missing user');
    expect(await feed.locator('.kind-edit .title').textContent()).toBe('src/login.ts');
    expect(await feed.locator('.diff-add .code').allTextContents()).toEqual([
      '+export function login(user: User) {',
      '+  if (!user) throw new Error("no user");',
    ]);
    expect(await feed.locator('.diff-del .code').allTextContents()).toEqual(['−export function login(user) {']);

    // Live: rendered as they arrive, including types this page has no renderer for.
    await postEvent(relay.http, sandbox, {
      event_type: 'agent.tool_use',
      event_data: { tool: 'bash', input: { command: 'npm test -- login' }, call_id: 'c2' },
    });
    await postEvent(relay.http, sandbox, {
      event_type: 'agent.tool_completed',
      event_data: {
        tool: 'bash',
        call_id: 'c2',
        success: true,
        exit_code: 0,
        duration_ms: 1_800,
        stdout: 'PASS src/login.spec.ts',
      },
    });
    await postEvent(relay.http, sandbox, {
      event_type: 'agent.message',
      event_data: { role: 'assistant', content: 'The login test passes now; the missing-user case is handled.' },
    });
    await postEvent(relay.http, sandbox, {
      event_type: 'SANDBOX_DEGRADED',
      event_data: { task_id: 't-1', sandbox_id: sandbox, missed: 2 },
    });
    await postEvent(relay.http, sandbox, {
      event_type: 'CUSTOM_CHECK_FAILED',
      event_data: { check: 'lint', errors: 3 },
    });
    await postEvent(relay.http, sandbox, {
      event_type: 'GUARDIAN_INTERVENTION',
      event_data: {
        detector: 'looping',
        reason: 'the same command 3 times',
        message: 'Try a different approach.',
        routed: 'sandbox',
      },
    });
    await waitForCount(page, 11);
    await feed.getByText('The login test passes now; the missing-user case is handled.').waitFor();
    expect(await feed.locator('.tone-ok.kind-tool-result .detail').textContent()).toBe('exit 0 · 1.8 s');
    const degraded = feed.locator('[data-event-type="SANDBOX_DEGRADED"]');
    expect(await degraded.locator('.title').textContent()).toBe('sandbox DEGRADED');
    expect(await degraded.locator('.detail').textContent()).toBe('2 missed heartbeats');
    expect(await degraded.getAttribute('class')).toContain('tone-bad');
    // A type with no renderer of its own reads by its name, its tone guessed from it.
    const custom = feed.locator('[data-event-type="CUSTOM_CHECK_FAILED"]');
    expect(await custom.locator('.title').textContent()).toBe('Custom check failed');
    expect(await custom.getAttribute('class')).toContain('tone-bad');
    expect(await feed.locator('[data-event-type="GUARDIAN_INTERVENTION"] .title').textContent()).toBe(
      'guardian: looping',
    );
    // Nothing is shown as a raw envelope.
    expect(await feed.textContent()).not.toContain('"event_type"');

    const artifact = await saveScreenshot(page, 'dashboard-sandbox-view.png');
    if (process.env.UPDATE_DOCS_SCREENSHOT)
      await copyFile(artifact, path.resolve(__dirname, '../../../docs/dashboard.png'));

    // Heartbeats count but stay out of the feed until asked for.
    const beats = feed.locator('[data-event-type="heartbeat"]');
    expect(await beats.count()).toBe(0);
    await page.getByTestId('show-heartbeats').check();
    await beats.waitFor({ timeout: UI_TIMEOUT });
    expect(await beats.locator('.detail').textContent()).toBe('running · bash npm test -- login · 50.0 MiB');
    await page.getByTestId('show-heartbeats').uncheck();
    await waitFor(async () => (await beats.count()) === 0, 'heartbeats to hide again', UI_TIMEOUT);
  });

  it('sends a user message and an interrupt, each confirmed by its SANDBOX_MESSAGE_QUEUED event', async () => {
    const sandbox = uniqueId('sb-msg');
    await postEvent(relay.http, sandbox, { event_type: 'agent.waiting', event_data: { reason: 'idle' } });
    const { page } = browser;
    await openSandbox(page, relay, sandbox);

    await page.getByTestId('message-input').fill('Please also cover the empty password case.');
    await page.getByTestId('send').click();
    await waitForText(
      page.getByTestId('send-feedback'),
      (text) => /✓ user message #\d+ queued/.test(text),
      'the user message to be confirmed',
    );
    const queued = page.locator('.feed [data-event-type="SANDBOX_MESSAGE_QUEUED"]');
    await queued.first().waitFor();
    expect(await queued.first().locator('.text').textContent()).toBe('Please also cover the empty password case.');
    expect(await page.getByTestId('message-input').inputValue()).toBe('');

    await page.getByTestId('interrupt').click();
    await waitForText(
      page.getByTestId('send-feedback'),
      (text) => /✓ interrupt #\d+ queued/.test(text),
      'the interrupt to be confirmed',
    );
    // The feedback is written as the event arrives; the feed draws its row on the next frame.
    await waitFor(async () => (await queued.count()) === 2, 'both SANDBOX_MESSAGE_QUEUED rows in the feed', UI_TIMEOUT);

    // What the page sent is durable and reaches the worker: the interrupt first.
    const drained = (await (await fetch(`${relay.http}/api/v1/sandboxes/${sandbox}/messages`)).json()) as Array<{
      message_type: string;
      content: string;
    }>;
    expect(drained.map((message) => message.message_type)).toEqual(['interrupt', 'user_message']);
    expect(drained[1]!.content).toBe('Please also cover the empty password case.');
  });

  it('shows "reconnecting" while the relay is down and resumes with no gap and no duplicate', async () => {
    const sandbox = uniqueId('sb-resume');
    const before = await postBatch(
      relay.http,
      sandbox,
      [1, 2, 3].map((n) => ({ event_type: 'agent.message', event_data: { content: `before ${n}` } })),
    );
    const { page } = browser;
    await openSandbox(page, relay, sandbox);
    await waitForCount(page, 3);

    const port = new URL(relay.http).port;
    await relay.stop();
    await page.locator('[data-testid="stream-state"].state-reconnecting').waitFor({ timeout: UI_TIMEOUT });
    expect(await page.getByTestId('stream-state').textContent()).toBe('reconnecting…');

    // While the edge is down, events still happen (written to the store and published, as a service would).
    const emitter = new ServerEventEmitter();
    const missed: string[] = [];
    try {
      for (const n of [1, 2])
        missed.push(
          (
            await emitter.emit({
              event_type: 'agent.message',
              entity_type: 'sandbox',
              entity_id: sandbox,
              payload: { content: `while away ${n}` },
            })
          ).id,
        );
    } finally {
      await emitter.close();
    }

    relay = await startRelay({ PORT: port, DASHBOARD_DIR });
    await page.locator('[data-testid="stream-state"].state-live').waitFor({ timeout: UI_TIMEOUT });
    await waitForCount(page, 5);
    const after = (
      await postEvent(relay.http, sandbox, { event_type: 'agent.message', event_data: { content: 'after' } })
    ).body.id as string;
    await waitForCount(page, 6);
    expect(await renderedIds(page)).toEqual([...before, ...missed, after]);
    expect(await eventCount(page)).toBe(6);
  });

  it("opens the view afresh when the relay's log was reset under it (its cursor is past the log: 4416)", async () => {
    const sandbox = uniqueId('sb-reset');
    const [kept] = await postBatch(relay.http, sandbox, [
      { event_type: 'agent.message', event_data: { content: 'kept' } },
    ]);
    // An event far past the sequence, standing for the old log's newest; the view's cursor ends up on it.
    const inserted = await store.prisma.$queryRawUnsafe<Array<{ id: string }>>(
      `INSERT INTO sandbox_events (id, entity_type, entity_id, event_type, data, source)
       VALUES ((SELECT max(id) FROM sandbox_events) + 1000000000, 'sandbox', $1, 'agent.message', '{"content":"from the old log"}', 'agent') RETURNING id::text AS id`,
      sandbox,
    );
    const gone = inserted[0]!.id;
    const { page } = browser;
    await openSandbox(page, relay, sandbox);
    // Rows are drawn on the next animation frame after the count changes.
    const rendered = (ids: string[], what: string) =>
      waitFor(async () => JSON.stringify(await renderedIds(page)) === JSON.stringify(ids), what, UI_TIMEOUT);
    await rendered([kept!, gone], 'both events of the old log');

    // The reset: the relay goes away, and comes back without the events the view's cursor points past.
    const port = new URL(relay.http).port;
    await relay.stop();
    await store.prisma.sandboxEvent.delete({ where: { id: BigInt(gone) } });
    relay = await startRelay({ PORT: port, DASHBOARD_DIR });
    await rendered([kept!], 'the view reopened on the log as it is');
    await page.locator('[data-testid="stream-state"].state-live').waitFor({ timeout: UI_TIMEOUT });
    const after = (
      await postEvent(relay.http, sandbox, { event_type: 'agent.message', event_data: { content: 'after the reset' } })
    ).body.id as string;
    await rendered([kept!, after], 'the next event, live');
    expect(await eventCount(page)).toBe(2);
  });

  it('keeps a feed of thousands of events to a bounded number of rows in the DOM', async () => {
    const sandbox = uniqueId('sb-many');
    const patch = createTwoFilesPatch('a/f.txt', 'b/f.txt', 'a\nb\nc\n', 'a\nB\nc\nd\n');
    const ids: string[] = [];
    for (let batch = 0; batch < 5; batch += 1) {
      ids.push(
        ...(await postBatch(
          relay.http,
          sandbox,
          Array.from({ length: 1000 }, (_, i) => {
            const n = batch * 1000 + i;
            if (n % 3 === 0)
              return { event_type: 'agent.tool_use', event_data: { tool: 'bash', input: { command: `step ${n}` } } };
            if (n % 3 === 1)
              return {
                event_type: 'agent.file_edited',
                event_data: { path: `f${n}.txt`, diff: patch, additions: 2, deletions: 1 },
              };
            return { event_type: 'agent.message', event_data: { content: `message ${n}` } };
          }),
        )),
      );
    }
    const { page } = browser;
    await openSandbox(page, relay, sandbox);
    const rows = () => page.locator('.feed .feed-item').count();
    // Following the newest: the last event is rendered, and only a window around it.
    await page.locator(`.feed [data-event-id="${ids[4_999]}"]`).waitFor();
    expect(await rows()).toBeLessThanOrEqual(60);

    // The oldest is reachable: each "older" jump to the top pages the next 500 in, still windowed.
    for (let loaded = await eventCount(page); loaded < 5_000;) {
      await page.getByRole('button', { name: '⇡ older' }).click();
      const before = loaded;
      await waitFor(
        async () => (loaded = await eventCount(page)) > before,
        `more than ${before} events loaded`,
        UI_TIMEOUT,
      );
      expect(await rows()).toBeLessThanOrEqual(60);
    }
    // A full last page may have more behind it: one more look finds nothing older.
    await page.getByRole('button', { name: '⇡ older' }).click();
    await waitForText(page.getByTestId('older-state'), (text) => text === 'from the start', 'the oldest page');
    await page.locator(`.feed [data-event-id="${ids[0]}"]`).waitFor({ timeout: UI_TIMEOUT });
    expect(await eventCount(page)).toBe(5_000);
    expect(await rows()).toBeLessThanOrEqual(60);
    expect(await page.locator(`.feed [data-event-id="${ids[4_999]}"]`).count()).toBe(0);

    // Live events still arrive while the reader is elsewhere; "latest" brings them into view.
    const live = (
      await postEvent(relay.http, sandbox, { event_type: 'agent.message', event_data: { content: 'live after 5000' } })
    ).body.id as string;
    await waitForCount(page, 5_001);
    await page.getByRole('button', { name: '↓ latest' }).click();
    await page.locator(`.feed [data-event-id="${live}"]`).waitFor({ timeout: UI_TIMEOUT });
    expect(await rows()).toBeLessThanOrEqual(60);
  });
});

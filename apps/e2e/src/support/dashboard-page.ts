import path from 'node:path';
import { waitFor } from '@sandbox-relay/testing';
import type { Locator, Page } from 'playwright-core';
import { DASHBOARD_INDEX } from './browser';
import type { RunningRelay } from './relay';

// What the dashboard's browser tests ask of the page: its counters, its rows, its connection state.

export const UI_TIMEOUT = 20_000;
// Absolute: jest may run with the project folder as its working directory.
export const DASHBOARD_DIR = path.dirname(DASHBOARD_INDEX);

export async function postBatch(http: string, sandboxId: string, bodies: unknown[]): Promise<string[]> {
  const response = await fetch(`${http}/api/v1/sandboxes/${sandboxId}/events/batch`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(bodies),
  });
  if (response.status !== 200) throw new Error(`batch POST answered ${response.status}: ${await response.text()}`);
  return ((await response.json()) as { ids: string[] }).ids;
}

/** The ids of the events the feed has in the DOM, in order. */
export function renderedIds(page: Page): Promise<string[]> {
  return page.$$eval('.feed [data-event-id]', (rows) =>
    rows
      .map((row) => ({ id: row.getAttribute('data-event-id')!, top: row.getBoundingClientRect().top }))
      .sort((a, b) => a.top - b.top)
      .map((row) => row.id),
  );
}

export async function eventCount(page: Page): Promise<number> {
  const text = (await page.getByTestId('event-count').textContent()) ?? '';
  return Number(text.replace(/[^0-9]/g, ''));
}

/** Waits until `locator`'s text passes `test` (the page updates it live). */
export async function waitForText(locator: Locator, test: (text: string) => boolean, what: string): Promise<string> {
  return waitFor(
    async () => {
      const text = (await locator.textContent({ timeout: UI_TIMEOUT })) ?? '';
      return test(text) ? text : '';
    },
    what,
    UI_TIMEOUT,
    50,
  );
}

export async function waitForCount(page: Page, count: number): Promise<void> {
  await waitForText(
    page.getByTestId('event-count'),
    (text) => text.replace(/[^0-9]/g, '') === String(count),
    `${count} events in the feed`,
  );
}

export async function openSandbox(page: Page, relay: RunningRelay, sandboxId: string): Promise<void> {
  await page.goto(`${relay.http}/#/sandboxes/${sandboxId}`);
  await page.locator('[data-testid="stream-state"].state-live').waitFor({ timeout: UI_TIMEOUT });
}

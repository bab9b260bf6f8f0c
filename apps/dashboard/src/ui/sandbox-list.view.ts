import type { SandboxList, SandboxSummary } from '@sandbox-relay/contracts';
import { listSandboxes, RelayError } from '../api/relay-client';
import { formatAge, formatCost, humanizeType } from '../render/format';
import { h } from './dom';

const REFRESH_MS = 2_000;

export function statusBadge(status: string | null): HTMLElement {
  if (status === null)
    return h(
      'span',
      { class: 'status status-none', title: 'no session record: known from its events only' },
      'no session',
    );
  const label = status === 'degraded' ? 'DEGRADED' : status;
  return h('span', { class: `status status-${status.replace(/[^a-z0-9-]/gi, '')}` }, label);
}

function rate(perMinute: number): string {
  if (perMinute === 0) return '0/min';
  return perMinute >= 120 ? `${(perMinute / 60).toFixed(1)}/s` : `${perMinute}/min`;
}

/**
 * Every sandbox with its task, status, heartbeat age and event rate. The list is re-read every two
 * seconds and the ages tick every second against the server's clock.
 */
export function sandboxListView(root: HTMLElement): () => void {
  const body = h('tbody');
  const note = h('p', { class: 'muted', 'data-testid': 'list-note' }, 'loading…');
  root.replaceChildren(
    h(
      'section',
      { class: 'list-view' },
      h('h1', {}, 'Sandboxes'),
      h(
        'table',
        { class: 'sandboxes' },
        h(
          'thead',
          {},
          h(
            'tr',
            {},
            ...['Sandbox', 'Task', 'Status', 'Last heartbeat', 'Events', 'Last event'].map((title) =>
              h('th', {}, title),
            ),
          ),
        ),
        body,
      ),
      note,
    ),
  );

  // The task's title, and what its agents cost so far when they reported it.
  const taskCell = (task: SandboxSummary['task']) => {
    if (!task) return [h('span', { class: 'muted' }, '—')];
    const cost = formatCost(task);
    return [
      h('span', { title: `${task.id} (${task.status})` }, task.title),
      cost ? h('div', { class: 'muted cost', 'data-testid': 'task-cost' }, cost) : null,
    ];
  };

  let latest: SandboxList | undefined;
  let skewMs = 0;
  let stopped = false;
  let timer: number | undefined;

  const row = (sandbox: SandboxSummary, nowMs: number) =>
    h(
      'tr',
      { 'data-sandbox-id': sandbox.sandbox_id, class: 'sandbox-row' },
      h('td', {}, h('a', { href: `#/sandboxes/${encodeURIComponent(sandbox.sandbox_id)}` }, sandbox.sandbox_id)),
      h('td', { class: 'task' }, ...taskCell(sandbox.task)),
      h(
        'td',
        {},
        statusBadge(sandbox.status),
        sandbox.restart_count ? h('span', { class: 'muted', title: 'restarts' }, ` ↻${sandbox.restart_count}`) : null,
      ),
      h('td', { class: 'age', 'data-testid': 'heartbeat-age' }, formatAge(sandbox.last_heartbeat_at, nowMs)),
      h('td', { class: 'rate' }, rate(sandbox.events_last_minute)),
      h(
        'td',
        { class: 'last' },
        sandbox.last_event_type
          ? `${humanizeType(sandbox.last_event_type)} · ${formatAge(sandbox.last_event_at, nowMs)} ago`
          : '—',
      ),
    );

  const paint = () => {
    if (!latest) return;
    const nowMs = Date.now() + skewMs;
    body.replaceChildren(...latest.sandboxes.map((sandbox) => row(sandbox, nowMs)));
    note.textContent =
      latest.sandboxes.length === 0
        ? 'No sandboxes yet: post an event (see the README) or start a task with `npm run task`.'
        : '';
  };

  const refresh = async () => {
    try {
      latest = await listSandboxes();
      skewMs = Date.parse(latest.generated_at) - Date.now();
      paint();
    } catch (error) {
      note.textContent =
        error instanceof RelayError
          ? `the relay answered ${error.status}: ${error.message}`
          : `the relay is unreachable (${(error as Error).message}); retrying`;
    }
    if (!stopped) timer = window.setTimeout(refresh, REFRESH_MS);
  };
  const ticker = window.setInterval(paint, 1_000);
  void refresh();
  return () => {
    stopped = true;
    window.clearTimeout(timer);
    window.clearInterval(ticker);
  };
}

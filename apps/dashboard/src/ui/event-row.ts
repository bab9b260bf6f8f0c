import type { EventEnvelope } from '@sandbox-relay/contracts';
import { renderDiff, type RenderedDiff } from '../render/diff';
import { viewOf, type Block, type EventView } from '../render/event-view';
import { h } from './dom';

const views = new WeakMap<EventEnvelope, EventView>();

/** Each event is rendered to its view once (estimate, then row). */
function cachedView(event: EventEnvelope): EventView {
  let view = views.get(event);
  if (!view) views.set(event, (view = viewOf(event)));
  return view;
}

function diffBlock(diff: RenderedDiff, full: () => string | undefined, onResize: () => void): HTMLElement {
  const table = h('div', { class: 'diff' });
  const fill = (shown: RenderedDiff) => {
    table.replaceChildren(
      ...shown.lines.map((line) =>
        h(
          'div',
          { class: `diff-line diff-${line.kind}` },
          h('span', { class: 'ln' }, line.oldNo?.toString() ?? ''),
          h('span', { class: 'ln' }, line.newNo?.toString() ?? ''),
          h(
            'span',
            { class: 'code' },
            line.kind === 'add' ? '+' : line.kind === 'del' ? '−' : line.kind === 'ctx' ? ' ' : '',
            line.text,
          ),
        ),
      ),
    );
  };
  fill(diff);
  if (diff.hidden === 0) return table;
  const more = h('button', { class: 'link', type: 'button' }, `show ${diff.hidden} more lines`);
  more.addEventListener('click', () => {
    const patch = full();
    if (patch) fill(renderDiff(patch));
    more.remove();
    onResize();
  });
  return h('div', {}, table, more);
}

function block(item: Block, event: EventEnvelope, onResize: () => void): HTMLElement {
  switch (item.type) {
    case 'text':
      return h('div', { class: 'text' }, item.text);
    case 'code':
      return h('div', { class: 'code-block' }, h('div', { class: 'code-label' }, item.label), h('pre', {}, item.text));
    case 'diff':
      return diffBlock(
        item.diff,
        () => (typeof event.payload['diff'] === 'string' ? event.payload['diff'] : undefined),
        onResize,
      );
    case 'fields':
      return h(
        'dl',
        { class: 'fields' },
        ...item.fields.flatMap(([key, value]) => [h('dt', {}, key), h('dd', {}, value)]),
      );
    case 'link':
      return h(
        'div',
        { class: 'text' },
        item.external
          ? h('a', { href: item.href, target: '_blank', rel: 'noopener noreferrer' }, item.text)
          : h('a', { href: item.href }, item.text),
      );
  }
}

function time(iso: string): string {
  const date = new Date(iso);
  return Number.isNaN(date.getTime()) ? '' : date.toLocaleTimeString(undefined, { hour12: false });
}

/** One event of the feed: icon, headline, raw type, time, and its rendered body. */
export function eventRow(event: EventEnvelope, onResize: () => void): HTMLElement {
  const view = cachedView(event);
  return h(
    'article',
    {
      class: `event kind-${view.kind} tone-${view.tone}`,
      'data-event-id': event.id,
      'data-event-type': event.event_type,
    },
    h(
      'header',
      {},
      h('span', { class: 'icon', 'aria-hidden': 'true' }, view.icon),
      h('span', { class: 'title' }, view.title),
      view.detail ? h('span', { class: 'detail' }, view.detail) : null,
      h(
        'span',
        { class: 'type', title: `event ${event.id}${event.source ? ` from ${event.source}` : ''}` },
        event.event_type,
      ),
      h('time', { datetime: event.timestamp }, time(event.timestamp)),
    ),
    ...view.blocks.map((item) => block(item, event, onResize)),
  );
}

/** A guess of a row's height before it is measured: header plus its body's lines. */
export function estimateRowHeight(event: EventEnvelope): number {
  const view = cachedView(event);
  let lines = 0;
  for (const item of view.blocks) {
    if (item.type === 'diff') lines += item.diff.lines.length + (item.diff.hidden ? 1.5 : 0);
    else if (item.type === 'code') lines += Math.min(item.text.split('\n').length, 20) + 1.5;
    else if (item.type === 'fields') lines += item.fields.length;
    else if (item.type === 'link') lines += 1;
    else lines += Math.ceil(item.text.length / 100);
  }
  return 30 + lines * 17;
}

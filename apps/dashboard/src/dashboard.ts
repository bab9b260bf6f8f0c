import './styles.css';
import { auth } from './api/auth';
import { h } from './ui/dom';
import { sandboxListView } from './ui/sandbox-list.view';
import { sandboxView } from './ui/sandbox.view';

const main = document.getElementById('app')!;
let leave: (() => void) | undefined;

/** Hash routes (`#/`, `#/sandboxes/<id>`): the gateway serves one page and needs no fallback route. */
function route(): void {
  leave?.();
  const match = /^#\/sandboxes\/([^/]+)$/.exec(location.hash);
  leave = match ? sandboxView(main, decodeURIComponent(match[1]!)) : sandboxListView(main);
}

/** Asked for when the relay answers 401 or closes a socket with 4401; the token stays for this tab only. */
function tokenDialog(): void {
  if (document.querySelector('.token-dialog')) return;
  const input = h('input', {
    type: 'password',
    autocomplete: 'off',
    placeholder: 'relay token',
    'aria-label': 'relay token',
    'data-testid': 'token-input',
  });
  const dialog = h(
    'form',
    { class: 'token-dialog', 'data-testid': 'token-form' },
    h('p', {}, 'The relay needs a token to show this.'),
    input,
    h('button', { type: 'submit', class: 'primary' }, 'Use token'),
  );
  dialog.addEventListener('submit', (event) => {
    event.preventDefault();
    if (!input.value.trim()) return;
    auth.setToken(input.value.trim());
    dialog.remove();
    route();
  });
  document.body.appendChild(dialog);
  input.focus();
}

auth.onTokenRequired(tokenDialog);
window.addEventListener('hashchange', route);
route();

import type { EventEnvelope, MessageType } from '@sandbox-relay/contracts';
import { RelayError, sendMessage } from '../api/relay-client';
import { h } from './dom';

const QUEUED = 'SANDBOX_MESSAGE_QUEUED';

/**
 * The message box under the feed: sends a `user_message` (Send, Ctrl+Enter) or an interrupt, and says
 * so once the message-queue's SANDBOX_MESSAGE_QUEUED for it shows up in the feed (`observe`). The answer
 * to the send and the queue event may arrive in either order; both are matched by message id.
 */
export class SandboxComposer {
  readonly element: HTMLFormElement;
  private readonly input = h('textarea', {
    rows: 2,
    placeholder: 'Message the agent (Ctrl+Enter sends)',
    'aria-label': 'message',
    'data-testid': 'message-input',
  });
  private readonly feedback = h('div', { class: 'feedback', 'data-testid': 'send-feedback', role: 'status' });
  /** Messages sent from here whose queue event was not seen yet. */
  private readonly awaiting = new Map<string, MessageType>();
  /** Message ids of the queue events seen. */
  private readonly queuedSeen = new Set<string>();

  constructor(private readonly sandboxId: string) {
    const send = h('button', { type: 'submit', class: 'primary', 'data-testid': 'send' }, 'Send');
    const interrupt = h('button', { type: 'button', class: 'danger', 'data-testid': 'interrupt' }, 'Interrupt');
    this.element = h(
      'form',
      { class: 'composer' },
      this.input,
      h('div', { class: 'actions' }, send, interrupt),
      this.feedback,
    );
    this.element.addEventListener('submit', (event) => {
      event.preventDefault();
      void this.submit('user_message');
    });
    this.input.addEventListener('keydown', (event) => {
      if (event.key === 'Enter' && (event.ctrlKey || event.metaKey)) {
        event.preventDefault();
        void this.submit('user_message');
      }
    });
    interrupt.addEventListener('click', () => void this.submit('interrupt'));
  }

  /** Every event the feed receives: a queue event confirms the message it announces. */
  observe(event: EventEnvelope): void {
    if (event.event_type !== QUEUED) return;
    const id = String(event.payload['message_id'] ?? '');
    this.queuedSeen.add(id);
    const type = this.awaiting.get(id);
    if (type) {
      this.awaiting.delete(id);
      this.confirm(id, type);
    }
  }

  private confirm(messageId: string, type: MessageType): void {
    this.feedback.className = 'feedback ok';
    this.feedback.textContent = `✓ ${type.replace('_', ' ')} #${messageId} queued for the agent`;
  }

  private async submit(type: MessageType): Promise<void> {
    const content = this.input.value.trim() || (type === 'interrupt' ? 'Interrupted from the dashboard' : '');
    if (!content) {
      this.input.focus();
      return;
    }
    this.feedback.className = 'feedback';
    this.feedback.textContent = type === 'interrupt' ? 'sending interrupt…' : 'sending…';
    try {
      const queued = await sendMessage(this.sandboxId, content, type);
      if (type === 'user_message') this.input.value = '';
      if (this.queuedSeen.has(queued.message_id)) this.confirm(queued.message_id, type);
      else {
        this.awaiting.set(queued.message_id, type);
        this.feedback.textContent = `#${queued.message_id} stored; waiting for the queue event…`;
      }
    } catch (error) {
      this.feedback.className = 'feedback bad';
      this.feedback.textContent =
        error instanceof RelayError ? `not sent: ${error.message}` : `not sent: the relay is unreachable`;
    }
  }
}

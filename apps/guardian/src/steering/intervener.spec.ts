import { MESSAGE_LIMITS, MessageBody } from '@sandbox-relay/contracts';
import { deliverable } from './intervener';

describe('deliverable', () => {
  const accepted = (content: string) =>
    MessageBody.safeParse({ content, message_type: 'guardian_intervention' }).success;

  it('keeps an ordinary text as it is', () => {
    expect(deliverable('Stop repeating `npm test`.')).toBe('Stop repeating `npm test`.');
  });

  it("makes an analyzer's text acceptable to the message queue", () => {
    const texts = [
      'a\u0000b',
      'lone \ud800 surrogate',
      'x'.repeat(MESSAGE_LIMITS.CONTENT_MAX_CHARS + 10),
      `${'x'.repeat(MESSAGE_LIMITS.CONTENT_MAX_CHARS - 2)}😀😀`,
    ];
    for (const text of texts) {
      expect(accepted(text)).toBe(false);
      expect(accepted(deliverable(text))).toBe(true);
    }
    expect(deliverable('a\u0000b')).toBe('ab');
  });
});

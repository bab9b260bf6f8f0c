import { EVENT_CHANNEL_PATTERN, eventChannel } from './channels';

describe('event channels', () => {
  it('puts every entity on its own channel under the subscription pattern', () => {
    const channel = eventChannel('sandbox', 'sb-1');
    expect(channel).toBe('relay.events.sandbox.sb-1');
    expect(channel.startsWith(EVENT_CHANNEL_PATTERN.slice(0, -1))).toBe(true);
  });
});

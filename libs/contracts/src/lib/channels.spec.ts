import { EVENT_CHANNEL_PATTERN, eventChannel, eventShard, eventShardChannel, eventShardChannels } from './channels';

describe('event channels', () => {
  it('puts every entity on its own channel under the subscription pattern', () => {
    const channel = eventChannel('sandbox', 'sb-1');
    expect(channel).toBe('relay.events.sandbox.sb-1');
    expect(channel.startsWith(EVENT_CHANNEL_PATTERN.slice(0, -1))).toBe(true);
  });
});

describe('cluster shard channels', () => {
  it('names one hash-tagged channel per shard', () => {
    expect(eventShardChannels(3)).toEqual(['relay.events.{0}', 'relay.events.{1}', 'relay.events.{2}']);
    expect(eventShardChannel(15)).toBe('relay.events.{15}');
  });

  it('keeps an entity on one shard and spreads entities over all of them', () => {
    expect(eventShard('sandbox', 'sb-1', 16)).toBe(eventShard('sandbox', 'sb-1', 16));
    // FNV-1a of "foo.bar" (3415486196, computed independently): every process and release must agree.
    expect(eventShard('foo', 'bar', 2 ** 32)).toBe(3_415_486_196);
    expect(eventShard('foo', 'bar', 16)).toBe(3_415_486_196 % 16);
    const used = new Set(Array.from({ length: 400 }, (_, index) => eventShard('sandbox', `sb-${index}`, 16)));
    expect(used.size).toBe(16);
  });
});

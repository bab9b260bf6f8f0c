// Redis channel names are wire protocol between services: every replica of every service must agree.
// Renaming one needs a coordinated deploy (old publishers and new subscribers would not meet).

/** Prefix of every live-event channel; the full name is `<prefix><entity_type>.<entity_id>`. */
export const EVENT_CHANNEL_PREFIX = 'relay.events.';

/** Pattern a subscriber uses to receive every live event. */
export const EVENT_CHANNEL_PATTERN = `${EVENT_CHANNEL_PREFIX}*`;

/** One node: one channel per entity (a cluster uses the shard channels below). */
export function eventChannel(entityType: string, entityId: string): string {
  return `${EVENT_CHANNEL_PREFIX}${entityType}.${entityId}`;
}

/** Shard channels of a cluster deployment unless REDIS_URL says `shards=<n>`. */
export const DEFAULT_EVENT_SHARDS = 16;

/**
 * On a Redis Cluster the live events go over sharded pub/sub (SPUBLISH/SSUBSCRIBE), which has no
 * patterns: a fixed set of `shards` channels `relay.events.{<k>}`, k = 0…shards-1. The braces are a
 * hash tag: each channel's slot is that of `<k>`, so the channels spread over the cluster's nodes. An
 * entity's events always take the same channel (`eventShard`), so they keep their order. Every
 * publisher and subscriber of a deployment must use the same number of shards.
 */
export function eventShardChannel(shard: number): string {
  return `${EVENT_CHANNEL_PREFIX}{${shard}}`;
}

/** Every shard channel of a cluster deployment with `shards` shards, in shard order. */
export function eventShardChannels(shards: number): string[] {
  return Array.from({ length: shards }, (_, shard) => eventShardChannel(shard));
}

/** The shard of an entity: FNV-1a (32 bit) of `<entity_type>.<entity_id>`, modulo `shards`. Stable across processes. */
export function eventShard(entityType: string, entityId: string, shards: number): number {
  let hash = 0x811c9dc5;
  const text = `${entityType}.${entityId}`;
  for (let index = 0; index < text.length; index += 1) {
    hash ^= text.charCodeAt(index);
    hash = Math.imul(hash, 0x01000193) >>> 0;
  }
  return hash % shards;
}

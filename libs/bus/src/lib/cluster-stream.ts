import type IORedis from 'ioredis';
import type { Cluster } from 'ioredis';

/**
 * What this lib reads of ioredis 6's sharded-subscriber group (`Cluster#shardedSubscribers`, private in
 * its types): which masters hold which of our slots, and each master's subscriber connection. ioredis
 * tells when a sharded subscriber connection ends ('-node' with its node key) and when it has replaced
 * the lost ones ('subscribersReady'), but it says 'subscribersReady' also when the replacement could not
 * connect (the node is still down), so whether every shard channel is subscribed again is read here.
 */
interface ShardedSubscriberView {
  subscriberStatus: string;
  getInstance(): IORedis | null;
}

interface SubscriberGroupView {
  shardedSubscribers: Map<string, ShardedSubscriberView>;
  subscriberToSlotsIndex: Map<string, number[]>;
  channels: Map<number, string[]>;
}

function groupOf(cluster: Cluster): SubscriberGroupView | undefined {
  const group = (cluster as unknown as { shardedSubscribers?: Partial<SubscriberGroupView> }).shardedSubscribers;
  if (!group?.shardedSubscribers || !group.subscriberToSlotsIndex || !group.channels) return undefined;
  return group as SubscriberGroupView;
}

/**
 * The subscriber connections of the masters that hold any of our channels, if every one of them is
 * connected and ready; undefined while any is missing or down (or before the group knows the slots).
 */
function readySubscribers(cluster: Cluster): IORedis[] | undefined {
  const group = groupOf(cluster);
  if (!group || cluster.status !== 'ready' || group.subscriberToSlotsIndex.size === 0) return undefined;
  const ready: IORedis[] = [];
  for (const [nodeKey, slots] of group.subscriberToSlotsIndex) {
    if (!slots.some((slot) => (group.channels.get(slot)?.length ?? 0) > 0)) continue;
    const instance = group.shardedSubscribers.get(nodeKey);
    const connection = instance?.getInstance();
    if (instance?.subscriberStatus !== 'connected' || connection?.status !== 'ready') return undefined;
    ready.push(connection);
  }
  return ready;
}

/**
 * The stream-gap signal on a cluster. Interrupted: a master's sharded subscriber connection ended, or
 * the whole cluster connection closed. Restored: ioredis re-subscribed (subscribersReady) and every
 * master holding our channels has a ready subscriber connection again, and each answered a PING on
 * that connection, so the SSUBSCRIBE sent before it has been carried out: what is published from
 * then on reaches us.
 */
export function watchClusterStream(
  cluster: Cluster,
  handlers: { interrupted: () => void; restored: () => void },
  pollMs = 100,
): void {
  let subscribed = cluster.status === 'ready';
  let interrupted = false;
  let resubscribed = false;
  let poll: NodeJS.Timeout | undefined;
  const interrupt = (): void => {
    resubscribed = false;
    if (!subscribed || interrupted) return;
    interrupted = true;
    handlers.interrupted();
    poll ??= setInterval(() => void check(), pollMs).unref();
  };
  let checking = false;
  const check = async (): Promise<void> => {
    if (!interrupted || !resubscribed || checking) return;
    const connections = readySubscribers(cluster);
    if (!connections) return;
    checking = true;
    try {
      await Promise.all(connections.map((connection) => connection.ping()));
    } catch {
      return;
    } finally {
      checking = false;
    }
    if (!interrupted || !resubscribed) return;
    interrupted = false;
    clearInterval(poll);
    poll = undefined;
    handlers.restored();
  };
  cluster.on('-node', (_redis: unknown, nodeKey?: string) => {
    // Only the sharded subscribers' '-node' names a node key; the command connections' does not.
    if (nodeKey !== undefined) interrupt();
  });
  cluster.on('close', interrupt);
  cluster.on('subscribersReady', () => {
    resubscribed = true;
  });
  cluster.on('ready', () => {
    subscribed = true;
  });
  cluster.on('end', () => {
    clearInterval(poll);
    poll = undefined;
  });
}

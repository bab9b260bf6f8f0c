import { createRedisClient, type Redis } from '@sandbox-relay/bus';
import { FakeGitHubServer } from '@sandbox-relay/github/testing';
import { testLogger, uniqueId } from '@sandbox-relay/testing';
import { PrivateRedis } from './support/private-redis';
import { killSpawned, spawnApp } from './support/process';

jest.setTimeout(90_000);

// The branch workflow's process receives the live stream only for its task triggers, which need GitHub:
// without it, every event would be received and parsed for nothing (6–7 % of a core at 2,000 events/s),
// and it holds no subscriber connection either.
describe('branch-workflow process: the live stream subscription', () => {
  let redis: PrivateRedis;
  let client: Redis;
  let github: FakeGitHubServer;
  const patterns = async () => Number(await client.call('PUBSUB', 'NUMPAT'));
  const subscriberConnections = async () =>
    String(await client.call('CLIENT', 'LIST'))
      .split('\n')
      .filter((line) => line.includes(' name=branch-workflow:subscriber ')).length;

  beforeAll(async () => {
    redis = await PrivateRedis.start();
    client = createRedisClient(redis.url, { name: 'spec', role: 'publisher', logger: testLogger() });
    github = await FakeGitHubServer.start();
  });
  afterAll(async () => {
    await killSpawned();
    client.disconnect();
    await github.stop();
    await redis.stop();
  });

  it('holds no pattern and no subscriber connection without GitHub, and one of each with it', async () => {
    // Listening is logged after the process's start, subscription included.
    await spawnApp('branch-workflow', { REDIS_URL: redis.url });
    expect(await patterns()).toBe(0);
    expect(await subscriberConnections()).toBe(0);
    await spawnApp('branch-workflow', {
      REDIS_URL: redis.url,
      GITHUB_TOKEN: github.token,
      GITHUB_REPOSITORY: 'acme/subscription',
      GITHUB_API_URL: github.baseUrl,
      QUEUE_PREFIX: uniqueId('e2e-bw-sub'),
    });
    expect(await patterns()).toBe(1);
    // The first process still runs (and has long connected whatever it opens): only the second holds one.
    expect(await subscriberConnections()).toBe(1);
  });
});

import { NO_RATE_LIMITS } from './load';
import { PrivateRedis } from './private-redis';
import { killSpawned, spawnApp, type RelayProcess } from './process';

export interface KillFaultSuite {
  /** Spawns the app under test on the suite's Redis, without rate limits (the load is the point). */
  spawn(): Promise<RelayProcess>;
  /** Kills a spawned process with SIGKILL and checks it died of it. */
  killHard(process: RelayProcess): Promise<void>;
}

/**
 * The frame of a kill -9 fault suite (call it inside `describe`): the app runs on a Redis of the
 * suite's own, and after the suite every spawned process is killed and that Redis stopped.
 */
export function killFaultSuite(app: string): KillFaultSuite {
  let redis: PrivateRedis;
  beforeAll(async () => {
    redis = await PrivateRedis.start();
  });
  afterAll(async () => {
    await killSpawned();
    await redis.stop();
  });
  return {
    spawn: () => spawnApp(app, { REDIS_URL: redis.url, ...NO_RATE_LIMITS }),
    async killHard(process) {
      process.child.kill('SIGKILL');
      expect((await process.exited).signal).toBe('SIGKILL');
    },
  };
}

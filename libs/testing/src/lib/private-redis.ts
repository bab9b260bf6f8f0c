import { RedisServerProcess, freeTcpPort } from './redis-server';

/**
 * A redis-server of the suite's own, on a free port, without persistence: fault tests stop and
 * restart it (never the shared one on 6379 other suites use), and its pub/sub carries only their traffic.
 * A restart empties it, its script cache included.
 */
export class PrivateRedis extends RedisServerProcess {
  static async start(): Promise<PrivateRedis> {
    const redis = new PrivateRedis(await freeTcpPort());
    await redis.start();
    return redis;
  }

  get url(): string {
    return `redis://127.0.0.1:${this.port}`;
  }

  async restart(): Promise<void> {
    await this.stop();
    await this.start();
  }
}

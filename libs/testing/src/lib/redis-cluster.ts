import { execFile } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { RedisServerProcess, freeTcpPort, redisCli } from './redis-server';
import { waitFor } from './wait';

const run = promisify(execFile);

/**
 * One node of the cluster: a redis-server with its own port and cluster config file. The same config file
 * on a restart: the node comes back with its id and slots and rejoins. Redis's default node timeout (15 s):
 * a node the tests keep down for a few seconds is never marked FAIL (a failed master without replicas
 * would keep the cluster down for twice the timeout after it is back).
 */
function clusterNode(port: number, dir: string): RedisServerProcess {
  return new RedisServerProcess(port, [
    '--cluster-enabled',
    'yes',
    '--cluster-config-file',
    path.join(dir, `nodes-${port}.conf`),
    '--cluster-node-timeout',
    '15000',
    '--dir',
    dir,
  ]);
}

/**
 * A local Redis Cluster of the suite's own: `size` masters (no replicas) started from the machine's
 * redis-server on free ports, slots spread by `redis-cli --cluster create`, without persistence. Tests
 * stop and restart single nodes; `stop()` removes every process and file.
 */
export class LocalRedisCluster {
  private constructor(
    private readonly dir: string,
    readonly nodes: RedisServerProcess[],
  ) {}

  static async start(size = 3): Promise<LocalRedisCluster> {
    const dir = await mkdtemp(path.join(tmpdir(), 'relay-redis-cluster-'));
    const nodes: RedisServerProcess[] = [];
    for (let index = 0; index < size; index += 1) nodes.push(clusterNode(await freeTcpPort(), dir));
    const cluster = new LocalRedisCluster(dir, nodes);
    try {
      await Promise.all(nodes.map((node) => node.start()));
      await run(
        'redis-cli',
        [
          '--cluster',
          'create',
          ...nodes.map((node) => `127.0.0.1:${node.port}`),
          '--cluster-replicas',
          '0',
          '--cluster-yes',
        ],
        { timeout: 30_000 },
      );
      await cluster.waitHealthy();
    } catch (error) {
      await cluster.stop();
      throw error;
    }
    return cluster;
  }

  get ports(): number[] {
    return this.nodes.map((node) => node.port);
  }

  /** The relay's REDIS_URL for this cluster: the first node as the seed, the others as further seeds. */
  get url(): string {
    const [seed, ...others] = this.ports;
    return `redis://127.0.0.1:${seed}?cluster=true&nodes=${others.map((port) => `127.0.0.1:${port}`).join(',')}`;
  }

  /** Resolves once every node answers and reports `cluster_state:ok`. */
  async waitHealthy(timeoutMs = 30_000): Promise<void> {
    await waitFor(
      async () => {
        for (const port of this.ports) {
          const info = await redisCli(port, 'CLUSTER', 'INFO').catch(() => '');
          if (!info.includes('cluster_state:ok')) return false;
        }
        return true;
      },
      'cluster_state:ok on every node',
      timeoutMs,
      100,
    );
  }

  /** The port of the master serving `key`'s slot (`CLUSTER KEYSLOT`, then `CLUSTER SLOTS`). */
  async portServing(key: string): Promise<number> {
    const port = this.ports.find((candidate) => this.nodes.find((node) => node.port === candidate)?.running);
    if (port === undefined) throw new Error('no cluster node is running');
    const slot = Number((await redisCli(port, 'CLUSTER', 'KEYSLOT', key)).trim());
    const nodes = (await redisCli(port, 'CLUSTER', 'NODES')).trim().split('\n');
    for (const line of nodes) {
      const fields = line.split(' ');
      if (!fields[2]?.includes('master')) continue;
      const nodePort = Number(fields[1]?.split('@')[0]?.split(':')[1]);
      for (const range of fields.slice(8)) {
        const [from, to] = range.split('-').map(Number);
        if (from !== undefined && slot >= from && slot <= (to ?? from)) return nodePort;
      }
    }
    throw new Error(`no master serves slot ${slot}`);
  }

  /** Kills one node (SIGKILL) and starts it again on the same port; resolves once the cluster is ok again. */
  async restartNode(port: number, downMs = 0): Promise<void> {
    const node = this.nodes.find((candidate) => candidate.port === port);
    if (!node) throw new Error(`no cluster node on ${port}`);
    await node.stop();
    if (downMs > 0) await new Promise((resolve) => setTimeout(resolve, downMs));
    await node.start();
    await this.waitHealthy();
  }

  /** Stops one node answering, its connections left open (`RedisServerProcess.pause`). */
  pauseNode(port: number): void {
    this.nodes.find((candidate) => candidate.port === port)?.pause();
  }

  resumeNode(port: number): void {
    this.nodes.find((candidate) => candidate.port === port)?.resume();
  }

  async stopNode(port: number): Promise<void> {
    await this.nodes.find((candidate) => candidate.port === port)?.stop();
  }

  async startNode(port: number): Promise<void> {
    await this.nodes.find((candidate) => candidate.port === port)?.start();
  }

  async stop(): Promise<void> {
    await Promise.all(this.nodes.map((node) => node.stop()));
    await rm(this.dir, { recursive: true, force: true });
  }
}
